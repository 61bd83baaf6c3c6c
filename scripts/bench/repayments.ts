/**
 * `npm run bench:repayments`: the payment provider's webhook (`POST /api/repayment/webhook`) on PostgreSQL, measured
 * against the real server (a child process) with autocannon on loopback, and written to docs/benchmarks.md between
 * `<!-- bench:repayments:start -->` and `<!-- bench:repayments:end -->` (only that section). A benchmark, not a test:
 * it exits 0 when a target is missed and says so in the document.
 *
 * The fake Stripe (scripts/fake-stripe) runs in this process; the server's stripe SDK talks to it
 * (PAYMENT_PROVIDER_API_BASE) and verifies deliveries with its webhook secret (PAYMENT_WEBHOOK_SECRET).
 *
 * 1. Seeding, through the API: credit lines opened with the admin key on manual terms (`interestRateBps: 0`, so no
 *    interest moves a balance between runs), a debt drawn on each with the client key, then
 *    `POST /api/repayment/initiate` (usd) for each repayment: the server creates the PaymentIntent on the fake. The
 *    fake then "succeeds" every intent (`control.succeed`), which returns its `payment_intent.succeeded` event.
 * 2. Runs: the events of a set are signed just before its run (the server refuses signatures older than 300 s), each
 *    delivered `copies` times (default 2), and autocannon sends exactly those deliveries once each over 50 connections:
 *    for half the events the copies are adjacent (two connections send them at once: the duplicates race), for the
 *    other half the second copy comes about 500 events later (the first has been applied: a redelivery). A warm-up
 *    set first (not a target run), then the measured set, then for comparison a set delivered once per event (no
 *    duplicates), then every measured event delivered once more (all duplicates).
 * 3. Exactly once, with SQL after the runs: every repayment `succeeded` with its full amount applied, one
 *    `credit_line.repaid` event and one `repay` ledger entry of that amount per repayment, one `provider_events` row
 *    per unique event, every line's balance = its debt - its repayments, no interest entries; rolled-back
 *    applications are counted from the gaps they leave in the ledger's and the outbox's identity sequences.
 * 4. Profile (optional): a second server with the statement counter (scripts/bench/webhooks/pgCounter.ts) preloaded
 *    and `--cpu-prof`, on its own warm-up and measured sets of the same shape.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL                server for the scratch database (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_CONNECTIONS                 autocannon connections (default 50)
 *   BENCH_REPAYMENT_EVENTS            unique events (= repayments) in the measured run (default 10000)
 *   BENCH_REPAYMENT_WARMUP_EVENTS     unique events in the unrecorded warm-up run (default 1000, 0 to skip)
 *   BENCH_REPAYMENT_SINGLE_EVENTS     unique events of the comparison run without duplicates (default 5000, 0 to skip)
 *   BENCH_REPAYMENTS_PER_LINE         repayments initiated on each line (default 2)
 *   BENCH_REPAYMENT_COPIES            deliveries of each event (default 2)
 *   BENCH_REPAYMENT_PROFILE           0 to skip the profile server
 *   BENCH_REPAYMENT_PROFILE_EVENTS    unique events in the profile run (default 3000; its warm-up is a third of that)
 *   BENCH_REPAYMENT_CPU_PROFILE_OUT   a file: the profile server's CPU profile is copied there
 *   BENCH_OUTPUT                      document to update (default docs/benchmarks.md); BENCH_REPAYMENTS_WRITE=0 to only print
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { StrKey } from '@stellar/stellar-sdk';
import autocannon from 'autocannon';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/index.js';
import { ROOT, intEnv } from './common.js';
import { databaseName, loopbackUrl, openClient, scratchDatabase } from './database.js';
import { machineFacts, type BenchMachine } from './machine.js';
import { freePort, LOOPBACK, onCleanup, runBenchmark, serverWarnings, startNodeServer, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { targetsTable, writeSection, type Target } from './report.js';
import { call } from './walletAuth.js';
import type { CounterSnapshot } from './webhooks/pgCounter.js';
import { CpuMeter, loadAvg } from './webhooks/sampling.js';
import { IDLE_CATEGORY, SOCKET_WRITES, mainThreadProfile, readProfile, summariseProfile, type ProfileSummary } from './cpuProfile.js';

export const SECTION_START = '<!-- bench:repayments:start -->';
export const SECTION_END = '<!-- bench:repayments:end -->';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
  events: intEnv('BENCH_REPAYMENT_EVENTS', 10_000, 100, 200_000),
  warmupEvents: intEnv('BENCH_REPAYMENT_WARMUP_EVENTS', 1_000, 0, 50_000),
  singleEvents: intEnv('BENCH_REPAYMENT_SINGLE_EVENTS', 5_000, 0, 200_000),
  perLine: intEnv('BENCH_REPAYMENTS_PER_LINE', 2, 1, 20),
  copies: intEnv('BENCH_REPAYMENT_COPIES', 2, 1, 5),
  profile: process.env.BENCH_REPAYMENT_PROFILE !== '0',
  profileEvents: intEnv('BENCH_REPAYMENT_PROFILE_EVENTS', 3_000, 100, 50_000),
  cpuProfileOut: process.env.BENCH_REPAYMENT_CPU_PROFILE_OUT ? path.resolve(process.env.BENCH_REPAYMENT_CPU_PROFILE_OUT) : undefined,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_REPAYMENTS_WRITE !== '0',
  readyTimeoutMs: 90_000,
  /** Lines seeded at once (each: open, draw, then its repayments one after another). */
  seedConcurrency: 12,
  /** A late copy follows its first copy this many events later (about 1,000 deliveries at 2 copies). */
  lateLagEvents: 500,
  /** Debt drawn on every line, in USD (= line units at PAYMENT_FX_RATES usd=1). */
  debtUsd: 100,
  creditLimitUsd: 1_000,
};

const TARGET_EVENTS_PER_SECOND = 1_000;
/** The server refuses signatures older than this (src/payments/stripeProvider.ts SIGNATURE_TOLERANCE_SECONDS). */
const SIGNATURE_TOLERANCE_SECONDS = 300;
/** Line units (7 decimals) per US cent at usd=1. */
const UNITS_PER_CENT = 100_000n;
const UNITS_PER_USD = 10_000_000n;

const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
const BENCH_APP = 'bench-repayments';
const STRIPE_USER_AGENT = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';
const workDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-repayments-'));
onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench:repayments ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (share: number) => `${fmt(share * 100)} %`;

// ------------------------------------------------------------------------------------------- the server

