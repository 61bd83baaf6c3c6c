import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/db/db.js';
import { migrate } from '../../src/db/migrator.js';
import { createPgliteDb } from '../../src/db/pgliteDb.js';
import { createPostgresDb } from '../../src/db/postgresDb.js';
import { createMemoryStore } from '../../src/repositories/memory/memoryStore.js';
import { createSqlStore } from '../../src/repositories/postgres/postgresStore.js';
import type { Store } from '../../src/repositories/repositories.js';

export type StorageKind = 'memory' | 'pglite' | 'postgres';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

/** The storages every contract and integration suite runs against; PostgreSQL only when TEST_DATABASE_URL is set. */
export const STORAGE_KINDS: StorageKind[] = ['memory', 'pglite', ...(TEST_DATABASE_URL ? (['postgres'] as const) : [])];
export const SQL_STORAGE_KINDS = STORAGE_KINDS.filter((kind) => kind !== 'memory') as Exclude<StorageKind, 'memory'>[];

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh, empty PostgreSQL database for one test file, dropped again by `drop`. */
export async function createScratchPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `creditra_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: withDatabase(TEST_DATABASE_URL, name),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface TestDatabase {
  kind: Exclude<StorageKind, 'memory'>;
  db: Db;
  url?: string;
  /** Empties every table (keeps the schema) so tests in one file start clean. */
  truncate(): Promise<void>;
  close(): Promise<void>;
}

export async function openTestDatabase(kind: Exclude<StorageKind, 'memory'>, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  let db: Db;
  let url: string | undefined;
  let drop = async () => undefined as void;
  if (kind === 'pglite') {
    db = await createPgliteDb();
  } else {
    const scratch = await createScratchPostgres();
    url = scratch.url;
    drop = scratch.drop;
    db = createPostgresDb(url, { poolMax: 20 });
  }
  if (options.migrate !== false) await migrate(db);
  return {
    kind,
    db,
    url,
    async truncate() {
      const { rows } = await db.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'",
      );
      if (rows.length > 0) await db.query(`TRUNCATE ${rows.map((r) => r.tablename).join(', ')} CASCADE`);
    },
    async close() {
      try {
        await db.close();
      } finally {
        await drop(); // a scratch database is never left behind
      }
    },
  };
}

/** A Store for the given kind plus a way to reset and close it. */
export async function openTestStore(kind: StorageKind): Promise<{ store: Store; reset: () => Promise<Store>; close: () => Promise<void> }> {
  if (kind === 'memory') {
    let store = createMemoryStore();
    return {
      get store() {
        return store;
      },
      reset: async () => (store = createMemoryStore()),
      close: async () => undefined,
    };
  }
  const database = await openTestDatabase(kind);
  const store = createSqlStore(database.db);
  return {
    store,
    reset: async () => {
      await database.truncate();
      return store;
    },
    close: () => database.close(),
  };
}
