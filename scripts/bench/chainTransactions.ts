/**
 * `npm run bench:chain-transactions`: admin actions on lines bound to the Credit contract, submitted and confirmed
 * per second against the devnet. The real server (a child process, `src/index.ts`) signs every admin call with the
 * operator key and sends it to the devnet (another child process: this file forked with BENCH_CHAIN_TX_ROLE=devnet,
 * loopback Soroban RPC, ledgers closing on a timer); its `chain-transactions` worker follows each transaction to
 * `confirmed`. autocannon, in this process, sends the admin requests over loopback. The figures go into
 * docs/benchmarks.md between `<!-- bench:chain-transactions:start -->` and `<!-- bench:chain-transactions:end -->`
 * (only that section). A benchmark, not a test: the issue sets no target.
 *
 * For each ledger interval (default 1000 ms, then 5000 ms), and once more with few lines, from scratch:
 * 1. A scratch PostgreSQL database and a devnet. Lines are opened on the contract (`open_credit_line` for random
 *    borrowers), then indexed by a container in this process (`ChainIndexer.tick()` until 0), so the database holds
 *    them as bound lines; that container is closed before the server starts.
 * 2. The server: `WORKERS=chain-transactions` (the tracker, `CHAIN_TX_INTERVAL_MS` 100), `STELLAR_OPERATOR_SECRET`
 *    the devnet admin's secret, `LOG_LEVEL=warn`, `RISK_PROVIDER=static`, `WALLET_AUTH=optional`, no rate limit.
 * 3. A warm-up (not recorded), then the measured run: `POST /api/credit/lines/:id/suspend` once per line (autocannon
 *    `amount` = lines; each request takes the next line), every answer expected 202 `{ creditLine, chainTransaction }`.
 *    Confirmation is read from `chain_transactions` (its `submitted_at`, `settled_at` and `ledger`).
 * 4. SQL checks: every row confirmed, the operator's sequence numbers distinct and contiguous, one
 *    `credit_line.suspended` domain event per line, every line suspended in the database and on the contract, no
 *    chain event parked or unknown.
 * 5. The RPC alone, without the server: the same build/simulate/sign/send, serially, from this process (what one
 *    submission costs the RPC with no queue in front of it).
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL             server for the scratch databases (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_CHAIN_TX_LINES           lines suspended in the measured run (default 2000)
 *   BENCH_CHAIN_TX_WARMUP          lines suspended in the warm-up run (default 200; 0 to skip)
 *   BENCH_CHAIN_TX_BASELINE        transactions of the RPC-alone pass (default 300; 0 to skip)
 *   BENCH_CHAIN_TX_LEDGER_MS       ledger intervals to run, comma-separated (default "1000,5000")
 *   BENCH_CHAIN_TX_SMALL_LINES     lines of a last run on a small contract state, at the first interval (default 400;
 *                                  0 to skip): how much of the rate the devnet's per-call cost decides
 *   BENCH_CHAIN_TX_TRACKER_MS      CHAIN_TX_INTERVAL_MS of the server's tracker (default 100)
 *   BENCH_CONNECTIONS              autocannon connections (default 40)
 *   BENCH_OUTPUT                   document to update (default docs/benchmarks.md); BENCH_CHAIN_TX_WRITE=0 to only print
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type pg from 'pg';
import { Keypair, StrKey } from '@stellar/stellar-sdk';
import autocannon from 'autocannon';
import { startDevnet, type Devnet } from '../devnet/index.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/lib/logger.js';
import { ContractSubmitter } from '../../src/stellar/contractSubmitter.js';
import { creditContract } from '../../src/stellar/creditContractCalls.js';
import { DEFAULT_RETRY_POLICY, SorobanRpcClient } from '../../src/stellar/sorobanRpc.js';
import { ROOT, intEnv } from './common.js';
import { databaseName, loopbackUrl, openClient, scratchDatabase } from './database.js';
import { machineFacts, type BenchMachine } from './machine.js';
import { freePort, LOOPBACK, onCleanup, runBenchmark, serverWarnings, startNodeServer, tail, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { writeSection } from './report.js';
import { CpuMeter, loadAvg, percentile } from './webhooks/sampling.js';

export const SECTION_START = '<!-- bench:chain-transactions:start -->';
export const SECTION_END = '<!-- bench:chain-transactions:end -->';

function ledgerIntervals(): number[] {
  const raw = process.env.BENCH_CHAIN_TX_LEDGER_MS || '1000,5000';
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 100 || v > 60_000)) {
    throw new Error(`BENCH_CHAIN_TX_LEDGER_MS must be integers from 100 to 60000, comma-separated, got "${raw}"`);
  }
  return values;
}

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  lines: intEnv('BENCH_CHAIN_TX_LINES', 2_000, 10, 100_000),
  warmup: intEnv('BENCH_CHAIN_TX_WARMUP', 200, 0, 10_000),
  baseline: intEnv('BENCH_CHAIN_TX_BASELINE', 300, 0, 10_000),
  ledgerMs: ledgerIntervals(),
  smallLines: intEnv('BENCH_CHAIN_TX_SMALL_LINES', 400, 0, 10_000),
  trackerMs: intEnv('BENCH_CHAIN_TX_TRACKER_MS', 100, 1, 10_000),
  connections: intEnv('BENCH_CONNECTIONS', 40, 1, 1_000),
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  write: process.env.BENCH_CHAIN_TX_WRITE !== '0',
  readyTimeoutMs: 90_000,
};

/** What the server is told; DB_POOL_MAX is the default (20). */
const POOL_MAX = 20;
const USDC = 10_000_000n;
const BENCH_APP = 'bench-chain-transactions';
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
/** This file is also the devnet's process (forked with BENCH_CHAIN_TX_ROLE=devnet). */
const IS_DEVNET_CHILD = process.env.BENCH_CHAIN_TX_ROLE === 'devnet';
const workDir = IS_DEVNET_CHILD ? '' : mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-chain-tx-'));
if (!IS_DEVNET_CHILD) onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench:chain-transactions ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const pct = (share: number) => `${fmt(share * 100)} %`;
const mean = (values: readonly number[]) => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);
const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);

// ------------------------------------------------------------------------------------------- ledger closes

interface LedgerClose {
  sequence: number;
  /** Wall clock (ms since the epoch) when the close finished. */
  at: number;
  /** Transactions applied in it (the devnet's queue at the close). */
  txs: number;
  /** How long closeLedger() blocked the devnet process (applying the queued transactions). */
  ms: number;
}

// ------------------------------------------------------------------------------------------- the devnet process

/**
 * The devnet runs in a child process of its own (this same file, BENCH_CHAIN_TX_ROLE=devnet): its work (a contract
 * state copied on every call, a ledger's transactions applied synchronously at each close) then stalls neither
 * autocannon nor the benchmark's measurements. The parent drives it over IPC.
 */
type DevnetRequest =
  | { type: 'open'; count: number }
  | { type: 'ledgers'; intervalMs: number }
  | { type: 'stop-ledgers' }
  | { type: 'closes' }
  | { type: 'close' }
  | { type: 'suspended'; wallets: string[] }
  | { type: 'clone' };

interface DevnetReady {
  rpcUrl: string;
  contractId: string;
  networkPassphrase: string;
  adminSecret: string;
}

/**
 * Closes a ledger every `intervalMs`, as `startDevnet({ ledgerIntervalMs })` does (a setInterval calling
 * closeLedger), but records each close: when, how many transactions, how long it took.
 */
