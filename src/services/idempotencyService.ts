import { createHash } from 'node:crypto';
import { ConflictError, UnprocessableError } from '../domain/errors.js';
import type { IdempotencyRepository } from '../repositories/repositories.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredResponse {
  status: number;
  body: unknown;
}

const RELEASING_STATUSES = new Set([401, 403, 429]);

export type IdempotencyOutcome = { kind: 'proceed' } | { kind: 'replay'; response: StoredResponse };

/** Stable across key order, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

/**
 * Idempotency-Key semantics, scoped per API key and kept 24 h:
 * same key and same request replays the stored response; same key with another request is 422;
 * a request still in flight with that key is 409. A request that ends in a 5xx, 401, 403 or 429 releases
 * its key so the client can retry. Money-moving routes store their answer inside the change's transaction
 * (see http/atomicResponse.ts); a process that dies before that commit leaves the key in flight until it
 * expires, which refuses retries rather than risking a second money movement.
 */
export class IdempotencyService {
  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async begin(principal: string, key: string, requestHash: string): Promise<IdempotencyOutcome> {
    const now = this.clock();
    const result = await this.repository.claim(
      { principal, key, requestHash, createdAt: now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) },
      now,
    );
    if (result.claimed) return { kind: 'proceed' };
    const { existing } = result;
    if (existing.requestHash !== requestHash) {
      throw new UnprocessableError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
    }
    if (existing.status === 'in_flight' || existing.responseStatus === null) {
      throw new ConflictError('idempotency_request_in_flight', 'A request with this Idempotency-Key is still being processed; retry shortly');
    }
    return { kind: 'replay', response: { status: existing.responseStatus, body: existing.responseBody } };
  }

  /**
   * Stores the outcome, except for answers that say nothing about the request itself (not authenticated,
   * not allowed, rate limited, server failure): those release the key so a corrected retry runs.
   */
  finish(principal: string, key: string, response: StoredResponse): Promise<void> {
    return RELEASING_STATUSES.has(response.status) || response.status >= 500
      ? this.repository.release(principal, key)
      : this.repository.complete(principal, key, response.status, response.body);
  }

  abandon(principal: string, key: string): Promise<void> {
    return this.repository.release(principal, key);
  }

  purgeExpired(): Promise<number> {
    return this.repository.purgeExpired(this.clock());
  }
}
