import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { toOpenApiPath } from '../../src/http/route.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';

/**
 * The contract side of the OpenAPI tests: loads openapi.yaml, compiles its response schemas with
 * Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) and checks real responses against them.
 */

// ajv and ajv-formats are CommonJS: under NodeNext the default import is `module.exports`, which is
// the class / plugin itself at run time but is typed as the module namespace.
type Ajv2020Class = typeof import('ajv/dist/2020.js').default;
type FormatsPlugin = typeof import('ajv-formats').default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: Ajv2020Class }).default ?? Ajv2020Module) as Ajv2020Class;
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

export interface OpenApiOperation extends Json {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
}

export interface OpenApiDoc extends Json {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  /** OpenAPI 3.1: the requests this API sends to subscribers, by name. */
  webhooks?: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Json> } & Json;
}

export const OPENAPI_PATH = join(PROJECT_ROOT, 'openapi.yaml');

export function loadSpec(): OpenApiDoc {
  return parseYaml(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDoc;
}

export const spec: OpenApiDoc = loadSpec();

/** Resolves an in-document JSON pointer such as `#/components/responses/NotFound`. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only in-document $refs are supported, got ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(part in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = (node as Json)[part];
  }
  return node;
}

/** Follows OpenAPI-level $refs (responses, parameters, headers, request bodies) until a real object. */
export function deref<T = Json>(node: unknown, doc: OpenApiDoc = spec): T {
  let current = node;
  const seen = new Set<string>();
  while (current && typeof current === 'object' && typeof (current as Json).$ref === 'string') {
    const ref = (current as Json).$ref as string;
    if (seen.has(ref)) throw new Error(`circular $ref ${ref}`);
    seen.add(ref);
    current = resolvePointer(doc, ref);
  }
  return current as T;
}

/** Every `{ path, method, operation }` the document declares. */
export function specOperations(doc: OpenApiDoc = spec): Array<{ path: string; method: string; operation: OpenApiOperation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({ path, method, operation: item[method] as OpenApiOperation })),
  );
}

/** The operation for an Express route (`/api/credit/lines/:id`) or an OpenAPI path (`/api/credit/lines/{id}`). */
export function findOperation(method: string, path: string, doc: OpenApiDoc = spec): OpenApiOperation | undefined {
  const item = doc.paths[toOpenApiPath(path)];
  return item?.[method.toLowerCase()] as OpenApiOperation | undefined;
}

/** The operation's parameters with the path-item level ones merged in (operation wins), dereferenced. */
export function operationParameters(method: string, path: string, doc: OpenApiDoc = spec): Json[] {
  const item = doc.paths[toOpenApiPath(path)] ?? {};
  const operation = findOperation(method, path, doc);
  const merged = new Map<string, Json>();
  for (const raw of [...((item.parameters as Json[] | undefined) ?? []), ...(operation?.parameters ?? [])]) {
    const parameter = deref(raw, doc);
    merged.set(`${String(parameter.in)}:${String(parameter.name).toLowerCase()}`, parameter);
  }
  return [...merged.values()];
}

// ---------------------------------------------------------------------------------------------
// Schema compilation

const COMPONENTS_ID = 'https://creditra.invalid/openapi/components.json';

/** `#/components/schemas/X` -> an absolute ref into the registered components schema. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Json).map(([key, value]) => {
      if (key === '$ref' && typeof value === 'string') {
        if (!value.startsWith('#/components/schemas/')) throw new Error(`a schema may only $ref #/components/schemas/*, got ${value}`);
        return [key, `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`];
      }
      return [key, rewriteRefs(value)];
    }),
  );
}

function createAjv(doc: OpenApiDoc) {
  // strictTypes is off because the spec narrows shared schemas with `allOf` branches that constrain
  // properties without repeating `type: object`, which is valid JSON Schema.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI's own schema keywords: annotations only.
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(doc.components.schemas) as Json });
  return ajv;
}

const ajv = createAjv(spec);
const validators = new Map<unknown, ValidateFunction>();

/** Compiles (once) a schema from the document; throws when the schema itself is invalid. */
export function compileSchema(schema: unknown): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(rewriteRefs(schema) as Json);
    validators.set(schema, validate);
  }
  return validate;
}