function ledgerTimer(devnet: Devnet, intervalMs: number, closes: LedgerClose[]): { stop(): void } {
  const timer = setInterval(() => {
    const txs = devnet.core.pool.size;
    const started = performance.now();
    const sequence = devnet.closeLedger();
    closes.push({ sequence, at: Date.now(), txs, ms: performance.now() - started });
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/** Opens `count` lines on the contract for random borrowers (a valid G… address; nobody signs as them). */
function openLines(devnet: Devnet, count: number): string[] {
  const wallets: string[] = [];
  for (let i = 0; i < count; i++) {
    const wallet = StrKey.encodeEd25519PublicKey(randomBytes(32));
    devnet.contract.invoke('open_credit_line', { borrower: wallet, credit_limit: 1_000n * USDC, interest_rate_bps: 1_000, risk_score: 20 });
    wallets.push(wallet);
    if ((i + 1) % 500 === 0) devnet.closeLedger();
  }
  devnet.closeLedger();
  return wallets;
}

/** The child's side: a devnet (wall clock, no ledger timer until asked), answering the parent's requests. */
async function devnetChild(): Promise<void> {
  const devnet = await startDevnet();
  const closes: LedgerClose[] = [];
  let ticker: { stop(): void } | undefined;
  const send = (message: unknown) => process.send?.(message);
  const handle = (request: DevnetRequest): unknown => {
    switch (request.type) {
      case 'open':
        return openLines(devnet, request.count);
      case 'ledgers':
        ticker?.stop();
        ticker = ledgerTimer(devnet, request.intervalMs, closes);
        return null;
      case 'stop-ledgers':
        ticker?.stop();
        ticker = undefined;
        return null;
      case 'closes':
        return closes;
      case 'close':
        return devnet.closeLedger();
      case 'suspended':
        return request.wallets.filter((w) => devnet.contract.creditLine(w)?.status === 1).length;
      case 'clone': {
        // What every simulateTransaction and every applied transaction costs the devnet first: a copy of the contract state.
        const state = devnet.core.contract.state('committed');
        const started = performance.now();
        for (let i = 0; i < 20; i++) structuredClone(state);
        return { lines: state.lines.size, ms: (performance.now() - started) / 20 };
      }
    }
  };
  process.on('message', (message: { id: number; request: DevnetRequest }) => {
    try {
      send({ id: message.id, result: handle(message.request) });
    } catch (error) {
      send({ id: message.id, error: (error as Error).message });
    }
  });
  // The parent gone (or done): stop at once.
  process.on('disconnect', () => {
    ticker?.stop();
    void devnet.stop().finally(() => process.exit(0));
  });
  const ready: DevnetReady = { rpcUrl: devnet.rpcUrl, contractId: devnet.contractId, networkPassphrase: devnet.networkPassphrase, adminSecret: devnet.adminKeypair.secret() };
  send({ ready });
}

interface DevnetHandle extends DevnetReady {
  pid: number;
  adminPublicKey: string;
  ask<T>(request: DevnetRequest): Promise<T>;
  stop(): Promise<void>;
}

const devnetChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of devnetChildren) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Forks this file as the devnet process and waits until it listens. */
async function startDevnetProcess(name: string): Promise<DevnetHandle> {
  const logFile = path.join(workDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = fork(fileURLToPath(import.meta.url), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', BENCH_CHAIN_TX_ROLE: 'devnet' },
      stdio: ['ignore', fd, fd, 'ipc'],
    });
  } finally {
    closeSync(fd);
  }
  devnetChildren.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => devnetChildren.delete(child));
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const graceful = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!graceful) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(3_000)]);
      }
    })());
  onCleanup(`stop ${name} (pid ${child.pid})`, stop);

  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let onReady: ((ready: DevnetReady) => void) | undefined;
  child.on('message', (message: { ready?: DevnetReady; id?: number; result?: unknown; error?: string }) => {
    if (message.ready) return onReady?.(message.ready);
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error !== undefined) waiter.reject(new Error(`devnet: ${message.error}`));
    else waiter.resolve(message.result);
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited\n${tail(logFile)}`));
    pending.clear();
  });
  const ready = await withTimeout(
    new Promise<DevnetReady>((resolve, reject) => {
      onReady = resolve;
      void exited.then(() => reject(new Error(`${name} exited before it was ready\n${tail(logFile)}`)));
    }),
    60_000,
    `starting ${name}`,
  );
  const ask = <T>(request: DevnetRequest) =>
    withTimeout(
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, request });
      }),
      600_000,
      `devnet request ${request.type}`,
    );
  return { ...ready, pid: child.pid!, adminPublicKey: Keypair.fromSecret(ready.adminSecret).publicKey(), ask, stop };
}

// ------------------------------------------------------------------------------------------- seeding

interface BoundLine {
  id: string;
  wallet: string;
}

/** Migrates the database and indexes the opened lines with a container of this process; returns the bound lines. */
async function indexLines(devnet: DevnetHandle, databaseUrl: string, expected: number): Promise<{ lines: BoundLine[]; ticks: number }> {
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    STELLAR_RPC_URL: devnet.rpcUrl,
    CREDIT_CONTRACT_IDS: devnet.contractId,
    STELLAR_NETWORK_PASSPHRASE: devnet.networkPassphrase,
    INDEXER_PAGE_SIZE: '1000',
    RPC_TIMEOUT_MS: '60000',
    LOG_LEVEL: 'warn',
    WORKERS: 'none',
    API_KEYS: clientKey,
    ADMIN_API_KEYS: adminKey,
  });
  const container = await createContainer(config, { logger: createLogger('warn', sink), collectDefaultMetrics: false });
  try {
    const indexer = container.services.indexer;
    if (!indexer) throw new Error('the indexer is not configured');
    let ticks = 0;
    for (; ticks < 10_000; ticks++) if ((await indexer.tick()) === 0) break;
    const lines: BoundLine[] = [];
    for (let afterId: string | undefined; ; ) {
      const page = await container.store.repos.creditLines.listBound(devnet.contractId, { limit: 1_000, afterId });
      lines.push(...page.map((l) => ({ id: l.id, wallet: l.walletAddress })));
      if (page.length < 1_000) break;
      afterId = page.at(-1)!.id;
    }
    if (lines.length !== expected) throw new Error(`indexed ${lines.length} bound lines, expected ${expected}`);
    return { lines, ticks: ticks + 1 };
  } finally {
    await container.close();
  }
}

// ------------------------------------------------------------------------------------------- the server

async function startApi(name: string, databaseUrl: string, devnet: DevnetHandle): Promise<RunningServer> {
  const port = await freePort();
  const server = await startNodeServer({
    name,
    cwd: ROOT,
    entry: 'src/index.ts',
    logFile: path.join(workDir, `${name}.log`),
    port,
    env: {
      NODE_ENV: 'development',
      HOST: LOOPBACK,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_POOL_MAX: String(POOL_MAX),
      API_KEYS: clientKey,
      ADMIN_API_KEYS: adminKey,
      RATE_LIMIT_PER_MIN: '1000000000',
      RISK_PROVIDER: 'static',
      WALLET_AUTH: 'optional',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      STELLAR_RPC_URL: devnet.rpcUrl,
      CREDIT_CONTRACT_IDS: devnet.contractId,
      STELLAR_NETWORK_PASSPHRASE: devnet.networkPassphrase,
      STELLAR_OPERATOR_SECRET: devnet.adminSecret,
      RPC_TIMEOUT_MS: '30000',
      WORKERS: 'chain-transactions',
      CHAIN_TX_INTERVAL_MS: String(settings.trackerMs),
    },
  });
  await waitForOk(server, '/health/ready', settings.readyTimeoutMs);
  log(`${name} ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return server;
}

// ------------------------------------------------------------------------------------------- a run

interface Submission {
  answers: number;
  /** From the first request to the last answer, s. */
  wallSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  startedAt: number;
  lastAnswerAt: number;
}

/** Suspends every line of `lines` once: `connections` at a time, each request on the next line. */
async function suspendAll(baseUrl: string, lines: readonly BoundLine[]): Promise<Submission> {
  const amount = lines.length;
  let next = 0;
  let answers = 0;
  let lastAnswerAt = 0;
  let instance: autocannon.Instance | undefined;
  const startedAt = Date.now();
  const started = performance.now();
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: baseUrl,
        connections: Math.min(settings.connections, amount),
        amount,
        timeout: 60,
        requests: [
          {
            method: 'POST',
            headers: { 'X-Admin-Api-Key': adminKey, 'Content-Type': 'application/json' },
            body: '{}',
            setupRequest: (request) => {
              request.path = `/api/credit/lines/${lines[next++ % amount]!.id}/suspend`;
              return request;
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', () => {
      answers++;
      lastAnswerAt = performance.now();
    });
  });
  let result: autocannon.Result;
  try {
    result = await withTimeout(done, (amount / 5 + 120) * 1000, 'autocannon run');
  } catch (error) {
    instance?.stop();
    throw error;
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const wallSeconds = ((lastAnswerAt || performance.now()) - started) / 1000;
  return {
    answers,
    wallSeconds,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    startedAt,
    lastAnswerAt: startedAt + wallSeconds * 1000,
  };
}

