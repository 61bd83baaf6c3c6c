/**
 * `npm run bench:collateral`: the collateral risk engine on PostgreSQL, written to docs/benchmarks.md between
 * `<!-- bench:collateral:start -->` and `<!-- bench:collateral:end -->` (only that section). A benchmark, not a test:
 * it exits 0 when a target is missed and says so in the document.
 *
 * 1. Re-pricing (in this process, the target is a job, not HTTP): a manual-priced asset XLM (7 decimals) is created
 *    through the service, then 100,000 wallets are seeded with SQL (a position, a collateral-backed open credit line
 *    whose debt puts the account at a chosen health factor, stop-loss enabled for a few), and
 *    `RiskEngine.monitorAsset('XLM')` is timed end to end on a container over the scratch database (`WORKERS=none`):
 *    a first pass that records every account's band, then a 15 % drop, a recovery and the drop again, each after
 *    a new price observation posted through the service. Repeated for several RISK_MONITOR_BATCH_SIZE values. Every
 *    statement the engine sends is counted (pg.Client#query wrapped in this process), CPU of this process and of
 *    the PostgreSQL backends is read from /proc, and two extra passes run under the V8 CPU profiler.
 * 2. Assessments: the real server (a child process, RISK_PROVIDER=static, WORKERS=none) on the seeded database, and
 *    autocannon `GET /api/risk/assessment/:wallet` rotating over the 100,000 wallets (client key; reads need no wallet
 *    token) at 50 and 10 connections; then the 50-connection run again against a second server with the statement
 *    counter preloaded and `--cpu-prof`.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL            server for the scratch database (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_COLLATERAL_WALLETS      wallets seeded (default 100000)
 *   BENCH_COLLATERAL_BATCH_SIZES  RISK_MONITOR_BATCH_SIZE values, the first one the configured default (default
 *                                 2000,10000,500)
 *   BENCH_COLLATERAL_PROFILE      0 to skip the profiled passes and the profile server
 *   BENCH_COLLATERAL_CPU_PROFILE_OUT  a directory: the CPU profiles (monitor passes, profile server) are copied there
 *                                 (for `npx tsx scripts/bench/chain/profileSummary.ts <file>` or Chrome DevTools)
 *   BENCH_DURATION                seconds per measured HTTP run (default 10)
 *   BENCH_WARMUP                  seconds of unrecorded warm-up before each HTTP run (default 2, 0 to skip)
 *   BENCH_OUTPUT                  document to update (default docs/benchmarks.md); BENCH_COLLATERAL_WRITE=0 to only print
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { StrKey } from '@stellar/stellar-sdk';
import type autocannon from 'autocannon';
import { loadConfig } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/lib/logger.js';
import type { MonitorOutcome } from '../../src/services/collateral/riskEngine.js';
import { ROOT, intEnv } from './common.js';
import { databaseName, loopbackUrl, openClient, scratchDatabase } from './database.js';
import { rotatingPaths, runLoad } from './load.js';
import { machineFacts, type BenchMachine } from './machine.js';
import { freePort, LOOPBACK, onCleanup, runBenchmark, serverWarnings, startNodeServer, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { resultsTable, targetsTable, writeSection, type RunRecord, type Target } from './report.js';
import { statementKind, type CounterSnapshot } from './webhooks/pgCounter.js';
import { CpuMeter, loadAvg } from './webhooks/sampling.js';
import { IDLE_CATEGORY, SOCKET_WRITES, mainThreadProfile, readProfile, summariseProfile, type CpuProfile, type ProfileSummary } from './cpuProfile.js';

export const SECTION_START = '<!-- bench:collateral:start -->';
export const SECTION_END = '<!-- bench:collateral:end -->';

function batchSizesEnv(): number[] {
  const raw = process.env.BENCH_COLLATERAL_BATCH_SIZES;
  if (!raw) return [2_000, 10_000, 500];
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 50_000)) {
    throw new Error(`BENCH_COLLATERAL_BATCH_SIZES must be a comma-separated list of integers from 1 to 50000, got "${raw}"`);
  }
  return sizes;
}

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  wallets: intEnv('BENCH_COLLATERAL_WALLETS', 100_000, 1_000, 1_000_000),
  batchSizes: batchSizesEnv(),
  repeats: 3,
  durationSeconds: intEnv('BENCH_DURATION', 10, 1, 600),
  warmupSeconds: intEnv('BENCH_WARMUP', 2, 0, 60),
  connections: [50, 10],
  profile: process.env.BENCH_COLLATERAL_PROFILE !== '0',
  cpuProfileOut: process.env.BENCH_COLLATERAL_CPU_PROFILE_OUT ? path.resolve(process.env.BENCH_COLLATERAL_CPU_PROFILE_OUT) : undefined,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_COLLATERAL_WRITE !== '0',
  readyTimeoutMs: 90_000,
  /** Wallets whose assessment is compared with the monitor's recorded band. */
  agreementSample: 300,
};

const TARGET_REPRICE_SECONDS = 2;
const TARGET_ASSESSMENTS_PER_SECOND = 2_000;

const ASSET = 'XLM';
const DECIMALS = 7;
/** USD per XLM × 1e14: 0.40 USD, and 15 % below it. */
const BASE_PRICE = 40_000_000_000_000n;
const DROP_PRICE = (BASE_PRICE * 85n) / 100n;
/** Sound parameters: the defaults, with prices fresh for an hour (the manual price is posted by the benchmark). */
const ASSET_PARAMS = { maxPriceAgeSeconds: 3_600 };
const LIQUIDATION_THRESHOLD_BPS = 8_500;

/**
 * The seeded book. Quantities are log-uniform; each account's debt is set so that at the base price its health
 * factor is drawn from three groups: a few already in the warning band, a group just above the healthy threshold
 * (which a 15 % drop moves across bands: HF × 0.85), and the bulk comfortably healthy.
 */
const POPULATION = {
  quantityXlm: { min: 500, max: 200_000 },
  groups: [
    { name: 'warning', share: 0.015, hfBps: [10_300, 11_000] as const },
    { name: 'near the healthy threshold', share: 0.08, hfBps: [11_000, 13_000] as const },
    { name: 'comfortably healthy', share: 0.905, hfBps: [13_000, 30_000] as const },
  ],
  stopLossShare: 0.05,
  interestRateBps: [800, 2_000] as const,
};

const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
const BENCH_APP = 'bench-collateral';
/** The pool's application_name (src/db/postgresDb.ts): the container's and the server's backends. */
const SERVICE_APP = 'creditra-backend';
const adminMeta = { actor: { kind: 'admin' as const, id: 'bench-collateral' } };
const workDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-collateral-'));
onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench:collateral ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (share: number) => `${fmt(share * 100)} %`;
const usd = (price1e14: bigint) => (Number(price1e14) / 1e14).toFixed(4);

// ------------------------------------------------------------------------------------------- statements (in process)

interface StatementStat {
  count: number;
  ms: number;
}

/**
 * Counts every statement this process sends to PostgreSQL while recording (pg.Client#query wrapped, the same way
 * scripts/bench/webhooks/pgCounter.ts does in a server): kind, count, time from sending it to its result. The
 * benchmark's own client is idle while a pass is recorded, so everything counted is the engine's.
 */
class StatementCounter {
  private recording = false;
  private stats = new Map<string, StatementStat>();
  /** Statements sent and not yet answered, and the wall time during which at least one was (their union). */
  private outstanding = 0;
  private outstandingSince = 0;
  private busyMs = 0;

  install(): void {
    type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
    const proto = pg.Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const counter = this;
    proto.query = function (this: pg.Client, ...args: unknown[]) {
      if (!counter.recording) return original.apply(this, args);
      const first = args[0] as string | { text?: string } | undefined;
      const kind = kindOf(typeof first === 'string' ? first : (first?.text ?? ''));
      const started = performance.now();
      if (counter.outstanding++ === 0) counter.outstandingSince = started;
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (...cbArgs: unknown[]) => {
          counter.record(kind, performance.now() - started);
          return (callback as (...a: unknown[]) => unknown)(...cbArgs);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        const done = () => counter.record(kind, performance.now() - started);
        (result as Promise<unknown>).then(done, done);
      }
      return result;
    };
  }

  private record(kind: string, ms: number): void {
    if (--this.outstanding === 0) this.busyMs += performance.now() - this.outstandingSince;
    const entry = this.stats.get(kind) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += ms;
    this.stats.set(kind, entry);
  }

  start(): void {
    this.stats = new Map();
    this.outstanding = 0;
    this.busyMs = 0;
    this.recording = true;
  }

  stop(): { stats: Map<string, StatementStat>; busyMs: number } {
    this.recording = false;
    return { stats: this.stats, busyMs: this.busyMs };
  }
}

const statements = new StatementCounter();

/**
 * pg 8 queues a statement sent on a client that is still running one, and warns once per process that pg 9 will
 * not: a transaction's statements sent together (Promise.all) on its one connection. Kept with the first src/ frames.
 */
const concurrentQueryWarnings: string[] = [];
process.on('warning', (warning) => {
  if (!/already executing a query/.test(warning.message)) return;
  const frames = (warning.stack ?? '')
    .split('\n')
    .filter((line) => line.includes('/src/'))
    .slice(0, 4)
    .map((line) => line.trim().replace(/^at /, '').replace(`${ROOT}/`, ''));
  concurrentQueryWarnings.push(`${warning.message.replace(/\s*Use async.*$/s, '').replace(/\.$/, '')} — ${frames.join(' ← ')}`);
});