/** A component schema by name, e.g. `ErrorEnvelope`. */
export function componentSchema(name: string): ValidateFunction {
  const schema = spec.components.schemas[name];
  if (!schema) throw new Error(`components.schemas.${name} is not in openapi.yaml`);
  return compileSchema({ $ref: `#/components/schemas/${name}` });
}

const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `  ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

// ---------------------------------------------------------------------------------------------
// Checking responses

/** What the checks need from a supertest response. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text?: string;
}

class SpecMismatchError extends Error {
  override name = 'SpecMismatchError';
}

const mediaType = (value: string | string[] | undefined) => String(Array.isArray(value) ? value[0] : (value ?? '')).split(';')[0]!.trim().toLowerCase();
const isJson = (type: string) => type === 'application/json' || /^application\/[^/]+\+json$/.test(type);

/** Every response seen by expectMatchesSpec, as `METHOD /openapi/path STATUS` (for coverage checks). */
export const checkedResponses = new Set<string>();

/** The documented response object for a status: exact, then `4XX`-style range, then `default`. */
export function documentedResponse(operation: OpenApiOperation, status: number): Json | undefined {
  const responses = operation.responses ?? {};
  const raw = responses[String(status)] ?? responses[`${Math.floor(status / 100)}XX`] ?? responses.default;
  return raw === undefined ? undefined : deref(raw);
}

function headerValue(schema: Json, value: string): unknown {
  const type = schema.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/**
 * Asserts that a response is one the spec documents for this operation: the status is documented
 * (or a `default` response exists), the content type is one of the documented media types, a JSON
 * body validates against the documented schema, and every documented header that is required is
 * present and every documented header that is present matches its schema.
 */
export function expectMatchesSpec(method: string, expressPath: string, res: HttpResponse): void {
  const path = toOpenApiPath(expressPath);
  const where = `${method.toUpperCase()} ${path} -> ${res.status}`;
  const operation = findOperation(method, path);
  if (!operation) throw new SpecMismatchError(`${where}: openapi.yaml has no operation ${method.toUpperCase()} ${path}`);
  const response = documentedResponse(operation, res.status);
  if (!response) {
    throw new SpecMismatchError(
      `${where}: status ${res.status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})\nbody: ${JSON.stringify(res.body ?? res.text)}`,
    );
  }

  const problems: string[] = [];

  const headers = (response.headers ?? {}) as Record<string, unknown>;
  for (const [name, rawHeader] of Object.entries(headers)) {
    const header = deref(rawHeader);
    const actual = res.headers[name.toLowerCase()];
    if (actual === undefined) {
      if (header.required === true) problems.push(`required header ${name} is missing`);
      continue;
    }
    if (header.schema) {
      const value = Array.isArray(actual) ? actual.join(', ') : actual;
      const validate = compileSchema(header.schema);
      if (!validate(headerValue(header.schema as Json, value))) problems.push(`header ${name}: ${JSON.stringify(value)} does not match:\n${describeErrors(validate.errors)}`);
    }
  }

  const content = response.content as Record<string, Json> | undefined;
  const actualType = mediaType(res.headers['content-type']);
  const rawText = res.text ?? '';
  if (!content || Object.keys(content).length === 0) {
    if (actualType !== '' || rawText.length > 0) problems.push(`no content is documented, but the response has ${actualType || 'a body'}`);
  } else {
    const documented = Object.keys(content).map((type) => type.toLowerCase());
    const entry = Object.entries(content).find(([type]) => type.toLowerCase() === actualType);
    if (!entry) {
      problems.push(`content type ${actualType || '(none)'} is not documented (documented: ${documented.join(', ')})`);
    } else if (isJson(actualType)) {
      const schema = entry[1].schema;
      if (schema !== undefined) {
        const validate = compileSchema(schema);
        if (!validate(res.body)) problems.push(`body does not match the documented schema:\n${describeErrors(validate.errors)}`);
      }
    }
  }

  if (problems.length > 0) {
    throw new SpecMismatchError(`${where} does not match openapi.yaml:\n- ${problems.join('\n- ')}\nbody: ${JSON.stringify(res.body ?? res.text, null, 2)}`);
  }
  checkedResponses.add(`${method.toUpperCase()} ${path} ${res.status}`);
}

/** Asserts a JSON value validates against a named component schema (for responses outside any operation). */
export function expectMatchesComponent(name: string, value: unknown): void {
  const validate = componentSchema(name);
  if (!validate(value)) throw new SpecMismatchError(`value does not match components.schemas.${name}:\n${describeErrors(validate.errors)}\n${JSON.stringify(value, null, 2)}`);
}

/** Every `{ name, method, operation }` of the document's `webhooks` section (what subscribers receive). */
export function specWebhooks(doc: OpenApiDoc = spec): Array<{ name: string; method: string; operation: OpenApiOperation }> {
  return Object.entries(doc.webhooks ?? {}).flatMap(([name, item]) =>
    HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({ name, method, operation: item[method] as OpenApiOperation })),
  );
}

/** What a webhook receiver got: the request's headers (lower-case names) and its raw body. */
export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
}

/**
 * Asserts that a request this API sent to a subscriber is one the `webhooks` section declares under `name`:
 * every required header parameter is present, every header matches its schema, and the JSON body
 * validates against the declared request body.
 */
export function expectMatchesWebhook(name: string, received: ReceivedWebhook): void {
  const entry = specWebhooks().find((w) => w.name === name && w.method === 'post');
  if (!entry) throw new SpecMismatchError(`openapi.yaml declares no webhook ${name} (POST)`);
  const problems: string[] = [];
  for (const raw of entry.operation.parameters ?? []) {
    const parameter = deref(raw);
    if (parameter.in !== 'header') continue;
    const actual = received.headers[String(parameter.name).toLowerCase()];
    if (actual === undefined) {
      if (parameter.required === true) problems.push(`required header ${String(parameter.name)} is missing`);
      continue;
    }
    const value = Array.isArray(actual) ? actual.join(', ') : actual;
    const validate = compileSchema(parameter.schema);
    if (!validate(headerValue(parameter.schema as Json, value))) problems.push(`header ${String(parameter.name)}: ${JSON.stringify(value)} does not match:\n${describeErrors(validate.errors)}`);
  }
  const media = ((deref(entry.operation.requestBody).content ?? {}) as Record<string, Json>)['application/json'];
  if (!media) {
    problems.push('no application/json request body is declared');
  } else {
    let body: unknown;
    try {
      body = JSON.parse(received.raw);
    } catch {
      problems.push('the body is not JSON');
    }
    const validate = compileSchema(media.schema);
    if (body !== undefined && !validate(body)) problems.push(`body does not match the declared schema:\n${describeErrors(validate.errors)}`);
  }
  if (problems.length > 0) throw new SpecMismatchError(`webhook ${name} does not match openapi.yaml:\n- ${problems.join('\n- ')}\nbody: ${received.raw}`);
}

/** Every `$ref` in the document, with whether it resolves. */
export function allRefs(doc: OpenApiDoc = spec): Array<{ ref: string; at: string; resolves: boolean }> {
  const found: Array<{ ref: string; at: string; resolves: boolean }> = [];
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${at}/${i}`));
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === '$ref' && typeof value === 'string') {
        let resolves = true;
        try {
          resolvePointer(doc, value);
        } catch {
          resolves = false;
        }
        found.push({ ref: value, at, resolves });
      } else {
        walk(value, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      }
    }
  };
  walk(doc, '#');
  return found;
}