/** Waits until `total` transactions are confirmed (or nothing is pending any more, or the deadline passes). */
async function waitConfirmed(client: pg.Client, total: number, deadlineMs: number): Promise<{ confirmed: number; pending: number; other: number }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { rows } = await client.query<{ confirmed: string; pending: string; other: string }>(
      `SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed, count(*) FILTER (WHERE status = 'pending') AS pending,
              count(*) FILTER (WHERE status NOT IN ('confirmed', 'pending')) AS other FROM chain_transactions`,
    );
    const now = { confirmed: Number(rows[0]!.confirmed), pending: Number(rows[0]!.pending), other: Number(rows[0]!.other) };
    if (now.confirmed >= total || (now.pending === 0 && now.confirmed + now.other >= total) || Date.now() > deadline) return now;
    await sleep(50);
  }
}

interface Confirmation {
  confirmed: number;
  /** From the first request to the last row's settled_at, s. */
  allConfirmedSeconds: number;
  firstConfirmedSeconds: number;
  /** settled_at − submitted_at per transaction, ms. */
  latency: { p50: number; p99: number; max: number };
  /** settled_at − the close of the transaction's ledger, ms: the tracker's share. */
  afterClose: { p50: number; p99: number; max: number };
  ledgers: number;
  maxPerLedger: number;
  /** Confirmations per second while the tracker had a closed ledger's transactions to confirm. */
  trackerRate: number;
}

async function confirmation(client: pg.Client, ids: readonly string[], startedAt: number, closes: readonly LedgerClose[]): Promise<Confirmation> {
  const { rows } = await client.query<{ submitted: string; settled: string | null; ledger: number | null; status: string }>(
    `SELECT extract(epoch FROM submitted_at) * 1000 AS submitted, extract(epoch FROM settled_at) * 1000 AS settled, ledger, status
       FROM chain_transactions WHERE credit_line_id = ANY($1::uuid[])`,
    [ids],
  );
  const done = rows.filter((r) => r.status === 'confirmed' && r.settled !== null && r.ledger !== null);
  const settled = done.map((r) => Number(r.settled));
  const closeAt = new Map(closes.map((c) => [c.sequence, c.at]));
  const latency = sorted(done.map((r) => Number(r.settled) - Number(r.submitted)));
  const afterClose = sorted(done.flatMap((r) => (closeAt.has(r.ledger!) ? [Number(r.settled) - closeAt.get(r.ledger!)!] : [])));
  const byLedger = new Map<number, number[]>();
  for (const r of done) byLedger.set(r.ledger!, [...(byLedger.get(r.ledger!) ?? []), Number(r.settled)]);
  let spanMs = 0;
  let spanCount = 0;
  for (const [ledger, times] of byLedger) {
    const closedAt = closeAt.get(ledger);
    if (times.length < 10 || closedAt === undefined) continue;
    spanMs += Math.max(...times) - closedAt;
    spanCount += times.length;
  }
  const stat = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: values.at(-1) ?? Number.NaN });
  return {
    confirmed: done.length,
    allConfirmedSeconds: (Math.max(...settled) - startedAt) / 1000,
    firstConfirmedSeconds: (Math.min(...settled) - startedAt) / 1000,
    latency: stat(latency),
    afterClose: stat(afterClose),
    ledgers: byLedger.size,
    maxPerLedger: Math.max(...[...byLedger.values()].map((v) => v.length)),
    trackerRate: spanMs > 0 ? (spanCount / spanMs) * 1000 : Number.NaN,
  };
}

interface Cpu {
  wallMs: number;
  machineBusy: number;
  server: number;
  devnet: number;
  postgres: number;
  bench: number;
}

async function backendPids(client: pg.Client, dbName: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE (datname = $1 AND backend_type = 'client backend' AND application_name <> $2) OR backend_type <> 'client backend'`,
    [dbName, BENCH_APP],
  );
  return rows.map((r) => r.pid);
}

/** What the server's database sessions were doing while the requests were answered (pg_stat_activity samples). */
interface Sessions {
  samples: number;
  /** Mean sessions waiting for a lock (the operator's `chain_accounts` row: the sequence lock). */
  waitingOnLock: number;
  /** Share of samples with at least one session waiting for a lock. */
  lockQueued: number;
  /** Mean sessions idle in a transaction (waiting for the server: an RPC answer, or its event loop). */
  idleInTransaction: number;
  /** Mean sessions running a statement. */
  active: number;
}

/** Samples pg_stat_activity of the server's sessions every 20 ms until `stop` is called. */
function sampleSessions(client: pg.Client, dbName: string): { stop(): Promise<Sessions> } {
  let running = true;
  const rows: Array<{ waiting: number; idle: number; active: number }> = [];
  const loop = (async () => {
    while (running) {
      const { rows: r } = await client.query<{ waiting: string; idle: string; active: string }>(
        `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,
                count(*) FILTER (WHERE state = 'idle in transaction') AS idle,
                count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock') AS active
           FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> $2`,
        [dbName, BENCH_APP],
      );
      rows.push({ waiting: Number(r[0]!.waiting), idle: Number(r[0]!.idle), active: Number(r[0]!.active) });
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        samples: rows.length,
        waitingOnLock: mean(rows.map((r) => r.waiting)),
        lockQueued: rows.filter((r) => r.waiting > 0).length / Math.max(1, rows.length),
        idleInTransaction: mean(rows.map((r) => r.idle)),
        active: mean(rows.map((r) => r.active)),
      };
    },
  };
}

interface Run {
  lines: number;
  sessions: Sessions;
  submission: Submission;
  confirmation: Confirmation;
  closes: LedgerClose[];
  cpu?: Cpu;
  loadAvg1: number;
}

async function measure(server: RunningServer, devnet: DevnetHandle, client: pg.Client, dbName: string, lines: readonly BoundLine[], expectedTotal: number, meterCpu: boolean): Promise<Run> {
  const loadAvg1 = os.loadavg()[0] ?? 0;
  const meter = meterCpu ? new CpuMeter() : undefined;
  const pids = async () => [server.child.pid!, devnet.pid, ...(await backendPids(client, dbName))];
  meter?.begin(await pids());
  const sampler = sampleSessions(client, dbName);
  const outcome = await suspendAll(server.baseUrl, lines).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const sessions = await sampler.stop();
  if ('error' in outcome) throw outcome.error;
  const submission = outcome.value;
  log(
    `  submitted ${fmt(submission.answers)} in ${fmt(submission.wallSeconds, 2)} s: ${fmt(submission.answers / submission.wallSeconds)} req/s, ` +
      `p50 ${submission.latencyP50Ms} ms, p99 ${submission.latencyP99Ms} ms; status ${JSON.stringify(submission.statusCodes)}, ${submission.errors} errors`,
  );
  const state = await waitConfirmed(client, expectedTotal, (lines.length / 2 + 120) * 1000);
  const window = meter?.end(await pids());
  if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${server.name} died during the run`);
  if (state.confirmed < expectedTotal) log(`  only ${state.confirmed} of ${expectedTotal} confirmed (${state.pending} pending, ${state.other} failed or expired)`);
  const closes = await devnet.ask<LedgerClose[]>({ type: 'closes' });
  const conf = await confirmation(
    client,
    lines.map((l) => l.id),
    submission.startedAt,
    closes,
  );
  log(
    `  confirmed ${fmt(conf.confirmed)} within ${fmt(conf.allConfirmedSeconds, 2)} s of the first request: ${fmt(conf.confirmed / conf.allConfirmedSeconds)} tx/s end to end; ` +
      `submit->confirmed p50 ${fmt(conf.latency.p50)} ms, p99 ${fmt(conf.latency.p99)} ms; ${conf.ledgers} ledgers`,
  );
  let cpu: Cpu | undefined;
  if (window) {
    const serverMs = window.byPid.get(server.child.pid!) ?? 0;
    const devnetMs = window.byPid.get(devnet.pid) ?? 0;
    const postgresMs = [...window.byPid.entries()].filter(([pid]) => pid !== server.child.pid && pid !== devnet.pid).reduce((a, [, ms]) => a + ms, 0);
    cpu = {
      wallMs: window.wallMs,
      machineBusy: window.machineBusyShare,
      server: serverMs / window.wallMs,
      devnet: devnetMs / window.wallMs,
      postgres: postgresMs / window.wallMs,
      bench: window.selfMs / window.wallMs,
    };
  }
  log(`  sessions while submitting: ${fmt(sessions.waitingOnLock, 1)} waiting on a lock (queue non-empty in ${pct(sessions.lockQueued)} of ${sessions.samples} samples), ${fmt(sessions.idleInTransaction, 1)} idle in transaction, ${fmt(sessions.active, 1)} active`);
  if (cpu) log(`  CPU (share of one core): server ${pct(cpu.server)}, devnet ${pct(cpu.devnet)}, PostgreSQL ${pct(cpu.postgres)}, benchmark ${pct(cpu.bench)}; machine ${pct(cpu.machineBusy)} of all cores`);
  const windowEnd = submission.startedAt + conf.allConfirmedSeconds * 1000;
  return { lines: lines.length, sessions, submission, confirmation: conf, closes: closes.filter((c) => c.at >= submission.startedAt && c.at <= windowEnd + 1_000), cpu, loadAvg1 };
}

