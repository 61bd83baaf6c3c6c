/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by category and the top functions, so a missed
 * benchmark target can be traced to what actually burns the CPU (or to the event loop sitting idle on I/O).
 *   npx tsx scripts/bench/chain/profileSummary.ts /tmp/prof/CPU.….cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: profileSummary.ts <file.cpuprofile> [top]');
const top = Number.isFinite(Number(process.argv[3])) ? Number(process.argv[3]) : 25;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function category(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return 'idle (waiting for I/O: PostgreSQL, HTTP)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (url.includes('/node_modules/pg') || url.includes('pg-protocol')) return 'pg driver';
  if (url.includes('@stellar/')) return 'stellar-sdk (XDR, rpc client)';
  if (url.includes('/node_modules/axios') || url.includes('follow-redirects')) return 'axios (HTTP client)';
  if (url.includes('/scripts/devnet/')) return 'devnet (the in-process RPC peer)';
  if (url.includes('/src/')) return 'backend src';
  if (url.includes('/node_modules/')) return `other node_modules (${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '?'})`;
  if (url.startsWith('node:') || url === '') return 'node core';
  return 'other';
}

const categories = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const cat = category(node);
  categories.set(cat, (categories.get(cat) ?? 0) + us);
  const where = node.callFrame.url.replace(/^.*\/(node_modules\/|src\/|scripts\/)/, '$1');
  const key = `${node.callFrame.functionName || '(anonymous)'}  ${where}:${node.callFrame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nself time by category');
for (const [cat, us] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${cat}`);
console.log(`\ntop ${top} functions by self time`);
for (const [fn, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${fn}`);
