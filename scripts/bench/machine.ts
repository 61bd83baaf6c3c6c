/** The facts about the machine and the code that head each benchmark's report section. */
import os from 'node:os';
import { cpuModel, sh } from './common.js';
import { withAdmin } from './database.js';
import { loadAvg } from './webhooks/sampling.js';

export interface BenchMachine {
  date: string;
  cpu: string;
  nproc: string;
  memory: string;
  os: string;
  node: string;
  postgres: string;
  commit: string;
  loadStart: string;
  /** Empty until the caller sets it once the measurements are done. */
  loadEnd: string;
}

/** Collects the machine facts at the start of a run (asks the PostgreSQL server at `adminUrl` for its version). */
export async function machineFacts(adminUrl: URL): Promise<BenchMachine> {
  const postgres = await withAdmin(adminUrl, async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown');
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpuModel(),
    nproc: sh('nproc', []),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    commit: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
    loadStart: loadAvg(),
    loadEnd: '',
  };
}
