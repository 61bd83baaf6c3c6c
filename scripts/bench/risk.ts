/**
 * `npm run bench:risk`: the risk-evaluation API on PostgreSQL, measured against the real server (a child process)
 * with autocannon on loopback, and written to docs/benchmarks.md between `<!-- bench:risk:start -->` and
 * `<!-- bench:risk:end -->` (only that section). A benchmark, not a test: it exits 0 when a target is missed and
 * says so in the document.
 *
 * 1. Evaluations with warm signals: the devnet (in this process) serves ~500 seeded wallets on its Horizon; the server
 *    runs with RISK_PROVIDER=signals against it; every wallet is evaluated once (which also fills the server's signal
 *    cache), then `POST /api/risk/evaluate {forceRefresh: true}` rotates over the wallets (each request is a new
 *    stored evaluation: history read, scoring, insert of the evaluation and its event), and the cached path
 *    (no forceRefresh: the stored evaluation is returned). SQL counts check that every 201 stored exactly one row.
 * 2. History: 1,000,000 evaluations inserted with SQL over 10,000 wallets (payloads copied from real rows), then
 *    `GET /api/risk/wallet/:w/history?limit=20` rotating over the wallets at 10 and 50 connections, plus
 *    EXPLAIN (ANALYZE) of a first and a deep-cursor page.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL          server for the scratch database (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_DURATION              seconds per measured run (default 10)
 *   BENCH_WARMUP                seconds of unrecorded warm-up before each run (default 2, 0 to skip)
 *   BENCH_CONNECTIONS           connections for the evaluation runs (default 50)
 *   BENCH_RISK_WALLETS          wallets seeded on the devnet's Horizon (default 500)
 *   BENCH_RISK_HISTORY_ROWS     evaluations inserted for the history runs (default 1000000)
 *   BENCH_RISK_HISTORY_WALLETS  wallets they are spread over (default 10000)
 *   BENCH_RISK_PROFILE          0 to skip the extra evaluation run with the statement counter preloaded
 *   BENCH_RISK_CPU_PROFILE_OUT  a file: the profile server's CPU profile is copied there (for
 *                               `npx tsx scripts/bench/chain/profileSummary.ts <file>` or Chrome DevTools)
 *   BENCH_OUTPUT                document to update (default docs/benchmarks.md); BENCH_RISK_WRITE=0 to only print
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { Keypair, StrKey } from '@stellar/stellar-sdk';
import type autocannon from 'autocannon';
import { startDevnet, type Devnet, type PaymentSeed } from '../devnet/index.js';
import { ROOT, intEnv } from './common.js';
import { databaseName, loopbackUrl, openClient, scratchDatabase } from './database.js';
import { rotatingPaths, runLoad, type Measurement } from './load.js';
import { machineFacts, type BenchMachine } from './machine.js';
import { freePort, LOOPBACK, onCleanup, runBenchmark, serverWarnings, startNodeServer, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { resultsTable, targetsTable, writeSection, type RunRecord, type Target } from './report.js';
import type { CounterSnapshot } from './webhooks/pgCounter.js';
import { walletToken } from './walletAuth.js';
import { CpuMeter, loadAvg } from './webhooks/sampling.js';
import { IDLE_CATEGORY, SOCKET_WRITES, mainThreadProfile, readProfile, summariseProfile, type ProfileSummary } from './cpuProfile.js';

export const SECTION_START = '<!-- bench:risk:start -->';
export const SECTION_END = '<!-- bench:risk:end -->';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  durationSeconds: intEnv('BENCH_DURATION', 10, 1, 600),
  warmupSeconds: intEnv('BENCH_WARMUP', 2, 0, 60),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
  wallets: intEnv('BENCH_RISK_WALLETS', 500, 1, 20_000),
  historyRows: intEnv('BENCH_RISK_HISTORY_ROWS', 1_000_000, 1_000, 20_000_000),
  historyWallets: intEnv('BENCH_RISK_HISTORY_WALLETS', 10_000, 1, 1_000_000),
  historyConnections: [10, 50],
  historyPageSize: 20,
  profile: process.env.BENCH_RISK_PROFILE !== '0',
  cpuProfileOut: process.env.BENCH_RISK_CPU_PROFILE_OUT ? path.resolve(process.env.BENCH_RISK_CPU_PROFILE_OUT) : undefined,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_RISK_WRITE !== '0',
  readyTimeoutMs: 90_000,
  warmConcurrency: 8,
  /** Rows per INSERT … SELECT of the history fill. */
  insertBatch: 250_000,
  signalCacheSeconds: 3600,
};

const TARGET_EVALUATIONS_PER_SECOND = 2_000;
const TARGET_HISTORY_P99_MS = 20;
const DAY = 86_400;

const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
// Fixed for the run, so a wallet token issued by one server process is accepted by the other (the profile server).
const authSigningSecret = Keypair.random().secret();
const authJwtSecret = randomBytes(32).toString('hex');
const BENCH_APP = 'bench-risk';
const workDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-risk-'));
onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench:risk ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (share: number) => `${fmt(share * 100)} %`;

// ------------------------------------------------------------------------------------------- Horizon fixtures

/** A small deterministic generator (mulberry32), so every run seeds the same shapes of history. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A valid G… address without generating a key pair (nobody signs here). */
const randomAccount = () => StrKey.encodeEd25519PublicKey(randomBytes(32));

interface Fixtures {
  wallets: Array<{ id: string; keypair: Keypair; createdAt: number; balance: string }>;
  /** Every wallet's payments, oldest first across all wallets (the devnet wants history seeded in time order). */
  payments: PaymentSeed[];
  counterpartyPool: number;
  paymentsPerWallet: { min: number; max: number };
  counterpartiesPerWallet: { min: number; max: number };
}

/**
 * Wallets about two years old (± 20 days), each with 55–65 payments over the last 90 days with 18–22 counterparties
 * drawn from a shared pool: about three in four inbound (20–400 XLM), the rest outbound (5–150 XLM), one outbound in
 * 40 failed; native balances of 300–6,000 XLM.
 */
