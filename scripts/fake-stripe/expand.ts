import { invalidParam } from './errors.js';
import type { FormObject } from './form.js';
import { stringArray } from './params.js';
import type { FakeStripeState } from './state.js';

/**
 * `expand[]=latest_charge`, `expand[]=data.payment_intent`, `expand[]=latest_charge.payment_intent`: replaces
 * id strings by the objects the fake holds (intents, charges, refunds, disputes, payouts). Other ids — the
 * `txn_…` balance transactions, `pm_…` payment methods, customers — are not modelled and fail loudly.
 */

const PREFIXES = {
  pi: 'paymentIntents',
  ch: 'charges',
  re: 'refunds',
  dp: 'disputes',
  po: 'payouts',
} as const;

function lookup(state: FakeStripeState, id: string): unknown {
  const prefix = id.slice(0, id.indexOf('_')) as keyof typeof PREFIXES;
  const collection = PREFIXES[prefix];
  return collection ? state[collection].get(id) : undefined;
}

export function readExpand(params: FormObject): string[] {
  return stringArray(params.expand, 'expand') ?? [];
}

/** Returns a deep copy of `value` with the `paths` expanded; the stored objects are never modified. */
export function expand<T>(state: FakeStripeState, value: T, paths: string[]): T {
  if (paths.length === 0) return value;
  const copy = structuredClone(value);
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > 4) throw invalidParam('expand', `You cannot expand more than 4 levels of a property. Property: ${path}`);
    expandAt(state, copy, segments, path);
  }
  return copy;
}

function expandAt(state: FakeStripeState, node: unknown, segments: string[], path: string): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) expandAt(state, item, segments, path);
    return;
  }
  const [head, ...rest] = segments;
  const record = node as Record<string, unknown>;
  if (head === undefined || !(head in record)) throw invalidParam('expand', `This property cannot be expanded (${path}).`);
  let child = record[head];
  if (typeof child === 'string') {
    const found = lookup(state, child);
    if (found === undefined) throw invalidParam('expand', `This property cannot be expanded (${path}): fake-stripe does not model ${child}.`);
    child = structuredClone(found);
    record[head] = child;
  }
  if (rest.length > 0) expandAt(state, child, rest, path);
}
