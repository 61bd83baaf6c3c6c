import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SECTION_START = '<!-- bench:webhooks:start -->';
export const SECTION_END = '<!-- bench:webhooks:end -->';

export interface Settings {
  events: number;
  events4: number;
  drainSeconds: number;
  rate: number;
  lagSeconds: number;
  floorRate: number;
  sweepEvents: number;
  batchSize: number;
  intervalMs: number;
  poolMax: number;
  insertBatch: number;
  steadyTickMs: number;
  targetEventsPerSecond: number;
  /** A module preloaded into the service (a what-if experiment), if any. */
  serviceImport?: string;
}

/** What the statement counter preloaded into the service saw between two snapshots. */
export interface Profile {
  wallMs: number;
  deliveries: number;
  statements: Array<{ kind: string; count: number; ms: number }>;
  eventLoopUtilization: number;
  cpuMs: number;
}

export interface RunResult {
  scenario: string;
  mode: 'burst' | 'steady';
  /** Offered events/s in steady mode. */
  rate: number;
  batchSize: number;
  endpoints: number;
  events: number;
  deliveries: number;
  meanPayloadBytes: number;
  productionMs: number;
  productionTransactions: number;
  /** First commit (returned to the producer) to the last first-copy arrival. */
  spanMs: number;
  complete: boolean;
  /** Events that reached every endpoint (all of them when complete). */
  eventsDelivered: number;
  /** Events (that reached every endpoint) per second, first commit to last arrival. */
  eventsPerSecond: number;
  /** Deliveries/s within each quarter of the deliveries, by arrival order. */
  quarterRates: number[];
  deliveriesPerSecond: number;
  lag: { p50: number; p90: number; p99: number; max: number };
  duplicates: number;
  missing: number;
  /** Job status of the missing deliveries after the service stopped: queued/running = not sent within the time limit. */
  missingByStatus: Record<string, number>;
  unexpected: number;
  receiverProblems: { count: number; examples: string[] };
  failedAttempts: number;
  /** Mean `latency_ms` the service recorded for its attempts (the HTTP exchange with the receiver, whole ms). */
  meanSendMs: number;
  jobs: Record<string, number>;
  tables: Record<string, { ins: number; upd: number; hot: number }>;
  warmupDeliveries: number;
  cpu: { wallMs: number; serviceShare: number; postgresShare: number; benchShare: number; machineBusyShare: number };
  loadAtStart: number;
  warnings: number;
  firstWarning?: string;
  profile?: Profile;
}

export interface Machine {
  cpuModel: string;
  nproc: string;
  memory: string;
  os: string;
  node: string;
  postgres: string;
  commit: string;
  loadAvgStart: string;
  loadAvgEnd: string;
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const pct = (share: number) => `${fmt(share * 100)} %`;

function resultsTable(results: readonly RunResult[]): string {
  return [
    '| Run | Endpoints | `WEBHOOK_BATCH_SIZE` | Events | Production | First commit → last arrival (s) | Events/s delivered | Deliveries/s | Lag p50 / p90 / p99 / max (ms) | Duplicates | Missing | Load avg (1 min) |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...results.map((r) => {
      const production =
        r.mode === 'burst'
          ? `burst: ${r.productionTransactions} INSERTs in ${fmt(r.productionMs / 1000, 2)} s`
          : `steady: ${fmt(r.events / Math.max(r.productionMs / 1000, 0.001))}/s for ${fmt(r.productionMs / 1000, 1)} s, ${r.productionTransactions} transactions`;
      const incomplete = r.complete ? '' : ` (**incomplete**: ${fmt(r.eventsDelivered)} events reached every endpoint within the time limit)`;
      return `| ${r.scenario}${incomplete} | ${r.endpoints} | ${r.batchSize} | ${fmt(r.events)} | ${production} | ${fmt(r.spanMs / 1000, 2)} | **${fmt(r.eventsPerSecond)}** | ${fmt(r.deliveriesPerSecond)} | ${[r.lag.p50, r.lag.p90, r.lag.p99, r.lag.max].map((v) => fmt(v)).join(' / ')} | ${r.duplicates} | ${r.missing}${r.missing > 0 ? ` (${Object.entries(r.missingByStatus).map(([s, n]) => `${fmt(n)} ${s}`).join(', ')})` : ''} | ${r.loadAtStart.toFixed(2)} |`;
    }),
  ].join('\n');
}

