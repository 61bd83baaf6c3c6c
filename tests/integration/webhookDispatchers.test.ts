import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDb } from '../../src/db/postgresDb.js';
import type { Env } from '../../src/config.js';
import { admin, createTestApp, type TestApp } from '../support/app.js';
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/databases.js';

/**
 * Several dispatchers (as several processes would run them) against one PostgreSQL database: every event
 * reaches the endpoint, and reaches it once. Each app gets its own connection pool on the shared scratch
 * database, so claims, leases and the fan-out advisory lock really contend.
 */

interface Hit {
  id: string;
  body: string;
  headers: Record<string, string>;
  status: number;
}

/** A receiver that answers each request with `decide(webhookId, timesSeenBefore)`: a status, or 'hang'. */
async function startReceiver(decide: (id: string, seen: number) => number | 'hang' = () => 200) {
  const hits: Hit[] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const n = seen.get(id) ?? 0;
      seen.set(id, n + 1);
      const answer = decide(id, n);
      res.on('error', () => undefined);
      const hit: Hit = { id, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers as Record<string, string>, status: answer === 'hang' ? 0 : answer };
      hits.push(hit);
      if (answer !== 'hang') res.writeHead(answer).end();
    });
  });
  server.on('connection', (socket) => socket.on('error', () => undefined));
  server.keepAliveTimeout = 120_000; // no idle-close race with the sender's pooled connections
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    hits,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe.runIf(TEST_DATABASE_URL)('two webhook dispatchers against one PostgreSQL', () => {
  let database: TestDatabase;
  const apps: TestApp[] = [];
  const receivers: { close: () => Promise<void> }[] = [];

  beforeAll(async () => {
    database = await openTestDatabase('postgres');
  });
  afterEach(async () => {
    // each app closes its own pool (and stops its workers); the shared database stays for the next test
    for (const app of apps.splice(0)) await app.container.close();
    for (const receiver of receivers.splice(0)) await receiver.close();
    await database.truncate();
  });
  afterAll(async () => {
    await database?.close();
  });

  /** An app with its own pool on the shared database: as good as a second process for the queue. */
  const openApp = async (env: Env) => {
    const db = createPostgresDb(database.url!, { poolMax: 10 });
    const own: TestDatabase = { kind: 'postgres', db, url: database.url, truncate: () => database.truncate(), close: () => db.close() };
    const app = await createTestApp('postgres', env, { database: own });
    apps.push(app);
    return app;
  };

  const appendEvents = async (app: TestApp, count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const event = await app.container.store.repos.events.append({
        id: randomUUID(),
        type: 'credit_line.created',
        aggregateType: 'credit_line',
        aggregateId: randomUUID(),
        payload: { n: i },
        createdAt: new Date(),
      });
      ids.push(event.id);
    }
    return ids;
  };

  it('deliver 1,000 events, every event once', { timeout: 120_000 }, async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const env = { WEBHOOK_DISPATCH_INTERVAL_MS: '10', WEBHOOK_BATCH_SIZE: '25' };
    const a = await openApp(env);
    const b = await openApp(env);
    const created = await request(a.app).post('/api/webhooks').set(admin).send({ url: receiver.url });
    expect(created.status).toBe(201);
    const secret = created.body.data.secret as string;

    // half the events before the workers start, half while they run
    const ids = await appendEvents(a, 500);
    a.container.scheduler.start();
    b.container.scheduler.start();
    ids.push(...(await appendEvents(b, 500)));

    await until('all 1,000 events at the receiver', () => (new Set(receiver.hits.map((h) => h.id)).size >= 1_000 ? true : undefined), 60_000);
    // and nothing left in flight that could still arrive twice
    await until(
      'an empty queue',
      async () => {
        const { rows } = await database.db.query<{ n: string }>("SELECT count(*)::text AS n FROM jobs WHERE status IN ('queued', 'running')");
        return rows[0]!.n === '0' ? true : undefined;
      },
      30_000,
    );
    await Promise.all([a.container.scheduler.stop(), b.container.scheduler.stop()]);

    const counts = new Map<string, number>();
    for (const hit of receiver.hits) counts.set(hit.id, (counts.get(hit.id) ?? 0) + 1);
    const twice = [...counts.entries()].filter(([, n]) => n > 1);
    expect(twice, `delivered more than once: ${twice.length}`).toEqual([]);
    expect(receiver.hits).toHaveLength(1_000);
    expect(new Set(counts.keys())).toEqual(new Set(ids));
    for (const hit of receiver.hits) expect(new Webhook(secret).verify(hit.body, hit.headers)).toMatchObject({ id: hit.id, type: 'credit_line.created' });

    const { rows } = await database.db.query<{ status: string; n: string }>('SELECT status, count(*)::text AS n FROM jobs GROUP BY status');
    expect(rows).toEqual([{ status: 'done', n: '1000' }]);
    const byWorker = await database.db.query<{ locked_by: string; n: string }>('SELECT locked_by, count(*)::text AS n FROM jobs GROUP BY locked_by');
    expect(byWorker.rows.reduce((sum, r) => sum + Number(r.n), 0)).toBe(1_000);
  });

  /**
   * BUG (see the report): `dispatch()` leases a whole batch once, for JOB_LEASE_MS, then sends the batch's jobs
   * of one endpoint one after another. When the sends take longer than the lease in total (here: a receiver
   * that lets three requests run into WEBHOOK_TIMEOUT_MS), the rest of the batch looks abandoned while the
   * first dispatcher still holds it and will send it; a second dispatcher claims it and both deliver it.
   * No process crashed, and JOB_LEASE_MS > WEBHOOK_TIMEOUT_MS as the config demands.
   */
  it('a batch that outlasts its lease is not delivered a second time by the other dispatcher', { timeout: 60_000 }, async () => {
    // the first attempt of the first three events hangs past the timeout; everything else is answered 200
    let hanging = 0;
    const receiver = await startReceiver((_id, seen) => (seen === 0 && hanging++ < 3 ? 'hang' : 200));
    receivers.push(receiver);
    const env = { WEBHOOK_TIMEOUT_MS: '1000', JOB_LEASE_MS: '1500', WEBHOOK_RETRY_SCHEDULE: '10ms,10ms,10ms', WORKERS: 'none' };
    const a = await openApp(env);
    const b = await openApp(env);
    expect((await request(a.app).post('/api/webhooks').set(admin).send({ url: receiver.url })).status).toBe(201);
    const ids = await appendEvents(a, 5);
    while ((await a.container.services.webhooks.fanOut()) > 0);

    const first = a.container.services.webhooks.dispatch('dispatcher-a', 10);
    // wait (by the database's own record, not a stopwatch) until A's lease on its batch has run out
    const lease = await until(
      "A's lease",
      async () => {
        const job = (await a.container.store.repos.jobs.list({ status: 'running' }, { limit: 1 }))[0];
        return job?.lockedUntil ?? undefined;
      },
      10_000,
    );
    await until('the lease to expire', () => (Date.now() > lease.getTime() + 20 ? true : undefined), 10_000);
    const second = b.container.services.webhooks.dispatch('dispatcher-b', 10);
    await Promise.all([first, second]);
    // then let either finish what is left
    await until(
      'everything delivered',
      async () => {
        await a.container.services.webhooks.dispatch('dispatcher-a', 10);
        const { rows } = await database.db.query<{ n: string }>("SELECT count(*)::text AS n FROM jobs WHERE status <> 'done'");
        return rows[0]!.n === '0' ? true : undefined;
      },
      30_000,
    );

    const delivered = new Map<string, number>();
    for (const hit of receiver.hits.filter((h) => h.status === 200)) delivered.set(hit.id, (delivered.get(hit.id) ?? 0) + 1);
    expect(new Set(delivered.keys())).toEqual(new Set(ids));
    expect(Object.fromEntries([...delivered.entries()].filter(([, n]) => n > 1))).toEqual({});
  });
});