function buildFixtures(count: number, nowSec: number): Fixtures {
  const random = prng(0x5eed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pool = Array.from({ length: Math.max(200, count * 2) }, randomAccount);
  const wallets: Fixtures['wallets'] = [];
  const payments: PaymentSeed[] = [];
  const perWallet = { min: Infinity, max: 0 };
  const perCounterparties = { min: Infinity, max: 0 };
  for (let i = 0; i < count; i++) {
    // Real key pairs: a wallet may have to prove control (SEP-10) to force its own evaluation.
    const keypair = Keypair.random();
    const id = keypair.publicKey();
    wallets.push({ id, keypair, createdAt: nowSec - 730 * DAY + between(-20 * DAY, 20 * DAY), balance: (300 + random() * 5_700).toFixed(2) });
    const counterparties = new Set<string>();
    const wanted = between(18, 22);
    while (counterparties.size < wanted) counterparties.add(pool[Math.floor(random() * pool.length)]!);
    const chosen = [...counterparties];
    const n = between(55, 65);
    perWallet.min = Math.min(perWallet.min, n);
    perWallet.max = Math.max(perWallet.max, n);
    perCounterparties.min = Math.min(perCounterparties.min, wanted);
    perCounterparties.max = Math.max(perCounterparties.max, wanted);
    for (let p = 0; p < n; p++) {
      // Every counterparty appears at least once; the rest are drawn at random.
      const counterparty = p < chosen.length ? chosen[p]! : chosen[Math.floor(random() * chosen.length)]!;
      const createdAt = nowSec - between(3_600, 89 * DAY);
      if (random() < 0.75) {
        payments.push({ from: counterparty, to: id, amount: (20 + random() * 380).toFixed(2), createdAt });
      } else {
        payments.push({ from: id, to: counterparty, amount: (5 + random() * 145).toFixed(2), createdAt, successful: random() >= 1 / 40 });
      }
    }
  }
  payments.sort((a, b) => a.createdAt! - b.createdAt!);
  return { wallets, payments, counterpartyPool: pool.length, paymentsPerWallet: perWallet, counterpartiesPerWallet: perCounterparties };
}

function seedHorizon(devnet: Devnet, fixtures: Fixtures): void {
  // Creations two years ago first, then every payment in time order (each seed takes the next operation id).
  for (const wallet of [...fixtures.wallets].sort((a, b) => a.createdAt - b.createdAt)) {
    devnet.seedHorizon.account({ id: wallet.id, createdAt: wallet.createdAt, balances: [{ asset: 'native', amount: wallet.balance }] });
  }
  for (const payment of fixtures.payments) devnet.seedHorizon.payment(payment);
  devnet.closeLedger();
}

/** Counts the Horizon requests the devnet serves (its fault check runs once per request), to show the cache is warm. */
function countHorizonRequests(devnet: Devnet): () => number {
  let count = 0;
  const faults = devnet.faults;
  const original = faults.shouldFail.bind(faults);
  faults.shouldFail = (target) => {
    if (target === 'horizon') count++;
    return original(target);
  };
  return () => count;
}

// ------------------------------------------------------------------------------------------- the server

/** `profile`: preloads the statement counter (writing to `counterFile`) and runs with --cpu-prof into `cpuProfDir`. */
async function startApi(name: string, databaseUrl: string, horizonUrl: string, profile?: { counterFile: string; cpuProfDir: string }): Promise<RunningServer> {
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
      AUTH_SIGNING_SECRET: authSigningSecret,
      AUTH_JWT_SECRET: authJwtSecret,
      AUTH_TOKEN_TTL_SECONDS: '14400',
      RISK_PROVIDER: 'signals',
      HORIZON_URL: horizonUrl,
      RISK_SIGNAL_CACHE_SECONDS: String(settings.signalCacheSeconds),
      WORKERS: 'none',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...(profile ? { BENCH_PG_COUNTER_FILE: profile.counterFile } : {}),
    },
  });
  await waitForOk(server, '/health/ready', settings.readyTimeoutMs);
  log(`${name} ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return server;
}

const jsonHeaders = { 'X-API-Key': clientKey, 'Content-Type': 'application/json' };

interface EvaluationJson {
  id: string;
  score: number;
  band: string;
  cached: boolean;
  evaluatedAt: string;
}

async function evaluate(baseUrl: string, walletAddress: string, forceRefresh?: boolean, token?: string): Promise<{ status: number; data: EvaluationJson }> {
  const response = await fetch(`${baseUrl}/api/risk/evaluate`, {
    method: 'POST',
    headers: token ? { ...jsonHeaders, Authorization: `Bearer ${token}` } : jsonHeaders,
    body: JSON.stringify(forceRefresh === undefined ? { walletAddress } : { walletAddress, forceRefresh }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => ({}))) as { data?: EvaluationJson; error?: unknown };
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`POST /api/risk/evaluate answered ${response.status}: ${JSON.stringify(body.error ?? body).slice(0, 300)}`);
  }
  return { status: response.status, data: body.data! };
}

interface WarmResult {
  ms: number;
  horizonRequests: number;
  scores: { min: number; max: number };
  bands: Record<string, number>;
}

/**
 * Evaluates every wallet once (cold signals: each costs its Horizon reads), `warmConcurrency` at a time. A server
 * started after the wallets were evaluated by another one forces the evaluation (or it would answer from the store).
 */
async function warmSignals(baseUrl: string, wallets: readonly string[], horizonRequests: () => number, forceRefresh?: boolean, tokens?: ReadonlyMap<string, string>): Promise<WarmResult> {
  const before = horizonRequests();
  const started = performance.now();
  const scores = { min: 100, max: 0 };
  const bands: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    for (let taken = 0; taken < wallets.length && next < wallets.length; taken++) {
      const wallet = wallets[next++]!;
      const { status, data } = await evaluate(baseUrl, wallet, forceRefresh, tokens?.get(wallet));
      if (status !== 201 || data.cached) throw new Error(`the first evaluation of ${wallet} answered ${status} (cached ${data.cached})`);
      scores.min = Math.min(scores.min, data.score);
      scores.max = Math.max(scores.max, data.score);
      bands[data.band] = (bands[data.band] ?? 0) + 1;
    }
  };
  await withTimeout(Promise.all(Array.from({ length: settings.warmConcurrency }, worker)), 600_000, 'warming the signal cache');
  return { ms: performance.now() - started, horizonRequests: horizonRequests() - before, scores, bands };
}

/** `risk_evaluations_total{cached="false"}` from the server's /metrics: new evaluations the server itself counted. */
async function newEvaluationsMetric(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('risk_evaluations_total{') && line.includes('cached="false"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

// ------------------------------------------------------------------------------------------- SQL checks

interface Counts {
  evaluations: number;
  events: number;
}

async function counts(client: pg.Client): Promise<Counts> {
  const { rows } = await client.query<{ evaluations: string; events: string }>(
    `SELECT (SELECT count(*) FROM risk_evaluations) AS evaluations,
            (SELECT count(*) FROM domain_events WHERE type = 'risk.evaluated') AS events`,
  );
  return { evaluations: Number(rows[0]!.evaluations), events: Number(rows[0]!.events) };
}

/**
 * Waits until the stored evaluations stop changing (at least 1 s, at most 15 s): when autocannon stops it closes its
 * connections with requests still in flight, and the server finishes those after the run.
 */
async function settledCounts(client: pg.Client): Promise<Counts> {
  await sleep(1_000);
  let last = await counts(client);
  for (let i = 0; i < 70; i++) {
    await sleep(200);
    const now = await counts(client);
    if (now.evaluations === last.evaluations && now.events === last.events) return now;
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

// ------------------------------------------------------------------------------------------- measuring

interface Scenario {
  name: string;
  connections: number;
  requests: () => autocannon.RequestSpec[];
  probe: () => Promise<Response>;
  /** 'new': every answer must be a 201 that stored one evaluation; 'cached': every answer a 200, nothing stored. */
  writes?: 'new' | 'cached';
}

interface WriteCheck {
  created: number;
  ok200: number;
  newRows: number;
  newEvents: number;
  /** New evaluations the server counted (its risk_evaluations_total{cached="false"} metric). */
  metricNew: number;
  /** Requests written but not answered when autocannon closed its connections (the server still completes them). */
  unanswered: number;
  ok: boolean;
}

interface Cpu {
  wallMs: number;
  serverShare: number;
  postgresShare: number;
  benchShare: number;
  machineBusy: number;
  /** CPU used by everything else (PostgreSQL's background processes, other work on the machine), in cores. */
  otherShare: number;
  serverMsPerRequest: number;
  postgresMsPerRequest: number;
}

interface Run extends RunRecord {
  connections: number;
  cpu: Cpu;
  writes?: { warmup?: WriteCheck; measured: WriteCheck };
  horizonRequests: number;
}

interface Context {
  server: RunningServer;
  client: pg.Client;
  dbName: string;
  horizonRequests: () => number;
}

function checkWrites(m: Measurement, before: Counts, after: Counts, metricNew: number, mode: 'new' | 'cached'): WriteCheck {
  const created = m.statusCodes['201'] ?? 0;
  const ok200 = m.statusCodes['200'] ?? 0;
  const answered = Object.values(m.statusCodes).reduce((a, b) => a + b, 0);
  const unanswered = Math.max(0, m.sent - answered);
  const newRows = after.evaluations - before.evaluations;
  const newEvents = after.events - before.events;
  const ok =
    mode === 'new'
      ? // No lost write (every 201 stored), no extra one (beyond requests whose answer was never read), one event each.
        created === answered && newRows >= created && newRows - created <= unanswered && newEvents === newRows && metricNew === newRows
      : ok200 === answered && newRows === 0 && newEvents === 0 && metricNew === 0;
  return { created, ok200, newRows, newEvents, metricNew, unanswered, ok };
}

/** One autocannon run; with `writes`, the stored rows are counted before and (once settled) after it. */
async function load(ctx: Context, scenario: Scenario, durationSeconds: number, meter?: CpuMeter): Promise<{ m: Measurement; check?: WriteCheck; cpu?: ReturnType<CpuMeter['end']> }> {
  const before = scenario.writes ? await settledCounts(ctx.client) : undefined;
  const metricBefore = scenario.writes ? await newEvaluationsMetric(ctx.server.baseUrl) : 0;
  const pids = async () => [ctx.server.child.pid!, ...(await backendPids(ctx.client, ctx.dbName))];
  if (meter) meter.begin(await pids());
  const m = await runLoad({ url: ctx.server.baseUrl, connections: scenario.connections, durationSeconds, requests: scenario.requests() });
  const cpu = meter ? meter.end(await pids()) : undefined;
  if (!scenario.writes || !before) return { m, cpu };
  const after = await settledCounts(ctx.client);
  const metricNew = (await newEvaluationsMetric(ctx.server.baseUrl)) - metricBefore;
  return { m, cpu, check: checkWrites(m, before, after, metricNew, scenario.writes) };
}

const runs: Run[] = [];

async function measure(ctx: Context, scenario: Scenario): Promise<Run> {
  const probe = await scenario.probe();
  const probeText = await probe.text();
  if (probe.status < 200 || probe.status >= 300) throw new Error(`${scenario.name} probe answered ${probe.status}: ${probeText.slice(0, 300)}`);
  let warmup: WriteCheck | undefined;
  if (settings.warmupSeconds > 0) warmup = (await load(ctx, scenario, settings.warmupSeconds)).check;

  const loadAvg1 = os.loadavg()[0] ?? 0;
  const horizonBefore = ctx.horizonRequests();
  const { m, check, cpu: window } = await load(ctx, scenario, settings.durationSeconds, new CpuMeter());
  const horizonRequests = ctx.horizonRequests() - horizonBefore;
  if (ctx.server.child.exitCode !== null || ctx.server.child.signalCode !== null) throw new Error(`${ctx.server.name} died during "${scenario.name}"`);

  const answered = Math.max(1, m.totalRequests);
  const serverMs = window!.byPid.get(ctx.server.child.pid!) ?? 0;
  const postgresMs = [...window!.byPid.entries()].filter(([pid]) => pid !== ctx.server.child.pid).reduce((a, [, ms]) => a + ms, 0);
  const cpu: Cpu = {
    wallMs: window!.wallMs,
    serverShare: serverMs / window!.wallMs,
    postgresShare: postgresMs / window!.wallMs,
    benchShare: window!.selfMs / window!.wallMs,
    machineBusy: window!.machineBusyShare,
    otherShare: Math.max(0, window!.machineBusyShare * os.cpus().length - (serverMs + postgresMs + window!.selfMs) / window!.wallMs),
    serverMsPerRequest: serverMs / answered,
    postgresMsPerRequest: postgresMs / answered,
  };
  const run: Run = { scenario: scenario.name, storage: 'PostgreSQL', logLevel: 'warn', measurement: m, loadAvg1, connections: scenario.connections, cpu, horizonRequests };
  if (check) run.writes = { warmup, measured: check };
  runs.push(run);
  log(
    `${scenario.name}: ${fmt(m.reqPerSecAvg)} req/s, p50 ${m.latencyP50Ms} ms, p99 ${m.latencyP99Ms} ms, ${fmt(m.totalRequests)} requests, ` +
      `${m.errors} errors, ${m.non2xx} non-2xx; CPU server ${pct(cpu.serverShare)}, PostgreSQL ${pct(cpu.postgresShare)}, bench ${pct(cpu.benchShare)}, ` +
      `machine ${pct(cpu.machineBusy)}${check ? `; ${check.created} x 201 -> ${check.newRows} rows (${check.unanswered} unanswered), ${check.ok ? 'consistent' : 'INCONSISTENT'}` : ''}`,
  );
  return run;
}

/** Sets each request's body (and headers, when given) to the next of `bodies` (and `headers`). */
function rotatingBodies(bodies: readonly string[], headers?: ReadonlyArray<Record<string, string>>): autocannon.RequestSpec['setupRequest'] {
  let next = 0;
  return (request) => {
    const n = next++;
    request.body = bodies[n % bodies.length]!;
    if (headers) request.headers = headers[n % headers.length]!;
    return request;
  };
}

/**
 * How a forced refresh must be authorised on this build: with the client key alone, or (when the service requires
 * the wallet's own proof of control for it) with each wallet's SEP-10 token, which the benchmark then obtains the
 * way a wallet does. Reads (the cached path, history) always use the client key alone.
 */
interface ForcedAuth {
  mode: 'client key' | 'wallet token';
  tokens?: Map<string, string>;
  refusal?: string;
}

async function forcedAuth(baseUrl: string, wallets: Fixtures['wallets']): Promise<ForcedAuth> {
  const first = wallets[0]!;
  const response = await fetch(`${baseUrl}/api/risk/evaluate`, {
    method: 'POST',
    headers: jsonHeaders,
    body: JSON.stringify({ walletAddress: first.id, forceRefresh: true }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status === 201) return { mode: 'client key' };
  if (response.status !== 401 && response.status !== 403) throw new Error(`a forced evaluation answered ${response.status}: ${text.slice(0, 300)}`);
  const tokens = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    for (let taken = 0; taken < wallets.length && next < wallets.length; taken++) {
      const wallet = wallets[next++]!;
      const token = await walletToken(baseUrl, wallet.keypair, clientKey);
      if (!token) throw new Error(`forced evaluations are refused with the client key alone (${response.status}) and this build issues no wallet tokens`);
      tokens.set(wallet.id, token);
    }
  };
  await withTimeout(Promise.all(Array.from({ length: settings.warmConcurrency }, worker)), 600_000, 'obtaining wallet tokens');
  let refusal = text;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string } };
    refusal = parsed.error?.code ?? text;
  } catch {
    // keep the raw text
  }
  return { mode: 'wallet token', tokens, refusal: `${response.status} ${refusal}`.slice(0, 120) };
}

function evaluationScenarios(baseUrl: string, wallets: readonly string[], auth: ForcedAuth): { forced: Scenario; cached: Scenario } {
  const forcedBodies = wallets.map((walletAddress) => JSON.stringify({ walletAddress, forceRefresh: true }));
  const forcedHeaders = auth.tokens ? wallets.map((w) => ({ ...jsonHeaders, Authorization: `Bearer ${auth.tokens!.get(w)!}` })) : undefined;
  const cachedBodies = wallets.map((walletAddress) => JSON.stringify({ walletAddress }));
  const post = (body: string, headers: Record<string, string> = jsonHeaders) =>
    fetch(`${baseUrl}/api/risk/evaluate`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  return {
    forced: {
      name: `POST /api/risk/evaluate, forceRefresh: true (new evaluation, warm signals${auth.tokens ? ', wallet token' : ''})`,
      connections: settings.connections,
      requests: () => [{ method: 'POST', path: '/api/risk/evaluate', headers: jsonHeaders, setupRequest: rotatingBodies(forcedBodies, forcedHeaders) }],
      probe: () => post(forcedBodies[0]!, forcedHeaders?.[0]),
      writes: 'new',
    },
    cached: {
      name: 'POST /api/risk/evaluate (cached: stored evaluation returned)',
      connections: settings.connections,
      requests: () => [{ method: 'POST', path: '/api/risk/evaluate', headers: jsonHeaders, setupRequest: rotatingBodies(cachedBodies) }],
      probe: () => post(cachedBodies[0]!),
      writes: 'cached',
    },
  };
}

/**
 * Before a server's first measured run: cached evaluations (nothing stored) in unrecorded 2 s runs until it has
 * answered PROCESS_WARMUP_REQUESTS, so one-time costs of a fresh process are paid first: V8's optimisation, and Node's
 * check, on each of the first 10,000 calls, of where the deprecated `Buffer()` constructor was called from (a stack
 * walk; base32.js calls it under StrKey, which validates every wallet address a request carries).
 */
const PROCESS_WARMUP_REQUESTS = 12_000;

async function warmProcess(baseUrl: string, scenario: Scenario): Promise<{ requests: number; ms: number }> {
  const started = performance.now();
  let requests = 0;
  for (let i = 0; i < 30 && requests < PROCESS_WARMUP_REQUESTS; i++) {
    const m = await runLoad({ url: baseUrl, connections: scenario.connections, durationSeconds: 2, requests: scenario.requests() });
    if (m.non2xx + m.errors > 0) throw new Error(`process warm-up: ${m.non2xx} non-2xx, ${m.errors} errors`);
    requests += m.sent;
  }
  return { requests, ms: performance.now() - started };
}

// ------------------------------------------------------------------------------------------- statement profile

interface StatementProfile {
  scenario: string;
  requests: number;
  reqPerSec: number;
  /** Event-loop utilisation of the server during the run (1 = its one JavaScript thread never waited). */
  eventLoopBusy: number;
  statements: Array<{ kind: string; count: number; ms: number }>;
  /** Wall-clock bounds of the measured run (ms since the epoch), to cut its samples out of the CPU profile. */
  window: { from: number; to: number };
  cpu?: ProfileSummary;
}

/** The order a request sends its statements in (authentication, reads, then the transaction), others last. */
const STATEMENT_ORDER = ['SELECT revoked_tokens', 'SELECT risk_evaluations', 'SELECT credit_lines', 'SELECT domain_events', 'BEGIN', 'INSERT risk_evaluations', 'INSERT domain_events', 'COMMIT'];
const statementRank = (kind: string) => (STATEMENT_ORDER.includes(kind) ? STATEMENT_ORDER.indexOf(kind) : STATEMENT_ORDER.length);

function readCounter(file: string): CounterSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CounterSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * A second server, for the profile runs only: scripts/bench/webhooks/pgCounter.ts preloaded (it wraps pg.Client#query:
 * statements by kind and the time from sending each to its result; event-loop utilisation) and `--cpu-prof`. Each
 * scenario is run again against it; at the end the CPU profile is cut into the measured runs' windows. Both cost a
 * little: these runs' rates are not used for the targets.
 */
class ProfileServer {
  readonly profiles: StatementProfile[] = [];
  private readonly counterFile = path.join(workDir, 'api-risk-profile.counter.json');
  private readonly cpuProfDir = path.join(workDir, 'api-risk-profile.cpuprof');

  private constructor(private server: RunningServer | undefined) {}

  static async start(databaseUrl: string, horizonUrl: string, wallets: readonly string[], horizonRequests: () => number, auth: ForcedAuth): Promise<ProfileServer> {
    const profiler = new ProfileServer(undefined);
    profiler.server = await startApi('api-risk-profile', databaseUrl, horizonUrl, { counterFile: profiler.counterFile, cpuProfDir: profiler.cpuProfDir });
    // The wallets were evaluated by the other server already: force, so this one's signal cache is filled too.
    await warmSignals(profiler.server.baseUrl, wallets, horizonRequests, true, auth.tokens);
    await warmProcess(profiler.server.baseUrl, evaluationScenarios(profiler.server.baseUrl, wallets, auth).cached);
    return profiler;
  }

  get baseUrl(): string {
    return this.server!.baseUrl;
  }

  async run(scenario: Scenario): Promise<void> {
    const options = { url: this.baseUrl, connections: scenario.connections };
    if (settings.warmupSeconds > 0) await runLoad({ ...options, requests: scenario.requests(), durationSeconds: settings.warmupSeconds });
    // The counter writes its file every 250 ms: the snapshots bracket the run within that, idle time around it.
    await sleep(300);
    const start = readCounter(this.counterFile);
    const from = Date.now();
    const m = await runLoad({ ...options, requests: scenario.requests(), durationSeconds: settings.durationSeconds });
    const to = Date.now();
    await sleep(300);
    const end = readCounter(this.counterFile);
    if (!start || !end) return;
    const statements = Object.entries(end.statements)
      .map(([kind, v]) => ({ kind, count: v.count - (start.statements[kind]?.count ?? 0), ms: v.ms - (start.statements[kind]?.ms ?? 0) }))
      .filter((st) => st.count > 0)
      .sort((a, b) => statementRank(a.kind) - statementRank(b.kind) || b.count - a.count);
    // Busy time over the load's own duration (the idle moments around it add nothing to `active`).
    const active = end.elu.active - start.elu.active;
    const profile: StatementProfile = {
      scenario: scenario.name,
      // Every request written reaches the server, also those whose answer autocannon did not wait for.
      requests: Math.max(1, m.sent),
      reqPerSec: m.reqPerSecAvg,
      eventLoopBusy: Math.min(1, active / (m.durationSeconds * 1000)),
      statements,
      window: { from, to },
    };
    this.profiles.push(profile);
    log(`profile of "${scenario.name}": ${fmt(m.reqPerSecAvg)} req/s with the counter and the profiler; event loop busy ${pct(profile.eventLoopBusy)}`);
  }

  /** Stops the server (which writes its CPU profile) and attributes the samples of each measured run. */
  async finish(): Promise<StatementProfile[]> {
    if (!this.server) return this.profiles;
    await this.server.stop();
    const exitedAt = Date.now();
    this.server = undefined;
    const file = mainThreadProfile(this.cpuProfDir);
    if (!file) return this.profiles;
    if (settings.cpuProfileOut) copyFileSync(file, settings.cpuProfileOut);
    const cpuProfile = readProfile(file);
    // The profile ends as the process exits: map wall-clock times onto its clock from there (to within the few ms
    // the exit took), keeping half a second clear of each end of the run.
    const toUs = (wall: number) => cpuProfile.endTime - (exitedAt - wall) * 1000;
    for (const profile of this.profiles) {
      profile.cpu = summariseProfile(cpuProfile, { fromUs: toUs(profile.window.from + 500), toUs: toUs(profile.window.to - 500) });
    }
    return this.profiles;
  }
}

// ------------------------------------------------------------------------------------------- history data

interface HistoryFill {
  rows: number;
  wallets: number;
  templates: number;
  /** Average JSON bytes per stored evaluation; `why` is the part of `signals` that is the model's explanatory text. */
  payloadBytes: { signals: number; inputs: number; why: number };
  insertMs: number;
  vacuumMs: number;
  tableBytes: number;
  indexBytes: number;
}

const TEMPLATE_COLUMNS = 'provider, model_version, score, band, decision, credit_limit, interest_rate_bps, signals, inputs';

/**
 * Replaces the table's contents with `rows` evaluations spread round-robin over `wallets` (so one wallet's rows are
 * spread over the whole table, as evaluations made over months are), their payloads copied from the real evaluations
 * the first part stored (one per distinct score), dated one every 30 s up to now. Then VACUUM (ANALYZE).
 */
async function fillHistory(client: pg.Client, wallets: readonly string[]): Promise<HistoryFill> {
  const { rows: templates } = await client.query<Record<string, unknown>>(
    `SELECT ${TEMPLATE_COLUMNS} FROM (SELECT DISTINCT ON (score) ${TEMPLATE_COLUMNS}, seq FROM risk_evaluations ORDER BY score, seq DESC) t ORDER BY score`,
  );
  if (templates.length === 0) throw new Error('no evaluation to copy payloads from');
  const { rows: sizes } = await client.query<{ signals: string; inputs: string; why: string }>(
    `SELECT avg(octet_length(signals::text))::int AS signals, avg(octet_length(inputs::text))::int AS inputs,
            avg((SELECT coalesce(sum(octet_length(e->>'why')), 0) FROM jsonb_array_elements(signals) e))::int AS why
       FROM risk_evaluations`,
  );
  await client.query('TRUNCATE risk_evaluations');
  const stepSeconds = 30;
  const firstAt = new Date(Date.now() - settings.historyRows * stepSeconds * 1000);
  const started = performance.now();
  for (let from = 0; from < settings.historyRows; from += settings.insertBatch) {
    const to = Math.min(settings.historyRows, from + settings.insertBatch) - 1;
    await client.query(
      `WITH src AS (SELECT $1::jsonb AS tpl, $2::text[] AS wallets)
       INSERT INTO risk_evaluations (id, wallet_address, ${TEMPLATE_COLUMNS}, evaluated_at, expires_at)
       SELECT gen_random_uuid(), src.wallets[1 + g % cardinality(src.wallets)],
              t.value->>'provider', t.value->>'model_version', (t.value->>'score')::int, t.value->>'band', t.value->>'decision',
              (t.value->>'credit_limit')::numeric, (t.value->>'interest_rate_bps')::int, t.value->'signals', t.value->'inputs',
              $3::timestamptz + g * make_interval(secs => $4), $3::timestamptz + g * make_interval(secs => $4) + interval '24 hours'
         FROM generate_series($5::int, $6::int) AS g
        CROSS JOIN src
        CROSS JOIN LATERAL (SELECT src.tpl -> (g % jsonb_array_length(src.tpl)) AS value) t`,
      [JSON.stringify(templates), wallets, firstAt, stepSeconds, from, to],
    );
    log(`history: ${fmt(to + 1)} of ${fmt(settings.historyRows)} rows inserted (${fmt((performance.now() - started) / 1000, 1)} s)`);
  }
  const insertMs = performance.now() - started;
  const vacuumStarted = performance.now();
  // VACUUM as well as ANALYZE: hint bits and the visibility map are set as autovacuum would have set them, so it does
  // not start on the fresh million rows in the middle of a measured run.
  await client.query('VACUUM (ANALYZE) risk_evaluations');
  const vacuumMs = performance.now() - vacuumStarted;
  const { rows: stats } = await client.query<{ rows: string; table_bytes: string; index_bytes: string }>(
    `SELECT (SELECT count(*) FROM risk_evaluations) AS rows,
            pg_total_relation_size('risk_evaluations') AS table_bytes,
            pg_relation_size('risk_evaluations_wallet_seq_idx') AS index_bytes`,
  );
  return {
    rows: Number(stats[0]!.rows),
    wallets: wallets.length,
    templates: templates.length,
    payloadBytes: { signals: Number(sizes[0]!.signals), inputs: Number(sizes[0]!.inputs), why: Number(sizes[0]!.why) },
    insertMs,
    vacuumMs,
    tableBytes: Number(stats[0]!.table_bytes),
    indexBytes: Number(stats[0]!.index_bytes),
  };
}

/** The repository's own statement (src/repositories/postgres/riskEvaluationRepository.ts listByWallet: summaries, no signals or inputs). */
const HISTORY_SQL = `SELECT id, seq, wallet_address, provider, model_version, score, band, decision, credit_limit, interest_rate_bps, evaluated_at, expires_at, applied_at, applied_by, applied_to_line_id, applied_terms FROM risk_evaluations
        WHERE wallet_address = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
        ORDER BY seq DESC LIMIT $3`;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

interface Explained {
  label: string;
  plan: string;
  rows: number;
  executionMs: { median: number; max: number; first: number };
  planningMs: number;
  sharedHit: number;
  sharedRead: number;
}

function describePlan(node: PlanNode): string {
  const self = `${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`;
  const children = node.Plans ?? [];
  return children.length === 0 ? self : `${self} → ${children.map(describePlan).join(', ')}`;
}

/** EXPLAIN (ANALYZE, BUFFERS) of the history statement, 7 times; the execution time's first, median and maximum. */
async function explain(client: pg.Client, label: string, wallet: string, after: string | null): Promise<Explained> {
  const times: number[] = [];
  let last: { Plan: PlanNode; 'Planning Time': number; 'Execution Time': number } | undefined;
  for (let i = 0; i < 7; i++) {
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }> }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${HISTORY_SQL}`,
      [wallet, after, settings.historyPageSize + 1],
    );
    last = rows[0]!['QUERY PLAN'][0]!;
    times.push(last['Execution Time']);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    label,
    plan: describePlan(last!.Plan),
    rows: last!.Plan['Actual Rows'] ?? 0,
    executionMs: { first: times[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! },
    planningMs: last!['Planning Time'],
    sharedHit: last!.Plan['Shared Hit Blocks'] ?? 0,
    sharedRead: last!.Plan['Shared Read Blocks'] ?? 0,
  };
}