/** What each statement kind is, in the repositories' terms (kinds from scripts/bench/webhooks/pgCounter.ts). */
const STATEMENT_ROLES: Record<string, string> = {
  'SELECT collateral_positions': '`collateralPositions.holdersOf` (the next batch of wallets)',
  BEGIN: 'transaction start',
  SELECT: '`collateralPositions.accounts` (positions and open card line, one statement)',
  'SELECT collateral_assets': '`loadMarket`: `findAsset`',
  'SELECT collateral_asset_params': '`loadMarket`: `currentParams`',
  'SELECT unnest': '`loadMarket`: `latestPrices`',
  'SELECT volatility_observations': '`loadMarket`: `latestVolatility`',
  'INSERT account_risk_states (placeholders)': '`riskExecutions.lockRiskStates`: a placeholder row for each first-seen account (`ON CONFLICT DO NOTHING`)',
  'SELECT account_risk_states': '`riskExecutions.lockRiskStates`: the previous states, `FOR UPDATE` (or `riskStates` without the lock)',
  'SELECT stop_loss_settings': '`riskExecutions.stopLossFor`',
  'SELECT risk_executions': '`riskExecutions.pendingFor` (the pending orders of the accounts in or around an acting band)',
  'UPDATE risk_executions SET status': '`riskExecutions.cancelMany` (orders of recovered or overtaken accounts)',
  'INSERT risk_executions': '`riskExecutions.insertMany` (the batch\'s new orders)',
  'INSERT domain_events': '`events.appendMany` (`risk.band_changed`)',
  'INSERT account_risk_states': '`riskExecutions.putRiskStates` (every account whose band or health factor changed)',
  COMMIT: 'transaction end',
};
/** The same statements as an assessment (`RiskEngine.assess`) sends them. */
const REQUEST_ROLES: Record<string, string> = {
  SELECT: '`collateralPositions.accounts` (positions and open card line)',
  'SELECT stop_loss_settings': '`riskExecutions.getStopLoss`',
  'SELECT risk_executions': '`riskExecutions.findPending`',
};

/** pgCounter's kinds, with the two statements it names alike told apart (the states' placeholders and upsert; an aliased UPDATE). */
function kindOf(sql: string): string {
  const kind = statementKind(sql);
  if (kind === 'INSERT account_risk_states' && /'epoch'/.test(sql)) return 'INSERT account_risk_states (placeholders)';
  if (kind === 'UPDATE ?' && /^\s*UPDATE risk_executions\b/i.test(sql)) return 'UPDATE risk_executions SET status';
  return kind;
}
const STATEMENT_ORDER = Object.keys(STATEMENT_ROLES);
const statementRank = (kind: string) => (STATEMENT_ORDER.includes(kind) ? STATEMENT_ORDER.indexOf(kind) : STATEMENT_ORDER.length);
const sortedStatements = (stats: Map<string, StatementStat>) =>
  [...stats.entries()].map(([kind, s]) => ({ kind, ...s })).sort((a, b) => statementRank(a.kind) - statementRank(b.kind) || b.count - a.count);

// ------------------------------------------------------------------------------------------- seeding

interface Seeded {
  wallets: string[];
  keyMs: number;
  insertMs: number;
  analyzeMs: number;
  positions: number;
  lines: number;
  stopLoss: number;
  quantity: { min: number; median: number; max: number };
  debt: { min: number; median: number; max: number; total: number };
  /** Health factor groups as seeded: [name, count, hf range]. */
  groups: Array<{ name: string; count: number; minHf: number; maxHf: number }>;
  tableBytes: Record<string, number>;
}

/** A valid G… address without generating a key pair (nobody signs here; 100,000 key pairs would take minutes). */
const randomAccount = () => StrKey.encodeEd25519PublicKey(randomBytes(32));

/**
 * The book, with SQL: per-row uniforms from hashint4extended(n, k) (deterministic, no random() in sight), one staging
 * table, then positions, lines and stop-loss settings from it. Debt = floor(value × LT / HF): at the base price the
 * account's health factor is HF (floored, so at or just above it).
 */
async function seed(client: pg.Client, count: number, now: Date): Promise<Seeded> {
  const keyStarted = performance.now();
  const wallets = Array.from({ length: count }, randomAccount);
  const keyMs = performance.now() - keyStarted;
  const [warning, near, rest] = POPULATION.groups;
  const started = performance.now();
  const u = (k: number) => `((hashint4extended(n::int, ${k}) & 4503599627370495)::float8 / 4503599627370496)`;
  await client.query(
    `CREATE UNLOGGED TABLE bench_seed AS
     WITH draws AS (
       SELECT w.wallet, w.n, ${u(1)} AS u_qty, ${u(2)} AS u_group, ${u(3)} AS u_hf, ${u(4)} AS u_stop, ${u(5)} AS u_rate
         FROM unnest($1::text[]) WITH ORDINALITY AS w(wallet, n)
     ), drawn AS (
       SELECT wallet, n,
              round(exp(ln($2::float8) + u_qty * ln($3::float8 / $2::float8)) * 10 ^ ${DECIMALS})::numeric AS quantity,
              CASE WHEN u_group < $4::float8 THEN 0 WHEN u_group < $4::float8 + $5::float8 THEN 1 ELSE 2 END AS grp,
              u_hf, u_stop < $6::float8 AS stop_loss,
              ($7::int + floor(u_rate * ($8::int - $7::int)))::int AS rate_bps
         FROM draws
     ), hf AS (
       SELECT *, (CASE grp WHEN 0 THEN $9::int + floor(u_hf * ($10::int - $9::int))
                           WHEN 1 THEN $11::int + floor(u_hf * ($12::int - $11::int))
                           ELSE $13::int + floor(u_hf * ($14::int - $13::int)) END)::int AS hf_bps
         FROM drawn
     )
     SELECT wallet, n, quantity, grp, hf_bps, stop_loss, rate_bps,
            div(div(quantity * $15::numeric, 10 ^ (${DECIMALS} + 14 - 7)::numeric) * $16::numeric, hf_bps) AS debt
       FROM hf`,
    [
      wallets,
      POPULATION.quantityXlm.min,
      POPULATION.quantityXlm.max,
      warning!.share,
      near!.share,
      POPULATION.stopLossShare,
      POPULATION.interestRateBps[0],
      POPULATION.interestRateBps[1],
      warning!.hfBps[0],
      warning!.hfBps[1],
      near!.hfBps[0],
      near!.hfBps[1],
      rest!.hfBps[0],
      rest!.hfBps[1],
      BASE_PRICE.toString(),
      LIQUIDATION_THRESHOLD_BPS,
    ],
  );
  await client.query(
    `INSERT INTO collateral_positions (id, wallet_address, asset_code, quantity, yield_earned, yield_checkpoint_at, created_at, updated_at)
     SELECT gen_random_uuid(), wallet, $1, quantity, 0, $2, $2, $2 FROM bench_seed ORDER BY n`,
    [ASSET, now],
  );
  // The line's own limit: 1.5 × the debt, rounded up to whole USDC (the collateral limit is the binding one anyway).
  await client.query(
    `INSERT INTO credit_lines (id, wallet_address, currency, credit_limit, interest_rate_bps, utilized, accrued_interest, status,
                               last_accrual_at, created_at, updated_at, collateral_backed)
     SELECT gen_random_uuid(), wallet, 'USDC', (div(debt * 3, 2 * 10000000) + 1) * 10000000, rate_bps, debt, 0, 'active', $1, $1, $1, true
       FROM bench_seed ORDER BY n`,
    [now],
  );
  await client.query(
    `INSERT INTO stop_loss_settings (wallet_address, enabled, asset_priority, max_slippage_bps, updated_at)
     SELECT wallet, true, '{}', NULL, $1 FROM bench_seed WHERE stop_loss ORDER BY n`,
    [now],
  );
  const { rows: stats } = await client.query<{ q_min: string; q_med: string; q_max: string; d_min: string; d_med: string; d_max: string; d_total: string; stop_loss: string }>(
    `SELECT min(quantity) AS q_min, percentile_disc(0.5) WITHIN GROUP (ORDER BY quantity) AS q_med, max(quantity) AS q_max,
            min(debt) AS d_min, percentile_disc(0.5) WITHIN GROUP (ORDER BY debt) AS d_med, max(debt) AS d_max, sum(debt) AS d_total,
            count(*) FILTER (WHERE stop_loss) AS stop_loss
       FROM bench_seed`,
  );
  const { rows: groupRows } = await client.query<{ grp: number; n: string; min_hf: number; max_hf: number }>(
    'SELECT grp, count(*) AS n, min(hf_bps) AS min_hf, max(hf_bps) AS max_hf FROM bench_seed GROUP BY grp ORDER BY grp',
  );
  await client.query('DROP TABLE bench_seed');
  const insertMs = performance.now() - started;
  const analyzeStarted = performance.now();
  await client.query('VACUUM (ANALYZE) collateral_positions, credit_lines, stop_loss_settings');
  const analyzeMs = performance.now() - analyzeStarted;
  const { rows: sizes } = await client.query<{ relname: string; bytes: string }>(
    `SELECT relname, pg_total_relation_size(oid) AS bytes FROM pg_class WHERE relname IN ('collateral_positions', 'credit_lines', 'stop_loss_settings') AND relkind = 'r'`,
  );
  const { rows: counts } = await client.query<{ positions: string; lines: string; stop_loss: string }>(
    `SELECT (SELECT count(*) FROM collateral_positions) AS positions, (SELECT count(*) FROM credit_lines WHERE collateral_backed) AS lines,
            (SELECT count(*) FROM stop_loss_settings WHERE enabled) AS stop_loss`,
  );
  const s = stats[0]!;
  const xlm = (v: string) => Number(v) / 10 ** DECIMALS;
  const usdc = (v: string) => Number(v) / 1e7;
  return {
    wallets,
    keyMs,
    insertMs,
    analyzeMs,
    positions: Number(counts[0]!.positions),
    lines: Number(counts[0]!.lines),
    stopLoss: Number(counts[0]!.stop_loss),
    quantity: { min: xlm(s.q_min), median: xlm(s.q_med), max: xlm(s.q_max) },
    debt: { min: usdc(s.d_min), median: usdc(s.d_med), max: usdc(s.d_max), total: usdc(s.d_total) },
    groups: groupRows.map((g) => ({ name: POPULATION.groups[g.grp]!.name, count: Number(g.n), minHf: g.min_hf, maxHf: g.max_hf })),
    tableBytes: Object.fromEntries(sizes.map((r) => [r.relname, Number(r.bytes)])),
  };
}

// ------------------------------------------------------------------------------------------- the monitor, in process

interface OpenContainer {
  container: Container;
  warnings: string[];
  close: () => Promise<void>;
}

