import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/paths.js';
import type { Db, Queryable } from './db.js';

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');

/** Every process that migrates takes this transaction-scoped advisory lock first, so two never race. */
const MIGRATION_LOCK_ID = 7_316_504_201;

export interface MigrationFile {
  name: string;
  up: string;
  down?: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  const files = readdirSync(dir);
  return files
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file) && !file.endsWith('.down.sql'))
    .sort()
    .map((file) => {
      const name = file.replace(/\.sql$/, '');
      const up = readFileSync(join(dir, file), 'utf8').replace(/\r\n/g, '\n');
      const downFile = `${name}.down.sql`;
      const down = files.includes(downFile) ? readFileSync(join(dir, downFile), 'utf8') : undefined;
      return { name, up, down, checksum: createHash('sha256').update(up).digest('hex') };
    });
}

interface AppliedRow {
  name: string;
  checksum: string;
}

async function lockAndReadApplied(tx: Queryable): Promise<AppliedRow[]> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
  await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await tx.query<AppliedRow>('SELECT name, checksum FROM schema_migrations ORDER BY name');
  return rows;
}

/** Compares what the database applied with what is on disk; returns problems, or nothing when in step. */
export function compareWithDisk(applied: AppliedRow[], files: MigrationFile[]): { problems: string[]; pending: MigrationFile[] } {
  const byName = new Map(files.map((file) => [file.name, file]));
  const problems: string[] = [];
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) problems.push(`migration ${row.name} is applied but its file is missing`);
    else if (file.checksum !== row.checksum) problems.push(`migration ${row.name} was edited after it was applied (checksum differs)`);
  }
  const appliedNames = new Set(applied.map((row) => row.name));
  const pending = files.filter((file) => !appliedNames.has(file.name));
  const lastApplied = applied.at(-1)?.name;
  for (const file of pending) {
    if (lastApplied && file.name < lastApplied) problems.push(`migration ${file.name} sorts before the already applied ${lastApplied}`);
  }
  return { problems, pending };
}

/** Applies pending migrations in order, all in one transaction: either every one lands or none. */
export async function migrate(db: Db, files = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    const applied = await lockAndReadApplied(tx);
    const { problems, pending } = compareWithDisk(applied, files);
    if (problems.length > 0) throw new MigrationError(problems.join('; '));
    for (const file of pending) {
      try {
        await tx.exec(file.up);
      } catch (error) {
        throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}`);
      }
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
    }
    return pending.map((file) => file.name);
  });
}

/** Rolls back the last `steps` applied migrations with their .down.sql files. */
export async function rollback(db: Db, steps = 1, files = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    const applied = await lockAndReadApplied(tx);
    const byName = new Map(files.map((file) => [file.name, file]));
    const undone: string[] = [];
    for (const row of applied.slice(-steps).reverse()) {
      const down = byName.get(row.name)?.down;
      if (!down) throw new MigrationError(`migration ${row.name} has no ${row.name}.down.sql`);
      await tx.exec(down);
      await tx.query('DELETE FROM schema_migrations WHERE name = $1', [row.name]);
      undone.push(row.name);
    }
    return undone;
  });
}

export async function validateMigrations(db: Db, files = readMigrations()): Promise<{ problems: string[]; pending: string[] }> {
  const applied = await db.transaction(lockAndReadApplied);
  const { problems, pending } = compareWithDisk(applied, files);
  return { problems, pending: pending.map((file) => file.name) };
}

export function createMigrationFiles(name: string, dir = MIGRATIONS_DIR): string[] {
  if (!/^[a-z0-9_]+$/.test(name)) throw new MigrationError('migration name must be lowercase letters, digits and underscores');
  const last = readMigrations(dir).at(-1)?.name ?? '0000';
  const number = String(Number(last.slice(0, 4)) + 1).padStart(4, '0');
  const up = join(dir, `${number}_${name}.sql`);
  const down = join(dir, `${number}_${name}.down.sql`);
  writeFileSync(up, `-- ${name}\n`, { flag: 'wx' });
  writeFileSync(down, `-- undo ${name}\n`, { flag: 'wx' });
  return [up, down];
}