function resourcesTable(results: readonly RunResult[]): string {
  return [
    '| Run | Deliveries/s by quarter of the run | Service CPU (share of one core) | PostgreSQL backends CPU | Benchmark process CPU | Whole machine busy | `jobs` rows updated per delivery (HOT) | Mean HTTP exchange (ms) | Failed attempts | Jobs by status | Warnings logged |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |',
    ...results.map((r) => {
      const jobs = r.tables.jobs;
      const total = r.deliveries + r.warmupDeliveries;
      const updates = jobs ? `${fmt(jobs.upd / total, 1)} (${fmt(jobs.hot / Math.max(jobs.upd, 1) * 100)} % HOT)` : 'n/a';
      const statuses = Object.entries(r.jobs).map(([s, n]) => `${s} ${fmt(n)}`).join(', ');
      return `| ${r.scenario} | ${r.quarterRates.map((q) => fmt(q)).join(' / ')} | ${pct(r.cpu.serviceShare)} | ${pct(r.cpu.postgresShare)} | ${pct(r.cpu.benchShare)} | ${pct(r.cpu.machineBusyShare)} | ${updates} | ${fmt(r.meanSendMs, 1)} | ${r.failedAttempts} | ${statuses} | ${r.warnings} |`;
    }),
  ].join('\n');
}

function profileTable(profile: Profile): string {
  const totalMs = profile.statements.reduce((s, x) => s + x.ms, 0);
  const totalCount = profile.statements.reduce((s, x) => s + x.count, 0);
  return [
    '| Statement | Count | per delivery | Time awaiting it (s) | µs each (mean) | Share of the run\'s wall time |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...profile.statements
      .slice(0, 12)
      .map((s) => `| \`${s.kind}\` | ${fmt(s.count)} | ${fmt(s.count / profile.deliveries, 2)} | ${fmt(s.ms / 1000, 2)} | ${fmt((s.ms / s.count) * 1000)} | ${pct(s.ms / profile.wallMs)} |`),
    `| **all statements** | ${fmt(totalCount)} | ${fmt(totalCount / profile.deliveries, 2)} | ${fmt(totalMs / 1000, 2)} | ${fmt((totalMs / Math.max(totalCount, 1)) * 1000)} | ${pct(totalMs / profile.wallMs)} |`,
  ].join('\n');
}

export interface Target {
  label: string;
  measured: string;
  met: boolean | 'reported';
}

export function targets(results: readonly RunResult[], settings: Settings): Target[] {
  const list: Target[] = [];
  for (const r of results.filter((x) => x.mode === 'burst' && x.scenario.startsWith('throughput'))) {
    list.push({
      label: `${r.scenario}: events delivered >= ${settings.targetEventsPerSecond}/s (${r.endpoints} endpoint${r.endpoints > 1 ? 's, an event counts once it reached all of them' : ''})`,
      measured: `${fmt(r.eventsPerSecond)} events/s${r.endpoints > 1 ? ` (${fmt(r.deliveriesPerSecond)} deliveries/s)` : ''}`,
      met: r.complete && r.eventsPerSecond >= settings.targetEventsPerSecond,
    });
  }
  for (const r of results.filter((x) => x.mode === 'steady')) {
    list.push({
      label: `${r.scenario}: commit → delivery lag at ${fmt(r.rate)} events/s${r.endpoints > 1 ? ` to ${r.endpoints} endpoints` : ''} (p50 / p99)`,
      measured: `${fmt(r.lag.p50)} / ${fmt(r.lag.p99)} ms`,
      met: 'reported',
    });
  }
  const dup = results.reduce((s, r) => s + r.duplicates, 0);
  const lost = (r: RunResult) => Object.entries(r.missingByStatus).filter(([status]) => status !== 'queued' && status !== 'running').reduce((s, [, n]) => s + n, 0);
  const missing = results.reduce((s, r) => s + lost(r), 0);
  const pending = results.reduce((s, r) => s + r.missing - lost(r), 0);
  const unexpected = results.reduce((s, r) => s + r.unexpected, 0);
  const bad = results.reduce((s, r) => s + r.receiverProblems.count, 0);
  list.push({
    label: 'every event delivered exactly once to every endpoint, correctly signed (all runs)',
    measured: `${dup} duplicates, ${missing} lost, ${unexpected} unexpected, ${bad} bad signatures/bodies${pending > 0 ? `; ${fmt(pending)} not yet sent when a run hit its time limit (still queued)` : ''}`,
    met: dup + missing + unexpected + bad === 0,
  });
  return list;
}

