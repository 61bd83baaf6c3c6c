import { Keypair } from '@stellar/stellar-sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killServers, ready, startServer, until, type Running } from '../support/serverProcess.js';

/**
 * The real process, as `npm start` runs it (`node --import tsx src/index.ts`): boot, config errors,
 * generated development keys, and a graceful SIGTERM that lets an in-flight request finish.
 */

const CLIENT_KEY = 'e2e-client-key-0123456789';
const ADMIN_KEY = 'e2e-admin-key-0123456789';
/** Above Node's 5 s keepAliveTimeout: see the known-bug test below. */
const SHUTDOWN_TIMEOUT_MS = 8_000;

interface Reply {
  status: number;
  body: { data: Record<string, unknown> | null; error: unknown };
  reusedSocket: boolean;
}

function send(
  port: number,
  agent: http.Agent,
  method: string,
  path: string,
  body?: unknown,
  options: { end?: boolean; headers?: http.OutgoingHttpHeaders } = {},
): { req: http.ClientRequest; reply: Promise<Reply> } {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const req = http.request({
    host: '127.0.0.1',
    port,
    method,
    path,
    agent,
    headers: {
      'x-api-key': CLIENT_KEY,
      ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      ...options.headers,
    },
  });
  if (options.end !== false) req.end(payload);
  const reply = new Promise<Reply>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Reply['body'], reusedSocket: req.reusedSocket }));
      res.once('error', reject);
    });
  });
  return { req, reply };
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))]);

afterEach(killServers);

/**
 * Several requests over one keep-alive connection, then a draw on the same connection whose body is only
 * half sent when SIGTERM arrives (there is no slow route, so the client holds the request open). While it
 * is in flight, new connections must be refused; once the body is complete it must succeed.
 */
async function inFlightAcrossSigterm(proc: Running, port: number): Promise<{ signalledAt: number; answeredAt: number; agent: http.Agent }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const opened = await send(port, agent, 'POST', '/api/credit/lines', {
    walletAddress: Keypair.random().publicKey(),
    creditLimit: '1000',
  }).reply;
  expect(opened.status).toBe(201);
  const id = opened.body.data!.id as string;
  for (let i = 0; i < 3; i++) {
    const got = await send(port, agent, 'GET', `/api/credit/lines/${id}`).reply;
    expect(got.status).toBe(200);
    expect(got.reusedSocket).toBe(true);
  }

  const body = JSON.stringify({ amount: '125.5' });
  const inflight = send(port, agent, 'POST', `/api/credit/lines/${id}/draw`, undefined, {
    end: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': `e2e-${id}` },
  });
  inflight.req.write(body.slice(0, 5));
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the server parse the headers

  const signalledAt = Date.now();
  proc.child.kill('SIGTERM');
  await until('the "shutting down" log line', () => (proc.stdout().includes('shutting down') ? true : undefined), 5_000, proc);

  // The listener is closed: a new connection is refused while the in-flight request is still open.
  expect(await connectError(port)).toBe('ECONNREFUSED');
  expect(proc.child.exitCode).toBeNull();

  inflight.req.end(body.slice(5));
  const drawn = await inflight.reply;
  const answeredAt = Date.now();
  expect(drawn.status).toBe(200);
  expect(drawn.reusedSocket).toBe(true);
  expect((drawn.body.data!.creditLine as { utilized: string }).utilized).toBe('125.5000000');
  return { signalledAt, answeredAt, agent };
}

