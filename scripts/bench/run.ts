/**
 * `npm run bench`: load-tests the credit-line API against PostgreSQL and PGlite, plus a bare Express
 * baseline, and writes the figures to docs/benchmarks.md (its own section only). A benchmark, not a
 * test: it exits 0 when a target is missed and says so in the document.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL  server for the scratch database (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_DURATION      seconds per measured run (default 10)
 *   BENCH_WARMUP        seconds of unrecorded warm-up before each run (default 2, 0 to skip)
 *   BENCH_CONNECTIONS   concurrent connections (default 50)
 *   BENCH_STORAGES      comma list of postgres,pglite (default both)
 *   BENCH_INFO_RUN      0 to skip the extra LOG_LEVEL=info run
 *   BENCH_OUTPUT        document to update (default docs/benchmarks.md)
 *   BENCH_CPU_PROF      a directory: API servers run with --cpu-prof and leave their profiles there
 *                       (profiling slows the server; do not publish figures from such a run)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import type autocannon from 'autocannon';
import { runLoad, rotatingPaths, type Measurement } from './load.js';
import { freePort, LOOPBACK, onCleanup, runBenchmark, startNodeServer, waitForOk, withTimeout, type RunningServer } from './processes.js';
import { loopbackUrl, scratchDatabase, withAdmin } from './database.js';
import { call, walletToken } from './walletAuth.js';
import { renderSection, resultsTable, targetsTable, writeSection, type Machine, type RunRecord, type Target } from './report.js';
import { ROOT, intEnv, sh, cpuModel } from './common.js';



const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  durationSeconds: intEnv('BENCH_DURATION', 10, 1, 600),
  warmupSeconds: intEnv('BENCH_WARMUP', 2, 0, 60),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
  storages: (process.env.BENCH_STORAGES || 'postgres,pglite').split(',').map((s) => s.trim()).filter(Boolean),
  infoRun: process.env.BENCH_INFO_RUN !== '0',
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT || 'docs/benchmarks.md'),
  cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  seedCount: 1000,
  seedConcurrency: 16,
  readyTimeoutMs: 90_000,
  drawAmount: '0.0000001',
};

const clientKey = `bench_client_${randomBytes(16).toString('hex')}`;
const adminKey = `bench_admin_${randomBytes(16).toString('hex')}`;
const authSigningSecret = Keypair.random().secret();
const authJwtSecret = randomBytes(32).toString('hex');
const workDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-'));
onCleanup(`remove ${workDir}`, async () => rmSync(workDir, { recursive: true, force: true }));

const log = (message: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function startApi(name: string, storageEnv: Record<string, string>, logLevel: string): Promise<RunningServer> {
  const port = await freePort();
  const server = await startNodeServer({
    name,
    cwd: ROOT,
    entry: 'src/index.ts',
    logFile: path.join(workDir, `${name}.log`),
    port,
    // One directory per server: the tsx loader thread writes its own (small) profile next to the main thread's.
    nodeArgs: settings.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(settings.cpuProfDir, name)] : [],
    env: {
      NODE_ENV: 'development',
      HOST: LOOPBACK,
      PORT: String(port),
      API_KEYS: clientKey,
      ADMIN_API_KEYS: adminKey,
      RATE_LIMIT_PER_MIN: '1000000000',
      CREDIT_LIMIT_MAX: '1000000000',
      // A fixed score (band A: a 20,000 limit) so seeding does not depend on a Horizon; risk has its own benchmark.
      RISK_PROVIDER: 'static',
      RISK_STATIC_SCORE: '90',
      // Wallet auth stays at its default (required); fixed secrets keep tokens valid across the restart
      // for the LOG_LEVEL=info run, and a long TTL outlasts the runs.
      AUTH_SIGNING_SECRET: authSigningSecret,
      AUTH_JWT_SECRET: authJwtSecret,
      AUTH_TOKEN_TTL_SECONDS: '7200',
      SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: logLevel,
      ...storageEnv,
    },
  });
  await waitForOk(server, '/health/ready', settings.readyTimeoutMs);
  log(`${name} ready on ${server.baseUrl} (pid ${server.child.pid})`);
  return server;
}

const jsonHeaders = () => ({ 'X-API-Key': clientKey, 'Content-Type': 'application/json' });

interface SeededLine {
  id: string;
  /** The wallet's SEP-10 bearer token, or undefined when this build has no wallet authentication. */
  token?: string;
}