function targetsTable(list: readonly Target[]): string {
  return [
    '| Target | Measured | Met? |',
    '| --- | ---: | --- |',
    ...list.map((t) => `| ${t.label} | ${t.measured} | ${t.met === 'reported' ? 'reported' : t.met ? 'met' : '**not met**'} |`),
  ].join('\n');
}

/** Mean µs of one statement kind in a profile, or 0 when it does not occur. */
const meanMs = (p: Profile, kind: string) => {
  const s = p.statements.find((x) => x.kind === kind);
  return s && s.count > 0 ? s.ms / s.count : 0;
};

const rowUpdatesPerDelivery = (r: RunResult) => (r.tables.jobs?.upd ?? 0) / Math.max(r.deliveries + r.warmupDeliveries, 1);
const perDeliveryCount = (p: Profile, kind: string) => (p.statements.find((x) => x.kind === kind)?.count ?? 0) / p.deliveries;
/** The claim's statement kind: an UPDATE, or a WITH … UPDATE in later versions of the job repository. */
const claimKinds = (p: Profile) => p.statements.filter((x) => x.kind.endsWith("UPDATE jobs SET status='running'"));
/** More row updates per delivery than claim, one renewal and completion: the per-send renewal of the whole remaining batch. */
const QUADRATIC_RENEWAL_ROWS = 10;

