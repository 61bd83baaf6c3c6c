import { Keypair, StrKey } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closeTo1e14,
  decimalTo1e14,
  HorizonTradePriceFeed,
  PriceUnavailableError,
  rationalTo1e14,
  ReflectorPriceFeed,
  rescaleTo1e14,
  StaticPriceFeed,
} from '../../../src/stellar/priceFeeds.js';

/** The exact integer conversions of every feed to the 1e14 scale, and the feeds' offline behaviour. */

const E14 = 10n ** 14n;

describe('rescaleTo1e14 (Reflector prices at the oracle decimals)', () => {
  it.each([
    // 0.12 USD at 7, 14 and 18 decimals, and at 0 decimals (whole units)
    [1_200_000n, 7, 12_000_000_000_000n],
    [12_000_000_000_000n, 14, 12_000_000_000_000n],
    [120_000_000_000_000_000n, 18, 12_000_000_000_000n],
    [65_000n, 0, 65_000n * E14],
    // narrowing floors: 0.123456789012345678 → 0.12345678901234
    [123_456_789_012_345_678n, 18, 12_345_678_901_234n],
    [99_999n, 18, 9n],
    [9_999n, 18, 0n],
    // 1 raw unit at 7 decimals is 1e7 at 14
    [1n, 7, 10_000_000n],
  ])('%s at %i decimals → %s', (raw, decimals, expected) => {
    expect(rescaleTo1e14(raw, decimals)).toBe(expected);
  });

  it('widens exactly and narrows by flooring, for any price and decimals 0..38', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 127n - 1n }), fc.integer({ min: 0, max: 38 }), (raw, decimals) => {
        const scaled = rescaleTo1e14(raw, decimals);
        if (decimals <= 14) return scaled === raw * 10n ** BigInt(14 - decimals);
        const unit = 10n ** BigInt(decimals - 14);
        return scaled * unit <= raw && raw < (scaled + 1n) * unit;
      }),
    );
  });

  it('floors negative values too (never rounds toward zero upwards) and rejects bad decimals', () => {
    expect(rescaleTo1e14(-15n, 15)).toBe(-2n);
    expect(() => rescaleTo1e14(1n, -1)).toThrow(RangeError);
    expect(() => rescaleTo1e14(1n, 1.5)).toThrow(RangeError);
  });
});

describe('decimalTo1e14 (Horizon decimal strings)', () => {
  it.each([
    ['0.1200000', 12_000_000_000_000n],
    ['0.12', 12_000_000_000_000n],
    ['1', E14],
    ['1.0000001', E14 + 10_000_000n],
    ['65000.1234567', 6_500_012_345_670_000_000n],
    ['0.0000001', 10_000_000n],
    ['0.00000000000001', 1n],
    ['0.000000000000019', 1n], // the 15th place is dropped, not rounded
    ['0', 0n],
    [' 2.5 ', 250_000_000_000_000n],
  ])('%s → %s', (text, expected) => {
    expect(decimalTo1e14(text)).toBe(expected);
  });

  it.each(['', '-1', '1e5', '.5', '1.', '0x10', '1,5', 'NaN'])('rejects %j', (text) => {
    expect(() => decimalTo1e14(text)).toThrow(RangeError);
  });

  it('round-trips every 14-place value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (value) => {
        const text = `${value / E14}.${(value % E14).toString().padStart(14, '0')}`;
        return decimalTo1e14(text) === value;
      }),
    );
  });
});

describe('rationalTo1e14 and closeTo1e14 (Horizon close / close_r)', () => {
  it('converts rationals exactly, flooring', () => {
    expect(rationalTo1e14(3n, 25n)).toBe(12_000_000_000_000n);
    expect(rationalTo1e14(1n, 3n)).toBe(33_333_333_333_333n);
    expect(rationalTo1e14(2n, 3n)).toBe(66_666_666_666_666n);
    expect(rationalTo1e14(130_000n, 2n)).toBe(65_000n * E14);
    expect(() => rationalTo1e14(1n, 0n)).toThrow(RangeError);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n }), fc.bigInt({ min: 1n, max: 2n ** 63n }), (n, d) => {
        const r = rationalTo1e14(n, d);
        return r * d <= n * E14 && n * E14 < (r + 1n) * d;
      }),
    );
  });

  it('prefers the exact close_r ({N, D} as Horizon sends it, or {n, d}) over the 7-place string', () => {
    expect(closeTo1e14({ close: '0.3333333', close_r: { N: 1, D: 3 } })).toBe(33_333_333_333_333n);
    expect(closeTo1e14({ close: '0.3333333', close_r: { n: 1, d: 3 } })).toBe(33_333_333_333_333n);
    expect(closeTo1e14({ close: '0.1200000' })).toBe(12_000_000_000_000n);
    // unusable rationals fall back to the string
    expect(closeTo1e14({ close: '0.1200000', close_r: { N: 3, D: 0 } })).toBe(12_000_000_000_000n);
    expect(closeTo1e14({ close: '0.1200000', close_r: { N: 2 ** 60, D: 3 } })).toBe(12_000_000_000_000n);
    expect(closeTo1e14({ close: '0.1200000', close_r: { N: '3', D: '25' } })).toBe(12_000_000_000_000n);
  });
});

describe('feeds offline', () => {
  const oracle = StrKey.encodeContract(Buffer.alloc(32, 1));
  const token = StrKey.encodeContract(Buffer.alloc(32, 2));
  const issuer = Keypair.random().publicKey();

  it('StaticPriceFeed returns its price observed now', async () => {
    const at = new Date('2026-01-02T03:04:05Z');
    expect(await new StaticPriceFeed(12_000_000_000_000n, () => at).latest()).toEqual({ price1e14: 12_000_000_000_000n, observedAt: at, source: 'static' });
    expect(() => new StaticPriceFeed(0n)).toThrow(RangeError);
  });

  it('PriceUnavailableError names the asset and masks any address in the message', () => {
    const error = new PriceUnavailableError('XLM', 'reflector', `contract ${oracle} failed`);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PriceUnavailableError');
    expect(error.message).toContain('XLM');
    expect(error.message).not.toContain(oracle);
    expect(error.message).toContain(`${oracle.slice(0, 4)}…${oracle.slice(-4)}`);
  });

  it('validates its configuration at construction, with masked labels', () => {
    const opts = { timeoutMs: 1_000, networkPassphrase: 'x' };
    expect(() => new ReflectorPriceFeed('http://127.0.0.1:1', issuer, { other: 'XLM' }, opts)).toThrow(RangeError);
    expect(() => new ReflectorPriceFeed('http://127.0.0.1:1', oracle, { stellar: issuer }, opts)).toThrow(RangeError);
    expect(() => new ReflectorPriceFeed('http://127.0.0.1:1', oracle, { other: 'not a symbol' }, opts)).toThrow(RangeError);
    expect(new ReflectorPriceFeed('http://127.0.0.1:1', oracle, { stellar: token }, opts).assetLabel).toBe(`${token.slice(0, 4)}…${token.slice(-4)}`);
    const usdc = { code: 'USDC', issuer };
    expect(() => new HorizonTradePriceFeed('http://127.0.0.1:1', 'native', usdc, { timeoutMs: 1_000, resolutionMs: 120_000 })).toThrow(RangeError);
    expect(new HorizonTradePriceFeed('http://127.0.0.1:1', { code: 'AQUA', issuer }, usdc, { timeoutMs: 1_000 }).assetLabel).not.toContain(issuer);
  });
});
