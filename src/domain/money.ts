/**
 * Token amounts are bigint base units with 7 decimals (Stellar's stroop convention), so that
 * 1 USDC = 10,000,000 units. They travel as decimal strings in JSON and NUMERIC(39,0) in SQL,
 * and are never a JS number.
 */
export const DECIMALS = 7;
export const UNITS_PER_TOKEN = 10n ** BigInt(DECIMALS);
/** The contract stores amounts as i128; nothing we accept may exceed what the chain can hold. */
export const I128_MAX = 2n ** 127n - 1n;

const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;

export class AmountFormatError extends Error {
  constructor(
    message: string,
    readonly rule: 'decimal_string' | 'max_decimals' | 'positive' | 'i128_range',
  ) {
    super(message);
    this.name = 'AmountFormatError';
  }
}

/** Parses "125.5" into 1255000000n. Rejects signs, exponents, more than 7 decimals and values beyond i128. */
export function parseAmount(text: string): bigint {
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) {
    throw new AmountFormatError('must be a decimal string such as "125.5" (digits, optional "." and up to 7 decimals)', 'decimal_string');
  }
  const [, whole = '0', fraction = ''] = match;
  if (fraction.length > DECIMALS) {
    throw new AmountFormatError(`must have at most ${DECIMALS} decimals`, 'max_decimals');
  }
  const units = BigInt(whole) * UNITS_PER_TOKEN + BigInt(fraction.padEnd(DECIMALS, '0') || '0');
  if (units > I128_MAX) throw new AmountFormatError('is beyond the i128 range the contract can hold', 'i128_range');
  return units;
}

/** Parses a strictly positive amount (draws, repayments, limits). */
export function parsePositiveAmount(text: string): bigint {
  const units = parseAmount(text);
  if (units <= 0n) throw new AmountFormatError('must be greater than zero', 'positive');
  return units;
}

/** Formats base units as a decimal string with exactly 7 decimals: 1255000000n -> "125.5000000". */
export function formatAmount(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / UNITS_PER_TOKEN;
  const fraction = (abs % UNITS_PER_TOKEN).toString().padStart(DECIMALS, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

export const minBigint = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const maxBigint = (a: bigint, b: bigint): bigint => (a > b ? a : b);