async function startApi(name: string, databaseUrl: string, fake: FakeStripe, profile?: { counterFile: string; cpuProfDir: string }): Promise<RunningServer> {
  const port = await freePort();
  const server = await startNodeServer({
    name,
    cwd: ROOT,
    entry: 'src/index.ts',
    logFile: path.join(workDir, `${name}.log`),
    port,
    // The statement counter needs tsx before it (the second `--import tsx` added by startNodeServer is a no-op).
    nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profile.cpuProfDir, '--import', 'tsx', '--import', './scripts/bench/webhooks/pgCounter.ts'] : [],
    env: {
      NODE_ENV: 'development',
      HOST: LOOPBACK,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      API_KEYS: clientKey,
      ADMIN_API_KEYS: adminKey,
      RATE_LIMIT_PER_MIN: '1000000000',
      RISK_PROVIDER: 'static',
      WORKERS: 'none',
      WALLET_AUTH: 'optional',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      PAYMENT_PROVIDER_API_KEY: fake.apiKey,
      PAYMENT_WEBHOOK_SECRET: fake.webhookSecret,
      PAYMENT_PROVIDER_API_BASE: fake.url,
      PAYMENT_FX_RATES: 'usd=1',
      ...(profile ? { BENCH_PG_COUNTER_FILE: profile.counterFile } : {}),
    },
  });
  await waitForOk(server, '/health/ready', settings.readyTimeoutMs);
  log(`${name} ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return server;
}

/** `repayment_webhooks_total` by outcome, from the server's /metrics. */
async function webhookOutcomes(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const outcomes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^repayment_webhooks_total\{[^}]*outcome="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    if (match) outcomes[match[1]!] = (outcomes[match[1]!] ?? 0) + Number(match[2]);
  }
  return outcomes;
}

const diffOutcomes = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );

// ------------------------------------------------------------------------------------------- seeding

interface RepaymentSeed {
  id: string;
  lineId: string;
  providerRef: string;
  /** What the payer pays, in cents. */
  cents: number;
  /** The same in line units (7 decimals; usd=1). */
  units: bigint;
  event: unknown;
  eventId: string;
}

interface LineSeed {
  id: string;
  debt: bigint;
  repayments: RepaymentSeed[];
}

interface EventSet {
  name: string;
  lines: LineSeed[];
  repayments: RepaymentSeed[];
}

const jsonHeaders = { 'X-API-Key': clientKey, 'Content-Type': 'application/json' };

/** 5.00–24.99 USD, different for each repayment, never more than the debt over all of a line's repayments. */
const repaymentCents = (n: number) => 500 + ((n * 7_919) % 2_000);

let repaymentCounter = 0;

/**
 * Opens `events / perLine` lines (admin key, manual terms, rate 0), draws the debt on each (client key), initiates
 * `perLine` repayments per line through the API and succeeds each intent on the fake.
 */
async function seedSet(baseUrl: string, fake: FakeStripe, name: string, events: number): Promise<EventSet> {
  const lineCount = Math.ceil(events / settings.perLine);
  const lines: LineSeed[] = [];
  let next = 0;
  let left = events;
  const worker = async () => {
    while (next < lineCount) {
      next++;
      const count = Math.min(settings.perLine, left);
      left -= count;
      const line = await call(`${baseUrl}/api/credit/lines`, {
        method: 'POST',
        headers: { ...jsonHeaders, 'X-Admin-Api-Key': adminKey },
        body: JSON.stringify({ walletAddress: StrKey.encodeEd25519PublicKey(randomBytes(32)), creditLimit: String(settings.creditLimitUsd), interestRateBps: 0 }),
        expect: 201,
      });
      const lineId = String(line.data.id);
      await call(`${baseUrl}/api/credit/lines/${lineId}/draw`, {
        method: 'POST',
        headers: { ...jsonHeaders, 'Idempotency-Key': randomUUID() },
        body: JSON.stringify({ amount: String(settings.debtUsd) }),
        expect: 200,
      });
      const seed: LineSeed = { id: lineId, debt: BigInt(settings.debtUsd) * UNITS_PER_USD, repayments: [] };
      for (let r = 0; r < count; r++) {
        const cents = repaymentCents(repaymentCounter++);
        const initiated = await call(`${baseUrl}/api/repayment/initiate`, {
          method: 'POST',
          headers: { ...jsonHeaders, 'Idempotency-Key': randomUUID() },
          body: JSON.stringify({ lineId, amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`, currency: 'usd' }),
          expect: 201,
        });
        const repayment = initiated.data.repayment as { id: string; providerRef: string; amount: string; status: string };
        if (repayment.status !== 'pending' || !repayment.providerRef.startsWith('pi_')) throw new Error(`initiate answered ${JSON.stringify(repayment)}`);
        const event = fake.control.succeed(repayment.providerRef);
        seed.repayments.push({ id: repayment.id, lineId, providerRef: repayment.providerRef, cents, units: BigInt(cents) * UNITS_PER_CENT, event, eventId: event.id });
      }
      lines.push(seed);
    }
  };
  await withTimeout(Promise.all(Array.from({ length: settings.seedConcurrency }, worker)), 1_200_000, `seeding the ${name} set`);
  return { name, lines, repayments: lines.flatMap((l) => l.repayments) };
}

// ------------------------------------------------------------------------------------------- deliveries

interface Deliveries {
  bodies: Buffer[];
  headers: Array<Record<string, string>>;
  /** Events whose second copy is adjacent to the first (sent at once) / follows about `lateLagEvents` later. */
  racing: number;
  late: number;
  payloadBytes: number;
  signedAt: number;
  signMs: number;
}

/**
 * Signs every event of `repayments` now (one signature per copy: a retry carries its own timestamp, one second older
 * than the previous copy's so every header is still fresh) and orders the copies: copy 0 in event order; the next
 * copy of an even-numbered event right after it (the two race), of an odd-numbered one `lateLagEvents` events later.
 */
function buildDeliveries(fake: FakeStripe, repayments: readonly RepaymentSeed[], copies: number): Deliveries {
  const started = performance.now();
  const signedAt = fake.state.now();
  const slots: Array<{ key: number; body: Buffer; headers: Record<string, string> }> = [];
  let racing = 0;
  let late = 0;
  let payloadBytes = 0;
  repayments.forEach((r, i) => {
    const racingEvent = i % 2 === 0;
    if (copies > 1) {
      if (racingEvent) racing++;
      else late++;
    }
    for (let copy = 0; copy < copies; copy++) {
      const { payload, headers } = fake.control.signedDelivery(r.event, { timestamp: signedAt - copy });
      const body = Buffer.from(payload);
      if (copy === 0) payloadBytes += body.length;
      const key = copy === 0 ? i : racingEvent && copy === 1 ? i + 0.5 : i + settings.lateLagEvents * copy + 0.25;
      slots.push({ key, body, headers: { ...headers, 'User-Agent': STRIPE_USER_AGENT } });
    }
  });
  slots.sort((a, b) => a.key - b.key);
  return {
    bodies: slots.map((s) => s.body),
    headers: slots.map((s) => s.headers),
    racing,
    late,
    payloadBytes: payloadBytes / Math.max(1, repayments.length),
    signedAt,
    signMs: performance.now() - started,
  };
}

/** The Stripe-Signature header of every delivery, in order, one per request (shared counter over all connections). */
function nextDelivery(deliveries: Deliveries): autocannon.RequestSpec['setupRequest'] {
  let next = 0;
  return (request) => {
    const n = next++;
    request.body = deliveries.bodies[n % deliveries.bodies.length]!;
    request.headers = deliveries.headers[n % deliveries.headers.length]!;
    return request;
  };
}

interface DeliveryRun {
  deliveries: number;
  completed: number;
  /** From the first request to the last response, s. */
  wallSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Seconds from signing to the last response (must stay under the 300 s tolerance). */
  signatureAgeAtEnd: number;
  /** Wall-clock bounds of the load (ms since the epoch), to cut a CPU profile to it. */
  window: { from: number; to: number };
}

/**
 * Sends every delivery exactly once (autocannon `amount`), `connections` at a time. `onLastAnswer` runs synchronously
 * when the last answer is in (autocannon itself only reports at its next one-second tick).
 */