// ------------------------------------------------------------------------------------------- checks

interface Checks {
  expected: number;
  rows: number;
  confirmed: number;
  singleAttempt: number;
  operatorRows: number;
  distinctSequences: number;
  sequenceSpan: number;
  storedSequenceIsMax: boolean;
  suspendedEvents: number;
  linesWithOneEvent: number;
  suspendedInDb: number;
  suspendedOnChain: number;
  chainEvents: Record<string, number>;
  txEvents: Record<string, number>;
  audit: number;
  ok: boolean;
}

async function check(client: pg.Client, devnet: DevnetHandle, lines: readonly BoundLine[]): Promise<Checks> {
  const ids = lines.map((l) => l.id);
  const one = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => (await client.query<T>(sql, params)).rows[0]!;
  const operator = devnet.adminPublicKey;
  const txs = await one<{ rows: string; confirmed: string; single: string }>(
    `SELECT count(*) AS rows, count(*) FILTER (WHERE status = 'confirmed') AS confirmed, count(*) FILTER (WHERE submit_attempts = 1 AND resubmissions = 0) AS single
       FROM chain_transactions WHERE credit_line_id = ANY($1::uuid[]) AND action = 'suspend'`,
    [ids],
  );
  const seq = await one<{ n: string; d: string; span: string | null; max: string | null; stored: string | null }>(
    `SELECT count(*) AS n, count(DISTINCT sequence) AS d, max(sequence) - min(sequence) + 1 AS span, max(sequence) AS max,
            (SELECT sequence FROM chain_accounts WHERE public_key = $1) AS stored
       FROM chain_transactions WHERE source_account = $1`,
    [operator],
  );
  const events = await one<{ n: string; one: string }>(
    `WITH per_line AS (SELECT aggregate_id, count(*) AS k FROM domain_events
                        WHERE type = 'credit_line.suspended' AND aggregate_type = 'credit_line' AND aggregate_id = ANY($1::text[]) GROUP BY 1)
     SELECT coalesce(sum(k), 0) AS n, count(*) FILTER (WHERE k = 1) AS one FROM per_line`,
    [ids],
  );
  const inDb = await one<{ n: string }>(`SELECT count(*) AS n FROM credit_lines WHERE id = ANY($1::uuid[]) AND status = 'suspended'`, [ids]);
  const audit = await one<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE action = 'chain.suspend'`);
  const chainEvents = Object.fromEntries(
    (await client.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM chain_events GROUP BY 1 ORDER BY 1`)).rows.map((r) => [r.status, Number(r.n)]),
  );
  const txEvents = Object.fromEntries(
    (
      await client.query<{ type: string; n: string }>(`SELECT type, count(*) AS n FROM domain_events WHERE aggregate_type = 'chain_transaction' GROUP BY 1 ORDER BY 1`)
    ).rows.map((r) => [r.type, Number(r.n)]),
  );
  const suspendedOnChain = await devnet.ask<number>({ type: 'suspended', wallets: lines.map((l) => l.wallet) });
  const n = lines.length;
  const result: Checks = {
    expected: n,
    rows: Number(txs.rows),
    confirmed: Number(txs.confirmed),
    singleAttempt: Number(txs.single),
    operatorRows: Number(seq.n),
    distinctSequences: Number(seq.d),
    sequenceSpan: Number(seq.span ?? 0),
    storedSequenceIsMax: seq.stored !== null && seq.stored === seq.max,
    suspendedEvents: Number(events.n),
    linesWithOneEvent: Number(events.one),
    suspendedInDb: Number(inDb.n),
    suspendedOnChain,
    chainEvents,
    txEvents,
    audit: Number(audit.n),
    ok: false,
  };
  result.ok =
    result.rows === n &&
    result.confirmed === n &&
    result.singleAttempt === n &&
    result.operatorRows === n &&
    result.distinctSequences === n &&
    result.sequenceSpan === n &&
    result.storedSequenceIsMax &&
    result.suspendedEvents === n &&
    result.linesWithOneEvent === n &&
    result.suspendedInDb === n &&
    result.suspendedOnChain === n &&
    (chainEvents.parked ?? 0) === 0 &&
    (chainEvents.unknown ?? 0) === 0 &&
    (txEvents['chain_transaction.failed'] ?? 0) === 0 &&
    (txEvents['chain_transaction.expired'] ?? 0) === 0 &&
    result.audit === n;
  return result;
}

// ------------------------------------------------------------------------------------------- the RPC alone

interface Baseline {
  txs: number;
  simulateMs: number;
  signMs: number;
  sendMs: number;
  getTransactionMs: number;
}

/**
 * The submission path without the server or the database: build, simulate, assemble + sign, send, serially, with the
 * backend's own ContractSubmitter over SorobanRpcClient, from this process (where the devnet also runs). Then one
 * getTransaction per transaction once they are in a ledger (what the tracker asks per pending transaction).
 */
async function rpcAlone(devnet: DevnetHandle, wallets: readonly string[]): Promise<Baseline> {
  const client = new SorobanRpcClient(devnet.rpcUrl, { ...DEFAULT_RETRY_POLICY, timeoutMs: 30_000, retries: 0 });
  const submitter = new ContractSubmitter(client, { networkPassphrase: devnet.networkPassphrase, baseFee: 100, maxInclusionFee: 1_000_000, maxAttempts: 5, retryDelayMs: 500 });
  const operator = Keypair.fromSecret(devnet.adminSecret);
  const source = operator.publicKey();
  let sequence = await submitter.sequenceOf(source);
  const simulate: number[] = [];
  const sign: number[] = [];
  const send: number[] = [];
  const hashes: string[] = [];
  for (const wallet of wallets) {
    const call = creditContract.suspendCreditLine(wallet);
    const validUntil = new Date(Date.now() + 300_000);
    const t0 = performance.now();
    const simulation = await submitter.simulate(submitter.build(source, 1n, devnet.contractId, call, validUntil), call.functionName);
    const t1 = performance.now();
    sequence += 1n;
    const tx = submitter.assemble(submitter.build(source, sequence, devnet.contractId, call, validUntil), simulation);
    tx.sign(operator);
    const t2 = performance.now();
    const sent = await submitter.send(tx);
    const t3 = performance.now();
    simulate.push(t1 - t0);
    sign.push(t2 - t1);
    send.push(t3 - t2);
    hashes.push(sent.hash);
  }
  await devnet.ask<number>({ type: 'close' });
  const outcome: number[] = [];
  for (const hash of hashes) {
    const t = performance.now();
    const result = await submitter.outcome(hash);
    outcome.push(performance.now() - t);
    if (result.status !== 'success') throw new Error(`RPC-alone transaction ${hash} is ${result.status}`);
  }
  return { txs: wallets.length, simulateMs: mean(simulate), signMs: mean(sign), sendMs: mean(send), getTransactionMs: mean(outcome) };
}

// ------------------------------------------------------------------------------------------- a scenario

