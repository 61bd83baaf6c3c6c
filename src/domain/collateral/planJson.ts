import type { ExecutionFill } from './records.js';
import type { ExecutionPlan } from './plans.js';

/**
 * Plans and fills hold bigints; JSON (the jsonb column, the API) holds them as decimal strings. One codec for both
 * directions, driven by the field names, so a new bigint field cannot be forgotten in one direction only.
 */

const BIGINT_FIELDS = new Set([
  'price1e14',
  'sellValue',
  'sellQuantity',
  'minProceeds',
  'debtBefore',
  'repay',
  'seizeValue',
  'seizeQuantity',
  'bonus',
  'protocolFee',
  'liquidatorBonus',
  'writeOff',
  'quantity',
  'value',
  'collateralQuantity',
  'usdcAmount',
  'repaid',
  'writtenOff',
  'surplus',
]);

function encode(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, BIGINT_FIELDS.has(k) && typeof v === 'string' ? BigInt(v) : decode(v)]));
  }
  return value;
}

export const planToJson = (plan: ExecutionPlan): Record<string, unknown> => encode(plan) as Record<string, unknown>;
export const planFromJson = (json: unknown): ExecutionPlan => decode(json) as ExecutionPlan;
export const fillToJson = (fill: ExecutionFill): Record<string, unknown> => encode(fill) as Record<string, unknown>;
export const fillFromJson = (json: unknown): ExecutionFill => decode(json) as ExecutionFill;