async function sendDeliveries(baseUrl: string, deliveries: Deliveries, connections: number, onLastAnswer?: () => void): Promise<DeliveryRun> {
  const amount = deliveries.bodies.length;
  let lastResponseAt = 0;
  let answers = 0;
  let instance: autocannon.Instance | undefined;
  const started = performance.now();
  const startedAtMs = Date.now();
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: baseUrl,
        connections: Math.min(connections, amount),
        amount,
        timeout: 10,
        requests: [{ method: 'POST', path: '/api/repayment/webhook', setupRequest: nextDelivery(deliveries) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', () => {
      lastResponseAt = performance.now();
      if (++answers === amount) onLastAnswer?.();
    });
  });
  // Bounded: at 50 deliveries/s the signatures would expire anyway.
  const boundMs = (amount / 50 + 60) * 1000;
  let result: autocannon.Result;
  try {
    result = await withTimeout(done, boundMs, 'autocannon run');
  } catch (error) {
    instance?.stop();
    throw error;
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const completed = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const wallSeconds = ((lastResponseAt || performance.now()) - started) / 1000;
  return {
    deliveries: amount,
    completed,
    wallSeconds,
    window: { from: startedAtMs, to: startedAtMs + wallSeconds * 1000 },
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    signatureAgeAtEnd: Date.now() / 1000 - deliveries.signedAt,
  };
}

// ------------------------------------------------------------------------------------------- SQL

interface Counters {
  providerEvents: number;
  repayEntries: number;
  repaidEvents: number;
  /** Last values of the identity sequences: a rolled-back insert consumes one and leaves a gap. */
  ledgerSeq: number;
  eventSeq: number;
  ledgerRows: number;
  eventRows: number;
}

async function counters(client: pg.Client): Promise<Counters> {
  const { rows } = await client.query<Record<keyof Counters, string | null>>(
    `SELECT (SELECT count(*) FROM provider_events) AS "providerEvents",
            (SELECT count(*) FROM credit_transactions WHERE type = 'repay') AS "repayEntries",
            (SELECT count(*) FROM domain_events WHERE type = 'credit_line.repaid') AS "repaidEvents",
            coalesce(pg_sequence_last_value(pg_get_serial_sequence('credit_transactions', 'seq')), 0) AS "ledgerSeq",
            coalesce(pg_sequence_last_value(pg_get_serial_sequence('domain_events', 'seq')), 0) AS "eventSeq",
            (SELECT count(*) FROM credit_transactions) AS "ledgerRows",
            (SELECT count(*) FROM domain_events) AS "eventRows"`,
  );
  const row = rows[0]!;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v ?? 0)])) as unknown as Counters;
}

