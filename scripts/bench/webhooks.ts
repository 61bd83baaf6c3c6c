/**
 * `npm run bench:webhooks`: webhook delivery throughput and commit-to-delivery lag of the real service process
 * (`node --import tsx src/index.ts`, its `webhook-fanout` and `webhook-dispatch` workers run by the scheduler) on
 * PostgreSQL, delivering to a local receiver on 127.0.0.1. Writes docs/benchmarks.md between
 * `<!-- bench:webhooks:start -->` and `<!-- bench:webhooks:end -->` (only that section). A benchmark, not a test:
 * it exits 0 when a target is missed and says so in the document.
 *
 * Scenarios (each on its own scratch database and service process):
 *   throughput-1 / throughput-4  BENCH_WEBHOOK_EVENTS events committed as fast as possible (500 rows per INSERT), one
 *                                or four endpoints; rate = events / (first commit -> last arrival)
 *   lag-1 / lag-4                events committed at a steady BENCH_WEBHOOK_RATE per second in small transactions for
 *                                BENCH_WEBHOOK_LAG_SECONDS; lag = arrival - domain_events.created_at (= clock_timestamp())
 *   floor-1                      as lag-1 at BENCH_WEBHOOK_FLOOR_RATE per second, a rate the service keeps up with: the
 *                                pipeline's own latency, without queueing
 *   profile-1                    throughput-1 (at most 3000 events) with a statement counter preloaded into the service
 *                                (pgCounter.ts): where a delivery's time goes; its rate is not used for the targets
 *   batch-<n>                    throughput-1 (BENCH_WEBHOOK_SWEEP_EVENTS events) at WEBHOOK_BATCH_SIZE=<n>: how the rate
 *                                depends on the batch size
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL           server for the scratch databases (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_WEBHOOK_SCENARIOS      comma list (default throughput-1,throughput-4,lag-1,floor-1,profile-1,batch-50,batch-500;
 *                                lag-4 is available but offers 4 x BENCH_WEBHOOK_RATE deliveries/s)
 *   BENCH_WEBHOOK_EVENTS         events in throughput-1 (default 10000)
 *   BENCH_WEBHOOK_EVENTS_4       events in throughput-4 (default 2500: the same 10000 deliveries as throughput-1)
 *   BENCH_WEBHOOK_RATE           events/s in the lag runs (default 300)
 *   BENCH_WEBHOOK_LAG_SECONDS    length of the lag runs' production (default 20)
 *   BENCH_WEBHOOK_FLOOR_RATE     events/s in floor-1 (default 50)
 *   BENCH_WEBHOOK_SWEEP_EVENTS   events per batch-<n> run (default 3000)
 *   BENCH_WEBHOOK_BATCH_SIZE     WEBHOOK_BATCH_SIZE (default 200)
 *   BENCH_WEBHOOK_INTERVAL_MS    WEBHOOK_DISPATCH_INTERVAL_MS (default 20)
 *   BENCH_WEBHOOK_DRAIN_SECONDS  how long a run may wait for its last delivery (default 600); a run cut off there is
 *                                reported as incomplete, with what was delivered by then
 *   BENCH_DB_POOL_MAX            DB_POOL_MAX (default 20)
 *   BENCH_WEBHOOK_CPU_PROF       a directory: the profile-1 service also runs with --cpu-prof and leaves its profile there
 *   BENCH_WEBHOOK_SERVICE_IMPORT a module preloaded into every service process (`--import`), for what-if experiments such
 *                                as a patched dispatcher; the document then says so (do not publish such figures as the
 *                                service's)
 *   BENCH_OUTPUT                 document to update (default docs/benchmarks.md); BENCH_WEBHOOK_WRITE=0 to only print
 *   BENCH_WEBHOOK_RESULTS        where the raw results are saved as JSON (default <os tmpdir>/creditra-bench-webhooks.json)
 *   BENCH_WEBHOOK_RENDER=1       measure nothing: re-render the section from BENCH_WEBHOOK_RESULTS (after a change to
 *                                the report's wording)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { StrKey } from '@stellar/stellar-sdk';
import { freePort, LOOPBACK, onCleanup, runBenchmark, startNodeServer, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { commitTimes, insertEvents, synthesize, type EventTemplate, type SyntheticEvent } from './webhooks/events.js';
import type { CounterSnapshot } from './webhooks/pgCounter.js';
import { startReceiver, type Receiver } from './webhooks/receiver.js';
import { CpuMeter, loadAvg, percentile } from './webhooks/sampling.js';
import { renderSection, writeSection, type Profile, type RenderInput, type RunResult, type Settings } from './webhooks/report.js';
import { ROOT, intEnv, sh, cpuModel } from './common.js';



const DEFAULT_SCENARIOS = ['throughput-1', 'throughput-4', 'lag-1', 'floor-1', 'profile-1', 'batch-50', 'batch-500'];
const SCENARIO_PATTERN = /^(throughput-[14]|lag-[14]|floor-1|profile-1|batch-\d{1,5})$/;

const settings: Settings & { adminUrl: string; scenarios: string[]; output: string; write: boolean; cpuProfDir?: string; resultsFile: string; renderOnly: boolean } = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  scenarios: (process.env.BENCH_WEBHOOK_SCENARIOS || DEFAULT_SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (!SCENARIO_PATTERN.test(s)) throw new Error(`BENCH_WEBHOOK_SCENARIOS: unknown scenario "${s}" (use throughput-1, throughput-4, lag-1, lag-4, floor-1, profile-1 or batch-<n>)`);
      return s;
    }),
  events: intEnv('BENCH_WEBHOOK_EVENTS', 10_000, 10, 200_000),
  events4: intEnv('BENCH_WEBHOOK_EVENTS_4', 2_500, 10, 200_000),
  rate: intEnv('BENCH_WEBHOOK_RATE', 300, 1, 10_000),
  lagSeconds: intEnv('BENCH_WEBHOOK_LAG_SECONDS', 20, 1, 600),
  floorRate: intEnv('BENCH_WEBHOOK_FLOOR_RATE', 50, 1, 10_000),
  sweepEvents: intEnv('BENCH_WEBHOOK_SWEEP_EVENTS', 3_000, 10, 200_000),
  batchSize: intEnv('BENCH_WEBHOOK_BATCH_SIZE', 200, 1, 10_000),
  intervalMs: intEnv('BENCH_WEBHOOK_INTERVAL_MS', 20, 1, 60_000),
  drainSeconds: intEnv('BENCH_WEBHOOK_DRAIN_SECONDS', 600, 5, 3_600),
  poolMax: intEnv('BENCH_DB_POOL_MAX', 20, 1, 200),
  insertBatch: 500,
  steadyTickMs: 10,
  targetEventsPerSecond: 500,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_WEBHOOK_WRITE !== '0',
  cpuProfDir: process.env.BENCH_WEBHOOK_CPU_PROF ? path.resolve(process.env.BENCH_WEBHOOK_CPU_PROF) : undefined,
  serviceImport: process.env.BENCH_WEBHOOK_SERVICE_IMPORT ? path.resolve(process.env.BENCH_WEBHOOK_SERVICE_IMPORT) : undefined,
  resultsFile: process.env.BENCH_WEBHOOK_RESULTS ? path.resolve(process.env.BENCH_WEBHOOK_RESULTS) : path.join(os.tmpdir(), 'creditra-bench-webhooks.json'),
  renderOnly: process.env.BENCH_WEBHOOK_RENDER === '1',
};

const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-webhooks-'));
onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench:webhooks ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ------------------------------------------------------------------------------------------- database

/** Refuses any database server that is not on this machine's loopback interface. */
function loopbackUrl(raw: string): URL {
  const url = new URL(raw);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new Error(`BENCH_DATABASE_URL must be a postgres:// URL, got ${url.protocol}`);
  if (!['127.0.0.1', 'localhost'].includes(url.hostname)) {
    throw new Error(`BENCH_DATABASE_URL must point at 127.0.0.1 (the benchmark only talks to loopback), got ${url.hostname}`);
  }
  url.hostname = LOOPBACK;
  return url;
}