/** A container over the scratch database, as the process entry builds it (WORKERS=none: nothing runs on its own). */
async function openContainer(databaseUrl: string, batchSize: number): Promise<OpenContainer> {
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (warnings.length < 20) warnings.push(chunk.toString('utf8').trim());
      done();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    WORKERS: 'none',
    RISK_PROVIDER: 'static',
    RISK_MONITOR_BATCH_SIZE: String(batchSize),
    API_KEYS: clientKey,
    ADMIN_API_KEYS: adminKey,
  });
  const container = await createContainer(config, { logger: createLogger('warn', sink), collectDefaultMetrics: false });
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= container.close());
  onCleanup(`close the container (batch size ${batchSize})`, close);
  return { container, warnings, close };
}

interface Pass {
  batchSize: number;
  label: string;
  price: bigint;
  move: string;
  ms: number;
  outcome: MonitorOutcome;
  /** New orders by kind, counted with SQL. */
  orders: Record<string, number>;
  cancelled: number;
  bandEvents: number;
  bands: Record<string, number>;
  consistent: boolean;
  statements: Array<{ kind: string } & StatementStat>;
  /** Wall time during which at least one statement was outstanding (the rest is this process's JavaScript). */
  awaitingMs: number;
  cpu: { wallMs: number; selfMs: number; postgresMs: number; machineBusy: number };
  loadAvg1: number;
  profiled: boolean;
  profile?: ProfileSummary;
}

interface SqlCounts {
  bandEvents: number;
  cancelled: number;
  orders: Record<string, number>;
}

async function sqlCounts(client: pg.Client): Promise<SqlCounts> {
  const { rows } = await client.query<{ band_events: string; cancelled: string; orders: Record<string, number> | null }>(
    `SELECT (SELECT count(*) FROM domain_events WHERE type = 'risk.band_changed') AS band_events,
            (SELECT count(*) FROM risk_executions WHERE status = 'cancelled') AS cancelled,
            (SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM risk_executions GROUP BY kind) k) AS orders`,
  );
  return { bandEvents: Number(rows[0]!.band_events), cancelled: Number(rows[0]!.cancelled), orders: rows[0]!.orders ?? {} };
}

async function bandCounts(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<{ band: string; n: string }>('SELECT band, count(*) AS n FROM account_risk_states GROUP BY band');
  return Object.fromEntries(rows.map((r) => [r.band, Number(r.n)]));
}

async function backendPids(client: pg.Client, dbName: string, application: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND application_name = $2`,
    [dbName, application],
  );
  return rows.map((r) => r.pid);
}

/**
 * Runs `work` under the V8 CPU profiler of this process (node:inspector), 500 µs sampling. `window` bounds the work
 * on the profile's clock (V8's monotonic clock in µs, which is process.hrtime's), when the profile says it is.
 */
async function cpuProfiled<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile; window?: { fromUs: number; toUs: number } }> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  try {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    const hrUs = () => Number(process.hrtime.bigint() / 1000n);
    const fromUs = hrUs();
    const result = await work();
    const toUs = hrUs();
    const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
    const sameClock = profile.startTime <= fromUs + 1_000 && fromUs - profile.startTime < 1_000_000;
    return { result, profile, window: sameClock ? { fromUs, toUs } : undefined };
  } finally {
    session.disconnect();
  }
}

interface MonitorContext {
  client: pg.Client;
  dbName: string;
}

const passes: Pass[] = [];

/** Posts the price through the service (its own transaction, as an admin would), then times one monitor pass. */
async function monitorPass(ctx: MonitorContext, open: OpenContainer, batchSize: number, label: string, price: bigint, move: string, profile = false): Promise<Pass> {
  const { container } = open;
  await container.services.prices.post(ASSET, price, undefined, adminMeta);
  const before = await sqlCounts(ctx.client);
  const pids = () => backendPids(ctx.client, ctx.dbName, SERVICE_APP);
  const meter = new CpuMeter();
  const loadAvg1 = os.loadavg()[0] ?? 0;
  meter.begin(await pids());
  statements.start();
  const started = performance.now();
  let outcome: MonitorOutcome;
  let cpuProfile: CpuProfile | undefined;
  let recorded: ReturnType<StatementCounter['stop']>;
  let profileWindow: { fromUs: number; toUs: number } | undefined;
  try {
    const run = () => withTimeout(container.services.riskEngine.monitorAsset(ASSET), 600_000, `monitor pass "${label}"`);
    if (profile) ({ result: outcome, profile: cpuProfile, window: profileWindow } = await cpuProfiled(run));
    else outcome = await run();
  } finally {
    recorded = statements.stop();
  }
  const ms = performance.now() - started;
  const window = meter.end(await pids());
  const stats = sortedStatements(recorded.stats);
  const after = await sqlCounts(ctx.client);
  const bands = await bandCounts(ctx.client);
  const orders: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(before.orders), ...Object.keys(after.orders)])) {
    const n = (after.orders[kind] ?? 0) - (before.orders[kind] ?? 0);
    if (n !== 0) orders[kind] = n;
  }
  const ordered = Object.values(orders).reduce((a, b) => a + b, 0);
  const bandEvents = after.bandEvents - before.bandEvents;
  const cancelled = after.cancelled - before.cancelled;
  const pass: Pass = {
    batchSize,
    label,
    price,
    move,
    ms,
    outcome,
    orders,
    cancelled,
    bandEvents,
    bands,
    consistent: ordered === outcome.ordered && bandEvents === outcome.bandChanges && cancelled === outcome.cancelled,
    statements: stats,
    awaitingMs: recorded.busyMs,
    cpu: {
      wallMs: window.wallMs,
      selfMs: window.selfMs,
      postgresMs: [...window.byPid.values()].reduce((a, b) => a + b, 0),
      machineBusy: window.machineBusyShare,
    },
    loadAvg1,
    profiled: profile,
  };
  if (cpuProfile) {
    // Only the samples of the pass itself: stopping the profiler (building the profile) is sampled too.
    pass.profile = summariseProfile(cpuProfile, profileWindow);
    if (settings.cpuProfileOut) {
      mkdirSync(settings.cpuProfileOut, { recursive: true });
      writeFileSync(path.join(settings.cpuProfileOut, `monitor-${batchSize}-${passes.length}.cpuprofile`), JSON.stringify(cpuProfile));
    }
  }
  passes.push(pass);
  const total = stats.reduce((a, s) => a + s.count, 0);
  log(
    `batch ${fmt(batchSize)}, ${label} at ${usd(price)} USD: ${fmt(ms / 1000, 2)} s, ${fmt(outcome.accounts)} accounts (${fmt(outcome.accounts / (ms / 1000))}/s), ` +
      `${fmt(outcome.bandChanges)} band changes, ${fmt(outcome.ordered)} orders, ${fmt(outcome.cancelled)} cancelled; ${fmt(total)} statements; ` +
      `CPU this process ${fmt(pass.cpu.selfMs / 1000, 2)} s, PostgreSQL ${fmt(pass.cpu.postgresMs / 1000, 2)} s${pass.consistent ? '' : '; SQL COUNTS DISAGREE'}`,
  );
  return pass;
}

/** Empties what the monitor writes, so every batch size starts from the same book and the same first pass. */
async function resetRiskState(client: pg.Client): Promise<void> {
  await client.query('TRUNCATE account_risk_states, risk_executions');
  await client.query(`DELETE FROM domain_events WHERE type = 'risk.band_changed'`);
  await client.query('VACUUM (ANALYZE) account_risk_states, risk_executions, domain_events');
}

async function monitorSeries(ctx: MonitorContext, databaseUrl: string, batchSize: number, withProfile: boolean): Promise<string[]> {
  const open = await openContainer(databaseUrl, batchSize);
  try {
    await resetRiskState(ctx.client);
    await monitorPass(ctx, open, batchSize, 'first pass (no recorded state)', BASE_PRICE, 'first observation');
    // Steady state before the measured runs: the first pass inserted every account's state.
    await ctx.client.query('VACUUM (ANALYZE) account_risk_states, risk_executions, domain_events');
    for (let i = 1; i <= settings.repeats; i++) {
      const drop = i % 2 === 1;
      await monitorPass(ctx, open, batchSize, `run ${i}`, drop ? DROP_PRICE : BASE_PRICE, drop ? '−15 %' : '+17.6 % (back)');
    }
    if (withProfile) {
      const n = settings.repeats;
      // Continue the alternation so the profiled drop is like run 1 and 3.
      const next = (n + 1) % 2 === 1;
      await monitorPass(ctx, open, batchSize, `run ${n + 1} (CPU profiler on)`, next ? DROP_PRICE : BASE_PRICE, next ? '−15 %' : '+17.6 % (back)', true);
      await monitorPass(ctx, open, batchSize, `run ${n + 2} (CPU profiler on)`, next ? BASE_PRICE : DROP_PRICE, next ? '+17.6 % (back)' : '−15 %', true);
    }
    return open.warnings;
  } finally {
    await open.close();
  }
}

// ------------------------------------------------------------------------------------------- SQL plans

/**
 * The repository's own statement (src/repositories/postgres/collateralPositionRepository.ts `accounts`): for one
 * wallet (an assessment) as is; for the monitor's batch bounded to its first and last holder ($2, $3).
 */
const accountsSql = (span: boolean) => `SELECT w.wallet, l.id AS line_id, l.utilized, l.interest_rate_bps, l.last_accrual_at,
              p.id, p.asset_code, p.quantity, p.yield_earned, p.yield_checkpoint_at, p.created_at, p.updated_at
         FROM (SELECT DISTINCT unnest($1::text[]) AS wallet) w
         LEFT JOIN credit_lines l ON l.wallet_address = w.wallet AND l.collateral_backed AND l.status <> 'closed' ${span ? 'AND l.wallet_address BETWEEN $2 AND $3' : ''}
         LEFT JOIN collateral_positions p ON p.wallet_address = w.wallet ${span ? 'AND p.wallet_address BETWEEN $2 AND $3' : ''}
        ORDER BY w.wallet, p.asset_code`;
const ACCOUNTS_SQL = accountsSql(false);
const ACCOUNTS_BATCH_SQL = accountsSql(true);
/** What the batch read was before it was bounded to the batch's span: the planner scanned both tables whole. */
const ACCOUNTS_UNBOUNDED_SQL = ACCOUNTS_SQL;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Join Type'?: string;
  Plans?: PlanNode[];
}

interface Explained {
  /** accounts-<n> | risk-states | accounts-rpc | accounts-range | pending-batch */
  key: string;
  label: string;
  plan: string;
  executionMs: { first: number; median: number; max: number };
  planningMs: number;
}

function describePlan(node: PlanNode): string {
  const self = `${node['Join Type'] && node['Node Type'].includes('Join') ? `${node['Join Type']} ` : ''}${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}`;
  const children = (node.Plans ?? []).filter((c) => !['Function Scan', 'Result'].includes(c['Node Type']) || (c.Plans?.length ?? 0) > 0);
  return children.length === 0 ? self : `${self} → (${children.map(describePlan).join(', ')})`;
}

/**
 * Not the engine's: the pending orders of a whole batch in one statement, as a batched `findPending` would read them
 * (served by risk_executions_one_pending_idx), to show what the per-account lookups would cost as one.
 */
const PENDING_BATCH_SQL = `SELECT id, wallet_address, credit_line_id, kind, trigger, status, plan, fill, params_versions, created_by, created_at, settled_at, cancel_reason
         FROM risk_executions WHERE wallet_address = ANY($1) AND status = 'pending'`;

/** The engine's `riskExecutions.riskStates` and `lockRiskStates`' read (src/repositories/postgres/riskExecutionRepository.ts). */
const RISK_STATES_SQL = "SELECT wallet_address, band, health_factor_bps, updated_at FROM account_risk_states WHERE wallet_address = ANY($1) AND updated_at > 'epoch'";
const LOCK_STATES_SQL = 'SELECT wallet_address, band, health_factor_bps, updated_at FROM account_risk_states WHERE wallet_address = ANY($1) ORDER BY wallet_address FOR UPDATE';

/** EXPLAIN (ANALYZE, BUFFERS) 7 times; with `setting`, each in a transaction (SET LOCAL `setting`) rolled back after. */
async function explain(client: pg.Client, key: string, sql: string, label: string, params: unknown[], setting?: string): Promise<Explained> {
  const times: number[] = [];
  let last: { Plan: PlanNode; 'Planning Time': number; 'Execution Time': number } | undefined;
  for (let i = 0; i < 7; i++) {
    // One transaction per run: a row lock taken by a run must not make the next one cheaper.
    if (setting) await client.query(`BEGIN; SET LOCAL ${setting}`);
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
        params,
      );
      last = rows[0]!['QUERY PLAN'][0]!;
      times.push(last['Execution Time']);
    } finally {
      if (setting) await client.query('ROLLBACK');
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    key,
    label,
    plan: describePlan(last!.Plan),
    executionMs: { first: times[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! },
    planningMs: last!['Planning Time'],
  };
}

// ------------------------------------------------------------------------------------------- the server

async function startApi(name: string, databaseUrl: string, profile?: { counterFile: string; cpuProfDir: string }): Promise<RunningServer> {
  const port = await freePort();
  const server = await startNodeServer({
    name,
    cwd: ROOT,
    entry: 'src/index.ts',
    logFile: path.join(workDir, `${name}.log`),
    port,
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
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...(profile ? { BENCH_PG_COUNTER_FILE: profile.counterFile } : {}),
    },
  });
  await waitForOk(server, '/health/ready', settings.readyTimeoutMs);
  log(`${name} ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return server;
}

