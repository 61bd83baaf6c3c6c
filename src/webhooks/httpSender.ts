import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { safeLookup, type UrlPolicy } from './urlSafety.js';

export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendResult {
  /** The receiver's status, or null when no response came (timeout, refused, unsafe address). */
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  /** At most 64 kB of the response body, for diagnostics. */
  body: string;
}

/**
 * POSTs a webhook: no redirects followed (a 3xx is a failure), a hard timeout, the response body read to at
 * most 64 kB, keep-alive connections, and a DNS lookup that refuses private addresses at connect time.
 */
export class WebhookHttpSender {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  constructor(
    private readonly policy: UrlPolicy,
    private readonly timeoutMs: number,
  ) {
    const lookup = safeLookup(policy) as never;
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64, lookup } as never);
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64, lookup } as never);
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const first = await this.attempt(url, headers, body);
    // A pooled keep-alive socket the receiver had already closed fails at once: that is not the receiver's
    // answer, so it gets one immediate retry on a fresh connection.
    return first.staleSocket ? this.attempt(url, headers, body) : first;
  }

  private attempt(url: string, headers: Record<string, string>, body: string): Promise<SendResult & { staleSocket?: boolean }> {
    const started = performance.now();
    const target = new URL(url);
    return new Promise((resolve) => {
      let settled = false;
      const done = (result: Omit<SendResult, 'latencyMs'> & { staleSocket?: boolean }) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({ ...result, latencyMs: Math.round(performance.now() - started) });
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        target,
        {
          method: 'POST',
          agent: target.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Creditra-Webhooks/1' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = () => done({ statusCode: res.statusCode ?? null, error: null, body: Buffer.concat(chunks).toString('utf8') });
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
            size += chunk.length;
            // Enough read: stop the transfer instead of buffering whatever the receiver sends.
            if (size >= MAX_RESPONSE_BYTES) {
              finish();
              res.destroy();
            }
          });
          res.on('end', finish);
          res.on('error', finish);
        },
      );
      // One deadline for the whole exchange (connect, send, response), not an idle-socket timeout.
      const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ statusCode: null, error: error.message, body: '', staleSocket: req.reusedSocket && error.code === 'ECONNRESET' }));
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