/** What limits the rate and the lag, in figures from this run. */
function bottleneckNotes(results: readonly RunResult[], settings: Settings, nproc: number): string[] {
  const notes: string[] = [];
  const one = results.find((r) => r.scenario === 'throughput-1');
  const four = results.find((r) => r.scenario === 'throughput-4');
  const profiled = results.find((r) => r.profile);
  const p = profiled?.profile;
  if (profiled && p) {
    const perDelivery = p.wallMs / p.deliveries;
    const renewals = perDeliveryCount(p, 'UPDATE jobs SET locked_until');
    const renew = meanMs(p, 'UPDATE jobs SET locked_until') * renewals;
    const endpointReads = perDeliveryCount(p, 'SELECT webhook_endpoints');
    const endpointRead = meanMs(p, 'SELECT webhook_endpoints');
    const inTransaction = perDeliveryCount(p, 'INSERT webhook_attempts') > 0.5 && perDeliveryCount(p, 'BEGIN') > 0.5;
    const record = inTransaction
      ? meanMs(p, 'BEGIN') + meanMs(p, 'INSERT webhook_attempts') + meanMs(p, "UPDATE jobs SET status='done'") + meanMs(p, 'COMMIT')
      : 0;
    const claims = claimKinds(p);
    const claimCount = claims.reduce((sum, c) => sum + c.count, 0);
    const claimMs = claims.reduce((sum, c) => sum + c.ms, 0);
    const claim = claimMs / p.deliveries;
    const send = profiled.meanSendMs;
    const chain = renew + endpointReads * endpointRead + record + claim + (Number.isFinite(send) ? send : 0);
    const steps = [
      ...(renewals >= 0.1 ? [`the lease renewal \`UPDATE jobs SET locked_until\` (${fmt(renewals, 2)} per delivery, ${fmt(renew, 2)} ms)`] : []),
      `a fresh read of the endpoint (${fmt(endpointRead, 2)} ms)`,
      `the HTTP exchange (${send < 1 ? 'under 1 ms: the service records whole milliseconds and most are 0' : `${fmt(send, 1)} ms as recorded by the service`})`,
      ...(inTransaction
        ? [`the record transaction \`BEGIN\`, \`INSERT webhook_attempts\`, a second read of the endpoint, \`UPDATE jobs SET status='done'\`, \`COMMIT\` (${fmt(record + endpointRead, 2)} ms, five round trips and a synchronous commit)`]
        : []),
      `the batch's claim spread over its deliveries (${fmt(claim, 2)} ms; ${fmt(claimCount)} claims of ${fmt(claimMs / Math.max(claimCount, 1), 1)} ms on average)`,
    ];
    notes.push(
      `**Where a delivery's time goes** (profile-1, ${fmt(p.deliveries)} deliveries to one endpoint, ${fmt(perDelivery, 2)} ms each): deliveries to one endpoint are strictly sequential, and each one waits for ${steps.join(', then ')}: ${fmt(chain, 2)} ms of the ${fmt(perDelivery, 2)} ms; the rest is the service's own work between the awaits (signing, serialising, parsing results). ${fmt(p.statements.reduce((sum, x) => sum + x.count, 0) / p.deliveries, 1)} statements per delivery in all. The service's event loop was busy ${pct(p.eventLoopUtilization)} of the time (${fmt(p.cpuMs / p.deliveries, 2)} ms CPU per delivery): it ${p.eventLoopUtilization < 0.7 ? 'is not CPU-bound, it waits on PostgreSQL, one statement after another' : 'is close to CPU-bound'}.`,
    );
  }
  if (one?.tables.jobs) {
    const rows = rowUpdatesPerDelivery(one);
    if (rows > QUADRATIC_RENEWAL_ROWS) {
      notes.push(
        `**The lease renewal is the largest cost.** This version of \`WebhookService.dispatch\` renews the lease of *all the endpoint's remaining jobs of the batch* before every send (\`extendLease(queue.slice(i))\`), so a delivery updates about half a batch of \`jobs\` rows: ${fmt(rows, 1)} row updates per delivery measured in throughput-1 at \`WEBHOOK_BATCH_SIZE\` = ${one.batchSize}, where 2 or 3 would do (claim, completion, a rare renewal). Each row version copies the job's JSON payload (~${fmt(one.meanPayloadBytes + 300)} bytes) and, when not HOT, adds an entry to each of the table's indexes; the dead versions pile up faster than autovacuum removes them, which is why the rate *falls* while the backlog drains (see the quarters in Resources) and the claims slow down.`,
      );
    } else {
      notes.push(
        `\`jobs\` row updates per delivery in throughput-1: ${fmt(rows, 1)} (the claim and the completion; the lease is renewed only when it might not cover the next send), so the table does not bloat during a run.`,
      );
    }
    const bursts = results.filter((r) => r.mode === 'burst' && r.complete && r.quarterRates.length === 4);
    const slowStart = bursts.filter((r) => r.quarterRates[0]! < Math.max(...r.quarterRates.slice(1)) / 1.2);
    const q = one.quarterRates;
    if (slowStart.length > 0 && slowStart.length === bursts.length) {
      notes.push(
        `Every burst run starts slower than it ends (throughput-1 by quarter: ${q.map((x) => fmt(x)).join(' → ')} deliveries/s), also the small ones, so it is start-up, not the size of the backlog: the first quarter overlaps the production, the fan-out of the whole burst into delivery jobs (\`INSERT jobs\` of 500 rows at a time) on the same two cores, and V8 warming up a freshly started process. The claim is cheap (see the table above).`,
      );
    } else if (q.length === 4 && q[3]! < q[0]! / 1.3) {
      notes.push(`throughput-1's rate falls as the run goes on (${q.map((x) => fmt(x)).join(' → ')} deliveries/s by quarter): the \`jobs\` table accumulates dead row versions faster than autovacuum removes them.`);
    }
  }
  const sweep = results.filter((r) => r.endpoints === 1 && r.mode === 'burst' && r.complete && !r.profile).sort((a, b) => a.batchSize - b.batchSize);
  if (new Set(sweep.map((r) => r.batchSize)).size > 1) {
    const best = Math.max(...sweep.map((r) => r.eventsPerSecond));
    const worst = Math.min(...sweep.map((r) => r.eventsPerSecond));
    const growsWithBatch = rowUpdatesPerDelivery(sweep[sweep.length - 1]!) > rowUpdatesPerDelivery(sweep[0]!) * 2;
    notes.push(
      `Batch size, one endpoint: ${sweep.map((r) => `${r.batchSize} → ${fmt(r.eventsPerSecond)} events/s (${fmt(rowUpdatesPerDelivery(r), 1)} row updates per delivery)`).join('; ')}. ` +
        (growsWithBatch
          ? 'The rate falls as the batch grows, the signature of the per-send renewal of the whole remaining batch.'
          : best < worst * 1.25
            ? 'The batch size hardly matters any more: the cost is per delivery, not per batch.'
            : 'Row updates per delivery do not depend on the batch size; the differences come from how often a claim runs and how much it reads.') +
        (best < settings.targetEventsPerSecond ? ` No batch size reaches ${fmt(settings.targetEventsPerSecond)} events/s: the chain of statements per delivery is the limit.` : ''),
    );
  }
  if (one && four) {
    const cpuMsPerDelivery = ((four.cpu.serviceShare + four.cpu.postgresShare) * four.cpu.wallMs) / Math.max(four.deliveries - four.missing, 1);
    const ceiling = (nproc * 1000) / cpuMsPerDelivery;
    notes.push(
      `Four endpoints: ${fmt(four.deliveriesPerSecond)} deliveries/s against ${fmt(one.deliveriesPerSecond)} for one (×${fmt(four.deliveriesPerSecond / Math.max(one.deliveriesPerSecond, 1), 1)}): \`dispatch\` serves the endpoints of a batch in parallel (a batch of ${four.batchSize} holds about ${fmt(four.batchSize / 4)} jobs per endpoint), so four chains of statements overlap, and an event counts once the slowest endpoint has it. What bounds it is the CPU per delivery: the service and the PostgreSQL backends used ${fmt(cpuMsPerDelivery, 2)} ms of CPU per delivery together (${pct(four.cpu.serviceShare)} and ${pct(four.cpu.postgresShare)} of a core; the machine was ${pct(four.cpu.machineBusyShare)} busy, the benchmark's own producer and receiver included), so even with all ${nproc} cores fully busy this design would stop at about ${fmt(ceiling)} deliveries/s = ${fmt(ceiling / 4)} events/s to four endpoints, whatever the parallelism. ${fmt(settings.targetEventsPerSecond)} events/s to four endpoints means ${fmt(settings.targetEventsPerSecond * 4)} deliveries/s, i.e. at most ${fmt((nproc * 1000) / (settings.targetEventsPerSecond * 4), 2)} ms of CPU per delivery: fewer statements per delivery, not more concurrency.`,
    );
  }
  const lag = results.find((r) => r.scenario === 'lag-1');
  const floor = results.find((r) => r.scenario === 'floor-1');
  if (lag) {
    const keptUp = lag.complete && lag.spanMs <= lag.productionMs + 2_000;
    notes.push(
      keptUp
        ? `lag-1 kept up with ${fmt(lag.rate)} events/s${one && one.eventsPerSecond < lag.rate ? `, although throughput-1 drains a backlog at only ${fmt(one.eventsPerSecond)}/s: with events arriving steadily each claim finds only the few jobs fanned out since the previous one, and the queue stays short` : ''}. Its lag, p50 ${fmt(lag.lag.p50)} ms and p99 ${fmt(lag.lag.p99)} ms, is the polling intervals plus the time an event waits behind the batch in flight for its endpoint (no new claim for an endpoint until its batch is done). A backlog (after an outage of the workers or of the receiver) is drained at the throughput runs' rates.`
        : `lag-1 offered ${fmt(lag.rate)} events/s and the pipeline did not keep up (the last delivery came ${fmt((lag.spanMs - lag.productionMs) / 1000, 1)} s after the last commit): the queue grew during the whole production and the lag with it, so its percentiles measure the backlog and would be larger for a longer run.${floor ? ` Below the capacity (floor-1) the lag is the pipeline's own.` : ''}`,
    );
  }
  if (floor) {
    notes.push(
      `floor-1 (${fmt(floor.rate)} events/s): p50 ${fmt(floor.lag.p50)} ms, p99 ${fmt(floor.lag.p99)} ms. An idle worker sleeps \`WEBHOOK_DISPATCH_INTERVAL_MS\` (${settings.intervalMs} ms) between looks: an event waits for the fan-out worker's next tick and its delivery job for the dispatcher's next claim, up to ${2 * settings.intervalMs} ms together, plus one delivery's chain of statements.`,
    );
  }
  return notes;
}