const readHeaders = { 'X-API-Key': clientKey };

interface AssessmentJson {
  walletAddress: string;
  healthFactorBps: number | null;
  band: string;
  pendingExecution: unknown;
  stalePrices: unknown[];
}

async function assessment(baseUrl: string, wallet: string): Promise<{ status: number; data?: AssessmentJson; bytes: number }> {
  const response = await fetch(`${baseUrl}/api/risk/assessment/${wallet}`, { headers: readHeaders, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  const body = JSON.parse(text) as { data?: AssessmentJson };
  return { status: response.status, data: body.data, bytes: text.length };
}

/** The assessment's band against the monitor's last recorded band, for a sample of wallets (same price, same math). */
async function agreement(baseUrl: string, client: pg.Client, wallets: readonly string[]): Promise<{ sampled: number; agree: number; withPending: number; stale: number; bytes: number; first?: string }> {
  const step = Math.max(1, Math.floor(wallets.length / settings.agreementSample));
  const sample = wallets.filter((_, i) => i % step === 0).slice(0, settings.agreementSample);
  const { rows } = await client.query<{ wallet_address: string; band: string; health_factor_bps: number | null }>(
    'SELECT wallet_address, band, health_factor_bps FROM account_risk_states WHERE wallet_address = ANY($1)',
    [sample],
  );
  const recorded = new Map(rows.map((r) => [r.wallet_address, r]));
  let agree = 0;
  let withPending = 0;
  let stale = 0;
  let bytes = 0;
  let first: string | undefined;
  for (const wallet of sample) {
    const { status, data, bytes: size } = await assessment(baseUrl, wallet);
    if (status !== 200 || !data) throw new Error(`GET /api/risk/assessment/${wallet} answered ${status}`);
    bytes += size;
    const state = recorded.get(wallet);
    if (state && state.band === data.band && state.health_factor_bps === data.healthFactorBps) agree++;
    else first ??= `${wallet}: monitor ${state?.band}/${state?.health_factor_bps}, assessment ${data.band}/${data.healthFactorBps}`;
    if (data.pendingExecution) withPending++;
    if (data.stalePrices.length > 0) stale++;
  }
  return { sampled: sample.length, agree, withPending, stale, bytes: bytes / Math.max(1, sample.length), first };
}

interface Cpu {
  wallMs: number;
  serverShare: number;
  postgresShare: number;
  benchShare: number;
  machineBusy: number;
  otherShare: number;
  serverMsPerRequest: number;
  postgresMsPerRequest: number;
}

interface Run extends RunRecord {
  connections: number;
  cpu: Cpu;
}

const runs: Run[] = [];

function assessmentRequests(wallets: readonly string[]): autocannon.RequestSpec[] {
  const paths = wallets.map((w) => `/api/risk/assessment/${w}`);
  return [{ method: 'GET', headers: readHeaders, setupRequest: rotatingPaths(paths) }];
}

const scenarioName = (connections: number) => `GET /api/risk/assessment/:wallet, ${connections} connections`;

/**
 * Before a server's first measured run: assessments in unrecorded 2 s runs until it has answered 12,000, so the
 * one-time costs of a fresh process are paid first (V8's optimisation; Node's stack walk on each of the first
 * 10,000 calls of the deprecated `Buffer()` constructor, which base32.js calls under StrKey: every request's wallet
 * address is validated with it).
 */
async function warmProcess(baseUrl: string, wallets: readonly string[]): Promise<{ requests: number; ms: number }> {
  const started = performance.now();
  let requests = 0;
  for (let i = 0; i < 30 && requests < 12_000; i++) {
    const m = await runLoad({ url: baseUrl, connections: 50, durationSeconds: 2, requests: assessmentRequests(wallets) });
    if (m.non2xx + m.errors > 0) throw new Error(`process warm-up: ${m.non2xx} non-2xx, ${m.errors} errors`);
    requests += m.sent;
  }
  return { requests, ms: performance.now() - started };
}

async function measure(server: RunningServer, client: pg.Client, dbName: string, wallets: readonly string[], connections: number): Promise<Run> {
  const options = { url: server.baseUrl, connections };
  if (settings.warmupSeconds > 0) await runLoad({ ...options, durationSeconds: settings.warmupSeconds, requests: assessmentRequests(wallets) });
  const pids = async () => [server.child.pid!, ...(await backendPids(client, dbName, SERVICE_APP))];
  const meter = new CpuMeter();
  const loadAvg1 = os.loadavg()[0] ?? 0;
  meter.begin(await pids());
  const m = await runLoad({ ...options, durationSeconds: settings.durationSeconds, requests: assessmentRequests(wallets) });
  const window = meter.end(await pids());
  if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${server.name} died during the ${connections}-connection run`);
  const answered = Math.max(1, m.totalRequests);
  const serverMs = window.byPid.get(server.child.pid!) ?? 0;
  const postgresMs = [...window.byPid.entries()].filter(([pid]) => pid !== server.child.pid).reduce((a, [, ms]) => a + ms, 0);
  const cpu: Cpu = {
    wallMs: window.wallMs,
    serverShare: serverMs / window.wallMs,
    postgresShare: postgresMs / window.wallMs,
    benchShare: window.selfMs / window.wallMs,
    machineBusy: window.machineBusyShare,
    otherShare: Math.max(0, window.machineBusyShare * os.cpus().length - (serverMs + postgresMs + window.selfMs) / window.wallMs),
    serverMsPerRequest: serverMs / answered,
    postgresMsPerRequest: postgresMs / answered,
  };
  const run: Run = { scenario: scenarioName(connections), storage: 'PostgreSQL', logLevel: 'warn', measurement: m, loadAvg1, connections, cpu };
  runs.push(run);
  log(
    `${run.scenario}: ${fmt(m.reqPerSecAvg)} req/s, p50 ${m.latencyP50Ms} ms, p99 ${m.latencyP99Ms} ms, ${fmt(m.totalRequests)} requests, ${m.errors} errors, ${m.non2xx} non-2xx; ` +
      `CPU server ${pct(cpu.serverShare)}, PostgreSQL ${pct(cpu.postgresShare)}, bench ${pct(cpu.benchShare)}, machine ${pct(cpu.machineBusy)}`,
  );
  return run;
}

interface ServerProfile {
  scenario: string;
  requests: number;
  reqPerSec: number;
  eventLoopBusy: number;
  statements: Array<{ kind: string } & StatementStat>;
  window: { from: number; to: number };
  cpu?: ProfileSummary;
}

function readCounter(file: string): CounterSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CounterSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * A second server with scripts/bench/webhooks/pgCounter.ts preloaded (statements by kind, send-to-result time, event
 * loop utilisation) and `--cpu-prof`; the 50-connection run is repeated against it and its CPU profile cut to the
 * measured run (0.5 s clear of either end). Both cost a little: its rate is not used for the target.
 */
async function profileServer(databaseUrl: string, wallets: readonly string[], connections: number): Promise<ServerProfile | undefined> {
  const counterFile = path.join(workDir, 'api-collateral-profile.counter.json');
  const cpuProfDir = path.join(workDir, 'api-collateral-profile.cpuprof');
  const server = await startApi('api-collateral-profile', databaseUrl, { counterFile, cpuProfDir });
  let profile: ServerProfile | undefined;
  try {
    await warmProcess(server.baseUrl, wallets);
    const options = { url: server.baseUrl, connections };
    if (settings.warmupSeconds > 0) await runLoad({ ...options, durationSeconds: settings.warmupSeconds, requests: assessmentRequests(wallets) });
    await sleep(300);
    const start = readCounter(counterFile);
    const from = Date.now();
    const m = await runLoad({ ...options, durationSeconds: settings.durationSeconds, requests: assessmentRequests(wallets) });
    const to = Date.now();
    await sleep(300);
    const end = readCounter(counterFile);
    if (start && end) {
      profile = {
        scenario: scenarioName(connections),
        requests: Math.max(1, m.sent),
        reqPerSec: m.reqPerSecAvg,
        eventLoopBusy: Math.min(1, (end.elu.active - start.elu.active) / (m.durationSeconds * 1000)),
        statements: Object.entries(end.statements)
          .map(([kind, v]) => ({ kind, count: v.count - (start.statements[kind]?.count ?? 0), ms: v.ms - (start.statements[kind]?.ms ?? 0) }))
          .filter((st) => st.count > 0)
          .sort((a, b) => statementRank(a.kind) - statementRank(b.kind) || b.count - a.count),
        window: { from, to },
      };
      log(`profile server: ${fmt(m.reqPerSecAvg)} req/s with the counter and the profiler; event loop busy ${pct(profile.eventLoopBusy)}`);
    }
  } finally {
    await server.stop();
  }
  const exitedAt = Date.now();
  const file = mainThreadProfile(cpuProfDir);
  if (profile && file) {
    if (settings.cpuProfileOut) {
      mkdirSync(settings.cpuProfileOut, { recursive: true });
      copyFileSync(file, path.join(settings.cpuProfileOut, 'assessment-server.cpuprofile'));
    }
    const cpuProfile = readProfile(file);
    const toUs = (wall: number) => cpuProfile.endTime - (exitedAt - wall) * 1000;
    profile.cpu = summariseProfile(cpuProfile, { fromUs: toUs(profile.window.from + 500), toUs: toUs(profile.window.to - 500) });
  }
  return profile;
}

// ------------------------------------------------------------------------------------------- report

interface Report {
  machine: BenchMachine;
  seeded: Omit<Seeded, 'wallets'>;
  explains: Explained[];
  agreement: Awaited<ReturnType<typeof agreement>>;
  processWarmup: { requests: number; ms: number };
  serverProfile?: ServerProfile;
  warnings: { count: number; first?: string };
}

const measuredRuns = (batchSize: number) => passes.filter((p) => p.batchSize === batchSize && p.label.startsWith('run ') && !p.profiled);
/** CPU the rest of the machine used during a pass, in cores: busy share × cores, less this process and its backends. */
const otherCores = (p: Pass) => Math.max(0, p.cpu.machineBusy * os.cpus().length - (p.cpu.selfMs + p.cpu.postgresMs) / p.cpu.wallMs);
const statementTotal = (p: { statements: Array<{ count: number }> }) => p.statements.reduce((a, s) => a + s.count, 0);
const kindStat = (p: { statements: Array<{ kind: string } & StatementStat> }, kind: string) => p.statements.find((s) => s.kind === kind) ?? { kind, count: 0, ms: 0 };
const ordersText = (p: Pass) => {
  const kinds = ['liquidation', 'bad_debt', 'stop_loss'];
  return kinds.map((k) => fmt(p.orders[k] ?? 0)).join(' / ');
};
const bandsText = (b: Record<string, number>) => ['healthy', 'warning', 'stop_loss', 'liquidatable'].map((k) => fmt(b[k] ?? 0)).join(' / ');

function categoryShare(summary: ProfileSummary | undefined, name: string): number {
  const total = summary?.totalUs ?? 0;
  return total > 0 ? (summary!.categories.find((c) => c.name === name)?.us ?? 0) / total : 0;
}

function topCategories(summary: ProfileSummary | undefined, n: number, excludeIdle = true): string {
  if (!summary) return '';
  const busy = summary.categories.filter((c) => !excludeIdle || c.name !== IDLE_CATEGORY);
  const busyUs = busy.reduce((a, c) => a + c.us, 0);
  return busy
    .slice(0, n)
    .map((c) => `${c.name} ${pct(c.us / Math.max(1, busyUs))}`)
    .join(', ');
}

function topFunctions(summary: ProfileSummary, n: number): string {
  return summary.functions
    .filter((f) => !f.name.startsWith('(idle)'))
    .slice(0, n)
    .map((f) => `\`${f.name.replace(/\s+/g, ' ').replace(/`/g, "'")}\` ${pct(f.us / summary.totalUs)}`)
    .join(', ');
}