/** Opens `count` lines through the API as their borrowers, `settings.seedConcurrency` at a time. */
async function seed(baseUrl: string, count: number): Promise<SeededLine[]> {
  const lines: SeededLine[] = [];
  let next = 0;
  const worker = async () => {
    // Bounded: each worker takes at most `count` items, and every request has its own timeout.
    for (let taken = 0; taken < count && next < count; taken++) {
      next++;
      const keypair = Keypair.random();
      const token = await walletToken(baseUrl, keypair, clientKey);
      const opened = await call(`${baseUrl}/api/credit/lines`, {
        method: 'POST',
        headers: { ...jsonHeaders(), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ walletAddress: keypair.publicKey() }), // terms from the wallet's risk evaluation
        expect: 201,
      });
      if (typeof opened.data.id !== 'string') throw new Error('seeding: the created line has no id');
      lines.push({ id: opened.data.id, token });
    }
  };
  await withTimeout(Promise.all(Array.from({ length: settings.seedConcurrency }, worker)), 300_000, 'seeding');
  return lines;
}

interface Scenario {
  name: string;
  requests: () => autocannon.RequestSpec[];
  /** One request made before the load, so a misconfigured scenario fails loudly instead of measuring 4xx. */
  probe: () => Promise<Response>;
}

function creditLineScenarios(baseUrl: string, lines: readonly SeededLine[]): Scenario[] {
  const byIdPaths = lines.map((line) => `/api/credit/lines/${line.id}`);
  const drawPaths = lines.map((line) => `/api/credit/lines/${line.id}/draw`);
  const drawHeaders = lines.map((line) => ({ ...jsonHeaders(), ...(line.token ? { Authorization: `Bearer ${line.token}` } : {}) }));
  const drawBody = JSON.stringify({ amount: settings.drawAmount });
  const keyPrefix = `bench-${randomBytes(6).toString('hex')}`;
  let drawCounter = 0;
  const get = (p: string) => fetch(`${baseUrl}${p}`, { headers: { 'X-API-Key': clientKey }, signal: AbortSignal.timeout(10_000) });
  return [
    {
      name: 'GET /api/credit/lines/:id',
      requests: () => [{ method: 'GET', headers: { 'X-API-Key': clientKey }, setupRequest: rotatingPaths(byIdPaths) }],
      probe: () => get(byIdPaths[0]!),
    },
    {
      name: 'GET /api/credit/lines?limit=100',
      requests: () => [{ method: 'GET', path: '/api/credit/lines?limit=100', headers: { 'X-API-Key': clientKey } }],
      probe: () => get('/api/credit/lines?limit=100'),
    },
    {
      name: 'POST /api/credit/lines/:id/draw',
      requests: () => [
        {
          method: 'POST',
          headers: jsonHeaders(),
          body: drawBody,
          setupRequest: (request) => {
            const n = drawCounter++;
            request.path = drawPaths[n % drawPaths.length]!;
            request.headers = { ...drawHeaders[n % drawHeaders.length]!, 'Idempotency-Key': `${keyPrefix}-${n}` };
            return request;
          },
        },
      ],
      probe: () =>
        fetch(`${baseUrl}${drawPaths[0]!}`, {
          method: 'POST',
          headers: { ...drawHeaders[0]!, 'Idempotency-Key': `${keyPrefix}-probe` },
          body: drawBody,
          signal: AbortSignal.timeout(10_000),
        }),
    },
  ];
}

const runs: RunRecord[] = [];
let walletTokens = false;

