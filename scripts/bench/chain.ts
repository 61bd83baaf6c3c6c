/**
 * `npm run bench:chain` (or `npx tsx scripts/bench/chain.ts`): how fast the chain follower ingests a backlog of
 * Credit contract events, and how long a reconciliation of many bound lines takes. PostgreSQL (a scratch database,
 * dropped afterwards) and the devnet (loopback Soroban RPC, in this process) are the real peers; the figures go
 * into docs/benchmarks.md between `<!-- bench:chain:start -->` and `<!-- bench:chain:end -->` (only that section).
 * A benchmark, not a test: it exits 0 when a target is missed and says so in the document.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL       server for the scratch database (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_CHAIN_EVENTS       size of the backlog, in contract events (default 20000)
 *   BENCH_CHAIN_BORROWERS    lines opened at the start of the backlog (default 1000)
 *   BENCH_CHAIN_PAGE_SIZE    INDEXER_PAGE_SIZE (default 1000)
 *   BENCH_CHAIN_LINES        bound lines reconciled (default 10000; the lines beyond BENCH_CHAIN_BORROWERS are opened
 *                            on the devnet and indexed first)
 *   BENCH_DB_POOL_MAX        DB_POOL_MAX (default 20)
 *   BENCH_OUTPUT             document to update (default docs/benchmarks.md); BENCH_CHAIN_WRITE=0 to only print
 *   BENCH_CHAIN_CPU_PROF     a directory: the backlog ingestion alone is CPU-profiled (node:inspector) into
 *                            ingest.cpuprofile there (profiling slows it: do not publish figures from such a run)
 *
 * Profiling the whole process instead: `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx scripts/bench/chain.ts`
 * with BENCH_CHAIN_WRITE=0. Either profile: `npx tsx scripts/bench/chain/profileSummary.ts <file>.cpuprofile`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pg from 'pg';
import { rpc, StrKey } from '@stellar/stellar-sdk';
import { startDevnet, type Devnet } from '../devnet/index.js';
import { loadConfig } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/lib/logger.js';
import { createPostgresDb } from '../../src/db/postgresDb.js';
import { decodeCreditEvent } from '../../src/stellar/creditEvents.js';
import { countingDb, type QueryStats } from './chain/queryStats.js';
import { ROOT, intEnv, sh } from './common.js';

export const SECTION_START = '<!-- bench:chain:start -->';
export const SECTION_END = '<!-- bench:chain:end -->';


const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  events: intEnv('BENCH_CHAIN_EVENTS', 20_000, 100, 1_000_000),
  borrowers: intEnv('BENCH_CHAIN_BORROWERS', 1_000, 1, 200_000),
  pageSize: intEnv('BENCH_CHAIN_PAGE_SIZE', 1_000, 1, 10_000),
  lines: intEnv('BENCH_CHAIN_LINES', 10_000, 1, 200_000),
  poolMax: intEnv('BENCH_DB_POOL_MAX', 20, 1, 200),
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_CHAIN_WRITE !== '0' && !process.env.BENCH_CHAIN_CPU_PROF,
  cpuProfDir: process.env.BENCH_CHAIN_CPU_PROF ? path.resolve(process.env.BENCH_CHAIN_CPU_PROF) : undefined,
};

/** Runs `work` under the V8 CPU profiler when BENCH_CHAIN_CPU_PROF is set, writing `<name>.cpuprofile`. */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!settings.cpuProfDir) return work();
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync(settings.cpuProfDir, { recursive: true });
    writeFileSync(path.join(settings.cpuProfDir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const TARGET_EVENTS_PER_SECOND = 2_000;
const T0 = 1_750_000_000;
const USDC = 10_000_000n;
/** Ledgers close every this many contract calls while the backlog is built (a few hundred events each). */
const CALLS_PER_LEDGER = 100;
const MAX_TICKS = 100_000;

const log = (message: string) => process.stdout.write(`[bench:chain ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (ms: number) => ms / 1000;

// ------------------------------------------------------------------------------------------- scratch database

function loopbackUrl(raw: string): URL {
  const url = new URL(raw);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new Error(`BENCH_DATABASE_URL must be a postgres:// URL, got ${url.protocol}`);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(`BENCH_DATABASE_URL must point at this machine's loopback interface, got ${url.hostname}`);
  }
  return url;
}

async function withAdmin<T>(url: URL, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------------------------------- the backlog

interface Backlog {
  borrowers: string[];
  events: number;
  ledgers: number;
  calls: number;
  buildMs: number;
}

/** A valid G… address without generating a key pair (nobody signs here; key generation would dominate the build). */
const borrowerKey = () => StrKey.encodeEd25519PublicKey(randomBytes(32));

/** Opens `borrowers` lines, then draws and repays round-robin (an hour apart per round) until `events` events exist. */
function buildBacklog(devnet: Devnet, borrowerCount: number, eventTarget: number): Backlog {
  const started = performance.now();
  const c = devnet.contract;
  const firstLedger = devnet.latestLedger + 1;
  const borrowers = Array.from({ length: borrowerCount }, borrowerKey);
  let events = 0;
  let calls = 0;
  const call = (fn: string, args: Record<string, unknown>) => {
    events += c.invoke(fn, args).events.length;
    if (++calls % CALLS_PER_LEDGER === 0) devnet.closeLedger();
  };
  for (const b of borrowers) {
    if (events >= eventTarget) break;
    call('open_credit_line', { borrower: b, credit_limit: 1_000_000n * USDC, interest_rate_bps: 1500, risk_score: 40 });
  }
  for (let round = 0; events < eventTarget; round++) {
    c.advanceTime(3_600);
    for (const [i, b] of borrowers.entries()) {
      if (events >= eventTarget) break;
      // draws on even rounds, small repays on odd ones; amounts vary by borrower
      if (round % 2 === 0) call('draw_credit', { borrower: b, amount: BigInt(1 + (i % 50)) * USDC });
      else call('repay_credit', { borrower: b, amount: BigInt(1 + (i % 7)) * (USDC / 10n) });
    }
  }
  devnet.closeLedger();
  return { borrowers, events, ledgers: devnet.latestLedger - firstLedger + 1, calls, buildMs: performance.now() - started };
}

/** Opens more lines (one `opened` event each) so reconciliation has `total` bound lines. */
function openMoreLines(devnet: Devnet, count: number): number {
  let calls = 0;
  for (let i = 0; i < count; i++) {
    devnet.contract.invoke('open_credit_line', { borrower: borrowerKey(), credit_limit: 1_000n * USDC, interest_rate_bps: 1000, risk_score: 20 });
    if (++calls % (CALLS_PER_LEDGER * 5) === 0) devnet.closeLedger();
  }
  devnet.closeLedger();
  return count;
}

// ------------------------------------------------------------------------------------------- measurements

interface Ingestion {
  events: number;
  ms: number;
  ticks: number;
  pageMs: { min: number; median: number; p90: number; max: number };
  eventsPerSecond: number;
}

async function ingest(container: Container): Promise<Ingestion> {
  const indexer = container.services.indexer!;
  const before = Object.values(await container.store.repos.chain.countEventsByStatus()).reduce((a, b) => a + b, 0);
  const pageMs: number[] = [];
  const started = performance.now();
  let ticks = 0;
  for (; ticks < MAX_TICKS; ticks++) {
    const t = performance.now();
    const more = await indexer.tick();
    pageMs.push(performance.now() - t);
    if (more === 0) break;
  }
  const ms = performance.now() - started;
  const after = Object.values(await container.store.repos.chain.countEventsByStatus()).reduce((a, b) => a + b, 0);
  const sorted = [...pageMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    events: after - before,
    ms,
    ticks: ticks + 1,
    pageMs: { min: sorted[0] ?? 0, median: at(0.5), p90: at(0.9), max: sorted.at(-1) ?? 0 },
    eventsPerSecond: (after - before) / seconds(ms),
  };
}

/** What the RPC side alone costs: the same pages through the SDK client, and decoding them, with no database. */
async function rpcOnly(devnet: Devnet, pageSize: number): Promise<{ events: number; fetchMs: number; decodeMs: number }> {
  const server = new rpc.Server(devnet.rpcUrl, { allowHttp: true });
  const filters: rpc.Api.EventFilter[] = [{ type: 'contract', contractIds: [devnet.contractId] }];
  let events = 0;
  let fetchMs = 0;
  let decodeMs = 0;
  let cursor: string | undefined;
  for (let i = 0; i < MAX_TICKS; i++) {
    const t = performance.now();
    const page = await server.getEvents(cursor ? { filters, cursor, limit: pageSize } : { filters, startLedger: devnet.oldestLedger, limit: pageSize });
    fetchMs += performance.now() - t;
    const d = performance.now();
    for (const event of page.events) decodeCreditEvent(event.topic, event.value);
    decodeMs += performance.now() - d;
    events += page.events.length;
    if (page.events.length === 0) break;
    cursor = page.cursor;
  }
  return { events, fetchMs, decodeMs };
}

// ------------------------------------------------------------------------------------------- report

const snapshotStats = (s: QueryStats): QueryStats => ({ queries: s.queries, ms: s.ms, byStatement: new Map(s.byStatement) });

function statsRow(label: string, s: QueryStats, units: number, phaseMs: number): string {
  const top = [...s.byStatement.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 6)
    .map(([kind, v]) => `${kind} (${fmt(v.count)})`)
    .join(', ');
  return `| ${label} | ${fmt(s.queries)} | ${fmt(s.queries / Math.max(units, 1), 2)} | ${fmt(seconds(s.ms), 2)} | ${fmt((s.ms / phaseMs) * 100)} % | ${top} |`;
}


const loadAvg = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');

export function writeSection(file: string, section: string): void {
  const header = '# Benchmarks\n\nEach section below is generated by a benchmark script and replaced only by that script; edit the scripts, not the figures.\n';
  const current = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const start = current.indexOf(SECTION_START);
  const end = start === -1 ? -1 : current.indexOf(SECTION_END, start);
  const next = start !== -1 && end !== -1 ? current.slice(0, start) + section + current.slice(end + SECTION_END.length) : `${current.trimEnd()}\n\n${section}\n`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, next);
}

// ------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const adminUrl = loopbackUrl(settings.adminUrl);
  const dbName = `bench_chain_${randomBytes(6).toString('hex')}`;
  const dbUrl = new URL(adminUrl.toString());
  dbUrl.pathname = `/${dbName}`;
  const postgresVersion = await withAdmin(adminUrl, async (c) => {
    await c.query(`CREATE DATABASE ${dbName}`);
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
  });
  log(`scratch database ${dbName} created`);

  let devnet: Devnet | undefined;
  let container: Container | undefined;
  const dropAll = async () => {
    await container?.close().catch(() => undefined);
    await devnet?.stop().catch(() => undefined);
    await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch((error: unknown) =>
      process.stderr.write(`bench:chain: could not drop ${dbName}: ${(error as Error).message}\n`),
    );
  };
  const onSignal = () => {
    void dropAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const loadStart = loadAvg();
    devnet = await startDevnet({ startTime: T0 });
    const dev = devnet;
    log(`devnet at ${dev.rpcUrl}; building a backlog of ${fmt(settings.events)} events over ${fmt(settings.borrowers)} borrowers`);
    const backlog = buildBacklog(dev, settings.borrowers, settings.events);
    log(`backlog: ${fmt(backlog.events)} events in ${fmt(backlog.ledgers)} ledgers (${fmt(backlog.calls)} contract calls, built in ${fmt(seconds(backlog.buildMs), 1)} s)`);

    const warnings: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (warnings.length < 20) warnings.push(chunk.toString('utf8').trim());
        done();
      },
    });
    const config = loadConfig({
      NODE_ENV: 'development',
      DATABASE_URL: dbUrl.toString(),
      DB_POOL_MAX: String(settings.poolMax),
      STELLAR_RPC_URL: dev.rpcUrl,
      CREDIT_CONTRACT_IDS: dev.contractId,
      INDEXER_PAGE_SIZE: String(settings.pageSize),
      RPC_TIMEOUT_MS: '60000',
      RPC_RETRIES: '2',
      LOG_LEVEL: 'warn',
      WORKERS: 'none',
      API_KEYS: `bench_client_${randomBytes(12).toString('hex')}`,
      ADMIN_API_KEYS: `bench_admin_${randomBytes(12).toString('hex')}`,
    });
    const counted = countingDb(createPostgresDb(dbUrl.toString(), { poolMax: settings.poolMax }));
    container = await createContainer(config, {
      db: counted.db,
      logger: createLogger('warn', sink),
      clock: () => new Date(dev.contract.now() * 1000),
      collectDefaultMetrics: false,
    });
    const c = container;

    const rpcBaseline = await rpcOnly(dev, settings.pageSize);
    log(`RPC alone: ${fmt(rpcBaseline.events)} events fetched in ${fmt(seconds(rpcBaseline.fetchMs), 2)} s, decoded in ${fmt(seconds(rpcBaseline.decodeMs), 2)} s`);

    counted.reset();
    const backlogRun = await profiled('ingest', () => ingest(c));
    const backlogQueries = snapshotStats(counted.stats());
    log(`ingested ${fmt(backlogRun.events)} events in ${fmt(seconds(backlogRun.ms), 2)} s: ${fmt(backlogRun.eventsPerSecond)} events/s (${backlogRun.ticks} ticks)`);
    const counts = await c.store.repos.chain.countEventsByStatus();
    if (counts.parked + counts.unknown > 0 || backlogRun.events !== backlog.events) {
      throw new Error(`ingestion is wrong: ${JSON.stringify(counts)} for ${backlog.events} events`);
    }

    const extra = Math.max(settings.lines - backlog.borrowers.length, 0);
    log(`opening ${fmt(extra)} more lines so ${fmt(settings.lines)} are bound`);
    openMoreLines(dev, extra);
    counted.reset();
    const opensRun = await ingest(c);
    const opensQueries = snapshotStats(counted.stats());
    log(`ingested ${fmt(opensRun.events)} opened events in ${fmt(seconds(opensRun.ms), 2)} s: ${fmt(opensRun.eventsPerSecond)} events/s`);

    const reconciliation = c.services.reconciliation!;
    const reconRuns: Array<{ ms: number; lines: number; status: string; drifts: number }> = [];
    counted.reset();
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const run = await reconciliation.run('bench');
      const ms = performance.now() - started;
      if (!run) throw new Error('reconciliation did not run');
      reconRuns.push({ ms, lines: run.linesChecked, status: run.status, drifts: run.driftCount });
      log(`reconciliation ${i + 1}: ${fmt(run.linesChecked)} lines in ${fmt(seconds(ms), 2)} s (${run.status}, ${run.driftCount} drifts)`);
    }
    const reconQueries = snapshotStats(counted.stats());
    const loadEnd = loadAvg();

    const met = backlogRun.eventsPerSecond >= TARGET_EVENTS_PER_SECOND;
    const perEventDbMs = backlogQueries.ms / Math.max(backlogRun.events, 1);
    const notes = met
      ? []
      : [
          `- **What limits ingestion**: the page transaction projects events one at a time, each applied event costing a \`SELECT … FOR UPDATE\` of its line, an \`UPDATE\` of the line, an \`INSERT\` of a ledger entry, an \`INSERT\` of a domain event and an \`UPDATE chain_events\` of its status, awaited one after another on one connection. At the measured ${fmt(perEventDbMs * 1000)} µs of statement time per event, the database round trips alone cap a single indexer at about ${fmt(1000 / perEventDbMs)} events/s, below the ${fmt(TARGET_EVENTS_PER_SECOND)} events/s target, however fast the RPC side is.`,
          '- Suggested fix (src/services/chainIndexer.ts `ingest`, src/services/chainProjection.ts): project a page in bulk — lock every line the page touches with one `SELECT … WHERE (contract_id, wallet_address) IN (…) FOR UPDATE`, apply the events in memory in order, then write the lines with one `UPDATE … FROM (VALUES …)`, the ledger entries and domain events with one multi-row `INSERT` each, and insert raw events with their final status in the first place (no per-event `UPDATE chain_events`). That turns ~5 statements per event into ~6 per page.',
        ];
    const rpcShare = rpcBaseline.fetchMs / backlogRun.ms;
    const section = [
      SECTION_START,
      '## Chain following: indexer ingestion and reconciliation',
      '',
      `_Generated by \`npm run bench:chain\` (scripts/bench/chain.ts) on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Re-running the script replaces only this section._`,
      '',
      '### Machine',
      '',
      `- CPU: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, \`nproc\` = ${sh('nproc', [])}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
      `- Node ${process.version}; PostgreSQL ${postgresVersion}; commit ${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
      `- Load average (1/5/15 min) before: ${loadStart}; after: ${loadEnd}. The machine is shared (tests, editors): treat the figures as indicative.`,
      '',
      '### Method',
      '',
      `- One process: the devnet (loopback Soroban RPC over HTTP, the real \`rpc.Server\` client) and the backend container (\`createContainer\`, \`LOG_LEVEL=warn\`, no workers) share the same event loop and cores; the indexer is driven by calling \`ChainIndexer.tick()\` until it returns 0, exactly as the \`chain-indexer\` worker does, without its 2 s interval.`,
      `- PostgreSQL: a scratch database \`bench_chain_<random>\` on the local server, migrated at start and dropped afterwards; \`DB_POOL_MAX\` = ${settings.poolMax}.`,
      `- Backlog: ${fmt(backlog.borrowers.length)} lines opened, then draws and repays round-robin an hour apart (each draw after the first round also accrues: \`accrue\`, \`drawn\`, \`borrow_lc\`; each repay \`accrue\`, \`accrue(0)\`, \`repay\`, \`borrow_lc\`), ${fmt(backlog.events)} events in ${fmt(backlog.ledgers)} ledgers; \`INDEXER_PAGE_SIZE\` = ${settings.pageSize}. Every page is one transaction: raw events inserted, new ones projected (line update, ledger entry, domain event), cursor advanced.`,
      `- The RPC-alone pass pages through the same events with the SDK client and decodes them, with no database: the share of a tick spent on the devnet, HTTP, XDR parsing and decoding.`,
      `- Reconciliation: ${fmt(extra)} more lines opened and indexed so ${fmt(settings.lines)} lines are bound, then \`ReconciliationService.run()\` twice (batches of 200 lines: one \`listBound\` query and one \`getLedgerEntries\` of up to 200 keys each, drifts stored in one transaction per run).`,
      '',
      '### Results',
      '',
      '| Measurement | Events / lines | Time (s) | Rate | Ticks | Page time min / median / p90 / max (ms) |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      `| Ingest the backlog (draws, repays, accruals) | ${fmt(backlogRun.events)} events | ${fmt(seconds(backlogRun.ms), 2)} | **${fmt(backlogRun.eventsPerSecond)} events/s** | ${backlogRun.ticks} | ${[backlogRun.pageMs.min, backlogRun.pageMs.median, backlogRun.pageMs.p90, backlogRun.pageMs.max].map((v) => fmt(v)).join(' / ')} |`,
      ...(extra === 0 ? [] : [`| Ingest \`opened\` events (new bound lines) | ${fmt(opensRun.events)} events | ${fmt(seconds(opensRun.ms), 2)} | ${fmt(opensRun.eventsPerSecond)} events/s | ${opensRun.ticks} | ${[opensRun.pageMs.min, opensRun.pageMs.median, opensRun.pageMs.p90, opensRun.pageMs.max].map((v) => fmt(v)).join(' / ')} |`]),
      `| RPC alone: fetch the backlog's pages (no database) | ${fmt(rpcBaseline.events)} events | ${fmt(seconds(rpcBaseline.fetchMs), 2)} | ${fmt(rpcBaseline.events / seconds(rpcBaseline.fetchMs))} events/s | - | - |`,
      `| RPC alone: decode them | ${fmt(rpcBaseline.events)} events | ${fmt(seconds(rpcBaseline.decodeMs), 2)} | ${fmt(rpcBaseline.events / seconds(rpcBaseline.decodeMs))} events/s | - | - |`,
      ...reconRuns.map(
        (r, i) => `| Reconciliation run ${i + 1} (${r.status}, ${r.drifts} drifts) | ${fmt(r.lines)} lines | ${fmt(seconds(r.ms), 2)} | ${fmt(r.lines / seconds(r.ms))} lines/s | - | - |`,
      ),
      '',
      '### Where the time goes (PostgreSQL statements, counted by wrapping the container\'s database handle)',
      '',
      '| Phase | Statements | per event / line | Time awaiting them (s) | Share of the phase | Top statements (count) |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      statsRow('Ingest the backlog', backlogQueries, backlogRun.events, backlogRun.ms),
      ...(extra === 0 ? [] : [statsRow('Ingest `opened` events', opensQueries, opensRun.events, opensRun.ms)]),
      statsRow('Reconciliation (both runs)', reconQueries, settings.lines * 2, reconRuns.reduce((a, r) => a + r.ms, 0)),
      '',
      '### Targets',
      '',
      '| Target | Measured | Met? |',
      '| --- | ---: | --- |',
      `| backlog ingestion >= ${fmt(TARGET_EVENTS_PER_SECOND)} events/s | ${fmt(backlogRun.eventsPerSecond)} events/s | ${met ? 'met' : '**not met**'} |`,
      `| reconciliation of ${fmt(settings.lines)} bound lines (reported in seconds) | ${fmt(seconds(reconRuns[0]!.ms), 2)} s | reported |`,
      '',
      '### Notes',
      '',
      `- Of the backlog's ingestion time, fetching the same pages from the in-process devnet took ${fmt(rpcShare * 100)} % (RPC alone) and decoding ${fmt((rpcBaseline.decodeMs / backlogRun.ms) * 100)} %; awaiting PostgreSQL statements took ${fmt((backlogQueries.ms / backlogRun.ms) * 100)} % (${fmt(backlogQueries.queries / backlogRun.events, 2)} statements per event, ${fmt((backlogQueries.ms / backlogQueries.queries) * 1000)} µs each on average, issued one after another inside the page transaction).`,
      ...notes,
      ...(warnings.length > 0 ? [`- The backend logged ${warnings.length}${warnings.length >= 20 ? '+' : ''} warnings during the run; the first: \`${warnings[0]!.slice(0, 200).replace(/`/g, "'")}\`.`] : []),
      SECTION_END,
    ].join('\n');

    process.stdout.write(`\n${section}\n\n`);
    if (settings.write) {
      writeSection(settings.output, section);
      log(`wrote the chain section of ${path.relative(ROOT, settings.output)}`);
    }
  } finally {
    await dropAll();
    log(`scratch database ${dbName} dropped`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:chain failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
