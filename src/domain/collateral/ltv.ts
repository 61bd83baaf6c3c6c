import { isqrt } from './volatility.js';

/**
 * Volatility-adjusted LTV: LTV_adj = max(LTV_base - k x sigma x sqrt(T/365), LTV_min). The adjustment is computed in
 * floating point and rounded up to whole bps, so the LTV is rounded down: borrowing power is never overstated.
 * (C.4 prints the unrounded 57.7986% as 57.80%; here it is 5,779 bps.)
 */
export function adjustedLtvBps(p: { baseLtvBps: number; minLtvBps: number; kBps: number; horizonDays: number }, sigmaBps: number): number {
  const adjustment = Math.ceil((p.kBps / 10_000) * sigmaBps * Math.sqrt(p.horizonDays / 365) - 1e-9);
  return Math.max(p.baseLtvBps - Math.max(0, adjustment), p.minLtvBps);
}

/** The Vantis contract's integer version (sqrt_t = isqrt(T) x 1000 / 19), which under-states sqrt(T) by ~8% at 30 days. */
export function onchainCompatibleAdjustedLtvBps(p: { baseLtvBps: number; minLtvBps: number; kBps: number; horizonDays: number }, sigmaBps: number): number {
  const sqrtT = (isqrt(BigInt(p.horizonDays)) * 1_000n) / 19n;
  const adjustment = (BigInt(p.kBps) * BigInt(sigmaBps) * sqrtT) / 10_000_000n;
  return Math.max(p.baseLtvBps - Number(adjustment), p.minLtvBps);
}
