/** Small helpers every benchmark script shares: the repository root, env parsing, machine facts. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

/** A command's trimmed output, or "unknown" (machine facts are best effort). */
export function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // fall through to os.cpus()
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * A benchmark never outlives its budget nor leaves children or scratch data behind: a watchdog and SIGINT/SIGTERM
 * both run `cleanup` and exit. Returns the watchdog so a normal finish can clear it.
 */
export function guardRun(label: string, budgetMs: number, cleanup: () => Promise<void>): NodeJS.Timeout {
  const watchdog = setTimeout(() => {
    process.stderr.write(`${label}: gave up after ${Math.round(budgetMs / 1000)} s\n`);
    void cleanup().finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`${label}: ${signal}, stopping children and removing scratch data\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  return watchdog;
}
