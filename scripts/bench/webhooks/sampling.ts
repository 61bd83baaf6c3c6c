import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second for /proc/<pid>/stat (almost always 100). */
const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) a process has used, or undefined when it is gone or unreadable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Whole-machine busy and total jiffies from /proc/stat (all cores). */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export const loadAvg = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** CPU used by a set of processes between two moments, tolerating processes that appear in between. */
export class CpuMeter {
  private readonly start = new Map<number, number>();
  private machineStart = machineCpu();
  private startedAt = Date.now();
  private selfStart = process.cpuUsage();

  begin(pids: readonly number[]): void {
    this.start.clear();
    for (const pid of pids) {
      const ms = processCpuMs(pid);
      if (ms !== undefined) this.start.set(pid, ms);
    }
    this.machineStart = machineCpu();
    this.selfStart = process.cpuUsage();
    this.startedAt = Date.now();
  }

  /** Per-pid CPU ms used since begin() (a pid first seen now counts from 0: it started during the window). */
  end(pids: readonly number[]): { wallMs: number; byPid: Map<number, number>; machineBusyShare: number; selfMs: number } {
    const byPid = new Map<number, number>();
    for (const pid of new Set([...pids, ...this.start.keys()])) {
      const now = processCpuMs(pid);
      if (now !== undefined) byPid.set(pid, now - (this.start.get(pid) ?? 0));
    }
    const machine = machineCpu();
    const total = machine.total - this.machineStart.total;
    const self = process.cpuUsage(this.selfStart);
    return {
      wallMs: Date.now() - this.startedAt,
      byPid,
      machineBusyShare: total > 0 ? (machine.busy - this.machineStart.busy) / total : Number.NaN,
      selfMs: (self.user + self.system) / 1000,
    };
  }
}