/** Pages through one wallet's history over HTTP: every row once, newest first, the last page without a cursor. */
async function checkPaging(baseUrl: string, wallet: string, expected: number): Promise<{ pages: number; items: number; ok: boolean }> {
  const seen = new Set<string>();
  let items = 0;
  let cursor: string | null = null;
  let pages = 0;
  let lastAt = Infinity;
  let ordered = true;
  const maxPages = Math.ceil(expected / settings.historyPageSize) + 2;
  do {
    const query: string = `limit=${settings.historyPageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await fetch(`${baseUrl}/api/risk/wallet/${wallet}/history?${query}`, { headers: { 'X-API-Key': clientKey }, signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { data: { items: EvaluationJson[]; nextCursor: string | null } };
    if (response.status !== 200) throw new Error(`history page answered ${response.status}`);
    for (const item of body.data.items) {
      items++;
      seen.add(item.id);
      const at = Date.parse(item.evaluatedAt);
      if (at > lastAt) ordered = false;
      lastAt = at;
    }
    cursor = body.data.nextCursor;
    pages++;
  } while (cursor && pages < maxPages);
  return { pages, items, ok: items === expected && seen.size === expected && ordered && cursor === null };
}

function historyScenario(baseUrl: string, wallets: readonly string[], connections: number): Scenario {
  const paths = wallets.map((w) => `/api/risk/wallet/${w}/history?limit=${settings.historyPageSize}`);
  return {
    name: `GET /api/risk/wallet/:w/history?limit=${settings.historyPageSize}, ${connections} connections`,
    connections,
    requests: () => [{ method: 'GET', headers: { 'X-API-Key': clientKey }, setupRequest: rotatingPaths(paths) }],
    probe: () => fetch(`${baseUrl}${paths[0]!}`, { headers: { 'X-API-Key': clientKey }, signal: AbortSignal.timeout(10_000) }),
  };
}

// ------------------------------------------------------------------------------------------- report

interface Report {
  machine: BenchMachine;
  fixtures: Fixtures;
  seedMs: number;
  warm: WarmResult;
  auth: ForcedAuth;
  processWarmup: { requests: number; ms: number };
  profiles: StatementProfile[];
  fill: HistoryFill;
  perWallet: number;
  pageBytes: number;
  /** Whether history items carry `signals` (and `inputs`), or are summaries without the stored explanation. */
  pageCarriesExplanation: boolean;
  explains: Explained[];
  paging: { pages: number; items: number; ok: boolean };
  warnings: { count: number; first?: string };
}

const evaluationsPerSecond = (run: Run) => (run.writes?.measured.created ?? 0) / Math.max(0.001, run.measurement.durationSeconds);

function writeCheckRows(): string[] {
  return runs.flatMap((run) => {
    if (!run.writes) return [];
    const row = (label: string, c: WriteCheck) =>
      `| ${label} | ${fmt(c.created)} | ${fmt(c.ok200)} | ${fmt(c.newRows)} | ${fmt(c.newEvents)} | ${fmt(c.metricNew)} | ${fmt(c.unanswered)} | ${c.ok ? 'yes' : '**no**'} |`;
    return [...(run.writes.warmup ? [row(`${run.scenario} (warm-up)`, run.writes.warmup)] : []), row(run.scenario, run.writes.measured)];
  });
}

function evaluateTargets(): Target[] {
  const targets: Target[] = [];
  const forced = runs.find((r) => r.writes?.measured && r.scenario.includes('forceRefresh'));
  if (forced) {
    const rate = evaluationsPerSecond(forced);
    targets.push({
      label: `evaluations >= ${fmt(TARGET_EVALUATIONS_PER_SECOND)}/s (warm signals)`,
      scenario: forced.scenario,
      measured: `${fmt(rate)}/s`,
      met: rate >= TARGET_EVALUATIONS_PER_SECOND,
    });
    const checks = [forced.writes!.warmup, forced.writes!.measured].filter((c): c is WriteCheck => c !== undefined);
    const created = checks.reduce((a, c) => a + c.created, 0);
    const rows = checks.reduce((a, c) => a + c.newRows, 0);
    const unanswered = checks.reduce((a, c) => a + c.unanswered, 0);
    targets.push({
      label: 'stored evaluations = 201 answers (no lost or extra writes)',
      scenario: `${forced.scenario} (warm-up and measured run)`,
      measured: `${fmt(created)} × 201, ${fmt(rows)} rows (${fmt(rows - created)} from ${fmt(unanswered)} requests in flight when the load stopped)`,
      met: checks.every((c) => c.ok),
    });
  }
  const history10 = runs.find((r) => r.scenario.startsWith('GET') && r.connections === 10);
  if (history10) {
    targets.push({
      label: `history p99 <= ${TARGET_HISTORY_P99_MS} ms on ${fmt(settings.historyRows)} evaluations`,
      scenario: history10.scenario,
      measured: `${history10.measurement.latencyP99Ms} ms`,
      met: history10.measurement.latencyP99Ms <= TARGET_HISTORY_P99_MS,
    });
  }
  for (const run of runs) {
    const m = run.measurement;
    targets.push({ label: 'no errors', scenario: run.scenario, measured: `${m.errors} errors, ${m.non2xx} non-2xx`, met: m.errors + m.non2xx === 0 });
  }
  return targets;
}

const perRequest = (p: StatementProfile, count: number) => count / Math.max(1, p.requests);
const statementList = (p: StatementProfile) => p.statements.map((st) => `${st.kind} ${fmt(perRequest(p, st.count), 2)}`).join(', ');
const categoryShare = (p: StatementProfile | undefined, name: string) => {
  const total = p?.cpu?.totalUs ?? 0;
  return total > 0 ? (p!.cpu!.categories.find((c) => c.name === name)?.us ?? 0) / total : 0;
};
/** The busiest categories of the server's CPU (idle excluded), as "name 12 %" over its busy time. */
function topCategories(p: StatementProfile | undefined, n: number): string {
  if (!p?.cpu) return '';
  const busy = p.cpu.categories.filter((c) => c.name !== IDLE_CATEGORY);
  const busyUs = busy.reduce((a, c) => a + c.us, 0);
  return busy
    .slice(0, n)
    .map((c) => `${c.name} ${pct(c.us / Math.max(1, busyUs))}`)
    .join(', ');
}

/** The server's CPU by category in each profile run, as shares of the run's sampled time (idle included). */
function cpuCategoryTable(profiles: readonly StatementProfile[]): string[] {
  const profiled = profiles.filter((p) => p.cpu && p.cpu.totalUs > 0);
  if (profiled.length === 0) return [];
  const names: string[] = [];
  for (const p of profiled) for (const c of p.cpu!.categories.slice(0, 9)) if (!names.includes(c.name)) names.push(c.name);
  const share = (p: StatementProfile, name: string) => pct(categoryShare(p, name));
  const topFunctions = (p: StatementProfile) =>
    p.cpu!.functions
      .filter((f) => !f.name.startsWith('(idle)'))
      .slice(0, 6)
      .map((f) => `\`${f.name.replace(/\s+/g, ' ').replace(/`/g, "'")}\` ${pct(f.us / p.cpu!.totalUs)}`)
      .join(', ');
  return [
    '',
    '### Server CPU by category (profile runs, `--cpu-prof`, samples inside the measured run)',
    '',
    `| Category | ${profiled.map((p) => p.scenario).join(' | ')} |`,
    `| --- | ${profiled.map(() => '---:').join(' | ')} |`,
    ...names.map((name) => `| ${name} | ${profiled.map((p) => share(p, name)).join(' | ')} |`),
    '',
    ...profiled.map((p) => `Top functions by self time, ${p.scenario}: ${topFunctions(p)}.`).flatMap((line) => [line, '']),
  ].slice(0, -1);
}

