import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from '../processes.js';

/**
 * The benchmark's webhook subscriber: a bare node:http server on 127.0.0.1 that answers 200 as soon as a request's
 * body has arrived and records, per endpoint (`/hook/<index>`), every `webhook-id` with its arrival time.
 * After answering it checks the Standard Webhooks signature and that the body's `id` equals the `webhook-id`,
 * so a run that delivers garbage fast is caught; that check runs after the answer and is not in the timing.
 */
export interface Arrivals {
  /** webhook-id -> arrival times (epoch ms, Date.now() at the request's headers); length > 1 means duplicates. */
  byId: Map<string, number[]>;
  total: number;
}

export interface Receiver {
  port: number;
  url(endpoint: number): string;
  /** Starts a fresh recording for `endpoints` endpoints, each verified with its secret. */
  reset(secrets: readonly string[]): void;
  arrivals(endpoint: number): Arrivals;
  /** Requests that failed a check (bad signature, id mismatch, unknown path), with the first few reasons. */
  problems(): { count: number; examples: string[] };
  /** Total requests received since the last reset. */
  received(): number;
  close(): Promise<void>;
}

function verify(secret: string, id: string, timestamp: string, signatures: string, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((versioned) => {
    const [version, signature] = versioned.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startReceiver(): Promise<Receiver> {
  let secrets: readonly string[] = [];
  let recordings: Arrivals[] = [];
  let problemCount = 0;
  let problemExamples: string[] = [];
  let receivedCount = 0;

  const problem = (reason: string) => {
    problemCount++;
    if (problemExamples.length < 5) problemExamples.push(reason);
  };

  const handle = (req: IncomingMessage, respond: (status: number) => void) => {
    const arrivedAt = Date.now();
    receivedCount++;
    const match = /^\/hook\/(\d+)$/.exec(req.url ?? '');
    const endpoint = match ? Number(match[1]) : -1;
    const recording = recordings[endpoint];
    const id = String(req.headers['webhook-id'] ?? '');
    if (recording && id) {
      const times = recording.byId.get(id);
      if (times) times.push(arrivedAt);
      else recording.byId.set(id, [arrivedAt]);
      recording.total++;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      respond(200);
      if (!recording) return problem(`request to ${req.method} ${req.url} (no such endpoint)`);
      if (!id) return problem('request without webhook-id');
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['webhook-timestamp'] ?? '');
      const signatures = String(req.headers['webhook-signature'] ?? '');
      if (!verify(secrets[endpoint]!, id, timestamp, signatures, body)) return problem(`bad signature for ${id}`);
      try {
        if ((JSON.parse(body) as { id?: unknown }).id !== id) problem(`body id differs from webhook-id ${id}`);
      } catch {
        problem(`unparsable body for ${id}`);
      }
    });
    req.on('error', () => problem('request stream error'));
  };

  const server: Server = createServer((req, res) =>
    handle(req, (status) => {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
    }),
  );
  // The sender keeps connections alive; keep them open across the idle gaps between dispatch ticks.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: (endpoint) => `http://${LOOPBACK}:${port}/hook/${endpoint}`,
    reset(nextSecrets) {
      secrets = [...nextSecrets];
      recordings = nextSecrets.map(() => ({ byId: new Map(), total: 0 }));
      problemCount = 0;
      problemExamples = [];
      receivedCount = 0;
    },
    arrivals: (endpoint) => recordings[endpoint] ?? { byId: new Map(), total: 0 },
    problems: () => ({ count: problemCount, examples: [...problemExamples] }),
    received: () => receivedCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