/** Waits until nothing changes any more (at least 1 s, at most 15 s): the server may still be finishing requests. */
async function settledCounters(client: pg.Client): Promise<Counters> {
  await sleep(1_000);
  let last = await counters(client);
  for (let i = 0; i < 70; i++) {
    await sleep(200);
    const now = await counters(client);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

async function backendPids(client: pg.Client, dbName: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> $2`,
    [dbName, BENCH_APP],
  );
  return rows.map((r) => r.pid);
}

/** PostgreSQL's own processes (WAL writer, checkpointer, background writer, autovacuum workers): server-wide. */
async function backgroundPids(client: pg.Client): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'`);
  return rows.map((r) => r.pid);
}

interface ExactlyOnce {
  repayments: number;
  succeededFull: number;
  oneRepaidEvent: number;
  entryMatches: number;
  repayEntries: number;
  interestEntries: number;
  providerEvents: number;
  providerEventsMatching: number;
  lines: number;
  balancesOk: number;
  ok: boolean;
}

/** Every check of the exactly-once application, over every seeded set. */
async function verify(client: pg.Client, sets: readonly EventSet[]): Promise<ExactlyOnce> {
  const repayments = sets.flatMap((s) => s.repayments);
  const lines = sets.flatMap((s) => s.lines);
  const ids = repayments.map((r) => r.id);
  const units = repayments.map((r) => r.units.toString());
  const q = async (sql: string, params: unknown[]) => Number((await client.query<{ n: string }>(sql, params)).rows[0]!.n);
  const succeededFull = await q(
    `SELECT count(*) AS n FROM repayments r JOIN unnest($1::uuid[], $2::numeric[]) AS e(id, amount) ON r.id = e.id
      WHERE r.status = 'succeeded' AND r.amount = e.amount AND r.applied_amount = e.amount AND r.credited_amount = 0 AND r.reversed_amount = 0`,
    [ids, units],
  );
  // One credit_line.repaid event per repayment, and its ledger entry: a `repay` of exactly the repayment's amount.
  const oneRepaidEvent = await q(
    `WITH ev AS (SELECT (payload->>'repaymentId')::uuid AS rid, count(*) AS k FROM domain_events
                  WHERE type = 'credit_line.repaid' AND payload ? 'repaymentId' GROUP BY 1)
     SELECT count(*) AS n FROM unnest($1::uuid[]) AS e(id) JOIN ev ON ev.rid = e.id WHERE ev.k = 1`,
    [ids],
  );
  const entryMatches = await q(
    `SELECT count(DISTINCT t.id) AS n FROM unnest($1::uuid[], $2::numeric[]) AS e(id, amount)
       JOIN domain_events d ON d.type = 'credit_line.repaid' AND (d.payload->>'repaymentId')::uuid = e.id
       JOIN credit_transactions t ON t.id = (d.payload->>'transactionId')::uuid AND t.type = 'repay' AND t.amount = e.amount`,
    [ids, units],
  );
  const repayEntries = await q(`SELECT count(*) AS n FROM credit_transactions WHERE type = 'repay'`, []);
  const interestEntries = await q(`SELECT count(*) AS n FROM credit_transactions WHERE type = 'interest'`, []);
  const providerEvents = await q(`SELECT count(*) AS n FROM provider_events`, []);
  const providerEventsMatching = await q(
    `SELECT count(*) AS n FROM provider_events p JOIN unnest($1::text[], $2::uuid[]) AS e(event_id, repayment_id)
        ON p.provider = 'stripe' AND p.event_id = e.event_id
     WHERE p.outcome = 'applied' AND p.repayment_id = e.repayment_id AND p.type = 'payment_intent.succeeded'`,
    [repayments.map((r) => r.eventId), ids],
  );
  const expectedBalance = lines.map((l) => (l.debt - l.repayments.reduce((a, r) => a + r.units, 0n)).toString());
  const balancesOk = await q(
    `SELECT count(*) AS n FROM credit_lines l JOIN unnest($1::uuid[], $2::numeric[]) AS e(id, utilized) ON l.id = e.id
      WHERE l.utilized = e.utilized AND l.accrued_interest = 0`,
    [lines.map((l) => l.id), expectedBalance],
  );
  const n = repayments.length;
  return {
    repayments: n,
    succeededFull,
    oneRepaidEvent,
    entryMatches,
    repayEntries,
    interestEntries,
    providerEvents,
    providerEventsMatching,
    lines: lines.length,
    balancesOk,
    ok:
      succeededFull === n &&
      oneRepaidEvent === n &&
      entryMatches === n &&
      repayEntries === n &&
      interestEntries === 0 &&
      providerEvents === n &&
      providerEventsMatching === n &&
      balancesOk === lines.length,
  };
}

// ------------------------------------------------------------------------------------------- runs

interface Cpu {
  wallMs: number;
  serverShare: number;
  postgresShare: number;
  /** PostgreSQL's background processes (server-wide: they also serve any other database's writes). */
  postgresBackgroundShare: number;
  benchShare: number;
  machineBusy: number;
  otherShare: number;
  serverMsPerDelivery: number;
  postgresMsPerDelivery: number;
}

interface Run {
  name: string;
  kind: 'warm-up' | 'measured' | 'single' | 'redelivery' | 'profile warm-up' | 'profile';
  uniqueEvents: number;
  copies: number;
  deliveries: Deliveries;
  load: DeliveryRun;
  outcomes: Record<string, number>;
  /** provider_events rows the run added (= events applied or otherwise claimed). */
  claimed: number;
  /** Applications rolled back (a racing duplicate that got as far as the ledger insert): sequence gaps. */
  rolledBackEntries: number;
  rolledBackEvents: number;
  loadAvg1: number;
  cpu?: Cpu;
}

const runs: Run[] = [];

interface Context {
  server: RunningServer;
  client: pg.Client;
  dbName: string;
  fake: FakeStripe;
}

async function deliverSet(ctx: Context, name: string, kind: Run['kind'], repayments: readonly RepaymentSeed[], copies: number, meterCpu: boolean): Promise<Run> {
  const before = await settledCounters(ctx.client);
  const outcomesBefore = await webhookOutcomes(ctx.server.baseUrl);
  // Signed now, just before the run: valid for the next 300 s.
  const deliveries = buildDeliveries(ctx.fake, repayments, copies);
  const loadAvg1 = os.loadavg()[0] ?? 0;
  const meter = meterCpu ? new CpuMeter() : undefined;
  const background = new Set<number>();
  const pids = async () => {
    const bg = await backgroundPids(ctx.client);
    for (const pid of bg) background.add(pid);
    return [ctx.server.child.pid!, ...(await backendPids(ctx.client, ctx.dbName)), ...bg];
  };
  // The pids are refreshed while the load runs (the server's pool may open connections), so the meter can be read
  // synchronously the moment the last answer arrives, not at autocannon's next tick up to a second later.
  let known = meter ? await pids() : [];
  let window: ReturnType<CpuMeter['end']> | undefined;
  let refreshing = true;
  const refresher = (async () => {
    while (meter && refreshing) {
      await sleep(500);
      if (refreshing) known = await pids();
    }
  })();
  meter?.begin(known);
  const load = await sendDeliveries(ctx.server.baseUrl, deliveries, settings.connections, () => {
    if (meter) window = meter.end(known);
  });
  refreshing = false;
  await refresher;
  // Errors or timeouts leave the last answer missing: then the window closes here.
  if (meter && !window) window = meter.end(await pids());
  if (ctx.server.child.exitCode !== null || ctx.server.child.signalCode !== null) throw new Error(`${ctx.server.name} died during "${name}"`);
  const after = await settledCounters(ctx.client);
  const outcomes = diffOutcomes(outcomesBefore, await webhookOutcomes(ctx.server.baseUrl));
  const ledgerInserted = after.ledgerSeq - before.ledgerSeq;
  const eventsInserted = after.eventSeq - before.eventSeq;
  const run: Run = {
    name,
    kind,
    uniqueEvents: repayments.length,
    copies,
    deliveries,
    load,
    outcomes,
    claimed: after.providerEvents - before.providerEvents,
    rolledBackEntries: ledgerInserted - (after.ledgerRows - before.ledgerRows),
    rolledBackEvents: eventsInserted - (after.eventRows - before.eventRows),
    loadAvg1,
  };
  if (window) {
    const serverMs = window.byPid.get(ctx.server.child.pid!) ?? 0;
    const entries = [...window.byPid.entries()].filter(([pid]) => pid !== ctx.server.child.pid);
    const postgresMs = entries.filter(([pid]) => !background.has(pid)).reduce((a, [, ms]) => a + ms, 0);
    const backgroundMs = entries.filter(([pid]) => background.has(pid)).reduce((a, [, ms]) => a + ms, 0);
    const answered = Math.max(1, load.completed);
    run.cpu = {
      wallMs: window.wallMs,
      serverShare: serverMs / window.wallMs,
      postgresShare: postgresMs / window.wallMs,
      postgresBackgroundShare: backgroundMs / window.wallMs,
      benchShare: window.selfMs / window.wallMs,
      machineBusy: window.machineBusyShare,
      otherShare: Math.max(0, window.machineBusyShare * os.cpus().length - (serverMs + postgresMs + backgroundMs + window.selfMs) / window.wallMs),
      serverMsPerDelivery: serverMs / answered,
      postgresMsPerDelivery: postgresMs / answered,
    };
  }
  runs.push(run);
  const applied = outcomes.applied ?? 0;
  log(
    `${name}: ${fmt(load.completed)} deliveries of ${fmt(run.uniqueEvents)} events in ${fmt(load.wallSeconds, 2)} s: ${fmt(load.completed / load.wallSeconds)} deliveries/s, ` +
      `${fmt(applied / load.wallSeconds)} applied/s; p50 ${load.latencyP50Ms} ms, p99 ${load.latencyP99Ms} ms; ${load.errors} errors, ${load.non2xx} non-2xx; ` +
      `outcomes ${JSON.stringify(outcomes)}; rolled back: ${run.rolledBackEntries} ledger entries` +
      (run.cpu
        ? `; CPU server ${pct(run.cpu.serverShare)}, PostgreSQL ${pct(run.cpu.postgresShare)} (+ background ${pct(run.cpu.postgresBackgroundShare)}), bench ${pct(run.cpu.benchShare)}, other ${pct(run.cpu.otherShare)}, machine ${pct(run.cpu.machineBusy)}`
        : ''),
  );
  return run;
}

// ------------------------------------------------------------------------------------------- profile server

interface StatementProfile {
  deliveries: number;
  uniqueEvents: number;
  deliveriesPerSec: number;
  appliedPerSec: number;
  eventLoopBusy: number;
  statements: Array<{ kind: string; count: number; ms: number }>;
  window: { from: number; to: number };
  cpu?: ProfileSummary;
}

const STATEMENT_ORDER = [
  'SELECT repayments',
  'SELECT credit_lines',
  'BEGIN',
  'UPDATE credit_lines SET credit_limit',
  'INSERT credit_transactions',
  'INSERT domain_events',
  'INSERT provider_events',
  'UPDATE repayments SET status',
  'COMMIT',
  'ROLLBACK',
];
const statementRank = (kind: string) => (STATEMENT_ORDER.includes(kind) ? STATEMENT_ORDER.indexOf(kind) : STATEMENT_ORDER.length);

function readCounter(file: string): CounterSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CounterSnapshot;
  } catch {
    return undefined;
  }
}