interface Scenario {
  ledgerMs: number;
  plan: Plan;
  seed: { lines: number; openMs: number; indexMs: number; ticks: number; cloneMs: number };
  warmup?: Run;
  measured: Run;
  checks: Checks;
  baseline?: Baseline;
  warnings: { count: number; first?: string };
  loadStart: string;
  loadEnd: string;
}

interface Plan {
  ledgerMs: number;
  lines: number;
  warmup: number;
  baseline: number;
}

async function scenario(adminUrl: URL, plan: Plan): Promise<Scenario> {
  const { ledgerMs } = plan;
  const loadStart = loadAvg();
  log(`--- ledgers every ${ledgerMs} ms, ${plan.lines} lines (load ${loadStart})`);
  const databaseUrl = await scratchDatabase(adminUrl, log);
  const dbName = databaseName(databaseUrl);
  const devnet = await startDevnetProcess(`devnet-${ledgerMs}-${plan.lines}`);
  log(`devnet at ${devnet.rpcUrl} (pid ${devnet.pid})`);

  const total = plan.warmup + plan.lines + plan.baseline;
  let started = performance.now();
  const wallets = await devnet.ask<string[]>({ type: 'open', count: total });
  const openMs = performance.now() - started;
  const clone = await devnet.ask<{ lines: number; ms: number }>({ type: 'clone' });
  started = performance.now();
  const { lines, ticks } = await indexLines(devnet, databaseUrl, total);
  const indexMs = performance.now() - started;
  log(`one copy of the contract state (${fmt(clone.lines)} lines): ${fmt(clone.ms, 2)} ms`);
  log(`opened ${fmt(total)} lines on the contract in ${fmt(openMs / 1000, 1)} s, indexed in ${fmt(indexMs / 1000, 1)} s (${ticks} ticks)`);
  const byWallet = new Map(lines.map((l) => [l.wallet, l]));
  const ordered = wallets.map((w) => byWallet.get(w)!);
  const warmLines = ordered.slice(0, plan.warmup);
  const measuredLines = ordered.slice(plan.warmup, plan.warmup + plan.lines);
  const baselineWallets = wallets.slice(plan.warmup + plan.lines);

  await devnet.ask({ type: 'ledgers', intervalMs: ledgerMs });
  const server = await startApi(`api-chain-tx-${ledgerMs}-${plan.lines}`, databaseUrl, devnet);
  const client = await openClient(databaseUrl, { statementTimeoutMs: 60_000, applicationName: BENCH_APP });
  try {
    let warmup: Run | undefined;
    if (warmLines.length > 0) {
      log(`warm-up: ${fmt(warmLines.length)} suspends`);
      warmup = await measure(server, devnet, client, dbName, warmLines, warmLines.length, false);
    }
    log(`measured: ${fmt(measuredLines.length)} suspends over ${Math.min(settings.connections, measuredLines.length)} connections`);
    const measured = await measure(server, devnet, client, dbName, measuredLines, warmLines.length + measuredLines.length, true);
    await server.stop();
    const checks = await check(client, devnet, [...warmLines, ...measuredLines]);
    log(`checks: ${checks.ok ? 'all passed' : 'FAILED'} ${JSON.stringify(checks)}`);
    let baseline: Baseline | undefined;
    if (baselineWallets.length > 0) {
      await devnet.ask({ type: 'stop-ledgers' });
      baseline = await rpcAlone(devnet, baselineWallets);
      log(
        `RPC alone (${baseline.txs} serial): simulate ${fmt(baseline.simulateMs, 2)} ms, assemble+sign ${fmt(baseline.signMs, 2)} ms, send ${fmt(baseline.sendMs, 2)} ms, getTransaction ${fmt(baseline.getTransactionMs, 2)} ms`,
      );
    }
    return {
      ledgerMs,
      plan,
      seed: { lines: total, openMs, indexMs, ticks, cloneMs: clone.ms },
      warmup,
      measured,
      checks,
      baseline,
      warnings: serverWarnings(server.logFile),
      loadStart,
      loadEnd: loadAvg(),
    };
  } finally {
    await server.stop();
    await client.end().catch(() => undefined);
    await devnet.stop();
  }
}

// ------------------------------------------------------------------------------------------- report

function closeStats(closes: readonly LedgerClose[]): { intervalMs: number; maxIntervalMs: number; closeMs: number; maxCloseMs: number; maxTxs: number } {
  const intervals = closes.slice(1).map((c, i) => c.at - closes[i]!.at);
  const busy = closes.filter((c) => c.txs > 0);
  return {
    intervalMs: mean(intervals),
    maxIntervalMs: intervals.length > 0 ? Math.max(...intervals) : Number.NaN,
    closeMs: mean(busy.map((c) => c.ms)),
    maxCloseMs: busy.length > 0 ? Math.max(...busy.map((c) => c.ms)) : Number.NaN,
    maxTxs: closes.length > 0 ? Math.max(...closes.map((c) => c.txs)) : 0,
  };
}

const submitRate = (r: Run) => r.submission.answers / r.submission.wallSeconds;
const confirmRate = (r: Run) => r.confirmation.confirmed / r.confirmation.allConfirmedSeconds;
/** The first column of every table: the ledger interval and how many lines the contract holds. */
const label = (s: Scenario) => `${fmt(s.ledgerMs)} ms / ${fmt(s.seed.lines)}`;
const SCENARIO_HEADER = 'Ledger interval / lines on the contract';