function renderSection(report: Report, targets: readonly Target[]): string {
  const { machine, fixtures, warm, fill, profiles } = report;
  const forced = runs.find((r) => r.writes?.measured && r.scenario.includes('forceRefresh'));
  const cached = runs.find((r) => r.writes?.measured && !r.scenario.includes('forceRefresh'));
  const history10 = runs.find((r) => r.scenario.startsWith('GET') && r.connections === 10);
  const history50 = runs.find((r) => r.scenario.startsWith('GET') && r.connections === 50);
  const forcedProfile = profiles.find((p) => p.scenario === forced?.scenario);
  const cachedProfile = profiles.find((p) => p.scenario === cached?.scenario);
  const historyProfile = profiles.find((p) => p.scenario.startsWith('GET'));
  const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;
  const bands = Object.entries(warm.bands)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([band, n]) => `${band} ${fmt(n)}`)
    .join(', ');

  const notes: string[] = [];
  const missed = targets.filter((t) => !t.met);
  notes.push(missed.length === 0 ? `All ${targets.length} targets met on this machine.` : `${missed.length} of ${targets.length} targets not met on this machine; figures are reported as measured.`);
  const contended = runs.filter((r) => r.cpu.otherShare > 0.15);
  if (contended.length > 0) {
    notes.push(
      `In ${contended.length} of ${runs.length} measured runs processes other than the server, its PostgreSQL backends and the benchmark used ${contended.map((r) => pct(r.cpu.otherShare)).join(', ')} of a core ("everything else" above: PostgreSQL's WAL writer and checkpointer, and other work on this shared machine), taken from the same two cores; that lowers the rates and lengthens the tails. Compare rows within this run.`,
    );
  }
  if (forced) {
    const c = forced.cpu;
    const cpuPerEval = c.serverMsPerRequest + c.postgresMsPerRequest;
    const benchPerEval = (c.benchShare * c.wallMs) / Math.max(1, forced.measurement.totalRequests);
    notes.push(
      `**Where a forced evaluation's time goes** (${fmt(evaluationsPerSecond(forced))}/s): the machine was ${pct(c.machineBusy)} busy. The server used ${fmt(c.serverMsPerRequest, 2)} ms of CPU per evaluation (${pct(c.serverShare)} of one core), the PostgreSQL backends ${fmt(c.postgresMsPerRequest, 2)} ms (${pct(c.postgresShare)}), the benchmark process ${fmt(benchPerEval, 2)} ms (${pct(c.benchShare)}: autocannon; the devnet served ${fmt(forced.horizonRequests)} Horizon requests during the run, the signals were all cached). ` +
        `At ${fmt(cpuPerEval, 2)} ms of server and database CPU per evaluation, two fully busy cores would stop at about ${fmt(2000 / cpuPerEval)} evaluations/s even without a load generator on them, and one server process, whose JavaScript runs on one thread, at about ${fmt(1000 / c.serverMsPerRequest)}/s. ` +
        `The ${fmt(TARGET_EVALUATIONS_PER_SECOND)}/s target means at most ${fmt(2000 / TARGET_EVALUATIONS_PER_SECOND, 2)} ms of CPU per evaluation for everything on these two cores, and at most ${fmt(1000 / TARGET_EVALUATIONS_PER_SECOND, 2)} ms in one server process.`,
    );
    if (forcedProfile) {
      const statements = perRequest(forcedProfile, forcedProfile.statements.reduce((a, st) => a + st.count, 0));
      const busy = Math.max(0.001, 1 - categoryShare(forcedProfile, IDLE_CATEGORY));
      const socketShare = categoryShare(forcedProfile, SOCKET_WRITES) / busy;
      const srcShare = categoryShare(forcedProfile, 'backend src') / busy;
      const perWriteMs = (c.serverMsPerRequest * socketShare) / (statements + 1);
      notes.push(
        `Forced evaluation, profile run (${fmt(forcedProfile.reqPerSec)} req/s with the counter and the profiler): ${fmt(statements, 2)} statements per evaluation, one after another (${statementList(forcedProfile)}); the server's event loop was busy ${pct(forcedProfile.eventLoopBusy)} of the run: the server's one JavaScript thread is the bottleneck, and the send-to-result times in the statements table are mostly the wait for that thread to get to the result, not PostgreSQL.` +
          (forcedProfile.cpu
            ? ` Its CPU (busy time): ${topCategories(forcedProfile, 6)}. The service's own code, scoring included ("backend src"), is ${pct(srcShare)}. ` +
              `The largest part is writing to sockets: every statement is one write to PostgreSQL's socket and the answer one more to the client's, about ${fmt(statements + 1)} per evaluation, and on loopback a TCP write also pays for much of the receiving side's processing inside the sender's system call: about ${fmt(perWriteMs * 1000)} µs of server CPU per write here (${pct(socketShare)} of ${fmt(c.serverMsPerRequest, 2)} ms). ` +
              `So the cost is per round trip, and fewer round trips is the lever: the evaluation and its event inserted by one statement (a data-modifying CTE, atomic without BEGIN/COMMIT) would take the transaction from 4 statements to 1, saving about ${fmt(3 * perWriteMs, 2)} ms of writes plus the driver's and PostgreSQL's work for 3 statements; scoring, the model and the index are not where the time goes. One server process at 2,000/s has ${fmt(1000 / TARGET_EVALUATIONS_PER_SECOND, 2)} ms per evaluation, so on these two shared cores the target also needs more of them (a second server process, PostgreSQL on cores of its own).`
            : ''),
      );
    }
  }
  if (cached) {
    const begins = cachedProfile?.statements.find((st) => st.kind === 'BEGIN');
    notes.push(
      `Cached path: ${fmt(cached.measurement.reqPerSecAvg)} req/s (p99 ${cached.measurement.latencyP99Ms} ms), ${fmt(cached.cpu.serverMsPerRequest, 2)} ms server CPU and ${fmt(cached.cpu.postgresMsPerRequest, 2)} ms PostgreSQL CPU per answer.` +
        (cachedProfile
          ? ` ${fmt(perRequest(cachedProfile, cachedProfile.statements.reduce((a, st) => a + st.count, 0)), 2)} statements per answer (${statementList(cachedProfile)}).` +
            (begins && perRequest(cachedProfile, begins.count) > 0.5
              ? ' The BEGIN/COMMIT pair is an empty transaction: the route always passes an `alsoWithin` callback, so `RiskService.evaluate` opens a transaction on the cached path even when there is no Idempotency-Key and so nothing to store in it (src/services/riskService.ts `if (alsoWithin) await this.store.transaction(…)`; the callback only calls `storeResponseWithin`, which returns undefined without a key). Two of the three round trips of a cached answer do nothing.'
              : '')
          : ''),
    );
  }
  if (history10 && history50) {
    const explainFirst = report.explains[0];
    const explainDeep = report.explains[1];
    notes.push(
      `**History**: a page of ${settings.historyPageSize} evaluations is ${fmt(report.pageBytes / 1024, 1)} KiB of JSON` +
        (report.pageCarriesExplanation
          ? `, because every item carries its full \`signals\` (each of the model's signals with its value, transform, weight, points and \`why\`) and \`inputs\`: ${fmt(fill.payloadBytes.signals + fill.payloadBytes.inputs)} bytes of JSON per evaluation as stored, of which ${fmt(fill.payloadBytes.why)} are the signals' \`why\` texts, the same in every evaluation of a model version. `
          : `: the items are summaries (score, band, decision, terms, dates); the explanation (\`signals\` and \`inputs\`, ${fmt(fill.payloadBytes.signals + fill.payloadBytes.inputs)} bytes of JSON per evaluation as stored) is neither read nor sent with a page. `) +
        `At 10 connections ${fmt(history10.measurement.reqPerSecAvg)} pages/s, p50 ${history10.measurement.latencyP50Ms} ms, p99 ${history10.measurement.latencyP99Ms} ms; at 50 connections ${fmt(history50.measurement.reqPerSecAvg)} pages/s, p50 ${history50.measurement.latencyP50Ms} ms, p99 ${history50.measurement.latencyP99Ms} ms. ` +
        `The lookup is not where the time goes: the index scan takes ${fmt(explainFirst?.executionMs.median ?? 0, 2)} ms for the first page and ${fmt(explainDeep?.executionMs.median ?? 0, 2)} ms for a deep cursor (median, plans above). ` +
        (report.pageCarriesExplanation
          ? `The rest of PostgreSQL's ${fmt(history10.cpu.postgresMsPerRequest, 2)} ms of CPU per page is decompressing the TOASTed jsonb of 21 rows, converting it to text and sending it, which EXPLAIN (ANALYZE) in PostgreSQL ${report.machine.postgres.split(' ')[0]} does not measure; the server spends ${fmt(history10.cpu.serverMsPerRequest, 2)} ms per page parsing those rows (the driver parses jsonb with JSON.parse), serialising the answer and writing it, on its one thread, one page at a time, so at 10 connections a page waits behind the others in flight.`
          : `PostgreSQL used ${fmt(history10.cpu.postgresMsPerRequest, 2)} ms of CPU per page (the statement's round trip, converting 21 rows to text and sending them), the server ${fmt(history10.cpu.serverMsPerRequest, 2)} ms (authentication, the read, parsing the rows, serialising and writing the answer) on its one thread.`) +
        (historyProfile?.cpu
          ? ` Server CPU by category in the profile run (busy time): ${topCategories(historyProfile, 6)}; event loop busy ${pct(historyProfile.eventLoopBusy)}.`
          : '') +
        (report.pageCarriesExplanation
          ? ` A lighter history page (items without \`inputs\`, or without \`signals\` and a link to \`GET /api/risk/evaluations/:id\` for the explanation) would cut the bytes to parse, serialise and send per page by most; the index needs no change.`
          : ''),
    );
  }
  notes.push(
    `Paging check over HTTP: one wallet's ${fmt(report.perWallet)} evaluations read page by page with \`nextCursor\`: ${fmt(report.paging.items)} items in ${report.paging.pages} pages, ${report.paging.ok ? 'each once, newest first, the last page without a cursor' : '**not every evaluation exactly once in order**'}.`,
  );
  notes.push(
    report.warnings.count === 0
      ? 'The servers logged no warnings or errors.'
      : `The servers logged ${report.warnings.count} warning/error lines; the first: \`${(report.warnings.first ?? '').slice(0, 300).replace(/`/g, "'")}\`.`,
  );

  return [
    SECTION_START,
    '## Risk evaluation: evaluations per second and history lookups',
    '',
    `_Generated by \`npm run bench:risk\` (scripts/bench/risk.ts) on ${machine.date}. Re-running the script replaces only this section._`,
    '',
    '### Machine',
    '',
    `- CPU: ${machine.cpu}, \`nproc\` = ${machine.nproc}. **PostgreSQL, the API server and the load generator (autocannon, in the benchmark process together with the devnet) all share these ${machine.nproc} cores.**`,
    `- Memory: ${machine.memory}; OS: ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}`,
    `- Commit: ${machine.commit}`,
    `- Load average (1/5/15 min) before the run: ${machine.loadStart}; after: ${machine.loadEnd}. Other work on the machine shares the same cores, so treat the figures as indicative.`,
    '',
    '### Method',
    '',
    `- The real server (\`node --import tsx src/index.ts\`) runs as a child process on a free 127.0.0.1 port with \`NODE_ENV=development\`, \`DATABASE_URL\` a scratch database \`bench_<random>\` (migrated by the server at start, dropped at the end; \`DB_POOL_MAX\` 20, the default), \`RISK_PROVIDER=signals\`, \`HORIZON_URL\` the devnet's, \`RISK_SIGNAL_CACHE_SECONDS=${settings.signalCacheSeconds}\`, \`WORKERS=none\`, \`LOG_LEVEL=warn\`, API keys set and \`RATE_LIMIT_PER_MIN=1000000000\` (the limiter runs, it never refuses). Requests carry the client key (\`X-API-Key\`) and no \`Idempotency-Key\`.`,
    `- Horizon: the devnet (scripts/devnet, in the benchmark process) with ${fmt(fixtures.wallets.length)} seeded wallets, each created about two years ago (± 20 days) with a native balance of 300–6,000 XLM, and ${fmt(fixtures.paymentsPerWallet.min)}–${fmt(fixtures.paymentsPerWallet.max)} payments over the last 90 days with ${fmt(fixtures.counterpartiesPerWallet.min)}–${fmt(fixtures.counterpartiesPerWallet.max)} counterparties from a pool of ${fmt(fixtures.counterpartyPool)} (about 3 in 4 inbound of 20–400 XLM, the rest outbound of 5–150 XLM, 1 outbound in 40 failed): ${fmt(fixtures.payments.length)} payments, seeded in ${fmt(report.seedMs / 1000, 1)} s. No wallet has credit lines, so the credit-history read finds none.`,
    `- Warming: every wallet evaluated once (8 at a time, cold signals): ${fmt(fixtures.wallets.length)} evaluations in ${fmt(warm.ms / 1000, 1)} s (${fmt(fixtures.wallets.length / (warm.ms / 1000))}/s), ${fmt(warm.horizonRequests)} Horizon requests (account, first operation, one page of operations each); scores ${warm.scores.min}–${warm.scores.max}, bands ${bands}. This fills the server's signal cache.`,
    `- Process warm-up: before its first measured run the server answered ${fmt(report.processWarmup.requests)} cached evaluations in unrecorded 2 s runs (${fmt(report.processWarmup.ms / 1000, 1)} s), so the one-time costs of a fresh process are paid before measuring: V8's optimisation, and Node's check, on each of the first 10,000 calls, of where the deprecated \`Buffer()\` constructor was called from (a stack walk; base32.js calls it under \`StrKey\`, which validates the wallet address of every request).`,
    `- Forced run: \`POST /api/risk/evaluate {"walletAddress": …, "forceRefresh": true}\` rotating over the wallets: each request reads the wallet's credit history (one statement), scores the cached chain activity, and stores the evaluation and its \`risk.evaluated\` event in one transaction (201). ` +
      (report.auth.mode === 'client key'
        ? 'It carries the client key alone.'
        : `This build refuses a forced refresh with the client key alone (${report.auth.refusal}: only the wallet itself or an admin may force one), so each request also carries its wallet's bearer token, obtained beforehand as a wallet does (SEP-10 challenge signed with the wallet's key, exchanged for a token); the server verifies it on every request (signature, expiry, revocation lookup).`) +
      ' Cached run: the same without `forceRefresh`, client key alone: the wallet\'s latest evaluation (fresh for 24 h) is returned (200).',
    `- Write check: the rows of \`risk_evaluations\` and the \`risk.evaluated\` events are counted with SQL before and after each run (warm-up runs included), after the server has finished the requests still in flight when autocannon stopped (it closes its connections without reading their answers; their writes are legitimate, so up to that many more rows than 201s are accepted, never fewer), and compared with the 201s and the server's \`risk_evaluations_total{cached="false"}\` metric.`,
    `- History: ${fmt(fill.rows)} evaluations inserted with SQL (\`INSERT … SELECT … FROM generate_series\`, ${Math.ceil(settings.historyRows / settings.insertBatch)} batches of up to ${fmt(settings.insertBatch)}, ${fmt(fill.insertMs / 1000, 1)} s) after the table was emptied, round-robin over ${fmt(fill.wallets)} random G… wallets (${fmt(fill.rows / fill.wallets)} each, so one wallet's rows are spread over the whole table as months of evaluations would be), dated one every 30 s up to now; \`signals\` and \`inputs\` copied from the ${fill.templates} real evaluations of distinct scores stored above (on average ${fmt(fill.payloadBytes.signals)} and ${fmt(fill.payloadBytes.inputs)} bytes of JSON). Then \`VACUUM (ANALYZE)\` (${fmt(fill.vacuumMs / 1000, 1)} s; VACUUM too so autovacuum does not start on the new rows mid-run). Table with TOAST and indexes: ${mib(fill.tableBytes)}; \`risk_evaluations_wallet_seq_idx\`: ${mib(fill.indexBytes)}. The runs rotate over the ${fmt(fill.wallets)} wallets, first page (\`limit=${settings.historyPageSize}\`; the statement fetches 21 to know whether more exist).`,
    `- Load: autocannon 9 in the benchmark process, on loopback, ${settings.connections} connections for the evaluation runs, ${settings.historyConnections.join(' and ')} for the history runs, ${settings.durationSeconds} s per run after a ${settings.warmupSeconds} s warm-up run that is not recorded. req/s is autocannon's average of its per-second samples; p50/p99 are latencies of 2xx responses; errors are socket errors and timeouts.`,
    `- CPU: user + system time from \`/proc/<pid>/stat\` of the server and of the PostgreSQL backends connected to the scratch database, and of the benchmark process, over the measured run, as shares of one core; machine busy from \`/proc/stat\` (all cores); "everything else" is the machine's busy time less those three.`,
    ...(profiles.length > 0
      ? [`- Profile runs: the forced, cached and 10-connection history runs repeated (same warm-up and length) against a second server, its signal cache and process warmed the same way, with \`scripts/bench/webhooks/pgCounter.ts\` preloaded (wraps \`pg.Client#query\`: statements by kind, time from sending each to its result; event-loop utilisation) and \`node --cpu-prof\`, whose samples are cut to each measured run (0.5 s clear of either end). Both cost a little, so these runs' rates are not used for the targets.`]
      : []),
    '',
    '### Results',
    '',
    resultsTable(runs),
    '',
    '### Stored evaluations against answers (SQL)',
    '',
    '| Run | 201 answers | 200 answers | New rows | New `risk.evaluated` events | New evaluations (server metric) | Unanswered at stop | Consistent? |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...writeCheckRows(),
    '',
    '### Where the time goes (CPU during each measured run)',
    '',
    '| Scenario | req/s | Machine busy (all cores) | Server (share of one core) | PostgreSQL backends | Benchmark process | Everything else | CPU per request: server / PostgreSQL (ms) | Horizon requests |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map(
      (r) =>
        `| ${r.scenario} | ${fmt(r.measurement.reqPerSecAvg)} | ${pct(r.cpu.machineBusy)} | ${pct(r.cpu.serverShare)} | ${pct(r.cpu.postgresShare)} | ${pct(r.cpu.benchShare)} | ${pct(r.cpu.otherShare)} | ${fmt(r.cpu.serverMsPerRequest, 2)} / ${fmt(r.cpu.postgresMsPerRequest, 2)} | ${fmt(r.horizonRequests)} |`,
    ),
    ...(profiles.length > 0
      ? [
          '',
          '### Statements per request (profile runs)',
          '',
          '| Scenario | req/s (with counter and profiler) | Server event loop busy | Statement | per request | mean from send to result (µs) |',
          '| --- | ---: | ---: | --- | ---: | ---: |',
          ...profiles.flatMap((p) =>
            p.statements.map(
              (st, i) =>
                `| ${i === 0 ? p.scenario : ''} | ${i === 0 ? fmt(p.reqPerSec) : ''} | ${i === 0 ? pct(p.eventLoopBusy) : ''} | \`${st.kind}\` | ${fmt(perRequest(p, st.count), 2)} | ${fmt((st.ms / st.count) * 1000)} |`,
            ),
          ),
          '',
          'Send-to-result times include the wait for the server\'s event loop to get to the result; with the loop near 100 % busy that wait dominates them.',
          ...cpuCategoryTable(profiles),
        ]
      : []),
    '',
    `### History statement plans (EXPLAIN (ANALYZE, BUFFERS), one wallet of ${fmt(report.perWallet)} evaluations, ${fmt(fill.rows)} rows in the table)`,
    '',
    '| Page | Plan | Rows | Execution time (ms): first / median / max of 7 | Planning (ms) | Shared buffers hit / read |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...report.explains.map(
      (e) =>
        `| ${e.label} | ${e.plan} | ${e.rows} | ${fmt(e.executionMs.first, 3)} / ${fmt(e.executionMs.median, 3)} / ${fmt(e.executionMs.max, 3)} | ${fmt(e.planningMs, 3)} | ${fmt(e.sharedHit)} / ${fmt(e.sharedRead)} |`,
    ),
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
  log(`${machine.cpu} x${machine.nproc}, Node ${machine.node}, PostgreSQL ${machine.postgres}; ${settings.durationSeconds} s per run (+${settings.warmupSeconds} s warm-up)`);

  // ---- part 1: evaluations with warm signals
  const devnet = await startDevnet();
  onCleanup('stop the devnet', () => devnet.stop());
  const horizonRequests = countHorizonRequests(devnet);
  const fixtures = buildFixtures(settings.wallets, Math.floor(Date.now() / 1000));
  const seedStarted = performance.now();
  seedHorizon(devnet, fixtures);
  const seedMs = performance.now() - seedStarted;
  log(`devnet Horizon at ${devnet.horizonUrl}: ${fmt(fixtures.wallets.length)} wallets, ${fmt(fixtures.payments.length)} payments seeded in ${fmt(seedMs / 1000, 1)} s`);

  const databaseUrl = await scratchDatabase(adminUrl, log);
  const dbName = databaseName(databaseUrl);
  const server = await startApi('api-risk', databaseUrl, devnet.horizonUrl);
  // Long statements (the history fill, VACUUM) are bounded by their own timeout; everything else is short.
  const client = await openClient(databaseUrl, { statementTimeoutMs: 900_000, applicationName: BENCH_APP });
  onCleanup('close the benchmark database client', () => client.end());
  const ctx: Context = { server, client, dbName, horizonRequests };

  const wallets = fixtures.wallets.map((w) => w.id);
  const warm = await warmSignals(server.baseUrl, wallets, horizonRequests);
  log(`warmed: ${fmt(wallets.length)} first evaluations in ${fmt(warm.ms / 1000, 1)} s, ${fmt(warm.horizonRequests)} Horizon requests; scores ${warm.scores.min}-${warm.scores.max}`);
  const auth = await forcedAuth(server.baseUrl, fixtures.wallets);
  log(`forced evaluations are made with ${auth.mode === 'client key' ? 'the client key alone' : `each wallet's SEP-10 token (the client key alone is refused: ${auth.refusal})`}`);
  const { forced, cached } = evaluationScenarios(server.baseUrl, wallets, auth);
  const processWarmup = await warmProcess(server.baseUrl, cached);
  log(`process warm-up: ${fmt(processWarmup.requests)} cached evaluations in ${fmt(processWarmup.ms / 1000, 1)} s`);
  await measure(ctx, forced);
  await measure(ctx, cached);
  const profiler = settings.profile ? await ProfileServer.start(databaseUrl, devnet.horizonUrl, wallets, horizonRequests, auth) : undefined;
  if (profiler) {
    onCleanup('stop the profiled server', () => profiler.finish().then(() => undefined));
    const scenarios = evaluationScenarios(profiler.baseUrl, wallets, auth);
    await profiler.run(scenarios.forced);
    await profiler.run(scenarios.cached);
  }

  // ---- part 2: history lookups on a million stored evaluations
  const historyWallets = Array.from({ length: settings.historyWallets }, randomAccount);
  log(`history: inserting ${fmt(settings.historyRows)} evaluations over ${fmt(historyWallets.length)} wallets`);
  const fill = await withTimeout(fillHistory(client, historyWallets), 1_800_000, 'the history fill');
  log(`history: ${fmt(fill.rows)} rows in ${fmt(fill.insertMs / 1000, 1)} s, VACUUM (ANALYZE) ${fmt(fill.vacuumMs / 1000, 1)} s; ${fmt(fill.tableBytes / 2 ** 20)} MiB`);
  const probeWallet = historyWallets[0]!;
  const perWallet = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM risk_evaluations WHERE wallet_address = $1', [probeWallet])).rows[0]!.n);
  // The cursor of the last full page: the API hands it out as the `seq` of the last row of the page before.
  const deepOffset = Math.max(0, (Math.ceil(perWallet / settings.historyPageSize) - 1) * settings.historyPageSize - 1);
  const deepSeq = (
    await client.query<{ seq: string }>('SELECT seq FROM risk_evaluations WHERE wallet_address = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1', [probeWallet, deepOffset])
  ).rows[0]?.seq;
  const explains = [
    await explain(client, 'first page (no cursor)', probeWallet, null),
    await explain(client, `deep cursor (after the ${fmt(deepOffset + 1)}th newest: the last page)`, probeWallet, deepSeq ?? null),
  ];
  for (const e of explains) log(`EXPLAIN ${e.label}: ${e.plan}; ${e.rows} rows, median ${fmt(e.executionMs.median, 3)} ms`);
  const paging = await checkPaging(server.baseUrl, probeWallet, perWallet);
  const pageText = await (await historyScenario(server.baseUrl, historyWallets, 1).probe()).text();
  const pageBytes = pageText.length;
  // A key of the items, not a string in the page: "signals" is also the provider's name.
  const pageCarriesExplanation = ((JSON.parse(pageText) as { data?: { items?: Array<Record<string, unknown>> } }).data?.items ?? []).some((item) => 'signals' in item);
  for (const connections of settings.historyConnections) await measure(ctx, historyScenario(server.baseUrl, historyWallets, connections));
  if (profiler) await profiler.run(historyScenario(profiler.baseUrl, historyWallets, settings.historyConnections[0]!));
  const profiles = profiler ? await profiler.finish() : [];

  const warnings = [server.logFile, path.join(workDir, 'api-risk-profile.log')].map(serverWarnings);
  machine.loadEnd = loadAvg();
  const report: Report = {
    machine,
    fixtures,
    seedMs,
    warm,
    auth,
    processWarmup,
    profiles,
    fill,
    perWallet,
    pageBytes,
    pageCarriesExplanation,
    explains,
    paging,
    warnings: { count: warnings.reduce((a, w) => a + w.count, 0), first: warnings.find((w) => w.first)?.first },
  };
  const targets = evaluateTargets();
  const section = renderSection(report, targets);
  process.stdout.write(`\n${resultsTable(runs)}\n\n${targetsTable(targets)}\n\n`);
  if (settings.write) {
    writeSection(settings.output, section, { start: SECTION_START, end: SECTION_END });
    log(`wrote the risk section of ${path.relative(ROOT, settings.output)}`);
  } else {
    process.stdout.write(`${section}\n`);
  }
}

// Whole-run watchdog: a wedged step cannot keep the benchmark (and its children) alive for ever.
const perRunSeconds = settings.durationSeconds + settings.warmupSeconds + 30;
const budgetMs = (1_800 + perRunSeconds * 8) * 1000;
runBenchmark('bench:risk', budgetMs, main);
