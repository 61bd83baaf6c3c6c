import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresDb } from '../../../src/db/postgresDb.js';
import { migrate, MIGRATIONS_DIR, readMigrations, rollback, validateMigrations } from '../../../src/db/migrator.js';
import { checkSchema, SchemaMismatchError } from '../../../src/db/schemaCheck.js';
import { openTestDatabase, SQL_STORAGE_KINDS, TEST_DATABASE_URL, type TestDatabase } from '../../support/databases.js';

describe.each(SQL_STORAGE_KINDS)('migrations on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('applies every migration once, records its checksum, and is a no-op the second time', async () => {
    database = await openTestDatabase(kind, { migrate: false });
    const applied = await migrate(database.db);
    expect(applied).toEqual(readMigrations().map((m) => m.name));
    expect(await migrate(database.db)).toEqual([]);
    const { rows } = await database.db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
    expect(rows.map((r) => r.checksum)).toEqual(readMigrations().map((m) => m.checksum));
    await expect(checkSchema(database.db)).resolves.toBeUndefined();
    expect(await validateMigrations(database.db)).toEqual({ problems: [], pending: [] });
  });

  it('refuses to run when an applied migration was edited', async () => {
    database = await openTestDatabase(kind);
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    const first = readMigrations(dir)[0]!;
    writeFileSync(join(dir, `${first.name}.sql`), `${first.up}\n-- edited\n`);
    await expect(migrate(database.db, readMigrations(dir))).rejects.toThrow(/edited after it was applied/);
  });

  it('rolls back the last migration with its down file and can apply it again', async () => {
    database = await openTestDatabase(kind);
    const last = readMigrations().at(-1)!.name;
    expect(await rollback(database.db)).toEqual([last]);
    await expect(checkSchema(database.db)).rejects.toBeInstanceOf(SchemaMismatchError);
    expect(await migrate(database.db)).toEqual([last]);
  });

  it('stops the boot check with a message naming a missing index or column', async () => {
    database = await openTestDatabase(kind);
    await database.db.query('DROP INDEX credit_lines_one_open_per_wallet');
    await database.db.query('ALTER TABLE credit_transactions DROP COLUMN utilized_after');
    const error = await checkSchema(database.db).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaMismatchError);
    expect((error as Error).message).toContain('index credit_lines_one_open_per_wallet');
    expect((error as Error).message).toContain('column credit_transactions.utilized_after');
  });
});

describe.runIf(TEST_DATABASE_URL)('migrations from two processes at once (PostgreSQL)', () => {
  it('apply exactly once thanks to the advisory lock', async () => {
    const database = await openTestDatabase('postgres', { migrate: false });
    const a = createPostgresDb(database.url!, { poolMax: 2 });
    const b = createPostgresDb(database.url!, { poolMax: 2 });
    try {
      const [first, second] = await Promise.all([migrate(a), migrate(b)]);
      expect([...first, ...second]).toEqual(readMigrations().map((m) => m.name));
      const { rows } = await database.db.query<{ count: bigint }>('SELECT count(*) AS count FROM schema_migrations');
      expect(rows[0]!.count).toBe(BigInt(readMigrations().length));
    } finally {
      await a.close();
      await b.close();
      await database.close();
    }
  });
});
