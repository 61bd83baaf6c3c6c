import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, readBody as readBounded } from '../lib/readBody.js';

/** Small HTTP helpers shared by the RPC, Horizon and control faces (node:http, no framework). */

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export { BodyTooLarge };

export const readBody = (req: IncomingMessage): Promise<string> => readBounded(req, MAX_BODY_BYTES);

/** JSON with bigints written as decimal strings (the control API's convention). */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  const text = stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    // The listener goes with the timer: a long-lived signal must not collect one per delayed request.
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });
