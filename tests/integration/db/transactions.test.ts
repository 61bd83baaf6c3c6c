import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, SQL_STORAGE_KINDS, type TestDatabase } from '../../support/databases.js';

describe.each(SQL_STORAGE_KINDS)('Db transactions on %s', (kind) => {
  let database: TestDatabase | undefined;
  // pg 8 warns, and pg 9 will throw, when a client is handed a query while it runs another.
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(async () => {
    await database?.close();
    database = undefined;
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.includes('already executing a query'))).toEqual([]);
  });

  it('runs queries issued at once inside a transaction one after another, in the order they were issued', async () => {
    database = await openTestDatabase(kind, { migrate: false });
    const db = database.db;
    await db.exec('CREATE TABLE tx_order (n INT PRIMARY KEY)');
    const results = await db.transaction(async (tx) => {
      const inserts = Array.from({ length: 20 }, (_, n) => tx.query('INSERT INTO tx_order (n) VALUES ($1)', [n]));
      const count = tx.query<{ count: string }>('SELECT count(*)::text AS count FROM tx_order');
      await Promise.all(inserts);
      return (await count).rows[0]!.count;
    });
    expect(results).toBe('20');
    const { rows } = await db.query<{ n: number }>('SELECT n FROM tx_order ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('rolls everything back when one of the queries issued at once fails, after the others have run', async () => {
    database = await openTestDatabase(kind, { migrate: false });
    const db = database.db;
    await db.exec('CREATE TABLE tx_rollback (n INT PRIMARY KEY)');
    await expect(
      db.transaction(async (tx) => Promise.all([1, 1, 2, 3].map((n) => tx.query('INSERT INTO tx_rollback (n) VALUES ($1)', [n])))),
    ).rejects.toThrow(/duplicate key/);
    expect((await db.query('SELECT n FROM tx_rollback')).rows).toEqual([]);
    await db.transaction(async (tx) => tx.query('INSERT INTO tx_rollback (n) VALUES (1)'));
    expect((await db.query('SELECT n FROM tx_rollback')).rows).toEqual([{ n: 1 }]);
  });

  it('closes once: a second close (the container, then the test harness) does nothing more', async () => {
    database = await openTestDatabase(kind, { migrate: false });
    await Promise.all([database.db.close(), database.db.close()]);
    await expect(database.db.close()).resolves.toBeUndefined();
  });
});