/** A second server with the statement counter and the CPU profiler: its own warm-up set, then the profiled set. */
async function profileRun(databaseUrl: string, ctx: Omit<Context, 'server'>, warm: EventSet, measured: EventSet): Promise<StatementProfile | undefined> {
  const counterFile = path.join(workDir, 'api-repayments-profile.counter.json');
  const cpuProfDir = path.join(workDir, 'api-repayments-profile.cpuprof');
  const server = await startApi('api-repayments-profile', databaseUrl, ctx.fake, { counterFile, cpuProfDir });
  const pctx: Context = { ...ctx, server };
  await deliverSet(pctx, 'profile warm-up', 'profile warm-up', warm.repayments, settings.copies, false);
  await sleep(300);
  // The counter writes its file every 250 ms; between the runs the server is idle (the settling waits are ≥ 1 s).
  const start = readCounter(counterFile);
  const run = await deliverSet(pctx, 'profile run (statement counter and --cpu-prof)', 'profile', measured.repayments, settings.copies, false);
  const { from, to } = run.load.window;
  await sleep(300);
  const end = readCounter(counterFile);
  await server.stop();
  const exitedAt = Date.now();
  const warnings = serverWarnings(server.logFile);
  profileWarnings.count += warnings.count;
  profileWarnings.first ??= warnings.first;
  if (!start || !end) return undefined;
  const statements = Object.entries(end.statements)
    .map(([kind, v]) => ({ kind, count: v.count - (start.statements[kind]?.count ?? 0), ms: v.ms - (start.statements[kind]?.ms ?? 0) }))
    .filter((st) => st.count > 0)
    .sort((a, b) => statementRank(a.kind) - statementRank(b.kind) || b.count - a.count);
  const profile: StatementProfile = {
    deliveries: run.load.completed,
    uniqueEvents: run.uniqueEvents,
    deliveriesPerSec: run.load.completed / run.load.wallSeconds,
    appliedPerSec: (run.outcomes.applied ?? 0) / run.load.wallSeconds,
    // The counter's snapshots bracket the run within 250 ms, idle around it: busy time over the run's own length.
    eventLoopBusy: Math.min(1, (end.elu.active - start.elu.active) / (run.load.wallSeconds * 1000)),
    statements,
    window: { from, to },
  };
  const file = mainThreadProfile(cpuProfDir);
  if (file) {
    if (settings.cpuProfileOut) copyFileSync(file, settings.cpuProfileOut);
    const cpuProfile = readProfile(file);
    const toUs = (wall: number) => cpuProfile.endTime - (exitedAt - wall) * 1000;
    profile.cpu = summariseProfile(cpuProfile, { fromUs: toUs(from + 500), toUs: toUs(to - 500) });
  }
  log(`profile: ${fmt(profile.deliveriesPerSec)} deliveries/s with the counter and the profiler; event loop busy ${pct(profile.eventLoopBusy)}`);
  return profile;
}

const profileWarnings: { count: number; first?: string } = { count: 0 };

// ------------------------------------------------------------------------------------------- report

interface Report {
  machine: BenchMachine;
  seeding: Array<{ name: string; lines: number; repayments: number; ms: number }>;
  exactlyOnce: ExactlyOnce;
  profile?: StatementProfile;
  warnings: { count: number; first?: string };
}

/** Server + PostgreSQL CPU ms per applied event in a run (all its deliveries' CPU over its applications). */
const perApplied = (run: Run) =>
  run.cpu ? ((run.cpu.serverMsPerDelivery + run.cpu.postgresMsPerDelivery) * run.load.completed) / Math.max(1, run.outcomes.applied ?? 0) : 0;
const appliedPerSecond = (run: Run) => (run.outcomes.applied ?? 0) / Math.max(0.001, run.load.wallSeconds);
const deliveriesPerSecond = (run: Run) => run.load.completed / Math.max(0.001, run.load.wallSeconds);
const outcomeList = (o: Record<string, number>) =>
  Object.entries(o)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ') || 'none';

function evaluateTargets(report: Report): Target[] {
  const targets: Target[] = [];
  const measured = runs.find((r) => r.kind === 'measured');
  if (measured) {
    const scenario = `${fmt(measured.uniqueEvents)} events × ${measured.copies} deliveries, ${settings.connections} connections`;
    targets.push({
      label: `unique events applied >= ${fmt(TARGET_EVENTS_PER_SECOND)}/s`,
      scenario,
      measured: `${fmt(appliedPerSecond(measured))}/s`,
      met: appliedPerSecond(measured) >= TARGET_EVENTS_PER_SECOND,
    });
    targets.push({
      label: `webhook deliveries processed >= ${fmt(TARGET_EVENTS_PER_SECOND)}/s (duplicates included)`,
      scenario,
      measured: `${fmt(deliveriesPerSecond(measured))}/s`,
      met: deliveriesPerSecond(measured) >= TARGET_EVENTS_PER_SECOND,
    });
  }
  const e = report.exactlyOnce;
  targets.push({
    label: 'each repayment applied exactly once (SQL)',
    scenario: `all ${fmt(e.repayments)} repayments of every run`,
    measured: `${fmt(e.succeededFull)} succeeded in full, ${fmt(e.repayEntries)} repay entries, ${fmt(e.providerEvents)} provider events, ${fmt(e.balancesOk)}/${fmt(e.lines)} balances right`,
    met: e.ok,
  });
  for (const run of runs.filter((r) => r.kind === 'measured' || r.kind === 'single' || r.kind === 'redelivery')) {
    const expectedApplied = run.kind === 'redelivery' ? 0 : run.uniqueEvents;
    const okOutcomes = (run.outcomes.applied ?? 0) === expectedApplied && (run.outcomes.duplicate ?? 0) === run.load.deliveries - expectedApplied;
    targets.push({
      label: 'every delivery 200; applied = unique events, the rest duplicates',
      scenario: run.name,
      measured: `${run.load.errors} errors, ${run.load.non2xx} non-2xx; ${outcomeList(run.outcomes)}`,
      met: run.load.errors + run.load.non2xx === 0 && okOutcomes,
    });
  }
  return targets;
}

function resultsRows(): string[] {
  return runs.map((r) => {
    const l = r.load;
    const other = Object.entries(l.statusCodes)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, count]) => `${count}×${code}`)
      .join(', ');
    return `| ${r.name} | ${fmt(r.uniqueEvents)} × ${r.copies} | ${fmt(l.completed)} | ${fmt(l.wallSeconds, 2)} | ${fmt(deliveriesPerSecond(r))} | **${fmt(appliedPerSecond(r))}** | ${l.latencyP50Ms} | ${l.latencyP99Ms} | ${l.latencyMaxMs} | ${l.errors}${l.timeouts ? ` (${l.timeouts} timeouts)` : ''} | ${l.non2xx}${other ? ` (${other})` : ''} | ${outcomeList(r.outcomes)} | ${fmt(r.claimed)} | ${fmt(r.rolledBackEntries)} | ${r.loadAvg1.toFixed(1)} |`;
  });
}

const perDelivery = (p: StatementProfile, count: number) => count / Math.max(1, p.deliveries);
const perEvent = (p: StatementProfile, count: number) => count / Math.max(1, p.uniqueEvents);
const categoryShare = (p: StatementProfile | undefined, name: string) => {
  const total = p?.cpu?.totalUs ?? 0;
  return total > 0 ? (p!.cpu!.categories.find((c) => c.name === name)?.us ?? 0) / total : 0;
};

function topCategories(p: StatementProfile, n: number): string {
  if (!p.cpu) return '';
  const busy = p.cpu.categories.filter((c) => c.name !== IDLE_CATEGORY);
  const busyUs = busy.reduce((a, c) => a + c.us, 0);
  return busy
    .slice(0, n)
    .map((c) => `${c.name} ${pct(c.us / Math.max(1, busyUs))}`)
    .join(', ');
}

