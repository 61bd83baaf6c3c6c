/**
 * Collateral in money terms. Quantities are base units of the collateral asset (`decimals` places), prices are USD
 * per whole unit scaled by 1e14, values are USDC base units (7 decimals; USDC is taken 1:1 with USD). Integer maths
 * with explicit rounding: values round down (never overstate collateral), quantities to sell round up (never fall
 * short of the value needed).
 */

export const PRICE_DECIMALS = 14;
export const VALUE_DECIMALS = 7;
export const BPS = 10_000n;

/** 10^(d + 14 - 7): value x scale = quantity x price. */
export const valueScale = (decimals: number): bigint => {
  const exponent = decimals + PRICE_DECIMALS - VALUE_DECIMALS;
  if (!Number.isInteger(decimals) || decimals < 0 || exponent < 0) throw new RangeError(`unsupported asset decimals ${decimals}`);
  return 10n ** BigInt(exponent);
};

/** V = q x p / 10^(d + 14 - 7), floored: 10,000 XLM (1e11 units) at 1.2e13 is 1.2e10 units (1,200 USDC). */
export function collateralValue(quantity: bigint, decimals: number, price1e14: bigint): bigint {
  if (quantity <= 0n || price1e14 <= 0n) return 0n;
  return (quantity * price1e14) / valueScale(decimals);
}

/** The smallest quantity whose value is at least `value` at this price (ceil). */
export function quantityForValue(value: bigint, decimals: number, price1e14: bigint): bigint {
  if (value <= 0n) return 0n;
  if (price1e14 <= 0n) throw new RangeError('price must be positive');
  const numerator = value * valueScale(decimals);
  return (numerator + price1e14 - 1n) / price1e14;
}

/** floor(a x bps / 10000). */
export const applyBps = (amount: bigint, bps: number | bigint): bigint => (amount * BigInt(bps)) / BPS;

/** ceil(a / b) for positive b. */
export const ceilDiv = (a: bigint, b: bigint): bigint => (a <= 0n ? 0n : (a + b - 1n) / b);
