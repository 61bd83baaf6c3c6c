/** The benchmarks' PostgreSQL plumbing: loopback-only server URLs, short-lived admin clients, scratch databases. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LOOPBACK, onCleanup } from './processes.js';

/** Refuses any database server that is not on this machine's loopback interface. */
export function loopbackUrl(raw: string): URL {
  const url = new URL(raw);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new Error(`BENCH_DATABASE_URL must be a postgres:// URL, got ${url.protocol}`);
  if (!['127.0.0.1', 'localhost'].includes(url.hostname)) {
    throw new Error(`BENCH_DATABASE_URL must point at 127.0.0.1 (the benchmark only talks to loopback), got ${url.hostname}`);
  }
  url.hostname = LOOPBACK;
  return url;
}

/**
 * A connected client of the benchmark's own, every statement bounded by `statementTimeoutMs`. An error on an idle
 * connection (the scratch database dropped WITH (FORCE) by a cleanup after Ctrl-C) must not crash the process before
 * the remaining cleanups ran: the next query fails instead.
 */
export async function openClient(url: string, options: { statementTimeoutMs?: number; applicationName?: string } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? 'bench',
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function withAdmin<T>(url: URL, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await openClient(url.toString());
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `bench_<random>` and registers its DROP; returns the URL the server should use. */
export async function scratchDatabase(adminUrl: URL, log: (message: string) => void): Promise<string> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  onCleanup(`drop database ${name}`, async () => {
    await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    log(`dropped database ${name}`);
  });
  log(`created database ${name}`);
  const url = new URL(adminUrl.toString());
  url.pathname = `/${name}`;
  return url.toString();
}

/** The database name of a postgres:// URL. */
export const databaseName = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));
