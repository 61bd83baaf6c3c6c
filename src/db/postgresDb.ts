import pg from 'pg';
import { ADVISORY_LOCK_NAMESPACE, type Db, type Queryable, type QueryResult } from './db.js';

// NUMERIC stays a string (money is parsed to bigint by the repositories); INT8 becomes bigint, never a lossy number.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

export function createPostgresDb(url: string, options: { poolMax?: number; applicationName?: string } = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolMax ?? 20,
    application_name: options.applicationName ?? 'creditra-backend',
    types,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  let closing: Promise<void> | undefined;

  const run = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> => {
    const result = await client.query(sql, params as unknown[] | undefined);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await pool.query(sql)),
    async transaction(work) {
      const client = await pool.connect();
      // One client runs one query at a time, and pg stops queueing a second one for us (deprecated in pg 8); the
      // transaction's statements are queued here, so a caller may read several things at once inside a transaction,
      // and COMMIT or ROLLBACK waits for whatever the work issued and did not wait for.
      let last: Promise<unknown> = Promise.resolve();
      const inTurn = <T>(next: () => Promise<T>): Promise<T> => {
        const result = last.then(next, next);
        last = result.catch(() => undefined);
        return result;
      };
      const statement = (sql: string) => inTurn(async () => void (await client.query(sql)));
      const tx: Queryable = { query: (sql, params) => inTurn(() => run(client, sql, params)), exec: statement };
      try {
        await statement('BEGIN');
        const result = await work(tx);
        await statement('COMMIT');
        return result;
      } catch (error) {
        await statement('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async tryExclusive(name, work) {
      const client = await pool.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [ADVISORY_LOCK_NAMESPACE, name]);
        if (!rows[0]?.locked) return { ran: false };
        try {
          return { ran: true, result: await work() };
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ADVISORY_LOCK_NAMESPACE, name]);
        }
      } finally {
        client.release();
      }
    },
    close: () => (closing ??= pool.end()),
  };
}
