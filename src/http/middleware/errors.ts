import type { NextFunction, Request, Response } from 'express';
import { AppError, NotFoundError } from '../../domain/errors.js';
import { errorBody } from '../envelope.js';

interface BodyParserError {
  type?: string;
  status?: number;
}

export function notFound(req: Request): never {
  throw new NotFoundError('Route', `${req.method} ${req.path}`);
}

/** The one place errors become responses. Nothing internal (stack, SQL, driver text) reaches the client. */
export function errorHandler(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const requestId = res.locals.requestId ?? 'unknown';
  if (error instanceof AppError) {
    res.status(error.status).json(errorBody(error.code, error.message, requestId, error.details));
    return;
  }
  const parserError = error as BodyParserError;
  if (parserError?.type === 'entity.too.large') {
    res.status(413).json(errorBody('payload_too_large', 'Request body exceeds the 100 kB limit', requestId));
    return;
  }
  if (parserError?.type === 'entity.parse.failed') {
    res.status(400).json(errorBody('malformed_json', 'Request body is not valid JSON', requestId));
    return;
  }
  if (parserError?.type === 'encoding.unsupported' || parserError?.type === 'charset.unsupported') {
    res.status(415).json(errorBody('unsupported_media_type', 'Request body encoding is not supported', requestId));
    return;
  }
  res.locals.log?.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
  res.status(500).json(errorBody('internal_error', 'An unexpected error occurred', requestId));
}
