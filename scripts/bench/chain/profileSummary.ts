/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by category and the top functions, so a missed
 * benchmark target can be traced to what actually burns the CPU (or to the event loop sitting idle on I/O).
 *   npx tsx scripts/bench/chain/profileSummary.ts /tmp/prof/CPU.….cpuprofile [top=25]
 */
import { readProfile, summariseProfile } from '../cpuProfile.js';

const file = process.argv[2];
if (!file) throw new Error('usage: profileSummary.ts <file.cpuprofile> [top]');
const top = Number.isFinite(Number(process.argv[3])) ? Number(process.argv[3]) : 25;
const { totalUs: total, categories, functions } = summariseProfile(readProfile(file));

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nself time by category');
for (const { name, us } of categories) console.log(`  ${pct(us)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${name}`);
console.log(`\ntop ${top} functions by self time`);
for (const { name, us } of functions.slice(0, top)) console.log(`  ${pct(us)}  ${name}`);
