import { Keypair } from '@stellar/stellar-sdk';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.js';
import { loadConfig, type Env } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/lib/logger.js';
import { openTestDatabase, type StorageKind, type TestDatabase } from './databases.js';

export const CLIENT_KEY = 'test-client-key-0123456789';
export const ADMIN_KEY = 'test-admin-key-0123456789';

/** Captures log lines so tests can assert what reaches (and never reaches) the logs. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  container: Container;
  logs: LogCapture;
  database?: TestDatabase;
  close(): Promise<void>;
}

/**
 * The real app over a real storage, in process, with production's defaults (wallet tokens required);
 * suites about something else than wallet authentication pass WALLET_AUTH: 'optional' explicitly. SQL storages get their own database (a fresh PGlite,
 * or a scratch PostgreSQL database) that is migrated exactly as at boot.
 */
export async function createTestApp(kind: StorageKind, env: Env = {}, options: { clock?: () => Date; database?: TestDatabase } = {}): Promise<TestApp> {
  const database = kind === 'memory' ? undefined : (options.database ?? (await openTestDatabase(kind, { migrate: false })));
  const config = loadConfig({
    NODE_ENV: 'test',
    API_KEYS: CLIENT_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    DATABASE_URL: kind === 'memory' ? 'memory:' : undefined,
    RATE_LIMIT_PER_MIN: '100000',
    LOG_LEVEL: 'info',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    // A fixed score (band B: 5,000 limit, 1,200 bps) unless a suite is about risk evaluation itself.
    RISK_PROVIDER: 'static',
    ...env,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const container = await createContainer(config, { db: database?.db, logger, clock: options.clock, collectDefaultMetrics: false });
  return {
    app: createApp(container),
    container,
    logs,
    database,
    async close() {
      if (!options.database) await container.close();
      if (database && !options.database) await database.close().catch(() => undefined);
    },
  };
}

export const randomWallet = () => Keypair.random().publicKey();
export const client = { 'x-api-key': CLIENT_KEY };
export const admin = { 'x-admin-api-key': ADMIN_KEY };

/**
 * The app listening on a loopback port, for suites that race many requests: supertest on a bare app opens a server
 * per request, this one server takes them all, as production does.
 */
export async function listenOnLoopback(t: TestApp): Promise<Server> {
  const server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return server;
}

export const closeServer = (server: Server | undefined): Promise<void> => new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
