import type { Response } from 'express';
import type { InTransaction } from '../repositories/repositories.js';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The Idempotency-Key this request claimed; `stored` once its response is saved. */
    idempotency?: { principal: string; key: string; stored: boolean };
  }
}

/**
 * For a request that claimed an Idempotency-Key: stores the response it is about to send inside the service's
 * own transaction, so the money movement and its stored answer commit together. A crash after the commit can
 * then only ever replay the answer, never leave the key in flight nor run the movement twice.
 */
export function storeResponseWithin<T>(res: Response, status: number | ((result: T) => number), present: (result: T) => unknown): InTransaction<T> | undefined {
  const claim = res.locals.idempotency;
  if (!claim) return undefined;
  return async (repos, result) => {
    await repos.idempotency.complete(claim.principal, claim.key, typeof status === 'number' ? status : status(result), { data: present(result), error: null });
    claim.stored = true;
  };
}
