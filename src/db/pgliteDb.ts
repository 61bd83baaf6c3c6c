import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './db.js';
import { inProcessExclusive } from '../lib/inProcessExclusive.js';

/** Embedded PostgreSQL (WASM). `dataDir` undefined keeps the database in memory (tests). */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({
    dataDir,
    parsers: {
      [types.INT8]: (value: string) => BigInt(value),
      // Keep NUMERIC as text, as pg does, so both drivers hand repositories the same shapes.
      [types.NUMERIC]: (value: string) => value,
    },
  });

  const wrap = (target: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      const result = await target.query<Row>(sql, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  });

  const root = wrap(pglite);
  let closing: Promise<void> | undefined;

  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (work) => pglite.transaction((tx) => work(wrap(tx))),
    // Lives inside this one process, so an in-process guard is the whole of "one runner per name".
    tryExclusive: inProcessExclusive(),
    close: () => (closing ??= pglite.close()),
  };
}
