/**
 * Reading V8 .cpuprofile files (from `node --cpu-prof`): self time by category and by function, optionally only the
 * samples inside a time window, so a missed benchmark target can be traced to what actually burns the CPU (or to the
 * event loop sitting idle on I/O). Used by scripts/bench/chain/profileSummary.ts (a CLI) and scripts/bench/risk.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds on the process's monotonic clock. */
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled time in the window, µs (idle included). */
  totalUs: number;
  categories: Array<{ name: string; us: number }>;
  functions: Array<{ name: string; us: number }>;
}

export const IDLE_CATEGORY = 'idle (waiting for I/O: PostgreSQL, HTTP)';
export const SOCKET_WRITES = 'socket writes (native, incl. the system calls)';

export function category(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return IDLE_CATEGORY;
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (url === '' && (functionName === 'stringify' || functionName === 'parse')) return 'JSON.stringify / JSON.parse';
  if (url === '' && /^(writev|writeBuffer|write(Utf8|Latin1|Ascii|Ucs2)String)$/.test(functionName)) return SOCKET_WRITES;
  if (url.includes('/node_modules/pg') || url.includes('pg-protocol')) return 'pg driver';
  if (url.includes('@stellar/')) return 'stellar-sdk (XDR, rpc client)';
  if (url.includes('/node_modules/axios') || url.includes('follow-redirects')) return 'axios (HTTP client)';
  if (url.includes('/scripts/devnet/')) return 'devnet (the in-process RPC peer)';
  if (url.includes('/src/')) return 'backend src';
  if (url.includes('/node_modules/')) return `other node_modules (${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '?'})`;
  if (url.startsWith('node:') || url === '') return 'node core';
  return 'other';
}

/** Self time by category and function, of the samples taken between `fromUs` and `toUs` (profile clock) if given. */
export function summariseProfile(profile: CpuProfile, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const cat = category(node);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const where = node.callFrame.url.replace(/^.*\/(node_modules\/|src\/|scripts\/)/, '$1');
    const key = `${node.callFrame.functionName || '(anonymous)'}  ${where}:${node.callFrame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us);
  return { totalUs: [...selfUs.values()].reduce((a, b) => a + b, 0), categories: sorted(categories), functions: sorted(functions) };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** The main thread's profile in a --cpu-prof directory: the largest file (tsx's loader thread writes a small one too). */
export function mainThreadProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  } catch {
    return undefined;
  }
}