async function measure(server: RunningServer, scenario: Scenario, storage: string, logLevel: string): Promise<Measurement> {
  const probe = await scenario.probe();
  const probeText = await probe.text();
  if (probe.status < 200 || probe.status >= 300) throw new Error(`${scenario.name} probe answered ${probe.status}: ${probeText.slice(0, 300)}`);
  const load = { url: server.baseUrl, connections: settings.connections };
  if (settings.warmupSeconds > 0) await runLoad({ ...load, durationSeconds: settings.warmupSeconds, requests: scenario.requests() });
  const loadAvg1 = os.loadavg()[0] ?? 0;
  const measurement = await runLoad({ ...load, durationSeconds: settings.durationSeconds, requests: scenario.requests() });
  if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${server.name} died during "${scenario.name}"`);
  runs.push({ scenario: scenario.name, storage, logLevel, measurement, loadAvg1 });
  log(
    `${scenario.name} [${storage}, ${logLevel}]: ${Math.round(measurement.reqPerSecAvg)} req/s, p50 ${measurement.latencyP50Ms} ms, ` +
      `p99 ${measurement.latencyP99Ms} ms, ${measurement.totalRequests} requests, ${measurement.errors} errors, ${measurement.non2xx} non-2xx`,
  );
  return measurement;
}

async function benchBaseline(): Promise<void> {
  const port = await freePort();
  const server = await startNodeServer({
    name: 'express-hello',
    cwd: ROOT,
    entry: 'scripts/bench/hello.ts',
    logFile: path.join(workDir, 'express-hello.log'),
    port,
    env: { NODE_ENV: 'development', PORT: String(port) },
  });
  await waitForOk(server, '/', 30_000);
  log(`express-hello ready on ${server.baseUrl}`);
  await measure(
    server,
    {
      name: 'GET / (bare Express 5 "hello")',
      requests: () => [{ method: 'GET', path: '/' }],
      probe: () => fetch(`${server.baseUrl}/`, { signal: AbortSignal.timeout(10_000) }),
    },
    'none',
    '-',
  );
  await server.stop();
}

async function benchStorage(storage: 'postgres' | 'pglite', adminUrl: URL): Promise<void> {
  let storageEnv: Record<string, string>;
  if (storage === 'postgres') {
    storageEnv = { DATABASE_URL: await scratchDatabase(adminUrl, log) };
  } else {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'creditra-bench-pglite-'));
    onCleanup(`remove ${dataDir}`, async () => rmSync(dataDir, { recursive: true, force: true }));
    storageEnv = { DATA_DIR: dataDir };
  }
  const label = storage === 'postgres' ? 'PostgreSQL' : 'PGlite';

  const server = await startApi(`api-${storage}`, storageEnv, 'warn');
  const started = Date.now();
  const lines = await seed(server.baseUrl, settings.seedCount);
  walletTokens = lines.some((line) => line.token !== undefined);
  log(`seeded ${lines.length} credit lines${walletTokens ? ' (each with its wallet token)' : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const scenarios = creditLineScenarios(server.baseUrl, lines);
  for (const scenario of scenarios) await measure(server, scenario, label, 'warn');
  await server.stop();

  if (storage === 'postgres' && settings.infoRun) {
    const infoServer = await startApi('api-postgres-info', storageEnv, 'info');
    await measure(infoServer, creditLineScenarios(infoServer.baseUrl, lines)[0]!, label, 'info');
    await infoServer.stop();
  }
}



const loadAvg = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');

function evaluateTargets(): Target[] {
  const targets: Target[] = [];
  const pgRuns = runs.filter((r) => r.storage === 'PostgreSQL' && r.logLevel === 'warn');
  for (const run of pgRuns) {
    const m = run.measurement;
    const isDraw = run.scenario.includes('/draw');
    const floor = isDraw ? 1000 : 5000;
    targets.push({
      label: `${isDraw ? 'draws' : 'reads'} >= ${floor.toLocaleString('en-US')} req/s`,
      scenario: run.scenario,
      measured: `${Math.round(m.reqPerSecAvg).toLocaleString('en-US')} req/s`,
      met: m.reqPerSecAvg >= floor,
    });
    targets.push({ label: 'p99 <= 50 ms', scenario: run.scenario, measured: `${m.latencyP99Ms} ms`, met: m.latencyP99Ms <= 50 });
    const failures = m.errors + m.non2xx;
    targets.push({ label: 'no errors', scenario: run.scenario, measured: `${m.errors} errors, ${m.non2xx} non-2xx`, met: failures === 0 });
  }
  return targets;
}

async function main(): Promise<void> {
  const adminUrl = loopbackUrl(settings.adminUrl);
  for (const storage of settings.storages) {
    if (storage !== 'postgres' && storage !== 'pglite') throw new Error(`BENCH_STORAGES: unknown storage "${storage}"`);
  }
  const usesPostgres = settings.storages.includes('postgres');
  const postgresVersion = usesPostgres ? await withAdmin(adminUrl, async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown') : 'not measured';
  const pgliteVersion = (() => {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  })();

  const machine: Machine = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpuModel: cpuModel(),
    nproc: sh('nproc', []),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: postgresVersion,
    pglite: pgliteVersion,
    commit: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
    loadAvgStart: loadAvg(),
    loadAvgEnd: '',
  };
  log(`${machine.cpuModel} x${machine.nproc}, Node ${machine.node}; ${settings.connections} connections, ${settings.durationSeconds} s per run (+${settings.warmupSeconds} s warm-up)`);

  await benchBaseline();
  for (const storage of settings.storages) await benchStorage(storage as 'postgres' | 'pglite', adminUrl);
  machine.loadAvgEnd = loadAvg();

  const targets = usesPostgres ? evaluateTargets() : [];
  const notes: string[] = [];
  const missed = targets.filter((t) => !t.met);
  if (missed.length > 0) {
    notes.push(`${missed.length} of ${targets.length} PostgreSQL targets not met on this machine; see the table above. Figures are reported as measured.`);
  }
  if (settings.cpuProfDir) notes.push('The API servers ran with `--cpu-prof` (BENCH_CPU_PROF): profiling lowers these figures.');
  const hello = runs.find((r) => r.storage === 'none');
  if (hello) {
    notes.push(`The bare Express baseline reached ${Math.round(hello.measurement.reqPerSecAvg).toLocaleString('en-US')} req/s with the same load generator on the same cores: an upper bound for any Express route here.`);
  }
  const infoRun = runs.find((r) => r.logLevel === 'info');
  const warnById = runs.find((r) => r.storage === 'PostgreSQL' && r.logLevel === 'warn' && r.scenario === infoRun?.scenario);
  if (infoRun && warnById) {
    const change = (infoRun.measurement.reqPerSecAvg / warnById.measurement.reqPerSecAvg - 1) * 100;
    notes.push(`GET by id on PostgreSQL at LOG_LEVEL=info: ${Math.round(infoRun.measurement.reqPerSecAvg).toLocaleString('en-US')} req/s vs ${Math.round(warnById.measurement.reqPerSecAvg).toLocaleString('en-US')} at warn (${change >= 0 ? '+' : ''}${change.toFixed(0)} %). The two runs are sequential on a shared machine: a gap smaller than the run-to-run spread (compare the load averages) is noise, not the cost of logging.`);
  }

  const section = renderSection(
    machine,
    {
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      warmupSeconds: settings.warmupSeconds,
      seededLines: settings.seedCount,
      poolMax: '20 (default)',
      infoRun: Boolean(infoRun),
      walletTokens,
    },
    runs,
    targets,
    notes,
  );
  writeSection(settings.output, section);
  process.stdout.write(`\n${resultsTable(runs)}\n\n${targets.length ? `${targetsTable(targets)}\n\n` : ''}`);
  log(`wrote ${path.relative(ROOT, settings.output)}`);
}

// Whole-run watchdog: a wedged step cannot keep the benchmark (and its children) alive for ever.
const perRunSeconds = settings.durationSeconds + settings.warmupSeconds + 60;
const budgetMs = (600 + perRunSeconds * 9) * 1000;
runBenchmark('bench', budgetMs, main);
