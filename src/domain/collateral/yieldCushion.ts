/**
 * The yield cushion: collateral that earns a yield grows, q(t) = q0 x (1 + r x t / 365 days), which raises the health
 * factor at a constant price. Yield counts toward value only once accrued (up to now), never ahead of time.
 */

const SECONDS_PER_YEAR = 365n * 86_400n;

/** Yield accrued on `quantity` at `aprBps` over `seconds`, floored to base units. */
export function accruedYield(quantity: bigint, aprBps: number, seconds: bigint): bigint {
  if (quantity <= 0n || aprBps <= 0 || seconds <= 0n) return 0n;
  return (quantity * BigInt(aprBps) * seconds) / (10_000n * SECONDS_PER_YEAR);
}

/**
 * The borrow rate net of the collateral's yield, in bps of the debt: (D x r_b - V x r_y) / D. Negative when the
 * collateral earns more than the debt costs. Null without debt.
 */
export function effectiveRateBps(debt: bigint, borrowRateBps: number, yields: ReadonlyArray<{ value: bigint; aprBps: number }>): number | null {
  if (debt <= 0n) return null;
  const earned = yields.reduce((sum, y) => sum + y.value * BigInt(y.aprBps), 0n);
  return Number((debt * BigInt(borrowRateBps) - earned) / debt);
}