/**
 * A client of the benchmark's own. An error on an idle connection (the scratch database dropped WITH (FORCE) by a
 * cleanup after Ctrl-C) must not crash the process before the remaining cleanups ran: the next query fails instead.
 */
function benchClient(url: string): pg.Client {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, statement_timeout: 60_000, application_name: 'bench-webhooks' });
  client.on('error', () => undefined);
  return client;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = benchClient(url);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `bench_wh_<random>`, registers its DROP, and returns its URL and a function that drops it now. */
async function scratchDatabase(adminUrl: URL): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `bench_wh_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl.toString(), (client) => client.query(`CREATE DATABASE ${name}`));
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withClient(adminUrl.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    log(`dropped database ${name}`);
  };
  onCleanup(`drop database ${name}`, drop);
  const url = new URL(adminUrl.toString());
  url.pathname = `/${name}`;
  log(`created database ${name}`);
  return { url: url.toString(), name, drop };
}

// ------------------------------------------------------------------------------------------- the service

async function startService(name: string, databaseUrl: string, profiled: boolean, batchSize: number): Promise<{ server: RunningServer; counterFile?: string }> {
  const port = await freePort();
  const counterFile = profiled ? path.join(workDir, `${name}.counter.json`) : undefined;
  const nodeArgs: string[] = [];
  // tsx first so a TypeScript preload can load; the second `--import tsx` added by startNodeServer is a no-op.
  if (profiled || settings.serviceImport) nodeArgs.push('--import', 'tsx');
  if (settings.serviceImport) nodeArgs.push('--import', pathToFileURL(settings.serviceImport).href);
  if (profiled) {
    nodeArgs.push('--import', './scripts/bench/webhooks/pgCounter.ts');
    if (settings.cpuProfDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', path.join(settings.cpuProfDir, name));
  }
  const server = await startNodeServer({
    name,
    cwd: ROOT,
    entry: 'src/index.ts',
    logFile: path.join(workDir, `${name}.log`),
    port,
    nodeArgs,
    env: {
      NODE_ENV: 'development',
      HOST: LOOPBACK,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_POOL_MAX: String(settings.poolMax),
      API_KEYS: clientKey,
      ADMIN_API_KEYS: adminKey,
      RATE_LIMIT_PER_MIN: '1000000000',
      // Only for the three template events opened, drawn and repaid through the API at warm-up.
      WALLET_AUTH: 'optional',
      WORKERS: 'webhook-fanout,webhook-dispatch',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      WEBHOOK_DISPATCH_INTERVAL_MS: String(settings.intervalMs),
      WEBHOOK_BATCH_SIZE: String(batchSize),
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...(counterFile ? { BENCH_PG_COUNTER_FILE: counterFile } : {}),
    },
  });
  await waitForOk(server, '/health/ready', 90_000);
  log(`${name}: service ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return { server, counterFile };
}

