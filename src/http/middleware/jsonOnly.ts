import type { NextFunction, Request, Response } from 'express';
import { UnsupportedMediaTypeError } from '../../domain/errors.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A mutating request that carries a body must carry JSON; an empty body (e.g. a bare suspend) is fine. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? '0') > 0;
  if (MUTATING.has(req.method) && hasBody && !req.is('application/json')) {
    throw new UnsupportedMediaTypeError('unsupported_media_type', 'Send the request body as application/json');
  }
  next();
}