function evaluateTargets(): Target[] {
  const targets: Target[] = [];
  const main = settings.batchSizes[0]!;
  const measured = measuredRuns(main);
  if (measured.length > 0) {
    const slowest = measured.reduce((a, b) => (b.ms > a.ms ? b : a));
    targets.push({
      label: `re-pricing ${fmt(settings.wallets)} positions after one observation <= ${TARGET_REPRICE_SECONDS} s`,
      scenario: `monitorAsset('${ASSET}'), RISK_MONITOR_BATCH_SIZE ${fmt(main)} (the default), runs 1–${measured.length}`,
      measured: `${measured.map((p) => `${fmt(p.ms / 1000, 2)} s`).join(', ')} (slowest ${fmt(slowest.ms / 1000, 2)} s)`,
      met: slowest.ms <= TARGET_REPRICE_SECONDS * 1000,
    });
  }
  const consistent = passes.every((p) => p.consistent);
  targets.push({
    label: 'the engine\'s counts = what SQL finds (orders, cancellations, band-change events)',
    scenario: `all ${passes.length} passes`,
    measured: consistent ? 'equal in every pass' : `${passes.filter((p) => !p.consistent).length} passes disagree`,
    met: consistent,
  });
  const run50 = runs.find((r) => r.connections === 50);
  if (run50) {
    targets.push({
      label: `assessments >= ${fmt(TARGET_ASSESSMENTS_PER_SECOND)}/s`,
      scenario: run50.scenario,
      measured: `${fmt(run50.measurement.reqPerSecAvg)}/s`,
      met: run50.measurement.reqPerSecAvg >= TARGET_ASSESSMENTS_PER_SECOND,
    });
  }
  for (const run of runs) {
    const m = run.measurement;
    targets.push({ label: 'no errors', scenario: run.scenario, measured: `${m.errors} errors, ${m.non2xx} non-2xx`, met: m.errors + m.non2xx === 0 });
  }
  return targets;
}

