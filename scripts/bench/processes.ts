import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardRun } from './common.js';

/** The only host the benchmark ever talks to. */
export const LOOPBACK = '127.0.0.1';

/**
 * Cleanup registry: every child process, scratch database and temporary directory registers an undo
 * step here, and `cleanupAll` runs them newest first, each bounded in time, on success, error or signal.
 */
type Cleanup = { label: string; run: () => Promise<void> };
const cleanups: Cleanup[] = [];
const children = new Set<ChildProcess>();

export function onCleanup(label: string, run: () => Promise<void>): void {
  cleanups.push({ label, run });
}

let cleaning: Promise<void> | undefined;
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = cleanups.pop(); step; step = cleanups.pop()) {
      try {
        await withTimeout(step.run(), 20_000, `cleanup "${step.label}"`);
      } catch (error) {
        process.stderr.write(`bench: cleanup "${step.label}" failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs a benchmark's `main` to the process's exit: under `guardRun`'s watchdog and signal handlers, then cleanup,
 * then exit 0; on an error, its stack, cleanup, exit 1.
 */
export function runBenchmark(label: string, budgetMs: number, main: () => Promise<void>): void {
  const watchdog = guardRun(label, budgetMs, cleanupAll);
  main()
    .then(() => cleanupAll())
    .then(() => {
      clearTimeout(watchdog);
      process.exit(0);
    })
    .catch(async (error: unknown) => {
      process.stderr.write(`${label} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      await cleanupAll();
      process.exit(1);
    });
}

// Last resort: if the process exits without running the async cleanup, no child survives it.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the kernel for a free loopback port (closed again at once; the child binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  name: string;
  baseUrl: string;
  port: number;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx <entry>` with exactly the given environment (nothing inherited but PATH
 * and HOME, so a DATABASE_URL in the caller's shell cannot leak in). Output goes to a log file,
 * not through a pipe to this process, so the load generator does not pay for the server's logging.
 */
export async function startNodeServer(options: {
  name: string;
  cwd: string;
  entry: string;
  env: Record<string, string>;
  logFile: string;
  port: number;
  nodeArgs?: string[];
}): Promise<RunningServer> {
  const fd = openSync(options.logFile, 'a');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env };
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', options.entry], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => children.delete(child));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const graceful = await Promise.race([exited.then(() => true), sleep(12_000).then(() => false)]);
      if (!graceful) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(3_000)]);
      }
    })());
  onCleanup(`stop ${options.name} (pid ${child.pid})`, stop);

  return { name: options.name, baseUrl: `http://${LOOPBACK}:${options.port}`, port: options.port, child, logFile: options.logFile, stop };
}

/** Polls `url` until it answers 200, the child dies, or the deadline passes. */
export async function waitForOk(server: RunningServer, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / 200) + 1;
  let lastProblem = 'no answer yet';
  for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt++) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`${server.name} exited (code ${server.child.exitCode}, signal ${server.child.signalCode}) before it was ready\n${tail(server.logFile)}`);
    }
    try {
      const response = await fetch(`${server.baseUrl}${path}`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      lastProblem = `status ${response.status}`;
      await response.body?.cancel();
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${server.name} not ready at ${path} after ${timeoutMs} ms (${lastProblem})\n${tail(server.logFile)}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The pino lines at warn level or above (40, 50, 60) in a server's log: how many, and the first. */
export function serverWarnings(logFile: string): { count: number; first?: string } {
  if (!existsSync(logFile)) return { count: 0 };
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /"level":(4|5|6)\d/.test(line));
  return { count: lines.length, first: lines[0] };
}