async function call(url: string, init: RequestInit & { expect: number }): Promise<Record<string, unknown>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const body = (await response.json().catch(() => ({}))) as { data?: Record<string, unknown>; error?: unknown };
  if (response.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} answered ${response.status}: ${JSON.stringify(body.error ?? body)}`);
  return body.data ?? {};
}

/** Registers the endpoints through the admin API; returns their ids and secrets (shown only at creation). */
async function registerEndpoints(server: RunningServer, receiver: Receiver, count: number): Promise<Array<{ id: string; secret: string }>> {
  const endpoints: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < count; i++) {
    const data = await call(`${server.baseUrl}/api/webhooks`, {
      method: 'POST',
      headers: { 'X-Admin-Api-Key': adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: receiver.url(i), description: `bench receiver ${i}` }),
      expect: 201,
    });
    if (typeof data.secret !== 'string' || typeof data.id !== 'string') throw new Error('POST /api/webhooks returned no id or secret');
    endpoints.push({ id: data.id, secret: data.secret });
  }
  return endpoints;
}

/**
 * Opens a line, draws and repays through the API (WALLET_AUTH=optional), so the service writes three real events;
 * returns their ids and payloads. They warm the whole path up and are the templates of the synthetic events.
 */
async function templateEvents(server: RunningServer, dbUrl: string): Promise<{ ids: string[]; templates: EventTemplate[] }> {
  const headers = { 'X-API-Key': clientKey, 'Content-Type': 'application/json' };
  // Manual terms (an admin's): an evaluated opening would add a risk evaluation the bench does not measure.
  const line = await call(`${server.baseUrl}/api/credit/lines`, {
    method: 'POST',
    headers: { ...headers, 'X-Admin-Api-Key': adminKey },
    body: JSON.stringify({ walletAddress: StrKey.encodeEd25519PublicKey(randomBytes(32)), creditLimit: '1000', interestRateBps: 1200 }),
    expect: 201,
  });
  const lineId = String(line.id);
  await call(`${server.baseUrl}/api/credit/lines/${lineId}/draw`, { method: 'POST', headers, body: JSON.stringify({ amount: '250' }), expect: 200 });
  await call(`${server.baseUrl}/api/credit/lines/${lineId}/repay`, { method: 'POST', headers, body: JSON.stringify({ amount: '100' }), expect: 200 });
  return withClient(dbUrl, async (client) => {
    const { rows } = await client.query<{ id: string; type: string; payload: Record<string, unknown> }>(
      'SELECT id, type, payload FROM domain_events WHERE aggregate_id = $1 ORDER BY seq',
      [lineId],
    );
    return { ids: rows.map((r) => r.id), templates: rows.map((r) => ({ type: r.type, payload: r.payload })) };
  });
}

/** Polls until every id arrived at every endpoint, or the deadline; bounded in iterations too. */
async function waitForArrivals(receiver: Receiver, endpoints: number, ids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const pollMs = 25;
  const missing = Array.from({ length: endpoints }, () => new Set(ids));
  for (let i = 0; i < Math.ceil(timeoutMs / pollMs) + 1 && Date.now() < deadline; i++) {
    let left = 0;
    for (let e = 0; e < endpoints; e++) {
      const byId = receiver.arrivals(e).byId;
      for (const id of missing[e]!) if (byId.has(id)) missing[e]!.delete(id);
      left += missing[e]!.size;
    }
    if (left === 0) return true;
    await sleep(pollMs);
  }
  return false;
}

// ------------------------------------------------------------------------------------------- production

/** Commits all events as fast as possible, `insertBatch` rows per INSERT; returns when the first commit returned. */
async function produceBurst(client: pg.Client, events: readonly SyntheticEvent[]): Promise<{ firstCommitAt: number; lastCommitAt: number; transactions: number }> {
  let firstCommitAt = 0;
  let transactions = 0;
  for (let i = 0; i < events.length; i += settings.insertBatch) {
    await insertEvents(client, events.slice(i, i + settings.insertBatch));
    transactions++;
    if (i === 0) firstCommitAt = Date.now();
  }
  return { firstCommitAt, lastCommitAt: Date.now(), transactions };
}

/**
 * Commits events at a steady `rate` per second: every `steadyTickMs` one INSERT of the events due by then (a few
 * rows, one small transaction). Bounded by the event count, by the tick count and by time.
 */
async function produceSteady(client: pg.Client, events: readonly SyntheticEvent[], rate: number): Promise<{ firstCommitAt: number; lastCommitAt: number; transactions: number }> {
  const started = Date.now();
  const deadline = started + (events.length / rate) * 1000 + 30_000;
  const maxTicks = Math.ceil(((events.length / rate) * 1000) / settings.steadyTickMs) * 3 + 100;
  let produced = 0;
  let firstCommitAt = 0;
  let transactions = 0;
  for (let tick = 0; tick < maxTicks && produced < events.length && Date.now() < deadline; tick++) {
    const due = Math.min(events.length, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    if (due > produced) {
      const count = Math.min(due - produced, 50);
      await insertEvents(client, events.slice(produced, produced + count));
      produced += count;
      transactions++;
      if (firstCommitAt === 0) firstCommitAt = Date.now();
    }
    const nextDue = started + ((produced + 1) / rate) * 1000;
    await sleep(Math.max(0, Math.min(settings.steadyTickMs, nextDue - Date.now())));
  }
  if (produced < events.length) throw new Error(`steady production stopped at ${produced} of ${events.length} events`);
  return { firstCommitAt, lastCommitAt: Date.now(), transactions };
}

// ------------------------------------------------------------------------------------------- one scenario

async function backendPids(client: pg.Client, dbName: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> 'bench-webhooks'`,
    [dbName],
  );
  return rows.map((r) => r.pid);
}

