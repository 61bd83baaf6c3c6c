import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, readBody as readBounded } from '../lib/readBody.js';

/** node:http helpers: bounded body reading, Stripe-style JSON responses, an abortable sleep. */

const MAX_BODY_BYTES = 1024 * 1024;

export { BodyTooLarge };

export const readBody = (req: IncomingMessage): Promise<string> => readBounded(req, MAX_BODY_BYTES);

/** The API pretty-prints its JSON (two-space indent), and so does the fake. */
export const serialize = (body: unknown): string => JSON.stringify(body, null, 2);

export function send(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, no-store',
  });
  res.end(text);
}

export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
