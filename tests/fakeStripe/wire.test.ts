import { describe, expect, it } from 'vitest';
import { encodeForm, parseForm, StripeApiError } from '../../scripts/fake-stripe/index.js';
import { paginate } from '../../scripts/fake-stripe/list.js';
import { applyMetadata, range, stringArray } from '../../scripts/fake-stripe/params.js';

/** The wire-format pieces on their own: bracket-notation forms, metadata semantics, ranges, cursors. */
describe('fake-stripe wire format', () => {
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

  it('parses bracket notation, indexed and [] arrays, and percent-encoding', () => {
    const form = parseForm('amount=100&metadata[line_id]=l%201&metadata[note]=a+b&created[gte]=5&expand[0]=x&expand[1]=y&types[]=a&types[]=b');
    expect(plain(form)).toEqual({
      amount: '100',
      metadata: { line_id: 'l 1', note: 'a b' },
      created: { gte: '5' },
      expand: { '0': 'x', '1': 'y' },
      types: ['a', 'b'],
    });
    expect(stringArray(form.expand, 'expand')).toEqual(['x', 'y']);
    expect(stringArray(form.types, 'types')).toEqual(['a', 'b']);
  });

  it('round-trips what stripe-node-style encoding produces', () => {
    const value = { amount: 5, metadata: { a: 'x y', b: 'ü&=' }, payment_method_types: ['card'], automatic: { enabled: true } };
    const form = parseForm(encodeForm(value));
    expect(plain(form)).toEqual({ amount: '5', metadata: { a: 'x y', b: 'ü&=' }, payment_method_types: { '0': 'card' }, automatic: { enabled: 'true' } });
  });

  it('rejects conflicting shapes and keeps __proto__ a plain key', () => {
    expect(() => parseForm('a=1&a[b]=2')).toThrow(StripeApiError);
    expect(() => parseForm('a[b]=1&a[]=2')).toThrow(StripeApiError);
    const form = parseForm('metadata[__proto__]=x');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect((form.metadata as Record<string, unknown>)['__proto__']).toBe('x');
  });

  it('applies metadata like Stripe: set, unset with "", clear with metadata=', () => {
    expect(applyMetadata({ a: '1', b: '2' }, parseForm('metadata[b]=&metadata[c]=3').metadata)).toEqual({ a: '1', c: '3' });
    expect(applyMetadata({ a: '1' }, '')).toEqual({});
    expect(() => applyMetadata({}, { ['k'.repeat(41)]: 'v' })).toThrow(/up to 40 characters/);
  });

  it('reads created ranges', () => {
    const test = range(parseForm('created[gt]=10&created[lte]=20').created, 'created')!;
    expect([10, 11, 20, 21].map(test)).toEqual([false, true, true, false]);
    expect(() => range(parseForm('created[eq]=1').created, 'created')).toThrow(/unknown parameter: created\[eq\]/);
  });

  it('orders equal timestamps by creation, newest first, and pages across them', () => {
    const items = ['a', 'b', 'c', 'd'].map((id) => ({ id, created: 100 }));
    const first = paginate(items, { limit: 3 }, '/v1/x', 'x');
    expect(first.data.map((i) => i.id)).toEqual(['d', 'c', 'b']);
    expect(first.has_more).toBe(true);
    expect(paginate(items, { limit: 3, startingAfter: 'b' }, '/v1/x', 'x').data.map((i) => i.id)).toEqual(['a']);
    // Exactly `limit` left: no further page.
    expect(paginate(items, { limit: 4 }, '/v1/x', 'x').has_more).toBe(false);
    expect(paginate(items, { limit: 3, endingBefore: 'a' }, '/v1/x', 'x')).toMatchObject({ has_more: false, data: [{ id: 'd' }, { id: 'c' }, { id: 'b' }] });
    expect(paginate(items, { limit: 2, endingBefore: 'a' }, '/v1/x', 'x')).toMatchObject({ has_more: true, data: [{ id: 'c' }, { id: 'b' }] });
    // A cursor outside the filter still places the page.
    expect(paginate(items, { limit: 3, startingAfter: 'c' }, '/v1/x', 'x', (i) => i.id !== 'b').data.map((i) => i.id)).toEqual(['a']);
  });
});