function readCounter(file: string | undefined): CounterSnapshot | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CounterSnapshot;
  } catch {
    return undefined;
  }
}

function diffCounter(start: CounterSnapshot | undefined, end: CounterSnapshot | undefined, deliveries: number): Profile | undefined {
  if (!start || !end) return undefined;
  const statements = Object.entries(end.statements)
    .map(([kind, v]) => {
      const before = start.statements[kind] ?? { count: 0, ms: 0 };
      return { kind, count: v.count - before.count, ms: v.ms - before.ms };
    })
    .filter((s) => s.count > 0)
    .sort((a, b) => b.ms - a.ms);
  const wallMs = end.at - start.at;
  const active = end.elu.active - start.elu.active;
  const idle = end.elu.idle - start.elu.idle;
  return {
    wallMs,
    deliveries,
    statements,
    eventLoopUtilization: active / Math.max(active + idle, 1),
    cpuMs: (end.cpu.user + end.cpu.system - start.cpu.user - start.cpu.system) / 1000,
  };
}

interface Scenario {
  name: string;
  endpoints: number;
  mode: 'burst' | 'steady';
  /** Events to produce, and their rate per second in steady mode. */
  events: number;
  rate: number;
  batchSize: number;
  profiled: boolean;
}

function scenarioOf(name: string): Scenario {
  const endpoints = name.endsWith('-4') ? 4 : 1;
  const base = { name, endpoints, mode: 'burst' as const, events: endpoints === 4 ? settings.events4 : settings.events, rate: 0, batchSize: settings.batchSize, profiled: false };
  if (name.startsWith('lag')) return { ...base, mode: 'steady', events: settings.rate * settings.lagSeconds, rate: settings.rate };
  if (name === 'floor-1') return { ...base, mode: 'steady', events: settings.floorRate * settings.lagSeconds, rate: settings.floorRate };
  if (name === 'profile-1') return { ...base, events: Math.min(settings.events, 3_000), profiled: true };
  if (name.startsWith('batch-')) {
    const batchSize = Number(name.slice('batch-'.length));
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error(`${name}: the batch size must be 1 to 10000`);
    return { ...base, events: settings.sweepEvents, batchSize };
  }
  return base;
}