function topFunctions(p: StatementProfile, n: number): string {
  if (!p.cpu) return '';
  return p.cpu.functions
    .filter((f) => !f.name.startsWith('(idle)'))
    .slice(0, n)
    .map((f) => `\`${f.name.replace(/\s+/g, ' ').replace(/`/g, "'")}\` ${pct(f.us / p.cpu!.totalUs)}`)
    .join(', ');
}

function renderSection(report: Report, targets: readonly Target[]): string {
  const { machine, exactlyOnce: e, profile } = report;
  const measured = runs.find((r) => r.kind === 'measured');
  const redelivery = runs.find((r) => r.kind === 'redelivery');
  const notes: string[] = [];
  const missed = targets.filter((t) => !t.met);
  notes.push(missed.length === 0 ? `All ${targets.length} targets met on this machine.` : `${missed.length} of ${targets.length} targets not met on this machine; figures are reported as measured.`);
  if (measured?.cpu) {
    const c = measured.cpu;
    const perApplied = (ms: number) => (ms * measured.load.completed) / Math.max(1, measured.outcomes.applied ?? 0);
    const serverPerEvent = perApplied(c.serverMsPerDelivery);
    const postgresPerEvent = perApplied(c.postgresMsPerDelivery);
    const both = serverPerEvent + postgresPerEvent;
    notes.push(
      `**Where the time goes** (measured run, ${fmt(appliedPerSecond(measured))} unique events applied/s, ${fmt(deliveriesPerSecond(measured))} deliveries/s): the machine was ${pct(c.machineBusy)} busy; the server used ${pct(c.serverShare)} of one core, its PostgreSQL backends ${pct(c.postgresShare)}, PostgreSQL's background processes (WAL writer, checkpointer, background writer; server-wide) ${pct(c.postgresBackgroundShare)}, the benchmark process (autocannon; the fake Stripe is idle during the runs) ${pct(c.benchShare)}, everything else ${pct(c.otherShare)}. ` +
        `Per delivery: ${fmt(c.serverMsPerDelivery, 2)} ms of server CPU and ${fmt(c.postgresMsPerDelivery, 2)} ms of PostgreSQL CPU; per unique event applied (its ${measured.copies} deliveries): ${fmt(serverPerEvent, 2)} ms and ${fmt(postgresPerEvent, 2)} ms. ` +
        `At ${fmt(both, 2)} ms of server and database CPU per applied event, two fully busy cores would stop at about ${fmt(2000 / both)} events/s with nothing else on them, and one server process (one JavaScript thread) at about ${fmt(1000 / serverPerEvent)}/s. ` +
        `The ${fmt(TARGET_EVENTS_PER_SECOND)}/s target allows ${fmt(2000 / TARGET_EVENTS_PER_SECOND, 2)} ms per event for everything on these ${machine.nproc} cores, load generator included.`,
    );
  }
  const contended = runs.filter((r) => r.cpu && r.cpu.otherShare > 0.15);
  if (contended.length > 0) {
    notes.push(
      `In ${contended.length} of ${runs.filter((r) => r.cpu).length} CPU-metered runs, processes other than the server, its PostgreSQL backends and background processes and the benchmark used ${contended.map((r) => pct(r.cpu!.otherShare)).join(', ')} of a core ("everything else" above: other work on this shared machine, such as test suites), taken from the same two cores; that lowers the rates and lengthens the tails. Compare rows within this run.`,
    );
  }
  const single = runs.find((r) => r.kind === 'single');
  if (single?.cpu && measured) {
    notes.push(
      `Without duplicates (each event delivered once, ${fmt(single.uniqueEvents)} events): ${fmt(appliedPerSecond(single))} events applied/s, p50 ${single.load.latencyP50Ms} ms, p99 ${single.load.latencyP99Ms} ms; ${fmt(single.cpu.serverMsPerDelivery, 2)} ms of server CPU and ${fmt(single.cpu.postgresMsPerDelivery, 2)} ms of PostgreSQL CPU per application. With every event delivered ${measured.copies} times the applied rate was ${fmt(appliedPerSecond(measured))}/s: the duplicates take the rest.`,
    );
  }
  if (redelivery?.cpu && measured?.cpu) {
    notes.push(
      `A duplicate alone (the redelivery run: every event already applied) costs ${fmt(redelivery.cpu.serverMsPerDelivery, 2)} ms of server CPU and ${fmt(redelivery.cpu.postgresMsPerDelivery, 2)} ms of PostgreSQL CPU: ${fmt(deliveriesPerSecond(redelivery))} deliveries/s, p99 ${redelivery.load.latencyP99Ms} ms. It still verifies the signature, parses the event twice (the SDK, then the service for the stored payload), reads the repayment (\`SELECT … FOR UPDATE\` outside a transaction) and the line, and opens a transaction whose \`INSERT INTO provider_events … ON CONFLICT DO NOTHING\` finds the id taken, then rolls back.`,
    );
  }
  if (measured) {
    notes.push(
      `Racing duplicates: in the measured run ${fmt(measured.rolledBackEntries)} deliveries (of ${fmt(measured.deliveries.racing)} events whose two copies were sent at once) went through the whole application (line locked and updated, ledger entry and \`credit_line.repaid\` event inserted) before finding the repayment no longer pending, and were rolled back: counted from the gaps they left in \`credit_transactions.seq\` (${fmt(measured.rolledBackEntries)}) and \`domain_events.seq\` (${fmt(measured.rolledBackEvents)}). The other duplicates stopped at the claim. Nothing they did survived (SQL checks above).`,
    );
  }
  if (profile) {
    const statements = profile.statements.reduce((a, st) => a + st.count, 0);
    const busy = Math.max(0.001, 1 - categoryShare(profile, IDLE_CATEGORY));
    notes.push(
      `Profile run (${fmt(profile.deliveriesPerSec)} deliveries/s, ${fmt(profile.appliedPerSec)} applied/s with the counter and the profiler): ${fmt(perDelivery(profile, statements), 2)} statements per delivery, ${fmt(perEvent(profile, statements), 2)} per unique event; the server's event loop was busy ${pct(profile.eventLoopBusy)}.` +
        (profile.cpu
          ? ` Its CPU (busy time): ${topCategories(profile, 7)}; socket writes are ${pct(categoryShare(profile, SOCKET_WRITES) / busy)} of it. Top functions by self time (share of the sampled time): ${topFunctions(profile, 8)}.`
          : ''),
    );
  }
  if (measured) {
    const statementsPerEvent = profile ? perEvent(profile, profile.statements.reduce((a, st) => a + st.count, 0)) : undefined;
    notes.push(
      `**Suggestions for src/ (not changed here).** Exactly-once holds; the cost is in round trips. Per delivery the service (src/services/repayment/repaymentService.ts \`process\`/\`apply\`, src/services/creditLineService.ts \`change\`) sends: outside any transaction a plain read of the repayment (\`findByProviderRefs\`, to route the event) and \`creditLines.findById\`; then for an application BEGIN, the line \`FOR UPDATE\`, the repayment \`FOR UPDATE\`, INSERT provider_events (the claim), UPDATE line, INSERT ledger entry, INSERT outbox event, UPDATE repayment, COMMIT (11 in all); a duplicate, racing or late, stops at the repayment's row or the claim and rolls back without writing (${fmt(measured.rolledBackEntries)} ledger rows rolled back in the measured run)` +
        (statementsPerEvent !== undefined ? `; ${fmt(statementsPerEvent, 1)} statements per unique event at ${settings.copies} copies (profile run).` : '.') +
        ` (1) Drop the two reads before the transaction: the transaction reads both rows anyway (2 of the 11 round trips of an application). (2) Write the application with fewer statements: the ledger entry, the outbox event, the claim and the repayment update can be one data-modifying CTE after the line update, and the event is parsed twice (the SDK's \`constructEvent\`, then \`JSON.parse\` of the raw body for the stored payload; the SDK's parsed object could be stored). On this machine the server spends most of its CPU writing to sockets (profile above: one write per statement and one per answer), so fewer statements is the lever; the target needs roughly ${measured.cpu ? fmt((perApplied(measured) / (2000 / TARGET_EVENTS_PER_SECOND)), 1) : '?'}× less CPU per applied event than measured here, or PostgreSQL and the load generator on other cores than the server.`,
    );
  }
  notes.push(
    report.warnings.count === 0
      ? 'The servers logged no warnings or errors.'
      : `The servers logged ${report.warnings.count} warning/error lines; the first: \`${(report.warnings.first ?? '').slice(0, 300).replace(/`/g, "'")}\`.`,
  );

  const seeded = report.seeding.map((s) => `${s.name} ${fmt(s.repayments)} repayments on ${fmt(s.lines)} lines (${fmt(s.ms / 1000, 1)} s)`).join('; ');
  const payloadBytes = measured?.deliveries.payloadBytes ?? 0;
  return [
    SECTION_START,
    '## Fiat repayments: provider webhooks applied exactly once',
    '',
    `_Generated by \`npm run bench:repayments\` (scripts/bench/repayments.ts) on ${machine.date}. Re-running the script replaces only this section._`,
    '',
    '### Machine',
    '',
    `- CPU: ${machine.cpu}, \`nproc\` = ${machine.nproc}. **PostgreSQL, the API server and the load generator (autocannon, in the benchmark process together with the fake Stripe) all share these ${machine.nproc} cores.**`,
    `- Memory: ${machine.memory}; OS: ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}`,
    `- Commit: ${machine.commit}`,
    `- Load average (1/5/15 min) before the run: ${machine.loadStart}; after: ${machine.loadEnd}. Other work on the machine (another benchmark, tests) shares the same cores; the 1-minute load when each run started is in the table. Treat the figures as indicative.`,
    '',
    '### Method',
    '',
    `- The real server (\`node --import tsx src/index.ts\`) runs as a child process on a free 127.0.0.1 port with \`NODE_ENV=development\`, \`DATABASE_URL\` a scratch database \`bench_<random>\` (migrated by the server at start, dropped at the end; \`DB_POOL_MAX\` 20, the default), \`RISK_PROVIDER=static\`, \`WORKERS=none\`, \`WALLET_AUTH=optional\`, \`LOG_LEVEL=warn\`, API keys set, \`RATE_LIMIT_PER_MIN=1000000000\` (the webhook route is public and not rate-limited anyway), and \`PAYMENT_PROVIDER_API_KEY\` / \`PAYMENT_WEBHOOK_SECRET\` / \`PAYMENT_PROVIDER_API_BASE\` those of the fake Stripe (scripts/fake-stripe, in the benchmark process; the server's stripe SDK talks to it over loopback), \`PAYMENT_FX_RATES=usd=1\`.`,
    `- Seeding through the API: lines opened with the admin key on manual terms (limit ${fmt(settings.creditLimitUsd)}, \`interestRateBps: 0\`: no interest accrues between runs, so balances are exact), ${fmt(settings.debtUsd)} drawn on each with the client key, then ${settings.perLine} \`POST /api/repayment/initiate\` per line (usd, 5.00–24.99 each, with an \`Idempotency-Key\`): the server creates each PaymentIntent on the fake. Each intent is then succeeded on the fake (\`control.succeed\`), which returns its \`payment_intent.succeeded\` event (${fmt(payloadBytes)} bytes of pretty-printed JSON on average). ${seeded}.`,
    `- Deliveries: a run's events are signed just before it (\`control.signedDelivery\`, the SDK's \`generateTestHeaderString\`, the fake's webhook secret; one signature per copy, each copy's timestamp a second older than the previous: a retry's own timestamp) because the server refuses signatures older than ${SIGNATURE_TOLERANCE_SECONDS} s; every run ended within ${fmt(Math.max(...runs.map((r) => r.load.signatureAgeAtEnd)))} s of its signing. Each event is delivered ${settings.copies} times: for even-numbered events the copies are adjacent in the sequence (two connections send them at once: they race), for odd-numbered ones the second copy comes ${fmt(settings.lateLagEvents)} events later (a redelivery after the first was applied). Headers as Stripe sends them (\`Stripe-Signature\`, \`Content-Type: application/json; charset=utf-8\`, \`User-Agent: Stripe/1.0 …\`).`,
    `- Load: autocannon 9 in the benchmark process, on loopback, ${settings.connections} connections, sending every delivery of the run exactly once (\`amount\` = deliveries; each connection takes the next delivery when its previous answer is in). Runs, one after another on the same server: a warm-up set (not a target run: pays the fresh process's one-time costs), the measured set, ${settings.singleEvents > 0 ? 'for comparison a set of other repayments delivered once per event (no duplicates), ' : ''}then the measured set's events each delivered once more (all duplicates).`,
    `- Rates: deliveries/s = answers / time from the first request to the last answer; unique events applied/s = the server's \`repayment_webhooks_total{outcome="applied"}\` increase over the run / the same time. p50/p99/max: latencies of the 2xx answers (autocannon). Outcomes: the increase of \`repayment_webhooks_total\` by outcome. Claimed: new \`provider_events\` rows. Rolled back: ledger inserts that did not survive (gaps in \`credit_transactions.seq\`, an identity column: a rolled-back insert still consumes its value).`,
    `- CPU: user + system time from \`/proc/<pid>/stat\` of the server, of the PostgreSQL backends connected to the scratch database, of PostgreSQL's background processes (WAL writer, checkpointer, background writer, autovacuum workers; server-wide) and of the benchmark process, from the first request to the last answer; machine busy from \`/proc/stat\` (all cores); "everything else" is the machine's busy time less those.`,
    ...(profile
      ? [
          `- Profile run: a second server on the same database with \`scripts/bench/webhooks/pgCounter.ts\` preloaded (wraps \`pg.Client#query\`: statements by kind, time from sending each to its result; event-loop utilisation) and \`node --cpu-prof\` (samples cut to the run, 0.5 s clear of either end), on its own warm-up set and ${fmt(profile.uniqueEvents)} events × ${settings.copies}. Both cost a little, so its rates are not used for the targets.`,
        ]
      : []),
    '',
    '### Results',
    '',
    '| Run | Events × copies | Deliveries answered | Time (s) | Deliveries/s | Unique events applied/s | p50 (ms) | p99 (ms) | max (ms) | Errors | Non-2xx | Outcomes | Claimed | Rolled back | Load avg (1 min) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...resultsRows(),
    '',
    '### Exactly once (SQL after every run)',
    '',
    '| Check | Expected | Found | OK? |',
    '| --- | ---: | ---: | --- |',
    `| repayments \`succeeded\`, applied = amount = what was paid, no credit balance | ${fmt(e.repayments)} | ${fmt(e.succeededFull)} | ${e.succeededFull === e.repayments ? 'yes' : '**no**'} |`,
    `| repayments with exactly one \`credit_line.repaid\` event | ${fmt(e.repayments)} | ${fmt(e.oneRepaidEvent)} | ${e.oneRepaidEvent === e.repayments ? 'yes' : '**no**'} |`,
    `| … whose \`transactionId\` is a \`repay\` ledger entry of the repayment's amount | ${fmt(e.repayments)} | ${fmt(e.entryMatches)} | ${e.entryMatches === e.repayments ? 'yes' : '**no**'} |`,
    `| \`repay\` ledger entries in the database (one per repayment) | ${fmt(e.repayments)} | ${fmt(e.repayEntries)} | ${e.repayEntries === e.repayments ? 'yes' : '**no**'} |`,
    `| \`provider_events\` rows (one per unique event) | ${fmt(e.repayments)} | ${fmt(e.providerEvents)} | ${e.providerEvents === e.repayments ? 'yes' : '**no**'} |`,
    `| … with outcome \`applied\` for the right repayment | ${fmt(e.repayments)} | ${fmt(e.providerEventsMatching)} | ${e.providerEventsMatching === e.repayments ? 'yes' : '**no**'} |`,
    `| lines whose balance = debt − their repayments, no interest | ${fmt(e.lines)} | ${fmt(e.balancesOk)} | ${e.balancesOk === e.lines ? 'yes' : '**no**'} |`,
    `| \`interest\` ledger entries | 0 | ${fmt(e.interestEntries)} | ${e.interestEntries === 0 ? 'yes' : '**no**'} |`,
    '',
    '### Where the time goes (CPU during each run)',
    '',
    '| Run | Deliveries/s | Machine busy (all cores) | Server (share of one core) | PostgreSQL backends | PostgreSQL background processes | Benchmark process | Everything else | CPU per delivery: server / PostgreSQL backends (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs
      .filter((r) => r.cpu)
      .map(
        (r) =>
          `| ${r.name} | ${fmt(deliveriesPerSecond(r))} | ${pct(r.cpu!.machineBusy)} | ${pct(r.cpu!.serverShare)} | ${pct(r.cpu!.postgresShare)} | ${pct(r.cpu!.postgresBackgroundShare)} | ${pct(r.cpu!.benchShare)} | ${pct(r.cpu!.otherShare)} | ${fmt(r.cpu!.serverMsPerDelivery, 2)} / ${fmt(r.cpu!.postgresMsPerDelivery, 2)} |`,
      ),
    ...(profile
      ? [
          '',
          `### Statements (profile run: ${fmt(profile.uniqueEvents)} events, ${fmt(profile.deliveries)} deliveries)`,
          '',
          '| Statement | per unique event | per delivery | mean from send to result (µs) |',
          '| --- | ---: | ---: | ---: |',
          ...profile.statements.map((st) => `| \`${st.kind}\` | ${fmt(perEvent(profile, st.count), 2)} | ${fmt(perDelivery(profile, st.count), 2)} | ${fmt((st.ms / st.count) * 1000)} |`),
          '',
          'Send-to-result times include the wait for the server\'s event loop to get to the result and, inside a transaction, for row locks (a racing duplicate waits for the first copy\'s transaction on the line\'s row).',
        ]
      : []),
    '',
    '### Targets (PostgreSQL)',
    '',
    targetsTable(targets),
    '',
    '### Notes',
    '',
    ...notes.map((n) => `- ${n}`),
    SECTION_END,
  ].join('\n');
}

