import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { RouteDefinition } from '../route.js';

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

/** The top-level openapi.yaml is the contract; it is read once at start. */
export function loadOpenApiDocument(): OpenApiDocument {
  return parseYaml(readFileSync(join(PROJECT_ROOT, 'openapi.yaml'), 'utf8')) as OpenApiDocument;
}

/** `/docs.json` is the raw spec (Swagger UI and code generators need it as is, so it is not enveloped). */
export function docsRoutes(spec: OpenApiDocument): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/docs.json',
      access: 'public',
      handler: (_req, res) => {
        res.json(spec);
      },
    },
    {
      method: 'get',
      path: '/docs',
      access: 'public',
      // Swagger UI's page and assets live under /docs/; its relative asset URLs need the trailing slash.
      handler: (_req, res) => res.redirect(301, '/docs/'),
    },
  ];
}
