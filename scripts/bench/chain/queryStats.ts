import { performance } from 'node:perf_hooks';
import type { Db, Queryable } from '../../../src/db/db.js';

/**
 * A Db that counts what the backend asks of PostgreSQL: statements by kind and the time spent awaiting them.
 * Handed to createContainer as its database, so the service code runs unchanged.
 */
export interface QueryStats {
  queries: number;
  ms: number;
  byStatement: Map<string, { count: number; ms: number }>;
}

export const emptyStats = (): QueryStats => ({ queries: 0, ms: 0, byStatement: new Map() });

/** "INSERT INTO chain_events", "SELECT … FROM credit_lines", "UPDATE credit_lines", … */
function statementKind(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').trim();
  const verb = text.split(' ')[0]!.toUpperCase();
  const table =
    /\b(?:INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_]+)/i.exec(text)?.[1] ?? /\bFROM\s+([a-z_]+)/i.exec(text)?.[1] ?? '';
  return table ? `${verb} ${table}` : verb;
}

export function countingDb(db: Db): { db: Db; stats: () => QueryStats; reset: () => void } {
  let stats = emptyStats();
  const wrap = (q: Queryable): Queryable => ({
    async query(sql, params) {
      const started = performance.now();
      try {
        return await q.query(sql, params);
      } finally {
        const ms = performance.now() - started;
        stats.queries++;
        stats.ms += ms;
        const kind = statementKind(sql);
        const entry = stats.byStatement.get(kind) ?? { count: 0, ms: 0 };
        entry.count++;
        entry.ms += ms;
        stats.byStatement.set(kind, entry);
      }
    },
    exec: (sql) => q.exec(sql),
  });
  const counted: Db = {
    kind: db.kind,
    ...wrap(db),
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    tryExclusive: (name, work) => db.tryExclusive(name, work),
    close: () => db.close(),
  };
  return {
    db: counted,
    stats: () => stats,
    reset: () => {
      stats = emptyStats();
    },
  };
}