function renderSection(machine: BenchMachine, scenarios: readonly Scenario[]): string {
  const runsOf = (s: Scenario) =>
    [s.warmup ? { name: 'warm-up', run: s.warmup } : undefined, { name: '**measured**', run: s.measured }].filter(
      (x): x is { name: string; run: Run } => x !== undefined,
    );
  const bold = (measured: boolean, text: string) => (measured ? `**${text}**` : text);
  const statusText = (sub: Submission) =>
    Object.entries(sub.statusCodes)
      .map(([code, count]) => `${fmt(count)}×${code}`)
      .join(', ');
  const submissionRows = scenarios.flatMap((s) =>
    runsOf(s).map(({ name, run }) => {
      const sub = run.submission;
      const ses = run.sessions;
      return `| ${label(s)} | ${name} | ${fmt(run.lines)} | ${fmt(sub.wallSeconds, 2)} | ${bold(name !== 'warm-up', fmt(submitRate(run)))} | ${fmt(sub.latencyP50Ms)} | ${fmt(sub.latencyP99Ms)} | ${fmt(sub.latencyMaxMs)} | ${statusText(sub)} | ${sub.errors + sub.timeouts} | ${sub.non2xx} | ${fmt(ses.waitingOnLock, 1)} (${pct(ses.lockQueued)}) | ${fmt(ses.idleInTransaction, 1)} / ${fmt(ses.active, 1)} | ${fmt(run.loadAvg1, 1)} |`;
    }),
  );
  const confirmationRows = scenarios.flatMap((s) =>
    runsOf(s).map(({ name, run }) => {
      const c = run.confirmation;
      return `| ${label(s)} | ${name} | ${fmt(c.confirmed)} / ${fmt(run.lines)} | ${fmt(c.firstConfirmedSeconds, 2)} | ${fmt(c.allConfirmedSeconds, 2)} | ${fmt(c.allConfirmedSeconds - run.submission.wallSeconds, 2)} | ${bold(name !== 'warm-up', fmt(confirmRate(run)))} | ${fmt(c.latency.p50)} / ${fmt(c.latency.p99)} / ${fmt(c.latency.max)} | ${fmt(c.afterClose.p50)} / ${fmt(c.afterClose.p99)} | ${fmt(c.ledgers)} (max ${fmt(c.maxPerLedger)}) | ${fmt(c.trackerRate)} |`;
    }),
  );
  const closeRows = scenarios.map((s) => {
    const c = closeStats(s.measured.closes);
    return `| ${label(s)} | ${fmt(s.measured.closes.length)} | ${fmt(c.intervalMs)} / ${fmt(c.maxIntervalMs)} | ${fmt(c.maxTxs)} | ${fmt(c.closeMs)} / ${fmt(c.maxCloseMs)} | ${fmt(s.seed.cloneMs, 2)} |`;
  });
  const cpuRows = scenarios.flatMap((s) => {
    const cpu = s.measured.cpu;
    if (!cpu) return [];
    const per = (share: number) => fmt((share * cpu.wallMs) / s.measured.lines, 1);
    return [
      `| ${label(s)} | ${fmt(cpu.wallMs / 1000, 1)} | ${pct(cpu.machineBusy)} | ${pct(cpu.server)} | ${pct(cpu.devnet)} | ${pct(cpu.postgres)} | ${pct(cpu.bench)} | ${per(cpu.server)} / ${per(cpu.devnet)} / ${per(cpu.postgres)} |`,
    ];
  });
  const baselineRows = scenarios.flatMap((s) => {
    const b = s.baseline;
    if (!b) return [];
    return [
      `| ${label(s)} | ${fmt(b.txs)} | ${fmt(b.simulateMs, 2)} | ${fmt(b.signMs, 2)} | ${fmt(b.sendMs, 2)} | ${fmt(1000 / (b.simulateMs + b.signMs + b.sendMs))} | ${fmt(1000 / (b.signMs + b.sendMs))} | ${fmt(b.getTransactionMs, 2)} |`,
    ];
  });
  const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
  const checkRows = scenarios.flatMap((s) => {
    const c = s.checks;
    const n = c.expected;
    const parked = (c.chainEvents.parked ?? 0) + (c.chainEvents.unknown ?? 0);
    const txEvent = (k: string) => c.txEvents[`chain_transaction.${k}`] ?? 0;
    return [
      `| ${label(s)} | \`suspend\` rows in \`chain_transactions\`, all \`confirmed\` | ${fmt(n)} | ${fmt(c.rows)} rows, ${fmt(c.confirmed)} confirmed | ${yes(c.rows === n && c.confirmed === n)} |`,
      `| ${label(s)} | … each sent once (\`submit_attempts\` = 1: no TRY_AGAIN_LATER resend or fee bump; \`resubmissions\` = 0: never expired and rebuilt) | ${fmt(n)} | ${fmt(c.singleAttempt)} | ${yes(c.singleAttempt === n)} |`,
      `| ${label(s)} | operator's sequence numbers: distinct (\`count(DISTINCT sequence) = count(*)\`) and contiguous (max − min + 1 = count) | ${fmt(n)} | ${fmt(c.operatorRows)} rows, ${fmt(c.distinctSequences)} distinct, span ${fmt(c.sequenceSpan)} | ${yes(c.operatorRows === n && c.distinctSequences === n && c.sequenceSpan === n)} |`,
      `| ${label(s)} | \`chain_accounts.sequence\` = the last sequence used | yes | ${c.storedSequenceIsMax ? 'yes' : 'no'} | ${yes(c.storedSequenceIsMax)} |`,
      `| ${label(s)} | \`credit_line.suspended\` rows in \`domain_events\`; lines with exactly one | ${fmt(n)}; ${fmt(n)} | ${fmt(c.suspendedEvents)}; ${fmt(c.linesWithOneEvent)} | ${yes(c.suspendedEvents === n && c.linesWithOneEvent === n)} |`,
      `| ${label(s)} | lines \`suspended\` in the database / on the contract (devnet state) | ${fmt(n)} / ${fmt(n)} | ${fmt(c.suspendedInDb)} / ${fmt(c.suspendedOnChain)} | ${yes(c.suspendedInDb === n && c.suspendedOnChain === n)} |`,
      `| ${label(s)} | \`chain_events\` parked or unknown | 0 | ${fmt(parked)} (all: ${Object.entries(c.chainEvents).map(([k, v]) => `${fmt(v)} ${k}`).join(', ')}) | ${yes(parked === 0)} |`,
      `| ${label(s)} | \`chain_transaction.*\` events: submitted / confirmed / failed / expired | ${fmt(n)} / ${fmt(n)} / 0 / 0 | ${['submitted', 'confirmed', 'failed', 'expired'].map((k) => fmt(txEvent(k))).join(' / ')} | ${yes(txEvent('failed') === 0 && txEvent('expired') === 0)} |`,
      `| ${label(s)} | \`chain.suspend\` audit rows | ${fmt(n)} | ${fmt(c.audit)} | ${yes(c.audit === n)} |`,
    ];
  });

  const full = scenarios.filter((s) => s.plan.lines === settings.lines);
  const nproc = Number(machine.nproc) || os.cpus().length;
  const small = scenarios.find((s) => s.plan.lines !== settings.lines);
  const first = scenarios[0]!;
  const notes: string[] = [];

  // Submission.
  const lockFacts = full
    .map((s) => `${fmt(submitRate(s.measured))}/s at ${fmt(s.ledgerMs)} ms ledgers: the lock changed hands every ${fmt(1000 / submitRate(s.measured), 1)} ms, ${fmt(s.measured.sessions.waitingOnLock, 1)} sessions queued on it on average, the queue non-empty in ${pct(s.measured.sessions.lockQueued)} of the samples`)
    .join('; ');
  notes.push(
    `**Submissions are serialised by the operator account's sequence lock.** Every admin call simulates first (concurrently), then takes the account's next sequence number under a row lock (\`chain_accounts\`, \`SELECT … FOR UPDATE\`) and holds it until its database transaction commits: assemble + sign, \`sendTransaction\`, then 4 statements (the sequence saved, the \`chain_transactions\` row, its \`chain_transaction.submitted\` event, the audit row) and COMMIT. The account row is the only row two suspends of different lines share, and the rate is 1 / (time the lock is held): ${lockFacts}. More connections only lengthen the queue (on the lock, then on the pool of ${POOL_MAX} connections): mean latency ≈ connections / rate (${settings.connections} / ${fmt(submitRate(first.measured))}/s ≈ ${fmt((settings.connections * 1000) / submitRate(first.measured))} ms; p50 measured ${fmt(first.measured.submission.latencyP50Ms)} ms).`,
  );
  const devnetFacts = full
    .filter((s) => s.measured.cpu)
    .map((s) => `${fmt(((s.measured.cpu!.devnet * s.measured.cpu!.wallMs) / s.measured.lines), 1)} ms of devnet CPU per transaction at ${fmt(s.ledgerMs)} ms (${pct(s.measured.cpu!.devnet)} of a core), against ${fmt(((s.measured.cpu!.server * s.measured.cpu!.wallMs) / s.measured.lines), 1)} ms for the server (tracker included) and ${fmt(((s.measured.cpu!.postgres * s.measured.cpu!.wallMs) / s.measured.lines), 1)} ms for PostgreSQL`)
    .join('; ');
  const b = first.baseline;
  const perTx = (sc: Scenario, share: (cpu: Cpu) => number) => (sc.measured.cpu ? (share(sc.measured.cpu) * sc.measured.cpu.wallMs) / sc.measured.lines : Number.NaN);
  const devnetHeavier = perTx(first, (c) => c.devnet) > perTx(first, (c) => c.server);
  notes.push(
    `**What fills the lock's time: ${devnetHeavier ? 'mostly the devnet' : 'the devnet and the server alike'}.** The devnet copies its whole contract state (\`structuredClone\`) for every \`simulateTransaction\` and again for every transaction it applies at a close (scripts/devnet/creditContract.ts \`simulate\`/\`call\`), on one thread: ${fmt(first.seed.cloneMs, 2)} ms per copy with ${fmt(first.seed.lines)} lines on the contract. That makes ${devnetFacts}. The lock holder's \`sendTransaction\` waits in the devnet's queue behind the other requests' simulations and behind ledger closes, so the devnet's cost becomes the lock's hold time.` +
      (b
        ? ` Serially and alone (the benchmark process, no server, no database, no concurrency), one submission costs ${fmt(b.simulateMs, 2)} ms to simulate and ${fmt(b.signMs + b.sendMs, 2)} ms to assemble, sign and send (${fmt(b.sendMs, 2)} ms of it the send): under the lock, the RPC alone would allow ${fmt(1000 / (b.signMs + b.sendMs))} tx/s.`
        : '') +
      (small
        ? ` With ${fmt(small.seed.lines)} lines on the contract (one copy ${fmt(small.seed.cloneMs, 2)} ms) the same backend submitted ${fmt(submitRate(small.measured))}/s and confirmed ${fmt(confirmRate(small.measured))}/s end to end at ${fmt(small.ledgerMs)} ms ledgers, the devnet using ${fmt(perTx(small, (c) => c.devnet), 1)} ms of CPU per transaction and the server ${fmt(perTx(small, (c) => c.server), 1)} ms (last rows of the tables; ${fmt(small.plan.lines)} suspends, a shorter and noisier run${small.measured.cpu ? `, the machine ${pct(small.measured.cpu.machineBusy)} busy` : ''}).`
        : '') +
      ` Machine: ${full
        .filter((s) => s.measured.cpu)
        .map((s) => {
          const cpu = s.measured.cpu!;
          const ours = cpu.server + cpu.devnet + cpu.postgres + cpu.bench;
          const other = cpu.machineBusy * nproc - ours;
          return `${pct(cpu.machineBusy)} of all ${nproc} cores busy at ${fmt(s.ledgerMs)} ms, ${fmt(ours, 1)} cores of it these processes${other > 0.2 ? ` and ${fmt(other, 1)} other work on the shared machine` : ''}`;
        })
        .join('; ')}. ${(() => {
        const cpus = full.flatMap((s) => (s.measured.cpu ? [s.measured.cpu] : []));
        if (cpus.some((c) => c.machineBusy > 0.9)) return 'The machine was saturated: every process here waited for a core.';
        if (cpus.some((c) => c.devnet > 0.9)) return "The devnet's one thread was saturated.";
        return "No core was saturated; the devnet's one thread came closest.";
      })()}`,
  );

  // Confirmation.
  notes.push(
    `**Confirmation: the tracker's passes, after the ledger closes.** A transaction is confirmed once the ledger holding it has closed (a wait of half an interval on average, up to a whole one), then when the tracker reaches it: \`track()\` takes up to 50 pending rows, oldest first, asks \`getTransaction\` for them 8 at a time, and applies the events of all those in a ledger and confirms them in one database transaction (indexer cursor lock, event ingestion, \`confirmByHashes\`, \`chain_transaction.confirmed\` events); a pass that confirmed anything runs again at once, one that confirmed nothing sleeps ${settings.trackerMs} ms. ` +
      scenarios
        .map((s) => {
          const r = s.measured;
          const c = r.confirmation;
          // Kept up: the last confirmation came within a ledger interval (the wait for the last close) and a second of the last answer.
          const lag = c.allConfirmedSeconds - r.submission.wallSeconds;
          const keeps = lag <= s.ledgerMs / 1000 + 1;
          return `${label(s)}: a closed ledger's rows were confirmed at ${fmt(c.trackerRate)}/s, and confirmations ${keeps ? 'kept up with' : '**fell behind**'} the ${fmt(submitRate(r))}/s submitted (${fmt(confirmRate(r))}/s end to end, the last confirmation ${keeps ? 'within one ledger interval of' : 'well after'} the last answer); a row was confirmed ${fmt(c.afterClose.p50)} ms (p50) after its ledger closed, the last ${fmt(c.allConfirmedSeconds - r.submission.wallSeconds, 1)} s after the last submission.`;
        })
        .join(' ') +
      (() => {
        // Runs whose confirmations all came after the last answer, from one ledger: the tracker with the devnet otherwise idle.
        const idle = scenarios.flatMap((s) =>
          runsOf(s)
            .filter(({ run }) => run.confirmation.ledgers === 1 && run.confirmation.firstConfirmedSeconds > run.submission.wallSeconds)
            .map(({ name, run }) => `${fmt(run.confirmation.trackerRate)}/s (${label(s)}, ${name.replace(/\*/g, '')}: its ${fmt(run.confirmation.confirmed)} rows in one ledger closed after the last answer)`),
        );
        return idle.length > 0
          ? ` Each confirmation's \`getTransaction\` also queues at the devnet behind the simulations: with no submissions running the same loop confirmed ${idle.join(', ')}.`
          : '';
      })() +
      ' When the tracker is below the submission rate, confirmations fall further behind the closes as the run goes on (the p99 after close), and the tracker bounds the end-to-end rate; at or above it, a row is confirmed within about one pass of its ledger closing and the submissions bound the end-to-end rate.',
  );
  notes.push(
    `The devnet applies a ledger's transactions synchronously when it closes (${full.map((s) => { const c = closeStats(s.measured.closes); return `${fmt(c.closeMs)} ms on average, up to ${fmt(c.maxCloseMs)} ms for ${fmt(c.maxTxs)} transactions, every ${fmt(s.ledgerMs)} ms`; }).join('; ')}) and answers no RPC call meanwhile; the submission holding the lock then waits that long. A real RPC node keeps answering while its core closes ledgers. Hence the longer tails: p99 ${full.map((s) => `${fmt(s.measured.submission.latencyP99Ms)} ms at ${fmt(s.ledgerMs)} ms ledgers`).join(', ')}.`,
  );
  notes.push(
    '**The devnet is not the network here.** stellar-core admits only one transaction per source account in its queue (`LIMIT_TX_QUEUE_SOURCE_ACCOUNT`, made mandatory by stellar/stellar-core#3869): a second transaction from the operator account before the first is in a ledger is answered TRY_AGAIN_LATER. The devnet, like earlier cores, queues chains of sequence numbers from one account, so these figures are what the backend sustains, not what a real network admits. On testnet/mainnet one operator account lands at most one transaction per ledger (~5 s), about 0.2 admin actions/s; and since the sequence lock is held across `send`, which retries TRY_AGAIN_LATER with backoff (`CHAIN_TX_MAX_ATTEMPTS` 5, `CHAIN_TX_RETRY_DELAY_MS` 500 doubling: 7.5 s in all), concurrent admin calls would queue on the lock and most would end in 503 `chain_busy`. More than one admin action per ledger needs several source accounts (channel accounts, each with its own `chain_accounts` row and lock, the contract admin authorising through the Soroban auth entry): a change to src/services/chain/chainTransactionService.ts, not made here.',
  );
  const warnings = scenarios.reduce((a, s) => a + s.warnings.count, 0);
  const firstWarning = scenarios.find((s) => s.warnings.first)?.warnings.first;
  notes.push(
    warnings === 0
      ? 'The servers logged no warnings or errors.'
      : `The servers logged ${warnings} warning/error lines; the first: \`${(firstWarning ?? '').slice(0, 300).replace(/`/g, "'")}\`.`,
  );

  return [
    SECTION_START,
    '## Acting on the chain: admin transactions submitted and confirmed per second',
    '',
    `_Generated by \`npm run bench:chain-transactions\` (scripts/bench/chainTransactions.ts) on ${machine.date}. Re-running the script replaces only this section._`,
    '',
    '### Machine',
    '',
    `- CPU: ${machine.cpu}, \`nproc\` = ${machine.nproc}. **PostgreSQL, the API server, the devnet and the load generator all share these ${machine.nproc} cores.**`,
    `- Memory: ${machine.memory}; OS: ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}`,
    `- Commit: ${machine.commit}`,
    `- Load average (1/5/15 min) before the run: ${machine.loadStart}; after: ${machine.loadEnd}. Other work on the machine (test suites, other benchmarks) shared the cores during the run (the 1-minute load when each run started is in the table; above ${machine.nproc}, processes were waiting for a core). Treat the figures as indicative.`,
    '',
    '### Method',
    '',
    `- Three processes besides PostgreSQL. **The devnet** (scripts/devnet: Soroban RPC over loopback HTTP and the Credit contract model; wall clock) runs in a child process of its own (this script forked with \`BENCH_CHAIN_TX_ROLE=devnet\`, driven over IPC), so its work stalls neither the load generator nor the measurements. Ledgers close every ${scenarios.map((s) => `${fmt(s.ledgerMs)} ms`).filter((v, i, a) => a.indexOf(v) === i).join(' or ')} on a timer in that process — what \`startDevnet({ ledgerIntervalMs })\` does (a \`setInterval\` calling \`closeLedger()\`), but timing and counting each close. 1,000 ms is a fast network; 5,000 ms is testnet/mainnet's cadence. **The server** (\`node --import tsx src/index.ts\`) is a child process on a free 127.0.0.1 port. **The benchmark process** runs autocannon and the SQL sampling.`,
    `- Per scenario, from scratch: a scratch database \`bench_<random>\` (dropped at the end) and a fresh devnet. Lines are opened on the contract (\`open_credit_line\` for random borrowers: limit 1,000, 10 %, risk 20), then indexed by a container in the benchmark process (\`loadConfig\` + \`createContainer\`, \`ChainIndexer.tick()\` until 0; it also migrates the database), closed before the server starts, so the database holds them as lines bound to the contract (first scenario: ${fmt(first.seed.openMs / 1000, 1)} s to open ${fmt(first.seed.lines)} lines — each call copies the contract state —, ${fmt(first.seed.indexMs / 1000, 1)} s to index them).`,
    `- Server environment: \`NODE_ENV=development\`, \`DB_POOL_MAX=${POOL_MAX}\`, \`STELLAR_RPC_URL\` / \`CREDIT_CONTRACT_IDS\` / \`STELLAR_NETWORK_PASSPHRASE\` the devnet's, \`STELLAR_OPERATOR_SECRET\` the devnet's contract admin, \`WORKERS=chain-transactions\` (the tracker alone: no indexer, so every confirmation is the tracker's) with \`CHAIN_TX_INTERVAL_MS=${settings.trackerMs}\`, other \`CHAIN_TX_*\` at their defaults, \`RISK_PROVIDER=static\`, \`WALLET_AUTH=optional\`, \`LOG_LEVEL=warn\`, \`RATE_LIMIT_PER_MIN=1000000000\`, admin and client API keys.`,
    `- Load: autocannon 9, on loopback, ${settings.connections} connections, \`POST /api/credit/lines/:id/suspend\` with the admin key and body \`{}\` (no \`Idempotency-Key\`), exactly once per line (\`amount\` = lines; each request takes the next line); every answer should be 202 \`{ creditLine, chainTransaction }\`, the transaction \`pending\`. A warm-up first (waited until confirmed; not a measured run), then the measured lines: ${scenarios.map((s) => `${label(s)}: ${fmt(s.plan.warmup)} + ${fmt(s.plan.lines)}`).join('; ')}.`,
    '- Submission rate = answers / time from the first request to the last answer; p50/p99/max are autocannon\'s. Lock and session columns: `pg_stat_activity` of the server\'s sessions every 20 ms while the requests were answered (waiting on a lock = `wait_event_type = \'Lock\'`; idle in transaction = the lock holder waiting on the devnet or the event loop, and requests simulating, whose transaction is already open). Confirmation comes from `chain_transactions`: "all confirmed" is the last row\'s `settled_at` after the first request, and the end-to-end rate is transactions / that; submit → confirmed is `settled_at − submitted_at` per transaction; after close is `settled_at` − the wall-clock close of the transaction\'s ledger; tracker rate = how fast a closed ledger\'s transactions were confirmed (ledgers holding at least 10, together: their count / (the last one\'s `settled_at` − the ledger\'s close)); it includes the wait for the next pass and any backlog from earlier ledgers, so it is a lower bound on what the tracker can do.',
    '- CPU: user + system time (`/proc/<pid>/stat`) of the server, of the devnet, of PostgreSQL (the scratch database\'s backends and the server-wide background processes) and of the benchmark process, from the first request until every transaction was confirmed; machine busy from `/proc/stat` (all cores).',
    `- RPC alone: after the server stopped and the ledger timer with it, more suspends (${scenarios.map((s) => fmt(s.plan.baseline)).join(' / ')}) built, simulated, assembled, signed and sent one after another by the backend's own \`ContractSubmitter\` over \`SorobanRpcClient\` from the benchmark process, then one \`getTransaction\` each after a close: one submission's RPC cost with no queue in front of it.`,
    '',
    '### Submission (HTTP, autocannon)',
    '',
    `| ${SCENARIO_HEADER} | Run | Lines | Time (s) | Submitted/s (202) | p50 (ms) | p99 (ms) | max (ms) | Status codes | Errors | Non-2xx | Sessions waiting on a lock: mean (share of samples with any) | Sessions idle in transaction / running a statement (mean) | Load avg (1 min) |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...submissionRows,
    '',
    '### Confirmation (the tracker, from the first request)',
    '',
    `| ${SCENARIO_HEADER} | Run | Confirmed | First confirmed (s) | All confirmed (s) | … after the last answer (s) | Confirmed/s end to end | Submit → confirmed p50 / p99 / max (ms) | After its ledger closed p50 / p99 (ms) | Ledgers (most in one) | Tracker rate (tx/s) |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...confirmationRows,
    '',
    '### Correctness (SQL after each scenario: warm-up and measured lines together)',
    '',
    `| ${SCENARIO_HEADER} | Check | Expected | Found | OK? |`,
    '| --- | --- | ---: | --- | --- |',
    ...checkRows,
    '',
    '### Where the time goes (measured runs)',
    '',
    `| ${SCENARIO_HEADER} | Window (s) | Machine busy (all cores) | Server (share of one core) | Devnet | PostgreSQL | Benchmark process | CPU per transaction: server / devnet / PostgreSQL (ms) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...cpuRows,
    '',
    `| ${SCENARIO_HEADER} | Ledger closes | Interval mean / max (ms) | Most transactions in one ledger | closeLedger() blocking the devnet, mean / max (ms) | One copy of the contract state (ms) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...closeRows,
    ...(baselineRows.length > 0
      ? [
          '',
          'RPC alone (serial, no server, no database; mean per transaction):',
          '',
          `| ${SCENARIO_HEADER} | Transactions | simulate (ms) | assemble + sign (ms) | send (ms) | 1 / all three (tx/s) | 1 / (assemble + sign + send) (tx/s) | getTransaction (ms) |`,
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
          ...baselineRows,
        ]
      : []),
    '',
    '### Targets',
    '',
    'None: issue 8 asks for the figure ("admin transactions submitted and confirmed per second against the devnet, figure in docs/benchmarks.md") and sets no threshold. Measured: ' +
      scenarios.map((s) => `${fmt(s.ledgerMs)} ms ledgers, ${fmt(s.seed.lines)} lines on the contract: **${fmt(submitRate(s.measured))} submitted/s, ${fmt(confirmRate(s.measured))} confirmed/s end to end**`).join('; ') +
      `. Correctness checks: ${scenarios.every((s) => s.checks.ok) ? 'all passed' : '**some failed** (see above)'}.`,
    '',
    '### Notes',
    '',
    ...notes.map((n) => `- ${n}`),
    SECTION_END,
  ].join('\n');
}