function suggestions(results: readonly RunResult[], settings: Settings): string[] {
  const one = results.find((r) => r.scenario === 'throughput-1');
  const missed = results.filter((r) => r.scenario.startsWith('throughput') && !(r.complete && r.eventsPerSecond >= settings.targetEventsPerSecond));
  if (!one || missed.length === 0) return [];
  const fixes: string[] = [];
  if (rowUpdatesPerDelivery(one) > QUADRATIC_RENEWAL_ROWS) {
    fixes.push(
      'Renew leases by time, not before every send: extend the remaining jobs\' lease only when what is left of it might not cover the next send (`WEBHOOK_TIMEOUT_MS` plus a margin). One `UPDATE` of the remaining rows now and then instead of half a batch of row versions per delivery; the table stops bloating and the claim stays fast.',
    );
  }
  fixes.push(
    'Record a success in one autocommitted statement, `WITH attempt AS (INSERT INTO webhook_attempts …) UPDATE jobs SET status = \'done\' … WHERE id = $1 AND status = \'running\' AND locked_by = $2`, judging health from the endpoint row read just before the send (only when it was failing does `failingSince` need a write); keep the transaction for the failure path. That turns `BEGIN`, `INSERT`, `SELECT`, `UPDATE`, `COMMIT` into one round trip and halves the endpoint reads.',
    'Take the commit out of the per-endpoint chain: start the next send of the endpoint while the previous delivery\'s record is being written (await them all before the batch ends). The send order is unchanged, and a crash between a send and its record already means a resend (delivery is at least once). This shortens one endpoint\'s chain; it does not lower the CPU per delivery.',
    'For many endpoints (CPU per delivery): record the outcomes of a round of sends together, one multi-row `INSERT` of attempts and one `UPDATE jobs … FROM unnest(…)` for the completed jobs of all endpoints, instead of one statement (or five) per delivery.',
  );
  return [
    `**Suggested fixes** for ${missed.map((r) => r.scenario).join(' and ')} (src/services/webhookService.ts \`dispatch\` and \`deliver\`; not applied here, the benchmark does not change src/), in order of effect:`,
    ...fixes.map((f, i) => `  ${i + 1}. ${f}`),
  ];
}