function monitorNotes(explains: readonly Explained[]): string[] {
  const notes: string[] = [];
  const main = settings.batchSizes[0]!;
  const measured = measuredRuns(main);
  const run1 = measured[0];
  if (!run1) return notes;
  const plan = (key: string) => explains.find((e) => e.key === key);
  const profiledDrop = passes.find((p) => p.batchSize === main && p.profiled && p.price === DROP_PRICE);
  const batches = kindStat(run1, 'COMMIT').count;
  const upsert = kindStat(run1, 'INSERT account_risk_states');
  const placeholders = kindStat(run1, 'INSERT account_risk_states (placeholders)');
  const accountsRead = kindStat(run1, 'SELECT');
  const states = kindStat(run1, 'SELECT account_risk_states');
  const pending = kindStat(run1, 'SELECT risk_executions');
  const marketKinds = ['SELECT collateral_assets', 'SELECT collateral_asset_params', 'SELECT unnest', 'SELECT volatility_observations'];
  const marketCount = marketKinds.reduce((a, k) => a + kindStat(run1, k).count, 0);
  const marketMs = marketKinds.reduce((a, k) => a + kindStat(run1, k).ms, 0);
  const s2 = (ms: number) => `${fmt(ms / 1000, 2)} s`;
  const perBatch = (st: StatementStat) => `${fmt(st.ms / Math.max(1, batches), 1)} ms per batch`;
  const cpuSum = run1.cpu.selfMs + run1.cpu.postgresMs;
  const accountsPlan = plan(`accounts-${main}`);
  const wholeTables = accountsPlan?.plan.includes('Seq Scan') ?? false;
  const lockPlan = plan('lock-states');
  const readPlan = plan('risk-states');
  const perAccountKinds = run1.statements.filter((st) => st.count > batches * 2 && st.kind !== 'SELECT collateral_positions');
  const top = [...run1.statements].sort((a, b) => b.ms - a.ms).slice(0, 5);

  notes.push(
    `**Where a re-pricing pass's time goes** (run 1, the first 15 % drop, batch size ${fmt(main)}: ${s2(run1.ms)} for ${fmt(run1.outcome.accounts)} accounts in ${fmt(batches)} batches). ` +
      `This process used ${s2(run1.cpu.selfMs)} of CPU and the PostgreSQL backends ${s2(run1.cpu.postgresMs)}, together ${pct(cpuSum / run1.ms)} of the pass's wall time (the machine was ${pct(run1.cpu.machineBusy)} busy, other work ${fmt(otherCores(run1), 2)} cores): the engine waits for each statement's result before it goes on, so the two mostly take turns rather than overlap` +
      (run1.ms > TARGET_REPRICE_SECONDS * 1000 ? `, and together they would have to shrink about ${fmt(run1.ms / (TARGET_REPRICE_SECONDS * 1000), 1)}-fold for ${TARGET_REPRICE_SECONDS} s. ` : '. ') +
      `${fmt(statementTotal(run1))} statements, ${fmt(statementTotal(run1) / Math.max(1, batches), 1)} per batch${perAccountKinds.length > 0 ? ` (some per account: ${perAccountKinds.map((st) => `${fmt(st.count)} \`${st.kind}\``).join(', ')})` : ', none per account'}; a statement was outstanding for ${s2(run1.awaitingMs)} of the pass, and JavaScript ran with none outstanding for ${s2(Math.max(0, run1.ms - run1.awaitingMs))}. ` +
      `The largest by summed send-to-result time: ${top.map((st) => `\`${st.kind}\` ${s2(st.ms)} (${perBatch(st)})`).join(', ')}.` +
      (wholeTables ? ` The accounts read is a hash join over both whole tables: a sequential scan of all ${fmt(settings.wallets)} positions and all ${fmt(settings.wallets)} lines for every batch of ${fmt(main)} (plans above).` : ''),
  );
  if (profiledDrop?.profile) {
    const prof = profiledDrop.profile;
    notes.push(
      `CPU profile of this process during a drop pass (${profiledDrop.label}: ${s2(profiledDrop.ms)} with the profiler): waiting for PostgreSQL ${pct(categoryShare(prof, IDLE_CATEGORY))} of the sampled time; the busy time: ${topCategories(prof, 7)}. ` +
        `The driver and postgres-date parse the ${fmt(settings.wallets)} rows of the accounts reads (three timestamps per row) and the state rows; "backend src" is the engine itself, the health factor in bigint arithmetic included; the garbage collector cleans up after both. Top functions by self time: ${topFunctions(prof, 8)}.`,
    );
  }
  const bySize = settings.batchSizes
    .map((size) => ({ size, run: measuredRuns(size)[0] }))
    .filter((o): o is { size: number; run: Pass } => o.run !== undefined)
    .sort((a, b) => a.size - b.size);
  if (bySize.length > 1) {
    notes.push(
      `Batch size (run 1 each): ${bySize.map((o) => `${fmt(o.size)}: ${s2(o.run.ms)} (other work ${fmt(otherCores(o.run), 2)} cores), of which the accounts reads ${s2(kindStat(o.run, 'SELECT').ms)} in ${fmt(kindStat(o.run, 'SELECT').count)} statements`).join('; ')}. ` +
        `The accounts read costs per batch more than per account (${wholeTables ? 'whole-table scans, plans above' : 'plans above'}), so fewer, larger batches are faster; but a batch is one transaction, holding the locks on its ${fmt(main)} state rows until it commits.`,
    );
  }
  const unbounded = plan('accounts-unbounded');
  notes.push(
    `**Applied from earlier runs' suggestions**: ` +
      `(a) A batch's accounts read is bounded to the batch's key range (its first and last holder, in holdersOf's order: \`wallet_address BETWEEN $2 AND $3\` in both joins), so both tables are read by index range scans of that range: ${perBatch(accountsRead)}, ${s2(accountsRead.ms)} per pass` +
      (unbounded ? `; under EXPLAIN ANALYZE ${fmt(accountsPlan?.executionMs.median ?? 0, 2)} ms for ${fmt(main)} accounts, against ${fmt(unbounded.executionMs.median, 2)} ms for the same statement without the bound (${unbounded.plan.includes('Seq Scan') ? 'whole-table scans' : 'plans above'}). ` : '. ') +
      `(b) An account's state row is written only when its band changes (in run 1 one upsert per batch for its ${fmt(run1.outcome.bandChanges)} band changes in all, ${s2(upsert.ms)}), not after every price move for every account whose health factor moved.`,
  );
  notes.push(
    `**Suggestions for src/ (not changed here)**, from run 1's figures: ` +
      `(1) \`account_risk_states\` is still touched twice per batch for every account: a placeholder insert for all ${fmt(main)} accounts (\`ON CONFLICT DO NOTHING\`, a row only for first-seen ones: ${s2(placeholders.ms)} per pass) and every state row locked by \`lockRiskStates\` (\`SELECT … FOR UPDATE\` of ${fmt(main)} rows: ${perBatch(states)}${lockPlan && readPlan ? `; under EXPLAIN ANALYZE ${fmt(lockPlan.executionMs.median, 2)} ms locked against ${fmt(readPlan.executionMs.median, 2)} ms for the plain read` : ''}); \`holdersOf\` and the accounts read could be one statement. ` +
      `(2) The four market reads are identical for every batch of one asset: ${fmt(marketCount)} statements, ${s2(marketMs)} per pass; read them once, before the loop. ` +
      `(3) Minor: the accounts read returns \`created_at\` and \`updated_at\`, which the monitor never uses (two of the three timestamps parsed per row).` +
      (pending.count > batches * 2 ? ` (4) Batch the per-account pending-order lookups (${fmt(pending.count)} \`findPending\` statements).` : '') +
      (concurrentQueryWarnings.length > 0
        ? ` (${pending.count > batches * 2 ? 5 : 4}) Not speed: \`loadMarket\` sends its four reads at once (\`Promise.all\`) on the transaction's one connection; pg 8 queues them and warned in this run: "${concurrentQueryWarnings[0]}". pg 9 will refuse this; inside a transaction send them one after another (or as one statement).`
        : ''),
  );
  const first = passes.find((p) => p.batchSize === main && p.label.startsWith('first'));
  if (first) {
    notes.push(
      `The first pass (no recorded state) took ${s2(first.ms)}: it inserts every account's state and ${fmt(first.outcome.bandChanges)} band-change events (the accounts already in the warning band), and orders nothing.` +
        (measured[1] && measured[2]
          ? ` Run 2 (the recovery) cancels the ${fmt(measured[1].outcome.cancelled)} pending orders of accounts back to healthy; run 3 orders ${fmt(measured[2].outcome.ordered)}, fewer than run 1's ${fmt(run1.outcome.ordered)}: accounts that went back to warning, not healthy, kept their order, and a plan at the same price does not overtake it.`
          : ''),
    );
  }
  return notes;
}

function assessmentNotes(report: Report): string[] {
  const notes: string[] = [];
  const run50 = runs.find((r) => r.connections === 50);
  const run10 = runs.find((r) => r.connections === 10);
  if (!run50) return notes;
  const c = run50.cpu;
  const cpuPer = c.serverMsPerRequest + c.postgresMsPerRequest;
  notes.push(
    `**Where an assessment's time goes** (${fmt(run50.measurement.reqPerSecAvg)}/s at 50 connections): the machine was ${pct(c.machineBusy)} busy; the server used ${fmt(c.serverMsPerRequest, 2)} ms of CPU per assessment (${pct(c.serverShare)} of one core), the PostgreSQL backends ${fmt(c.postgresMsPerRequest, 2)} ms (${pct(c.postgresShare)}), autocannon ${pct(c.benchShare)}. ` +
      `At ${fmt(cpuPer, 2)} ms of server and database CPU per assessment, two fully busy cores stop at about ${fmt(2000 / cpuPer)}/s even without a load generator on them, and one server process at about ${fmt(1000 / c.serverMsPerRequest)}/s. The ${fmt(TARGET_ASSESSMENTS_PER_SECOND)}/s target allows ${fmt(2000 / TARGET_ASSESSMENTS_PER_SECOND, 2)} ms per assessment for everything on these two cores, ${fmt(1000 / TARGET_ASSESSMENTS_PER_SECOND, 2)} ms in one server process.` +
      (run10 ? ` At 10 connections: ${fmt(run10.measurement.reqPerSecAvg)}/s, p50 ${run10.measurement.latencyP50Ms} ms, p99 ${run10.measurement.latencyP99Ms} ms.` : ''),
  );
  const p = report.serverProfile;
  if (p) {
    const perRequest = (n: number) => n / Math.max(1, p.requests);
    const total = perRequest(p.statements.reduce((a, s) => a + s.count, 0));
    const list = p.statements.map((s) => `${s.kind} ${fmt(perRequest(s.count), 2)}`).join(', ');
    const busy = Math.max(0.001, 1 - categoryShare(p.cpu, IDLE_CATEGORY));
    const socketShare = categoryShare(p.cpu, SOCKET_WRITES) / busy;
    notes.push(
      `Profile run (${fmt(p.reqPerSec)} req/s with the counter and the profiler): ${fmt(total, 2)} statements per assessment (${list}); the server's event loop was busy ${pct(p.eventLoopBusy)}.` +
        (p.cpu ? ` Its CPU (busy time): ${topCategories(p.cpu, 7)}; socket writes are ${pct(socketShare)} of it. Top functions: ${topFunctions(p.cpu, 6)}.` : ''),
    );
    const accountsPlan = report.explains.find((e) => e.key === 'accounts-1');
    notes.push(
      `**Suggestions for src/ (not changed here)**: an assessment (\`RiskEngine.assess\`) is ${fmt(total, 0)} statements, each a round trip with its own parse, plan and socket writes on both sides, for data that fits one: the accounts read itself executes in ${fmt(accountsPlan?.executionMs.median ?? 0, 2)} ms (plan above). ` +
        `(1) Four of them are \`loadMarket\`'s reads of the asset, its current parameters, its latest price and its volatility, the same for every wallet holding it: a market snapshot cached in the process (per asset, refreshed when a newer observation or parameter version exists, or after a second) removes them. ` +
        `(2) \`getStopLoss\` and \`findPending\` can be LEFT JOINs of the accounts statement (\`stop_loss_settings\` by wallet, \`risk_executions\` by wallet and \`status = 'pending'\`): with (1), one statement per assessment instead of ${fmt(total, 0)}. ` +
        `(3) \`loadMarket\` sends its four reads at once through the pool, so one assessment wants up to four of the pool's 20 connections at a time (up to 200 at 50 connections): requests queue for connections and more backends compete for the two cores; 50 connections answered ${fmt(run50.measurement.reqPerSecAvg)}/s, 10 connections ${fmt(run10?.measurement.reqPerSecAvg ?? 0)}/s. ` +
        `On these two shared cores the target also needs the CPU per assessment to fall below ${fmt(2000 / TARGET_ASSESSMENTS_PER_SECOND, 2)} ms for everything (now ${fmt(cpuPer, 2)} ms), which (1) and (2) address directly: most of the server's and PostgreSQL's work here is per statement.`,
    );
  }
  return notes;
}

