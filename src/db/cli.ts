import { loadConfig } from '../config.js';
import type { Db } from './db.js';
import { createMigrationFiles, migrate, rollback, validateMigrations } from './migrator.js';
import { createPgliteDb } from './pgliteDb.js';
import { createPostgresDb } from './postgresDb.js';
import { checkSchema } from './schemaCheck.js';

/** npm run db:migrate | db:rollback [steps] | db:create NAME | db:validate */
async function main(): Promise<void> {
  const [command, argument] = process.argv.slice(2);
  if (command === 'create') {
    if (!argument) throw new Error('usage: npm run db:create NAME');
    for (const file of createMigrationFiles(argument)) process.stdout.write(`created ${file}\n`);
    return;
  }
  const config = loadConfig();
  if (config.database.kind === 'memory') throw new Error('the in-memory store has no migrations');
  const db: Db =
    config.database.kind === 'postgres' ? createPostgresDb(config.database.url, { poolMax: 2 }) : await createPgliteDb(config.database.dataDir);
  try {
    if (command === 'migrate') {
      const applied = await migrate(db);
      process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
    } else if (command === 'rollback') {
      const undone = await rollback(db, argument ? Number(argument) : 1);
      process.stdout.write(undone.length > 0 ? `rolled back: ${undone.join(', ')}\n` : 'nothing to roll back\n');
    } else if (command === 'validate') {
      const { problems, pending } = await validateMigrations(db);
      if (pending.length > 0) problems.push(`pending migrations: ${pending.join(', ')}`);
      if (problems.length === 0) await checkSchema(db);
      if (problems.length > 0) {
        process.stderr.write(`${problems.join('\n')}\n`);
        process.exitCode = 1;
      } else process.stdout.write('migrations and schema are valid\n');
    } else {
      throw new Error(`unknown command "${command ?? ''}": use migrate, rollback, create or validate`);
    }
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