// ------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const adminUrl = loopbackUrl(settings.adminUrl);
  const machine = await machineFacts(adminUrl);
  log(`${machine.cpu} x${machine.nproc}, Node ${machine.node}, PostgreSQL ${machine.postgres}; load ${machine.loadStart}`);

  const fake = await startFakeStripe();
  onCleanup('stop the fake Stripe', () => fake.stop());
  log(`fake Stripe on ${fake.url}`);
  const databaseUrl = await scratchDatabase(adminUrl, log);
  const dbName = databaseName(databaseUrl);
  const server = await startApi('api-repayments', databaseUrl, fake);
  const client = await openClient(databaseUrl, { statementTimeoutMs: 120_000, applicationName: BENCH_APP });
  onCleanup('close the benchmark database client', () => client.end());
  const ctx: Context = { server, client, dbName, fake };

  const seeding: Report['seeding'] = [];
  const seed = async (name: string, events: number) => {
    const started = performance.now();
    const set = await seedSet(server.baseUrl, fake, name, events);
    seeding.push({ name, lines: set.lines.length, repayments: set.repayments.length, ms: performance.now() - started });
    log(`seeded ${name}: ${fmt(set.repayments.length)} repayments on ${fmt(set.lines.length)} lines in ${fmt((performance.now() - started) / 1000, 1)} s`);
    return set;
  };
  const sets: EventSet[] = [];
  const warmup = settings.warmupEvents > 0 ? await seed('warm-up', settings.warmupEvents) : undefined;
  const measuredSet = await seed('measured', settings.events);
  const singleSet = settings.singleEvents > 0 ? await seed('single delivery', settings.singleEvents) : undefined;
  const profileWarm = settings.profile ? await seed('profile warm-up', Math.max(100, Math.round(settings.profileEvents / 3))) : undefined;
  const profileSet = settings.profile ? await seed('profile', settings.profileEvents) : undefined;
  for (const s of [warmup, measuredSet, singleSet, profileWarm, profileSet]) if (s) sets.push(s);

  if (warmup) await deliverSet(ctx, 'warm-up (not a target run)', 'warm-up', warmup.repayments, settings.copies, false);
  await deliverSet(ctx, `measured: each event ${settings.copies}×, duplicates racing and late`, 'measured', measuredSet.repayments, settings.copies, true);
  if (singleSet) await deliverSet(ctx, 'comparison: each event once (no duplicates)', 'single', singleSet.repayments, 1, true);
  await deliverSet(ctx, 'redelivery: every measured event once more (all duplicates)', 'redelivery', measuredSet.repayments, 1, true);
  await server.stop();
  const warnings = serverWarnings(server.logFile);

  let profile: StatementProfile | undefined;
  if (profileWarm && profileSet) profile = await profileRun(databaseUrl, { client, dbName, fake }, profileWarm, profileSet);

  const exactlyOnce = await verify(client, sets);
  log(`exactly once: ${exactlyOnce.ok ? 'yes' : 'NO'} ${JSON.stringify(exactlyOnce)}`);
  machine.loadEnd = loadAvg();
  const report: Report = {
    machine,
    seeding,
    exactlyOnce,
    profile,
    warnings: { count: warnings.count + profileWarnings.count, first: warnings.first ?? profileWarnings.first },
  };
  const targets = evaluateTargets(report);
  const section = renderSection(report, targets);
  process.stdout.write(`\n${targetsTable(targets)}\n\n`);
  if (settings.write) {
    writeSection(settings.output, section, { start: SECTION_START, end: SECTION_END });
    log(`wrote the repayments section of ${path.relative(ROOT, settings.output)}`);
  } else {
    process.stdout.write(`${section}\n`);
  }
}

// Whole-run watchdog: a wedged step cannot keep the benchmark (and its children) alive for ever.
const totalEvents = settings.events * 2 + settings.warmupEvents + settings.singleEvents + (settings.profile ? settings.profileEvents * 1.4 : 0);
const budgetMs = (900 + totalEvents / 20) * 1000;
runBenchmark('bench:repayments', budgetMs, main);
