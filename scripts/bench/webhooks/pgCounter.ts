/**
 * Preloaded into the service (`node --import tsx --import ./scripts/bench/webhooks/pgCounter.ts src/index.ts`) by the
 * profiled run of `npm run bench:webhooks` only: counts every statement the service sends to PostgreSQL, by kind, with
 * the time from sending it to its result, and the event loop's utilisation, without touching src/. Every 250 ms (and
 * at exit) it writes the cumulative figures to BENCH_PG_COUNTER_FILE; the benchmark diffs two snapshots.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

export interface CounterSnapshot {
  at: number;
  statements: Record<string, { count: number; ms: number }>;
  elu: { idle: number; active: number };
  cpu: { user: number; system: number };
}

/**
 * "INSERT webhook_attempts", "SELECT webhook_endpoints", "UPDATE jobs SET locked_until" (a lease renewal),
 * "UPDATE jobs SET status='done'" (a completion), "SELECT advisory lock", "BEGIN", … An UPDATE is named by its first
 * assignment, so the job queue's different updates stay apart.
 */
export function statementKind(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').trim();
  const verb = (text.split(' ')[0] ?? '').toUpperCase();
  if (/pg_(try_)?advisory_(un)?lock/i.test(text)) return 'SELECT advisory lock/unlock';
  if (verb === 'INSERT') return `INSERT ${/^INSERT INTO (\w+)/i.exec(text)?.[1] ?? '?'}`;
  if (verb === 'DELETE') return `DELETE ${/^DELETE FROM (\w+)/i.exec(text)?.[1] ?? '?'}`;
  if (verb === 'UPDATE' || verb === 'WITH') {
    // A WITH … UPDATE is named by its UPDATE: the job claim is one in some versions of the repository.
    const match = /\bUPDATE (\w+) SET (\w+)\s*=\s*('[^']*')?/i.exec(text);
    if (match) return `${verb === 'WITH' ? 'WITH … ' : ''}UPDATE ${match[1]} SET ${match[2]}${match[3] ? `=${match[3]}` : ''}`;
    if (verb === 'UPDATE') return 'UPDATE ?';
  }
  if (verb === 'SELECT') {
    const table = /\bFROM (\w+)/i.exec(text)?.[1];
    return `SELECT ${table ?? ''}${/FOR UPDATE SKIP LOCKED/i.test(text) ? ' FOR UPDATE SKIP LOCKED' : ''}`.trim();
  }
  return verb;
}

const file = process.env.BENCH_PG_COUNTER_FILE;
if (file) {
  const stats = new Map<string, { count: number; ms: number }>();
  const record = (kind: string, ms: number) => {
    const entry = stats.get(kind) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += ms;
    stats.set(kind, entry);
  };
  type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const sql = typeof first === 'string' ? first : (first?.text ?? '');
    const kind = statementKind(sql);
    const started = performance.now();
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      // Callback form (what pg.Pool#query uses): time until the callback.
      args[last] = (...cbArgs: unknown[]) => {
        record(kind, performance.now() - started);
        return (callback as (...a: unknown[]) => unknown)(...cbArgs);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      const done = () => record(kind, performance.now() - started);
      (result as Promise<unknown>).then(done, done);
    }
    return result;
  };

  const snapshot = (): CounterSnapshot => {
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    return { at: Date.now(), statements: Object.fromEntries(stats), elu: { idle: elu.idle, active: elu.active }, cpu: { user: cpu.user, system: cpu.system } };
  };
  const flush = () => {
    try {
      writeFileSync(file, JSON.stringify(snapshot()));
    } catch {
      // the benchmark reads what it can; a failed write only loses one sample
    }
  };
  setInterval(flush, 250).unref();
  process.on('exit', flush);
}
