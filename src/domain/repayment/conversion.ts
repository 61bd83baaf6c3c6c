/**
 * Between what a user pays (fiat minor units) and what it is worth on the line (base units, 7 decimals), at a rate
 * of line-asset units per one major unit of the currency, 1e14-scaled. Floors toward the borrower's disadvantage
 * only where unavoidable: a payment is credited at no more than it is worth.
 */

const RATE_SCALE = 10n ** 14n;
const LINE_SCALE = 10n ** 7n;

/** ISO 4217 minor units of the currencies we take; anything else is refused rather than guessed. */
export const MINOR_UNITS: Readonly<Record<string, number>> = { usd: 2, eur: 2, gbp: 2, chf: 2, cad: 2, aud: 2, jpy: 0, mxn: 2, brl: 2 };

export function minorUnitsOf(currency: string): number | undefined {
  return MINOR_UNITS[currency];
}

/** Base units on the line for a fiat amount: floor(minor x rate x 10^7 / (10^exp x 1e14)). */
export function toLineUnits(fiatMinor: bigint, currency: string, rate1e14: bigint): bigint {
  const exponent = minorUnitsOf(currency);
  if (exponent === undefined) throw new RangeError(`unsupported currency ${currency}`);
  return (fiatMinor * rate1e14 * LINE_SCALE) / (10n ** BigInt(exponent) * RATE_SCALE);
}

/** Fiat minor units a user pays to cover `lineUnits` (ceil: the payment covers at least that much). */
export function toFiatMinor(lineUnits: bigint, currency: string, rate1e14: bigint): bigint {
  const exponent = minorUnitsOf(currency);
  if (exponent === undefined) throw new RangeError(`unsupported currency ${currency}`);
  const numerator = lineUnits * 10n ** BigInt(exponent) * RATE_SCALE;
  const denominator = rate1e14 * LINE_SCALE;
  return (numerator + denominator - 1n) / denominator;
}

export function formatFiat(minor: bigint, currency: string): string {
  const exponent = minorUnitsOf(currency) ?? 2;
  const base = 10n ** BigInt(exponent);
  return exponent === 0 ? minor.toString() : `${minor / base}.${(minor % base).toString().padStart(exponent, '0')}`;
}

export function parseFiat(text: string, currency: string): bigint | null {
  const exponent = minorUnitsOf(currency);
  if (exponent === undefined) return null;
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text);
  if (!match || (match[2]?.length ?? 0) > exponent) return null;
  return BigInt(match[1]!) * 10n ** BigInt(exponent) + BigInt((match[2] ?? '').padEnd(exponent, '0') || '0');
}
