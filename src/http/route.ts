import type { Request, Response } from 'express';
import type { Access } from './middleware/auth.js';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

/**
 * A route is data: the app mounts exactly this table, and the OpenAPI test compares the same table
 * with `openapi.yaml`, so the contract and the mounted routes cannot drift apart silently.
 */
export interface RouteDefinition {
  method: HttpMethod;
  /** Express path syntax: /api/credit/lines/:id */
  path: string;
  access: Access;
  /** Honours Idempotency-Key (POSTs that create or move money). */
  idempotent?: boolean;
  /** Rate-limit group; defaults to the access level. Public routes are not limited. */
  rateLimitGroup?: string;
  /** The handler reads the body as raw bytes (`req.body` is a Buffer): a provider's signature covers them exactly. */
  rawBody?: boolean;
  handler: (req: Request, res: Response) => Promise<void> | void;
}

export const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
