import type { Response } from 'express';
import type { ErrorDetails } from '../domain/errors.js';

/** Every JSON response is `{ data, error }`: exactly one of them is null. */
export function sendData(res: Response, status: number, data: unknown): void {
  res.status(status).json({ data, error: null });
}

export interface ErrorBody {
  data: null;
  error: { code: string; message: string; details: ErrorDetails | null; requestId: string };
}

export function errorBody(code: string, message: string, requestId: string, details?: ErrorDetails): ErrorBody {
  return { data: null, error: { code, message, details: details ?? null, requestId } };
}