export interface RenderInput {
  date: string;
  machine: Machine;
  settings: Settings;
  results: RunResult[];
}

export function renderSection(input: RenderInput): string {
  const { date, machine, settings, results } = input;
  const list = targets(results, settings);
  const missed = list.filter((t) => t.met === false);
  const marginal = results.filter(
    (r) => r.scenario.startsWith('throughput') && r.eventsPerSecond >= settings.targetEventsPerSecond && r.eventsPerSecond < settings.targetEventsPerSecond * 1.2,
  );
  const profiled = results.find((r) => r.profile);
  const problems = results.flatMap((r) => r.receiverProblems.examples.map((e) => `${r.scenario}: ${e}`)).slice(0, 5);
  const warned = results.filter((r) => r.warnings > 0);
  return [
    SECTION_START,
    '## Webhooks: delivery throughput and commit-to-delivery lag',
    '',
    `_Generated by \`npm run bench:webhooks\` (scripts/bench/webhooks.ts) on ${date}. Re-running the script replaces only this section._`,
    '',
    '### Machine',
    '',
    `- CPU: ${machine.cpuModel}, \`nproc\` = ${machine.nproc}; memory ${machine.memory}; ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}; commit ${machine.commit}`,
    `- Load average (1/5/15 min) before: ${machine.loadAvgStart}; after: ${machine.loadAvgEnd}. The machine is shared (another benchmark, tests, editors may run at the same time; the per-run load average is in the table): above ${machine.nproc}, other processes were competing for the cores, so treat the figures as indicative.`,
    ...(settings.serviceImport
      ? ['', `> **What-if run, not the service as committed:** every service process preloaded \`${settings.serviceImport}\` (BENCH_WEBHOOK_SERVICE_IMPORT).`]
      : []),
    '',
    '### Method',
    '',
    `- The real service process, \`node --import tsx src/index.ts\`, runs as a child with \`NODE_ENV=development\`, \`LOG_LEVEL=warn\`, \`WORKERS=webhook-fanout,webhook-dispatch\` (the scheduler runs both), \`WEBHOOK_DISPATCH_INTERVAL_MS=${settings.intervalMs}\`, \`WEBHOOK_BATCH_SIZE=${settings.batchSize}\` (deliveries leased per dispatch tick; fan-out reads 500 events per tick, its default), \`DB_POOL_MAX=${settings.poolMax}\`, \`WEBHOOK_ALLOW_PRIVATE_URLS=true\` (the receiver is on loopback) and \`WALLET_AUTH=optional\` (only so the three warm-up events can be made through the API without a SEP-10 token). Each run gets a fresh scratch database \`bench_wh_<random>\` (migrated by the service at start, dropped at the end) and a fresh service process.`,
    "- Receiver: a bare `node:http` server in the benchmark process on 127.0.0.1 that answers `200` with an empty body as soon as a request's body is in, and records every `webhook-id` per endpoint (`/hook/<n>`) with its arrival time (`Date.now()` when the headers arrived). After answering it verifies the Standard Webhooks signature with the endpoint's secret and that the body's `id` is the `webhook-id`.",
    '- Endpoints are registered through the admin API (`POST /api/webhooks`), then a credit line is opened, drawn on and repaid through the API: the service writes three real events, which are delivered first (warm-up, not measured) and whose payloads are the templates of the synthetic events.',
    `- Events are then **inserted directly into \`domain_events\`** (the outbox) by the benchmark, not made through the API, so the producer is never the bottleneck: 60 % \`credit_line.drawn\` and 40 % \`credit_line.repaid\` over 1,000 lines, each payload the service's own shape (the whole credit line after the change, amounts, ledger entry id; ~${fmt(results[0]?.meanPayloadBytes ?? 0)} bytes of JSON) with fresh ids and amounts, and \`created_at = clock_timestamp()\`, the moment the row is written, microseconds before its commit. What the API would add (line update, ledger entry, idempotency record in the same transaction) is the credit-lines benchmark's concern, not the webhooks pipeline's.`,
    `- Throughput runs: \`throughput-1\` commits ${fmt(settings.events)} events for one endpoint, \`throughput-4\` ${fmt(settings.events4)} events for four endpoints (the same ${fmt(settings.events4 * 4)} deliveries), as fast as possible, ${settings.insertBatch} rows per \`INSERT\` (one transaction each), while the workers run. Rate = events / (first commit returned to the producer → last first-copy arrival at the receiver); with 4 endpoints an event counts once it reached all four, and deliveries/s counts each copy. \`profile-1\` and \`batch-<n>\` are smaller runs of the same kind (${fmt(Math.min(settings.events, 3_000))} and ${fmt(settings.sweepEvents)} events) for the analysis below.`,
    `- Every run is bounded: one that has not delivered everything ${settings.drainSeconds} s after its production ended is cut off and reported as incomplete, with the rate of what was delivered and the job status of what was not.`,
    `- Lag runs: \`lag-1\` (and \`lag-4\` when run, 4 endpoints) commits ${fmt(settings.rate * settings.lagSeconds)} events at a steady ${settings.rate} events/s for ${settings.lagSeconds} s, \`floor-1\` ${fmt(settings.floorRate * settings.lagSeconds)} at ${settings.floorRate} events/s, one small transaction whenever the next event is due (checked every ≤ ${settings.steadyTickMs} ms, so mostly one row per transaction). Lag of a delivery = its first arrival − the event's \`created_at\` (same machine, same clock); percentiles are nearest-rank over every delivery. Lag in the throughput runs is mostly queueing behind the backlog and is shown for completeness.`,
    `- Exactly once: after the last arrival the benchmark waits 1.5 s more, then counts for every produced event and endpoint how often it arrived (duplicates = extra copies, missing = no copy, then looked up in \`jobs\`: still queued means not sent within the time limit, anything else lost), and any arrival of an id it did not produce.`,
    '- Resources: CPU time of the service process and of the PostgreSQL backends connected to the scratch database (from `/proc/<pid>/stat`) and of the benchmark process, over the window from just before the first commit to the last arrival; row updates from `pg_stat_user_tables` after the service stopped.',
    ...(profiled
      ? [
          '- `profile-1` repeats `throughput-1` with `scripts/bench/webhooks/pgCounter.ts` preloaded into the service (`node --import tsx --import …/pgCounter.ts src/index.ts`): it wraps `pg.Client#query` to count statements by kind and the time from sending each to its result, and samples the event-loop utilisation and CPU time; `src/` is unchanged. The wrapper costs a little, so that run\'s rate is not used for the targets.',
        ]
      : []),
    '',
    '### Results',
    '',
    resultsTable(results),
    '',
    '### Resources',
    '',
    resourcesTable(results),
    '',
    ...(profiled?.profile ? ['### Where the time goes (profile-1: statements the service sent to PostgreSQL)', '', profileTable(profiled.profile), ''] : []),
    '### Targets (PostgreSQL)',
    '',
    targetsTable(list),
    '',
    '### Notes',
    '',
    ...(missed.length > 0 ? [`- ${missed.length} of ${list.filter((t) => t.met !== 'reported').length} targets not met on this machine; figures are reported as measured.`] : []),
    ...marginal.map(
      (r) =>
        `- ${r.scenario} meets the ${fmt(settings.targetEventsPerSecond)} events/s target by less than 20 % (${fmt(r.eventsPerSecond)} events/s at a load average of ${r.loadAtStart.toFixed(2)}): on this shared machine runs of the same code differ by about that much with the load, so treat it as marginal.`,
    ),
    ...bottleneckNotes(results, settings, Number(machine.nproc) || 1).map((n) => `- ${n}`),
    ...(() => {
      const fixes = suggestions(results, settings);
      return fixes.length > 0 ? [`- ${fixes[0]}`, ...fixes.slice(1)] : [];
    })(),
    ...(problems.length > 0 ? [`- Receiver problems (first few): ${problems.map((p) => `\`${p.replace(/`/g, "'")}\``).join('; ')}`] : []),
    ...warned.map((r) => `- ${r.scenario}: the service logged ${r.warnings} warnings/errors; the first: \`${(r.firstWarning ?? '').replace(/`/g, "'")}\``),
    SECTION_END,
  ].join('\n');
}

/** Replaces this benchmark's section in the file (or appends it), leaving every other section as it was. */
export function writeSection(file: string, section: string): void {
  const header = '# Benchmarks\n\nEach section below is generated by a benchmark script and replaced only by that script; edit the scripts, not the figures.\n';
  // Read right before writing: other benchmarks may have rewritten their own sections meanwhile.
  const current = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const start = current.indexOf(SECTION_START);
  const end = start === -1 ? -1 : current.indexOf(SECTION_END, start);
  const next = start !== -1 && end !== -1 ? current.slice(0, start) + section + current.slice(end + SECTION_END.length) : `${current.trimEnd()}\n\n${section}\n`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, next);
}