describe('process lifecycle (real process)', () => {
  it('on SIGTERM refuses new connections, finishes the in-flight request and exits 0', { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'creditra-e2e-'));
    try {
      const proc = startServer({
        NODE_ENV: 'test',
        DATA_DIR: dataDir, // embedded PGlite: the shutdown also has to close a real database
        WALLET_AUTH: 'optional', // this file is about the process, not wallet tokens: a client key may draw
        RISK_PROVIDER: 'static',
        API_KEYS: CLIENT_KEY,
        ADMIN_API_KEYS: ADMIN_KEY,
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      });
      const port = await ready(proc);
      const { signalledAt, agent } = await inFlightAcrossSigterm(proc, port);

      const code = await withTimeout(proc.exited, SHUTDOWN_TIMEOUT_MS + 5_000, 'exit after SIGTERM');
      expect(code, proc.stdout()).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5_000);
      expect(proc.stdout()).toContain('shutting down');
      expect(proc.stdout()).toMatch(/"msg":"stopped"/);
      expect(proc.stdout()).not.toContain('shutdown timed out');
      expect(await connectError(port)).toBe('ECONNREFUSED');
      agent.destroy();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /**
   * A keep-alive connection whose in-flight request finishes after SIGTERM must not hold the exit for Node's
   * keep-alive timeout (5 s): with SHUTDOWN_TIMEOUT_MS under 5 s that would turn a clean stop into exit 1.
   */
  it('exits promptly once the last in-flight request is answered, not after the keep-alive timeout', { timeout: 60_000 }, async () => {
    const proc = startServer({
      NODE_ENV: 'test',
      DATABASE_URL: 'memory:',
      WALLET_AUTH: 'optional',
      RISK_PROVIDER: 'static',
      API_KEYS: CLIENT_KEY,
      ADMIN_API_KEYS: ADMIN_KEY,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    const port = await ready(proc);
    const { answeredAt, agent } = await inFlightAcrossSigterm(proc, port);
    try {
      expect(await withTimeout(proc.exited, 2_000, 'exit after the last response')).toBe(0);
      expect(Date.now() - answeredAt).toBeLessThan(2_000);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['PORT=abc', { PORT: 'abc', DATABASE_URL: 'memory:' }, 'PORT'],
    ['production without API_KEYS', { NODE_ENV: 'production', ADMIN_API_KEYS: ADMIN_KEY, DATABASE_URL: 'postgres://127.0.0.1:1/none' }, 'API_KEYS'],
    ['a DATABASE_URL that is not postgres', { DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
  ])('a bad config (%s) exits non-zero and names the variable on stderr', async (_name, env, variable) => {
    const proc = startServer({ NODE_ENV: 'test', ...env });
    const code = await withTimeout(proc.exited, 20_000, 'exit on bad config');
    expect(code).not.toBe(0);
    expect(proc.stderr()).toContain('Invalid configuration');
    expect(proc.stderr()).toContain(variable);
    expect(proc.stdout()).not.toContain('"msg":"listening"');
  });

  it('with no keys configured outside production, prints generated development keys that work', { timeout: 60_000 }, async () => {
    const proc = startServer({ NODE_ENV: 'development', DATABASE_URL: 'memory:' });
    const port = await ready(proc);
    const keys = await until(
      'the generated keys',
      () => {
        const client = /X-API-Key:\s+(\S+)/.exec(proc.stdout());
        const admin = /X-Admin-Api-Key:\s+(\S+)/.exec(proc.stdout());
        return client && admin ? { client: client[1]!, admin: admin[1]! } : undefined;
      },
      5_000,
      proc,
    );
    expect(proc.stdout()).toContain('generated development keys');

    const url = `http://127.0.0.1:${port}/api/credit/lines`;
    const withKey = await fetch(url, { headers: { 'x-api-key': keys.client } });
    expect(withKey.status).toBe(200);
    expect(((await withKey.json()) as { data: { items: unknown[] } }).data.items).toEqual([]);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-api-key': 'not-the-generated-key-000' } })).status).toBe(401);
    const audit = await fetch(`http://127.0.0.1:${port}/api/admin/audit-log`, { headers: { 'x-admin-api-key': keys.admin } });
    expect(audit.status).toBe(200);

    proc.child.kill('SIGTERM');
    expect(await withTimeout(proc.exited, 15_000, 'exit after SIGTERM')).toBe(0);
  });
});
