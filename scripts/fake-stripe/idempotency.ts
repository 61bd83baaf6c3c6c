import { idempotencyEndpointMismatch, idempotencyParamsMismatch, type StripeApiError } from './errors.js';
import type { FormValue } from './form.js';

/**
 * Stripe's v1 idempotency: the first response to a POST with an `Idempotency-Key` is saved (status and body)
 * and replayed for retries with the same key — with `Idempotent-Replayed: true` and `Original-Request`
 * headers. Reusing a key on another endpoint, or with other parameters, is a 400 `idempotency_error`.
 * 2xx and 5xx responses are saved; 4xx are not, so a corrected retry with the same key goes through (Stripe
 * skips validation and auth failures the same way, but does save 4xx raised once execution began, such as
 * a too-large refund — the fake does not tell them apart). Keys expire after 24 hours on the fake's clock.
 * Requests run to completion without yielding, so there is no "request in progress" (409) case.
 *
 * stripe-node sends a key on every POST (`stripe-node-retry-<uuid>`) unless the caller passes one, so every
 * POST through the SDK lands here.
 */

export interface SavedResponse {
  endpoint: string;
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
  savedAt: number;
}

export type Lookup = { kind: 'new' } | { kind: 'replay'; saved: SavedResponse } | { kind: 'conflict'; error: StripeApiError };

const TTL_MS = 24 * 60 * 60 * 1000;

/** A canonical form of parsed params, so key order on the wire does not matter. */
export function fingerprint(params: FormValue): string {
  if (typeof params === 'string') return JSON.stringify(params);
  if (Array.isArray(params)) return `[${params.map(fingerprint).join(',')}]`;
  const keys = Object.keys(params).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${fingerprint(params[k]!)}`).join(',')}}`;
}

export class IdempotencyStore {
  private readonly saved = new Map<string, SavedResponse>();

  constructor(
    private readonly clock: () => number,
    private readonly maxEntries = 200_000,
  ) {}

  lookup(key: string, endpoint: string, print: string): Lookup {
    const saved = this.saved.get(key);
    if (!saved) return { kind: 'new' };
    if (this.clock() - saved.savedAt > TTL_MS) {
      this.saved.delete(key);
      return { kind: 'new' };
    }
    if (saved.endpoint !== endpoint) return { kind: 'conflict', error: idempotencyEndpointMismatch(key, saved.endpoint, endpoint) };
    if (saved.fingerprint !== print) return { kind: 'conflict', error: idempotencyParamsMismatch(key) };
    return { kind: 'replay', saved };
  }

  save(key: string, response: Omit<SavedResponse, 'savedAt'>): void {
    if (response.status >= 400 && response.status < 500) return;
    if (this.saved.size >= this.maxEntries) {
      const oldest = this.saved.keys().next();
      if (!oldest.done) this.saved.delete(oldest.value);
    }
    this.saved.set(key, { ...response, savedAt: this.clock() });
  }

  get size(): number {
    return this.saved.size;
  }

  clear(): void {
    this.saved.clear();
  }
}