/** Whether other work competed for the two cores during the measurements (the machine is shared with other sessions). */
function contentionSentence(): string {
  const busiest = Math.max(0, ...passes.map(otherCores), ...runs.map((r) => r.cpu.otherShare));
  return busiest > 0.15
    ? `Other work (other sessions' test suites) used up to ${fmt(busiest, 2)} of the two cores during some measurements.`
    : `Other processes used at most ${fmt(busiest, 2)} of the two cores during the measurements (the machine is shared with other sessions, whose test suites ran before and after).`;
}

function renderSection(report: Report, targets: readonly Target[]): string {
  const { machine, seeded } = report;
  const main = settings.batchSizes[0]!;
  const missed = targets.filter((t) => !t.met);
  const notes: string[] = [];
  notes.push(missed.length === 0 ? `All ${targets.length} targets met on this machine.` : `${missed.length} of ${targets.length} targets not met on this machine; figures are reported as measured.`);
  notes.push(...monitorNotes(report.explains));
  notes.push(...assessmentNotes(report));
  const contended = runs.filter((r) => r.cpu.otherShare > 0.15);
  if (contended.length > 0) {
    notes.push(
      `In ${contended.length} of ${runs.length} HTTP runs processes other than the server, its PostgreSQL backends and the benchmark used ${contended.map((r) => pct(r.cpu.otherShare)).join(', ')} of a core ("everything else" above: PostgreSQL's background writers and other work on this shared machine), taken from the same two cores.`,
    );
  }
  notes.push(
    `Assessment check: ${fmt(report.agreement.sampled)} wallets spread over the book assessed over HTTP after the last pass: ${fmt(report.agreement.agree)} show exactly the band and health factor the monitor recorded${report.agreement.first ? ` (first difference: ${report.agreement.first})` : ''}; ${fmt(report.agreement.withPending)} carry a pending order; ${fmt(report.agreement.stale)} report a stale price. An answer is ${fmt(report.agreement.bytes / 1024, 1)} KiB of JSON on average.`,
  );
  notes.push(
    report.warnings.count === 0
      ? 'The containers and servers logged no warnings or errors.'
      : `The containers and servers logged ${report.warnings.count} warning/error lines; the first: \`${(report.warnings.first ?? '').slice(0, 300).replace(/`/g, "'")}\`.`,
  );

  const groups = seeded.groups.map((g) => `${g.name}: ${fmt(g.count)} accounts at a health factor of ${fmt(g.minHf / 10_000, 2)}–${fmt(g.maxHf / 10_000, 2)}`).join('; ');
  const statementPass = measuredRuns(main)[0];
  const serverProfile = report.serverProfile;
  return [
    SECTION_START,
    '## Collateral risk engine: re-pricing after a price observation, and assessments',
    '',
    `_Generated by \`npm run bench:collateral\` (scripts/bench/collateral.ts) on ${machine.date}. Re-running the script replaces only this section._`,
    '',
    '### Machine',
    '',
    `- CPU: ${machine.cpu}, \`nproc\` = ${machine.nproc}. **PostgreSQL, the engine or the API server, and the load generator all share these ${machine.nproc} cores.**`,
    `- Memory: ${machine.memory}; OS: ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}`,
    `- Commit: ${machine.commit}`,
    `- Load average (1/5/15 min) before the run: ${machine.loadStart}; after: ${machine.loadEnd}. ${contentionSentence()} The 1-minute load at the start of each pass and run, and the CPU that other processes used during it ("everything else"), are in the tables; treat the figures as indicative and compare rows within this run.`,
    '',
    '### Method',
    '',
    `- Scratch database \`bench_<random>\` on the local PostgreSQL, migrated by the first container, dropped at the end. Asset \`${ASSET}\` (${DECIMALS} decimals, \`manual\` price source) created through \`CollateralAssetService.create\` with the default parameters (LT ${fmt(LIQUIDATION_THRESHOLD_BPS)} bps, stop-loss trigger 1.02, target 1.05, slippage 100 bps, close factor 50 %, bonus 500 bps) except \`maxPriceAgeSeconds\` ${fmt(ASSET_PARAMS.maxPriceAgeSeconds)}; no volatility history, so σ is the fallback. Every price is posted through \`PriceService.post\` (which also queues a risk-monitor job; no worker runs it).`,
    `- Book: ${fmt(seeded.positions)} wallets (random valid G… addresses, ${fmt(seeded.keyMs / 1000, 1)} s to make), seeded with SQL (\`INSERT … SELECT\` over \`unnest($wallets) WITH ORDINALITY\`, per-row uniforms from \`hashint4extended\`, ${fmt(seeded.insertMs / 1000, 1)} s, then \`VACUUM (ANALYZE)\` ${fmt(seeded.analyzeMs / 1000, 1)} s): one ${ASSET} position each (log-uniform ${fmt(POPULATION.quantityXlm.min)}–${fmt(POPULATION.quantityXlm.max)} XLM, median ${fmt(seeded.quantity.median)}), one open collateral-backed USDC line each (${fmt(seeded.lines)}) whose \`utilized\` debt puts the account, at the base price of ${usd(BASE_PRICE)} USD, at a drawn health factor — ${groups} (debt ${fmt(seeded.debt.min)}–${fmt(seeded.debt.max)} USDC, median ${fmt(seeded.debt.median)}, total ${fmt(seeded.debt.total / 1e6, 1)} M) — and stop-loss enabled for ${fmt(seeded.stopLoss)} wallets (${pct(POPULATION.stopLossShare)}, at random). A 15 % drop multiplies every health factor by 0.85: the "near" group crosses from healthy into warning, the stop-loss zone or below 1.0, the warning group falls below 1.0.`,
    `- Re-pricing, in this process: a container built as the process entry builds it (\`loadConfig\` + \`createContainer\`, \`WORKERS=none\`, \`LOG_LEVEL=warn\`, \`DB_POOL_MAX\` 20, \`RISK_MONITOR_BATCH_SIZE\` as listed) over the scratch database. For each batch size: the monitor's tables emptied (\`account_risk_states\`, \`risk_executions\`, the \`risk.band_changed\` events), a price of ${usd(BASE_PRICE)} posted and a first pass run (it records every account's band), \`VACUUM (ANALYZE)\`, then ${settings.repeats} timed runs alternating ${usd(DROP_PRICE)} (−15 %) and ${usd(BASE_PRICE)}: each posts the price, then times \`riskEngine.monitorAsset('${ASSET}')\` from call to return. Back-to-back passes, no VACUUM between them. Orders, cancellations and \`risk.band_changed\` events are counted with SQL before and after each pass and compared with the engine's own outcome.`,
    `- Statements: \`pg.Client#query\` wrapped in this process while a pass runs (kinds as in scripts/bench/webhooks/pgCounter.ts; time from sending each statement to its result). CPU: this process (the engine, the driver, the counter) from \`process.cpuUsage\`, the PostgreSQL backends of the container's pool from \`/proc/<pid>/stat\`; "everything else" is the machine's busy time (\`/proc/stat\`, all cores) less those two, in cores: other sessions' work on the same two cores.${settings.profile ? ` Two more passes for batch size ${fmt(main)} under the V8 CPU profiler (node:inspector, 500 µs sampling), not used for the target.` : ''}`,
    `- Assessments: the real server (\`node --import tsx src/index.ts\`) as a child process on the seeded database (after the last pass: price ${usd(DROP_PRICE)}, orders pending for the accounts below 1.0), \`NODE_ENV=development\`, \`RISK_PROVIDER=static\`, \`WORKERS=none\`, \`LOG_LEVEL=warn\`, \`RATE_LIMIT_PER_MIN=1000000000\` (the limiter runs, it never refuses), \`DB_POOL_MAX\` 20. autocannon 9 in the benchmark process, on loopback, \`GET /api/risk/assessment/:wallet\` with the client key (\`X-API-Key\`, no wallet token: reads need none), rotating over all ${fmt(seeded.positions)} wallets, ${settings.connections.join(' and ')} connections, ${settings.durationSeconds} s per run after a ${settings.warmupSeconds} s warm-up run that is not recorded. Before the first run the process answered ${fmt(report.processWarmup.requests)} assessments in unrecorded 2 s runs (${fmt(report.processWarmup.ms / 1000, 1)} s), so V8's optimisation and Node's stack walk on the first 10,000 deprecated \`Buffer()\` calls (base32.js under \`StrKey\`, which validates every request's address) are paid before measuring. req/s is autocannon's average of its per-second samples; p50/p99 are latencies; errors are socket errors and timeouts.`,
    `- CPU of the HTTP runs: the server and the PostgreSQL backends of the scratch database from \`/proc/<pid>/stat\`, the benchmark process (autocannon), machine busy from \`/proc/stat\`; "everything else" is the machine's busy time less those three.${serverProfile ? ' Profile run: the 50-connection run repeated against a second server with scripts/bench/webhooks/pgCounter.ts preloaded (statements by kind; event-loop utilisation) and `node --cpu-prof`, samples cut to the measured run; not used for the target.' : ''}`,
    '',
    '### Re-pricing: `monitorAsset` after one price observation',
    '',
    '| Batch size | Pass | Price (USD) | Move | Time (s) | Accounts | Accounts/s | Band changes | Orders created: liquidation / bad debt / stop-loss | Orders cancelled | Statements | Awaiting PostgreSQL (s) | CPU: this process / PostgreSQL (s) | Everything else (cores) | Load avg (1 min) |',
    '| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...passes.map(
      (p) =>
        `| ${fmt(p.batchSize)} | ${p.label} | ${usd(p.price)} | ${p.move} | ${p.label.startsWith('run ') && !p.profiled ? `**${fmt(p.ms / 1000, 2)}**` : fmt(p.ms / 1000, 2)} | ${fmt(p.outcome.accounts)} | ${fmt(p.outcome.accounts / (p.ms / 1000))} | ${fmt(p.outcome.bandChanges)} | ${ordersText(p)} | ${fmt(p.outcome.cancelled)} | ${fmt(statementTotal(p))} | ${fmt(p.awaitingMs / 1000, 2)} | ${fmt(p.cpu.selfMs / 1000, 2)} / ${fmt(p.cpu.postgresMs / 1000, 2)} | ${fmt(otherCores(p), 2)} | ${fmt(p.loadAvg1, 1)} |`,
    ),
    '',
    `Bands recorded after each pass of batch size ${fmt(main)} (healthy / warning / stop-loss zone / liquidatable): ` +
      passes
        .filter((p) => p.batchSize === main)
        .map((p) => `${p.label.replace(/ \(.*\)$/, '')} ${bandsText(p.bands)}`)
        .join('; ') +
      '.',
    ...(statementPass
      ? [
          '',
          `### Statements of one pass (run 1, batch size ${fmt(main)}: ${fmt(statementPass.ms / 1000, 2)} s)`,
          '',
          '| Statement | What it is | Count | Time awaiting (ms, summed) | Mean (µs) |',
          '| --- | --- | ---: | ---: | ---: |',
          ...statementPass.statements.map(
            (s) => `| \`${s.kind}\` | ${STATEMENT_ROLES[s.kind] ?? ''} | ${fmt(s.count)} | ${fmt(s.ms)} | ${fmt((s.ms / Math.max(1, s.count)) * 1000)} |`,
          ),
          '',
          'The four market reads are sent together (`Promise.all`): on the transaction\'s one connection each waits for the ones before it, so their times include that wait.',
        ]
      : []),
    ...(report.explains.length > 0
      ? [
          '',
          '### Statement plans (EXPLAIN (ANALYZE, BUFFERS), 7 times, after the last pass)',
          '',
          '| Statement | Plan | Execution (ms): first / median / max | Planning (ms) |',
          '| --- | --- | ---: | ---: |',
          ...report.explains.map((e) => `| ${e.label} | ${e.plan} | ${fmt(e.executionMs.first, 2)} / ${fmt(e.executionMs.median, 2)} / ${fmt(e.executionMs.max, 2)} | ${fmt(e.planningMs, 2)} |`),
        ]
      : []),
    '',
    '### Assessments: `GET /api/risk/assessment/:wallet`',
    '',
    resultsTable(runs),
    '',
    '| Scenario | req/s | Machine busy (all cores) | Server (share of one core) | PostgreSQL backends | Benchmark process | Everything else | CPU per request: server / PostgreSQL (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map(
      (r) =>
        `| ${r.scenario} | ${fmt(r.measurement.reqPerSecAvg)} | ${pct(r.cpu.machineBusy)} | ${pct(r.cpu.serverShare)} | ${pct(r.cpu.postgresShare)} | ${pct(r.cpu.benchShare)} | ${pct(r.cpu.otherShare)} | ${fmt(r.cpu.serverMsPerRequest, 2)} / ${fmt(r.cpu.postgresMsPerRequest, 2)} |`,
    ),
    ...(serverProfile
      ? [
          '',
          `Statements per assessment (profile run, ${fmt(serverProfile.reqPerSec)} req/s with the counter and the profiler, event loop busy ${pct(serverProfile.eventLoopBusy)}):`,
          '',
          '| Statement | What it is | per request | mean from send to result (µs) |',
          '| --- | --- | ---: | ---: |',
          ...serverProfile.statements.map(
            (s) =>
              `| \`${s.kind}\` | ${REQUEST_ROLES[s.kind] ?? STATEMENT_ROLES[s.kind] ?? ''} | ${fmt(s.count / serverProfile.requests, 2)} | ${fmt((s.ms / Math.max(1, s.count)) * 1000)} |`,
          ),
          '',
          'Send-to-result times include the wait for the server\'s event loop to get to the result and, for the four market reads sent at once, for a free pool connection.',
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
  log(`${machine.cpu} x${machine.nproc}, Node ${machine.node}, PostgreSQL ${machine.postgres}; ${fmt(settings.wallets)} wallets, batch sizes ${settings.batchSizes.join(', ')}`);
  statements.install();

  const databaseUrl = await scratchDatabase(adminUrl, log);
  const dbName = databaseName(databaseUrl);
  const warnings: string[] = [];

  // ---- the asset and its first price, through the services (the first container also migrates the database)
  const first = await openContainer(databaseUrl, settings.batchSizes[0]!);
  try {
    await first.container.services.collateralAssets.create({ code: ASSET, decimals: DECIMALS, priceSource: { kind: 'manual' }, params: ASSET_PARAMS }, adminMeta);
    await first.container.services.prices.post(ASSET, BASE_PRICE, undefined, adminMeta);
  } finally {
    await first.close();
    warnings.push(...first.warnings);
  }
  const client = await openClient(databaseUrl, { statementTimeoutMs: 900_000, applicationName: BENCH_APP });
  onCleanup('close the benchmark database client', () => client.end());

  log(`seeding ${fmt(settings.wallets)} wallets`);
  const seeded = await withTimeout(seed(client, settings.wallets, new Date()), 1_200_000, 'seeding');
  log(
    `seeded ${fmt(seeded.positions)} positions, ${fmt(seeded.lines)} lines, ${fmt(seeded.stopLoss)} stop-loss settings in ${fmt(seeded.insertMs / 1000, 1)} s ` +
      `(addresses ${fmt(seeded.keyMs / 1000, 1)} s, VACUUM ANALYZE ${fmt(seeded.analyzeMs / 1000, 1)} s); ${seeded.groups.map((g) => `${g.name} ${fmt(g.count)}`).join(', ')}`,
  );

  // ---- part 1: re-pricing
  const ctx: MonitorContext = { client, dbName };
  for (const [i, batchSize] of settings.batchSizes.entries()) {
    warnings.push(...(await monitorSeries(ctx, databaseUrl, batchSize, i === 0 && settings.profile)));
  }
  const maxBatch = Math.max(...settings.batchSizes);
  const holders = (
    await client.query<{ wallet_address: string }>(`SELECT wallet_address FROM collateral_positions WHERE asset_code = $1 AND quantity > 0 ORDER BY wallet_address LIMIT $2`, [ASSET, maxBatch])
  ).rows.map((r) => r.wallet_address);
  const mainBatch = holders.slice(0, settings.batchSizes[0]!);
  const n = fmt(mainBatch.length);
  const randomPageCost = (await client.query<{ random_page_cost: string }>('SHOW random_page_cost')).rows[0]!.random_page_cost;
  const explains: Explained[] = [await explain(client, 'accounts-1', ACCOUNTS_SQL, '`collateralPositions.accounts`, 1 wallet (an assessment)', [holders.slice(0, 1)])];
  for (const size of [...settings.batchSizes].sort((a, b) => a - b)) {
    const batch = holders.slice(0, size);
    explains.push(await explain(client, `accounts-${size}`, ACCOUNTS_BATCH_SQL, `\`collateralPositions.accounts\`, a batch of ${fmt(size)} wallets (bounded to its first and last holder)`, [batch, batch[0], batch.at(-1)]));
  }
  explains.push(
    await explain(client, 'risk-states', RISK_STATES_SQL, `\`riskExecutions.riskStates\` (no lock), a batch of ${n} wallets`, [mainBatch]),
    await explain(client, 'lock-states', LOCK_STATES_SQL, `the read in \`riskExecutions.lockRiskStates\` (\`FOR UPDATE\`), a batch of ${n} wallets, each run in a transaction rolled back`, [[...mainBatch].sort()], 'lock_timeout = \'10s\''),
    await explain(client, 'accounts-unbounded', ACCOUNTS_UNBOUNDED_SQL, `not the engine's any more: the same ${n} wallets without the bound (how a batch was read before; \`random_page_cost\` ${randomPageCost})`, [mainBatch]),
    await explain(client, 'pending-batch', PENDING_BATCH_SQL, `not the engine's: the pending orders of ${n} wallets in one statement (\`wallet_address = ANY($1) AND status = 'pending'\`)`, [mainBatch]),
  );
  for (const e of explains) log(`EXPLAIN ${e.label}: ${e.plan}; median ${fmt(e.executionMs.median, 2)} ms`);

  // ---- part 2: assessments over HTTP
  const server = await startApi('api-collateral', databaseUrl);
  const probe = await assessment(server.baseUrl, seeded.wallets[0]!);
  if (probe.status !== 200) throw new Error(`the assessment probe answered ${probe.status}`);
  const agreed = await agreement(server.baseUrl, client, seeded.wallets);
  log(`assessment check: ${agreed.agree} of ${agreed.sampled} agree with the monitor's recorded band; ${agreed.withPending} with a pending order`);
  const processWarmup = await warmProcess(server.baseUrl, seeded.wallets);
  log(`process warm-up: ${fmt(processWarmup.requests)} assessments in ${fmt(processWarmup.ms / 1000, 1)} s`);
  for (const connections of settings.connections) await measure(server, client, dbName, seeded.wallets, connections);
  await server.stop();
  const serverProfile = settings.profile ? await profileServer(databaseUrl, seeded.wallets, settings.connections[0]!) : undefined;

  const logs = [server.logFile, path.join(workDir, 'api-collateral-profile.log')].map(serverWarnings);
  const containerWarnings = warnings.filter((w) => w.length > 0);
  machine.loadEnd = loadAvg();
  const { wallets: _wallets, ...seededFacts } = seeded;
  void _wallets;
  const report: Report = {
    machine,
    seeded: seededFacts,
    explains,
    agreement: agreed,
    processWarmup,
    serverProfile,
    warnings: {
      count: logs.reduce((a, w) => a + w.count, 0) + containerWarnings.length,
      first: containerWarnings[0] ?? logs.find((w) => w.first)?.first,
    },
  };
  const targets = evaluateTargets();
  const section = renderSection(report, targets);
  process.stdout.write(`\n${resultsTable(runs)}\n\n${targetsTable(targets)}\n\n`);
  if (settings.write) {
    writeSection(settings.output, section, { start: SECTION_START, end: SECTION_END });
    log(`wrote the collateral section of ${path.relative(ROOT, settings.output)}`);
  } else {
    process.stdout.write(`${section}\n`);
  }
}

// Whole-run watchdog: a wedged step cannot keep the benchmark (and its children) alive for ever.
const perRunSeconds = settings.durationSeconds + settings.warmupSeconds + 30;
const budgetMs = (1_800 + perRunSeconds * 4) * 1000;
runBenchmark('bench:collateral', budgetMs, main);
