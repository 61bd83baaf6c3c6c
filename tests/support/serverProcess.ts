import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The real process, as `npm start` runs it (`node --import tsx src/index.ts`), for end-to-end tests. */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  port?: number;
}

const running: Running[] = [];

/** Spawns the server with only the given variables (never the test runner's own NODE_ENV, keys or DATABASE_URL). */
export function startServer(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const proc: Running = { child, stdout: () => out, stderr: () => err, exited };
  running.push(proc);
  return proc;
}

/** Kills whatever a test left running (call from afterEach). */
export async function killServers(): Promise<void> {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value, bounded by `timeoutMs`; on timeout, shows the process output. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, proc?: Running): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${proc ? `\nstdout (tail):\n${proc.stdout().slice(-4000)}\nstderr:\n${proc.stderr()}` : ''}`);
    }
    await sleep(25);
  }
}

/** Waits for the "listening" log line (PORT=0 lets the OS pick a free port) and a healthy GET /health. */
export async function ready(proc: Running, timeoutMs = 60_000): Promise<number> {
  const port = await until(
    'the "listening" log line',
    () => {
      if (proc.child.exitCode !== null) throw new Error(`server exited with ${proc.child.exitCode}\nstderr:\n${proc.stderr()}`);
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(proc.stdout());
      return match ? Number(match[1]) : undefined;
    },
    timeoutMs,
    proc,
  );
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`);
  proc.port = port;
  return port;
}
