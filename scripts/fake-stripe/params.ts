import {
  invalidInteger,
  invalidParam,
  invalidString,
  missingParam,
  unknownParam,
} from './errors.js';
import type { FormObject, FormValue } from './form.js';

/** Typed readers over parsed form parameters, failing with Stripe's error bodies. */

export function rejectUnknown(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) if (!allowed.includes(key)) throw unknownParam(key);
}

export function integer(value: FormValue | undefined, param: string, bounds: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw invalidInteger(param, value);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalidInteger(param, value);
  if (bounds.min !== undefined && n < bounds.min) throw invalidParam(param, `This value must be greater than or equal to ${bounds.min}.`);
  if (bounds.max !== undefined && n > bounds.max) throw invalidParam(param, `This value must be less than or equal to ${bounds.max}.`);
  return n;
}

export function requiredInteger(params: FormObject, param: string, bounds?: { min?: number; max?: number }): number {
  const n = integer(params[param], param, bounds);
  if (n === undefined) throw missingParam(param);
  return n;
}

/** A string param; `''` means "unset" on Stripe, so it reads as null. */
export function string(value: FormValue | undefined, param: string, maxLength = 5000): string | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidString(param);
  if (value.length > maxLength) throw invalidParam(param, `Invalid string: ${value.slice(0, 20)}...; must be at most ${maxLength} characters`);
  return value === '' ? null : value;
}

export function boolean(value: FormValue | undefined, param: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidParam(param, `Invalid boolean: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

export function currency(params: FormObject): string {
  const value = params.currency;
  if (value === undefined || value === '') throw missingParam('currency');
  if (typeof value !== 'string' || !/^[a-zA-Z]{3}$/.test(value)) {
    throw invalidParam('currency', `Invalid currency: ${String(value).toLowerCase()}. Stripe currently supports these currencies: usd, eur, gbp, …`);
  }
  return value.toLowerCase();
}

/** Arrays arrive as `x[0]=a&x[1]=b` (stripe-node), `x[]=a` or, for one element, sometimes `x=a`. */
export function stringArray(value: FormValue | undefined, param: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (value === '') return [];
  if (typeof value === 'string') return [value];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (!entries.every(([k]) => /^\d+$/.test(k))) throw invalidParam(param, `Invalid array: ${param}`);
  return entries
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => {
      if (typeof v !== 'string') throw invalidString(`${param}[${k}]`);
      return v;
    });
}

const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 };

/**
 * Applies a `metadata` param to existing metadata: `metadata[k]=v` sets, `metadata[k]=` removes the key and
 * `metadata=` clears everything — Stripe's update semantics (on create, it is applied to `{}`).
 */
export function applyMetadata(existing: Record<string, string>, value: FormValue | undefined): Record<string, string> {
  if (value === undefined) return existing;
  if (value === '') return {};
  if (typeof value === 'string' || Array.isArray(value)) throw invalidParam('metadata', 'Invalid hash: metadata must be a hash of string keys and values.');
  const next = { ...existing };
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidParam(`metadata[${key}]`, `Invalid string: metadata[${key}] must be a string.`);
    if (key.length > METADATA_LIMITS.keyLength) {
      throw invalidParam(`metadata[${key}]`, `Metadata keys can have up to ${METADATA_LIMITS.keyLength} characters; "${key}" has ${key.length}.`);
    }
    if (v.length > METADATA_LIMITS.valueLength) {
      throw invalidParam(`metadata[${key}]`, `Metadata values can have up to ${METADATA_LIMITS.valueLength} characters, but you passed in a value that is ${v.length} characters.`);
    }
    if (v === '') delete next[key];
    else next[key] = v;
  }
  if (Object.keys(next).length > METADATA_LIMITS.keys) {
    throw invalidParam('metadata', `You can specify up to ${METADATA_LIMITS.keys} metadata keys.`);
  }
  return next;
}

export type Range = (n: number) => boolean;

/** `created=1700000000` (exact) or `created[gt|gte|lt|lte]=…`, as for Stripe's list filters. */
export function range(value: FormValue | undefined, param: string): Range | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const exact = integer(value, param)!;
    return (n) => n === exact;
  }
  if (Array.isArray(value)) throw invalidParam(param, `Invalid ${param}: expected an integer or a hash of gt, gte, lt, lte.`);
  const tests: Range[] = [];
  for (const [op, raw] of Object.entries(value)) {
    const bound = integer(raw, `${param}[${op}]`)!;
    if (op === 'gt') tests.push((n) => n > bound);
    else if (op === 'gte') tests.push((n) => n >= bound);
    else if (op === 'lt') tests.push((n) => n < bound);
    else if (op === 'lte') tests.push((n) => n <= bound);
    else throw unknownParam(`${param}[${op}]`);
  }
  return (n) => tests.every((t) => t(n));
}
