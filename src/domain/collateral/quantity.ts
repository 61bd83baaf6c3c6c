import { ValidationError } from '../errors.js';

/** Quantities of a collateral asset travel as decimal strings with up to the asset's own number of decimals. */

export function parseQuantity(text: string, decimals: number, field = 'amount'): bigint {
  const match = /^(\d{1,30})(?:\.(\d+))?$/.exec(text);
  if (!match) throw new ValidationError([{ field, rule: 'decimal_string', message: 'must be a decimal string such as "125.5"' }]);
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) throw new ValidationError([{ field, rule: 'max_decimals', message: `must have at most ${decimals} decimals for this asset` }]);
  const units = BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units <= 0n) throw new ValidationError([{ field, rule: 'positive', message: 'must be greater than zero' }]);
  return units;
}

export function formatQuantity(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const base = 10n ** BigInt(decimals);
  const whole = (abs / base).toString();
  const text = decimals === 0 ? whole : `${whole}.${(abs % base).toString().padStart(decimals, '0')}`;
  return negative ? `-${text}` : text;
}

/** A 1e14-scaled price as a decimal string with 14 decimals ("0.12000000000000"). */
export const formatPrice = (price1e14: bigint): string => formatQuantity(price1e14, 14);

export function parsePrice(text: string, field = 'price'): bigint {
  return parseQuantity(text, 14, field);
}
