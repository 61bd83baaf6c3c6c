import { MAX_INTEREST_RATE_BPS } from '../creditLine.js';
import { minBigint } from '../money.js';
import type { RiskBand, RiskModel } from './model.js';

export interface CreditTerms {
  band: string;
  decision: 'approve' | 'decline';
  creditLimit: bigint;
  interestRateBps: number;
}

/** The band a score falls in (bands are sorted best first), its limit clamped to the product cap, its rate to 0..10000. */
export function termsForScore(model: RiskModel, score: number, maxCreditLimit: bigint): CreditTerms {
  const band: RiskBand = model.bands.find((b) => score >= b.minScore) ?? model.bands.at(-1)!;
  if (band.decision === 'decline') return { band: band.name, decision: 'decline', creditLimit: 0n, interestRateBps: 0 };
  return {
    band: band.name,
    decision: 'approve',
    creditLimit: minBigint(band.creditLimit, maxCreditLimit),
    interestRateBps: Math.min(MAX_INTEREST_RATE_BPS, Math.max(0, band.interestRateBps)),
  };
}

/** The contract's `risk_score` counts risk (higher is riskier, drives its rate formula); ours counts creditworthiness. */
export const contractRiskScore = (score: number): number => 100 - score;

export interface RateChangeLimits {
  /** Largest change of the rate in one update, in bps (the contract's max_rate_change_bps). */
  maxStepBps: number;
  /** Minimum time between two rate changes (the contract's rate_change_min_interval). */
  minIntervalSeconds: number;
}

export type RateConstraint = 'none' | 'max_step' | 'min_interval';

/**
 * The rate a line can move to now, toward `target`, without breaking the contract's rate-change guard (a change
 * larger than the step fails with RateTooHigh, one inside the interval with TimestampRegression): at most one step
 * per interval. Applying it never reverts on chain; the rest of the way is taken by later evaluations.
 */
export function reachableRate(
  current: number,
  target: number,
  lastChangeAt: Date | null,
  now: Date,
  limits: RateChangeLimits,
): { rate: number; constraint: RateConstraint } {
  if (target === current) return { rate: current, constraint: 'none' };
  if (lastChangeAt && now.getTime() - lastChangeAt.getTime() < limits.minIntervalSeconds * 1000) return { rate: current, constraint: 'min_interval' };
  const step = target - current;
  if (Math.abs(step) <= limits.maxStepBps) return { rate: target, constraint: 'none' };
  return { rate: current + Math.sign(step) * limits.maxStepBps, constraint: 'max_step' };
}