async function runScenario(adminUrl: URL, receiver: Receiver, scenario: Scenario): Promise<RunResult> {
  const db = await scratchDatabase(adminUrl);
  const { server, counterFile } = await startService(`service-${scenario.name}`, db.url, scenario.profiled, scenario.batchSize);
  const client = benchClient(db.url);
  await client.connect();
  try {
    const endpoints = await registerEndpoints(server, receiver, scenario.endpoints);
    receiver.reset(endpoints.map((e) => e.secret));
    const warm = await templateEvents(server, db.url);
    if (!(await waitForArrivals(receiver, scenario.endpoints, warm.ids, 30_000))) throw new Error(`${scenario.name}: the warm-up events were not delivered within 30 s\n${receiver.problems().examples.join('\n')}`);
    const count = scenario.events;
    const events = synthesize(warm.templates, count);
    const ids = events.map((e) => e.id);
    const meanPayloadBytes = Math.round(events.reduce((sum, e) => sum + e.payload.length, 0) / events.length);
    log(`${scenario.name}: ${scenario.endpoints} endpoint(s), warm-up delivered; producing ${count} events (${scenario.mode === 'burst' ? `${settings.insertBatch} per INSERT` : `${scenario.rate}/s`}), WEBHOOK_BATCH_SIZE=${scenario.batchSize}`);

    const servicePid = server.child.pid!;
    const meter = new CpuMeter();
    const loadAtStart = os.loadavg()[0] ?? 0;
    meter.begin([servicePid, ...(await backendPids(client, db.name))]);
    const counterStart = readCounter(counterFile);

    const production = scenario.mode === 'burst' ? await produceBurst(client, events) : await produceSteady(client, events, scenario.rate);
    const budgetMs = settings.drainSeconds * 1000;
    const complete = await waitForArrivals(receiver, scenario.endpoints, ids, budgetMs);
    const pids = await backendPids(client, db.name);
    const cpu = meter.end([servicePid, ...pids]);
    // The counter file is rewritten every 250 ms: wait for a snapshot taken after the last arrival.
    if (counterFile) await sleep(600);
    const counterEnd = readCounter(counterFile);
    // Grace period: a duplicate sent right after the last first copy would show up now.
    await sleep(1_500);

    const times = await commitTimes(client, ids);
    const expected = new Set(ids);
    let lastArrival = 0;
    let duplicates = 0;
    let missing = 0;
    /** Delivery job dedupe keys (endpoint:event) of the events an endpoint never received. */
    const missingKeys: string[] = [];
    let unexpected = 0;
    const lags: number[] = [];
    const firstArrivals: number[] = [];
    const reachedAll = new Map<string, number>();
    for (let e = 0; e < scenario.endpoints; e++) {
      const { byId } = receiver.arrivals(e);
      for (const id of ids) {
        const arrivals = byId.get(id);
        if (!arrivals) {
          missing++;
          missingKeys.push(`${endpoints[e]!.id}:${id}`);
          continue;
        }
        duplicates += arrivals.length - 1;
        const first = arrivals[0]!;
        lastArrival = Math.max(lastArrival, first);
        firstArrivals.push(first);
        reachedAll.set(id, (reachedAll.get(id) ?? 0) + 1);
        const committed = times.get(id);
        if (committed !== undefined) lags.push(first - committed);
      }
      for (const [id, arrivals] of byId) if (!expected.has(id) && !warm.ids.includes(id)) unexpected += arrivals.length;
    }
    lags.sort((a, b) => a - b);
    firstArrivals.sort((a, b) => a - b);
    const eventsDelivered = [...reachedAll.values()].filter((n) => n === scenario.endpoints).length;
    const spanMs = Math.max(lastArrival - production.firstCommitAt, 1);
    // Deliveries/s in each quarter of the deliveries (by arrival): does the rate hold up as the run goes on?
    const quarterRates = [0, 1, 2, 3].map((q) => {
      const from = q === 0 ? production.firstCommitAt : (firstArrivals[Math.floor((q * firstArrivals.length) / 4) - 1] ?? 0);
      const to = firstArrivals[Math.floor(((q + 1) * firstArrivals.length) / 4) - 1] ?? 0;
      const count = Math.floor(((q + 1) * firstArrivals.length) / 4) - Math.floor((q * firstArrivals.length) / 4);
      return count / Math.max((to - from) / 1000, 0.001);
    });
    const deliveries = ids.length * scenario.endpoints;

    await server.stop();
    const jobs = await client.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM jobs GROUP BY status ORDER BY status`);
    const attempts = await client.query<{ failed: string; mean_ms: string | null }>(
      `SELECT count(*) FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)::text AS failed, avg(latency_ms)::float8::text AS mean_ms FROM webhook_attempts`,
    );
    // An event that never arrived is either still queued (the run hit its time limit) or lost (its job says otherwise).
    const missingByStatus: Record<string, number> = {};
    for (let i = 0; i < missingKeys.length; i += 5_000) {
      const { rows } = await client.query<{ status: string; n: string }>(
        `SELECT coalesce(j.status, 'no job') AS status, count(*)::text AS n FROM unnest($1::text[]) AS k(key)
           LEFT JOIN jobs j ON j.queue = 'webhook.delivery' AND j.dedupe_key = k.key GROUP BY 1`,
        [missingKeys.slice(i, i + 5_000)],
      );
      for (const row of rows) missingByStatus[row.status] = (missingByStatus[row.status] ?? 0) + Number(row.n);
    }
    const tables = await client.query<{ relname: string; ins: string; upd: string; hot: string }>(
      `SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot FROM pg_stat_user_tables WHERE relname IN ('jobs', 'webhook_attempts', 'domain_events')`,
    );
    const serviceLog = readFileSync(server.logFile, 'utf8');
    const warnings = serviceLog.split('\n').filter((l) => /"level":(40|50|60)/.test(l));

    const serviceCpuMs = cpu.byPid.get(servicePid) ?? Number.NaN;
    const postgresCpuMs = [...cpu.byPid.entries()].filter(([pid]) => pid !== servicePid).reduce((sum, [, ms]) => sum + ms, 0);
    const result: RunResult = {
      scenario: scenario.name,
      mode: scenario.mode,
      rate: scenario.rate,
      batchSize: scenario.batchSize,
      endpoints: scenario.endpoints,
      events: ids.length,
      deliveries,
      meanPayloadBytes,
      productionMs: production.lastCommitAt - production.firstCommitAt,
      productionTransactions: production.transactions,
      spanMs,
      complete,
      eventsDelivered,
      eventsPerSecond: eventsDelivered / (spanMs / 1000),
      quarterRates,
      deliveriesPerSecond: (deliveries - missing) / (spanMs / 1000),
      lag: { p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: lags[lags.length - 1] ?? Number.NaN },
      duplicates,
      missing,
      missingByStatus,
      unexpected,
      receiverProblems: receiver.problems(),
      failedAttempts: Number(attempts.rows[0]?.failed ?? 0),
      meanSendMs: Number(attempts.rows[0]?.mean_ms ?? Number.NaN),
      jobs: Object.fromEntries(jobs.rows.map((r) => [r.status, Number(r.n)])),
      tables: Object.fromEntries(tables.rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot) }])),
      warmupDeliveries: warm.ids.length * scenario.endpoints,
      cpu: {
        wallMs: cpu.wallMs,
        serviceShare: serviceCpuMs / cpu.wallMs,
        postgresShare: postgresCpuMs / cpu.wallMs,
        benchShare: cpu.selfMs / cpu.wallMs,
        machineBusyShare: cpu.machineBusyShare,
      },
      loadAtStart,
      warnings: warnings.length,
      firstWarning: warnings[0]?.slice(0, 300),
      profile: diffCounter(counterStart, counterEnd, deliveries),
    };
    log(
      `${scenario.name}: ${complete ? '' : 'INCOMPLETE, '}${result.events} events x ${scenario.endpoints} in ${(spanMs / 1000).toFixed(2)} s from first commit to last arrival: ` +
        `${Math.round(result.eventsPerSecond)} events/s, ${Math.round(result.deliveriesPerSecond)} deliveries/s; lag p50 ${result.lag.p50.toFixed(0)} ms, p99 ${result.lag.p99.toFixed(0)} ms; ` +
        `${duplicates} duplicates, ${missing} missing, ${unexpected} unexpected, ${result.receiverProblems.count} bad requests; service CPU ${(result.cpu.serviceShare * 100).toFixed(0)} %, postgres ${(result.cpu.postgresShare * 100).toFixed(0)} %`,
    );
    return result;
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
    await db.drop();
  }
}

// ------------------------------------------------------------------------------------------- main



function publish(input: RenderInput): void {
  const section = renderSection(input);
  process.stdout.write(`\n${section}\n\n`);
  if (settings.write) {
    writeSection(settings.output, section);
    log(`wrote the webhooks section of ${path.relative(ROOT, settings.output)}`);
  }
}

async function main(): Promise<void> {
  if (settings.renderOnly) {
    const saved = JSON.parse(readFileSync(settings.resultsFile, 'utf8')) as RenderInput;
    log(`re-rendering from ${settings.resultsFile} (measured ${saved.date})`);
    return publish(saved);
  }
  const adminUrl = loopbackUrl(settings.adminUrl);
  const postgresVersion = await withClient(adminUrl.toString(), async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown');
  const loadStart = loadAvg();
  const started = new Date();
  log(`${cpuModel()} x${sh('nproc', [])}, Node ${process.version}, PostgreSQL ${postgresVersion}; load average ${loadStart}; scenarios ${settings.scenarios.join(', ')}`);

  const receiver = await startReceiver();
  onCleanup('close the receiver', () => receiver.close());
  log(`receiver listening on http://${LOOPBACK}:${receiver.port}/hook/<n>`);

  const results: RunResult[] = [];
  for (const name of settings.scenarios) results.push(await runScenario(adminUrl, receiver, scenarioOf(name)));

  const input: RenderInput = {
    date: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: {
      cpuModel: cpuModel(),
      nproc: sh('nproc', []),
      memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      postgres: postgresVersion,
      commit: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
      loadAvgStart: loadStart,
      loadAvgEnd: loadAvg(),
    },
    settings: {
      events: settings.events,
      events4: settings.events4,
      drainSeconds: settings.drainSeconds,
      rate: settings.rate,
      lagSeconds: settings.lagSeconds,
      floorRate: settings.floorRate,
      sweepEvents: settings.sweepEvents,
      batchSize: settings.batchSize,
      intervalMs: settings.intervalMs,
      poolMax: settings.poolMax,
      insertBatch: settings.insertBatch,
      steadyTickMs: settings.steadyTickMs,
      targetEventsPerSecond: settings.targetEventsPerSecond,
      serviceImport: settings.serviceImport,
    },
    results,
  };
  mkdirSync(path.dirname(settings.resultsFile), { recursive: true });
  writeFileSync(settings.resultsFile, JSON.stringify(input, null, 2));
  log(`raw results saved to ${settings.resultsFile}`);
  publish(input);
}

// Whole-run watchdog: a wedged step cannot keep the benchmark (and its children) alive for ever.
const budgetMs = (120 + settings.scenarios.length * (settings.drainSeconds + settings.lagSeconds + 150)) * 1000;
runBenchmark('bench:webhooks', budgetMs, () => withTimeout(main(), budgetMs, 'bench:webhooks'));
