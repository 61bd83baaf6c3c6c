import type { IncomingMessage, ServerResponse } from 'node:http';
import { match, type Route } from './api/router.js';
import { injectedFault, invalidApiKey, malformedRequest, noApiKey, StripeApiError, unrecognizedUrl } from './errors.js';
import type { Faults } from './faults.js';
import { parseForm } from './form.js';
import { BodyTooLarge, readBody, send, serialize, sleep } from './http.js';
import { fingerprint, type IdempotencyStore } from './idempotency.js';
import { newRequestId } from './ids.js';
import type { FakeStripeState } from './state.js';

/**
 * One API request, in the order Stripe applies things: faults (a failing front door) → API key →
 * parameters → route → idempotency (POST) → the endpoint. Every response carries `Request-Id` and
 * `Stripe-Version`; POSTs echo `Idempotency-Key`, replays add `Idempotent-Replayed: true` and
 * `Original-Request`.
 */

export interface ServerDeps {
  state: FakeStripeState;
  apiKey: string;
  routes: readonly Route[];
  idempotency: IdempotencyStore;
  faults: Faults;
  /** Aborted on stop(), so the latency fault does not hold the process open. */
  stopping: AbortSignal;
}

/** The key from `Authorization: Bearer <key>` or `Basic base64(<key>:)` (curl's `-u sk_test_…:`). */
export function presentedKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) return Buffer.from(value, 'base64').toString('utf8').split(':')[0] ?? '';
  return header;
}

function authenticate(header: string | undefined, apiKey: string): void {
  const key = presentedKey(header);
  if (!key) throw noApiKey();
  if (key !== apiKey) throw invalidApiKey(key);
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function createApiHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { state, apiKey, routes, idempotency, faults } = deps;

  return async (req, res) => {
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const idempotencyKey = method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
    const apiVersion = header(req, 'stripe-version') ?? state.apiVersion;
    const headers: Record<string, string> = {
      'Request-Id': requestId,
      'Stripe-Version': apiVersion,
      ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
    };
    const reply = (status: number, text: string, extra: Record<string, string> = {}) => {
      if (!res.destroyed) send(res, status, text, { ...headers, ...extra });
    };

    try {
      const body = method === 'POST' ? await readBody(req) : '';
      if (faults.latencyMs > 0) await sleep(faults.latencyMs, deps.stopping);
      const fault = faults.take();
      if (fault !== undefined) throw injectedFault(fault);
      authenticate(header(req, 'authorization'), apiKey);

      const contentType = header(req, 'content-type') ?? '';
      if (body !== '' && !contentType.startsWith('application/x-www-form-urlencoded')) {
        throw malformedRequest(`Invalid request: unsupported Content-Type ${contentType}. Stripe's v1 API takes application/x-www-form-urlencoded bodies.`);
      }
      const query = url.search.slice(1);
      const params = parseForm(method === 'POST' ? [query, body].filter(Boolean).join('&') : query);

      const found = match(routes, method, url.pathname);
      if (!found) throw unrecognizedUrl(method, url.pathname);

      const endpoint = `${method} ${url.pathname}`;
      const print = fingerprint(params);
      if (idempotencyKey) {
        const seen = idempotency.lookup(idempotencyKey, endpoint, print);
        if (seen.kind === 'conflict') throw seen.error;
        if (seen.kind === 'replay') {
          return reply(seen.saved.status, seen.saved.body, { 'Idempotent-Replayed': 'true', 'Original-Request': seen.saved.requestId });
        }
      }

      let status = 200;
      let text: string;
      try {
        text = serialize(found.route.handle({ state, params, request: { id: requestId, idempotencyKey }, path: url.pathname, apiVersion }, ...found.captures));
      } catch (error) {
        if (!(error instanceof StripeApiError)) throw error;
        status = error.status;
        text = serialize(error.toJSON());
      }
      if (idempotencyKey) idempotency.save(idempotencyKey, { endpoint, fingerprint: print, status, body: text, requestId });
      reply(status, text, idempotencyKey ? { 'Original-Request': requestId } : {});
    } catch (error) {
      if (error instanceof StripeApiError) {
        return reply(error.status, serialize(error.toJSON()), error.status === 401 ? { 'WWW-Authenticate': 'Basic realm="Stripe"' } : {});
      }
      const status = error instanceof BodyTooLarge ? 413 : 500;
      reply(status, serialize({ error: { type: 'api_error', message: `fake-stripe: ${(error as Error).message ?? String(error)}` } }));
    }
  };
}
