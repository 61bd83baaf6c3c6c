import { Keypair } from '@stellar/stellar-sdk';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createScratchPostgres, TEST_DATABASE_URL } from '../support/databases.js';
import { killServers, ready, startServer, until, type Running } from '../support/serverProcess.js';

/**
 * The real process (`node --import tsx src/index.ts`) on PostgreSQL, SIGKILLed while a webhook delivery is in
 * flight, then started again on the same database: at-least-once means every event still arrives, and the
 * subscriber can de-duplicate on webhook-id.
 */

const CLIENT_KEY = 'e2e-client-key-0123456789';
const ADMIN_KEY = 'e2e-admin-key-0123456789';
const EVENTS = 300;

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await killServers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Hit {
  id: string;
  body: string;
  headers: Record<string, string>;
}

describe.runIf(TEST_DATABASE_URL)('webhook delivery across a crash (real process, PostgreSQL)', () => {
  it('a SIGKILL mid-delivery loses no event: the restarted process delivers the rest', { timeout: 240_000 }, async () => {
    const scratch = await createScratchPostgres();
    cleanups.push(scratch.drop);
    const sql = new pg.Client({ connectionString: scratch.url });

    // The receiver answers after 30 ms, so deliveries are in flight most of the time. Once armed, it SIGKILLs
    // the first process the moment the next delivery arrives: that one is in flight when the process dies.
    const hits: Hit[] = [];
    let armed = false;
    const crash: { victim?: Running } = {};
    let distinctAtKill = -1;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push({ id: String(req.headers['webhook-id']), body: Buffer.concat(chunks).toString('utf8'), headers: req.headers as Record<string, string> });
        const victim = crash.victim;
        if (armed && victim && victim.child.exitCode === null && victim.child.signalCode === null) {
          armed = false;
          distinctAtKill = new Set(hits.map((h) => h.id)).size;
          victim.child.kill('SIGKILL');
        }
        res.on('error', () => undefined);
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(200).end('ok');
        }, 30);
      });
    });
    server.on('connection', (socket) => socket.on('error', () => undefined));
    server.keepAliveTimeout = 120_000; // no idle-close race with the sender's pooled connections
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    const env = {
      NODE_ENV: 'development',
      DATABASE_URL: scratch.url,
      API_KEYS: CLIENT_KEY,
      ADMIN_API_KEYS: ADMIN_KEY,
      WALLET_AUTH: 'optional',
      RISK_PROVIDER: 'static',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      WEBHOOK_DISPATCH_INTERVAL_MS: '20',
      WEBHOOK_TIMEOUT_MS: '1000',
      JOB_LEASE_MS: '1500',
    };

    // ---- first process: an endpoint, then EVENTS credit lines opened over HTTP while it delivers
    const first = startServer(env);
    crash.victim = first;
    const port = await ready(first);
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-api-key': ADMIN_KEY },
      body: JSON.stringify({ url: hookUrl }),
    });
    expect(created.status).toBe(201);
    const { secret } = ((await created.json()) as { data: { secret: string } }).data;

    let next = 0;
    const openLines = async () => {
      while (next < EVENTS) {
        next++;
        const res = await fetch(`${base}/api/credit/lines`, {
          method: 'POST',
          // Manual terms (an admin's): an evaluated opening would add a risk.evaluated event to the count.
          headers: { 'content-type': 'application/json', 'x-admin-api-key': ADMIN_KEY },
          body: JSON.stringify({ walletAddress: Keypair.random().publicKey(), creditLimit: '100', interestRateBps: 100 }),
        });
        expect(res.status).toBe(201);
      }
    };
    await Promise.all(Array.from({ length: 8 }, openLines));

    // ---- crash it mid-delivery
    armed = true;
    expect(await first.exited).toBe('SIGKILL');
    expect(distinctAtKill, 'the crash should interrupt the backlog, not follow it').toBeLessThan(EVENTS);
    expect(distinctAtKill).toBeGreaterThan(0);

    // ---- a new process on the same database picks up what the dead one held (once its lease ran out)
    const second = startServer(env);
    await ready(second);
    await sql.connect();
    cleanups.push(() => sql.end());
    const { rows } = await sql.query<{ id: string }>('SELECT id FROM domain_events');
    expect(rows).toHaveLength(EVENTS);
    const eventIds = new Set(rows.map((r) => r.id));
    await until(
      'every event at the receiver',
      () => {
        const got = new Set(hits.map((h) => h.id));
        return [...eventIds].every((id) => got.has(id)) ? true : undefined;
      },
      120_000,
      second,
    );
    await until(
      'an empty queue',
      async () => {
        const queued = await sql.query<{ n: string }>("SELECT count(*)::text AS n FROM jobs WHERE status IN ('queued', 'running')");
        return queued.rows[0]!.n === '0' ? true : undefined;
      },
      30_000,
      second,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // ---- none lost; duplicates are allowed (at least once) but identical, so the receiver can de-duplicate
    const byId = new Map<string, Hit[]>();
    for (const hit of hits) byId.set(hit.id, [...(byId.get(hit.id) ?? []), hit]);
    expect(new Set(byId.keys())).toEqual(eventIds);
    const duplicates = hits.length - byId.size;
    console.info(`webhook crash test: ${hits.length} requests for ${byId.size} events, ${duplicates} duplicate(s), crash after ${distinctAtKill}`);
    for (const [id, copies] of byId) {
      expect(new Set(copies.map((c) => c.body)).size, `copies of ${id} differ`).toBe(1);
      for (const copy of copies) expect(new Webhook(secret).verify(copy.body, copy.headers)).toMatchObject({ id, type: 'credit_line.created' });
    }
    // One endpoint, one dispatcher: exactly one delivery was in flight when the process died, and every
    // earlier one was recorded before the next was sent. Only that one may arrive twice.
    expect(duplicates).toBeLessThanOrEqual(1);
    const states = await sql.query<{ status: string; n: string }>('SELECT status, count(*)::text AS n FROM jobs GROUP BY status');
    expect(states.rows).toEqual([{ status: 'done', n: String(EVENTS) }]);
  });
});