// ------------------------------------------------------------------------------------------- main

/** The measured scenarios: every ledger interval at full size, then one small contract state at the first interval. */
function plans(): Plan[] {
  const full = settings.ledgerMs.map((ledgerMs) => ({ ledgerMs, lines: settings.lines, warmup: settings.warmup, baseline: settings.baseline }));
  if (settings.smallLines === 0) return full;
  const small = { ledgerMs: settings.ledgerMs[0]!, lines: settings.smallLines, warmup: Math.min(settings.warmup, 100), baseline: Math.min(settings.baseline, 100) };
  return [...full, small];
}

async function main(): Promise<void> {
  const adminUrl = loopbackUrl(settings.adminUrl);
  const machine = await machineFacts(adminUrl);
  log(`${machine.cpu} x${machine.nproc}, Node ${machine.node}, PostgreSQL ${machine.postgres}; load ${machine.loadStart}`);
  const scenarios: Scenario[] = [];
  for (const plan of plans()) scenarios.push(await scenario(adminUrl, plan));
  machine.loadEnd = loadAvg();
  const section = renderSection(machine, scenarios);
  if (settings.write) {
    writeSection(settings.output, section, { start: SECTION_START, end: SECTION_END });
    log(`wrote the chain-transactions section of ${path.relative(ROOT, settings.output)}`);
  } else {
    process.stdout.write(`\n${section}\n\n`);
  }
}

if (IS_DEVNET_CHILD) {
  devnetChild().catch((error: unknown) => {
    process.stderr.write(`devnet process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
} else {
  // Whole-run watchdog: a wedged step cannot keep the benchmark, its children or its databases alive for ever.
  const budgetMs = plans().reduce((a, p) => a + (600 + (p.lines + p.warmup + p.baseline) / 5) * 1000, 0);
  runBenchmark('bench:chain-transactions', budgetMs, main);
}
