/**
 * Annualised volatility from daily closes: log returns, sample standard deviation, x sqrt(365) (crypto trades every
 * day), rounded to bps. Floats live only inside this function, as the design allows for statistics.
 */
export interface Volatility {
  sigmaBps: number;
  returns: number;
}

/** Needs at least three closes (two returns) for a sample deviation; null with fewer or a non-positive close. */
export function annualisedVolatility(closes: readonly bigint[]): Volatility | null {
  if (closes.length < 3 || closes.some((c) => c <= 0n)) return null;
  const returns: number[] = [];
  for (let i = 1; i < closes.length; i++) returns.push(Math.log(Number(closes[i]!) / Number(closes[i - 1]!)));
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const variance = returns.reduce((sum, r) => sum + (r - mean) ** 2, 0) / (returns.length - 1);
  return { sigmaBps: Math.round(Math.sqrt(variance) * Math.sqrt(365) * 10_000), returns: returns.length };
}

/**
 * The Vantis oracle-adapter's on-chain figure, for parity checks only: simple returns in bps, population variance,
 * integer square root x 19. It assumes one push per day.
 */
export function onchainCompatibleVolatilityBps(closes: readonly bigint[]): number {
  if (closes.length < 2) return 0;
  const returns: bigint[] = [];
  for (let i = 1; i < closes.length; i++) returns.push(((closes[i]! - closes[i - 1]!) * 10_000n) / closes[i - 1]!);
  const n = BigInt(returns.length);
  const mean = returns.reduce((a, b) => a + b, 0n) / n;
  const variance = returns.reduce((sum, r) => sum + (r - mean) * (r - mean), 0n) / n;
  return Number(isqrt(variance) * 19n);
}

export function isqrt(value: bigint): bigint {
  if (value < 0n) throw new RangeError('square root of a negative number');
  if (value < 2n) return value;
  let x = value;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + value / x) / 2n;
  }
  return x;
}
