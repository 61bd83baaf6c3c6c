import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFiat, MINOR_UNITS, minorUnitsOf, parseFiat, toFiatMinor, toLineUnits } from '../../../../src/domain/repayment/conversion.js';

/** 1 line-asset unit (7 decimals) and the 1e14 rate scale. */
const UNIT = 10_000_000n;
const ONE = 10n ** 14n;
const EUR_RATE = 108_000_000_000_000n; // 1.08 USDC per EUR
const JPY_RATE = 670_000_000_000n; // 0.0067 USDC per JPY
const THIRD = 33_333_333_333_333n; // 0.33333333333333 USDC per unit: every conversion has a remainder

const currencies = Object.keys(MINOR_UNITS);
const anyCurrency = fc.constantFrom(...currencies);
const anyRate = fc.bigInt({ min: 1n, max: 10n ** 20n });

describe('minor units', () => {
  it('knows the ISO 4217 exponents of the currencies we take, and nothing else', () => {
    expect(minorUnitsOf('usd')).toBe(2);
    expect(minorUnitsOf('eur')).toBe(2);
    expect(minorUnitsOf('jpy')).toBe(0);
    expect(minorUnitsOf('xyz')).toBeUndefined();
    // Codes are lower-case: callers lower-case them first.
    expect(minorUnitsOf('USD')).toBeUndefined();
  });
});

describe('toLineUnits', () => {
  it('converts usd cents at 1:1 exactly', () => {
    expect(toLineUnits(10_000n, 'usd', ONE)).toBe(100n * UNIT);
    expect(toLineUnits(1n, 'usd', ONE)).toBe(100_000n); // one cent is 0.01 USDC
    expect(toLineUnits(0n, 'usd', ONE)).toBe(0n);
  });

  it('converts eur cents at the recorded rate exactly', () => {
    expect(toLineUnits(10_000n, 'eur', EUR_RATE)).toBe(108n * UNIT);
    expect(toLineUnits(1n, 'eur', EUR_RATE)).toBe(108_000n);
  });

  it('converts yen (no minor unit) exactly', () => {
    expect(toLineUnits(1_000n, 'jpy', JPY_RATE)).toBe(67_000_000n); // 6.7 USDC
    expect(toLineUnits(1n, 'jpy', JPY_RATE)).toBe(67_000n);
    expect(toLineUnits(1n, 'jpy', ONE)).toBe(UNIT);
  });

  it('floors: a payment is credited at no more than it is worth', () => {
    expect(toLineUnits(1n, 'usd', THIRD)).toBe(33_333n); // 33_333.33333333
    expect(toLineUnits(3n, 'usd', THIRD)).toBe(99_999n); // 99_999.99999999
    expect(toLineUnits(1n, 'jpy', 1n)).toBe(0n); // 1e-7 of a unit rounds down to nothing
  });

  it('refuses a currency it does not know', () => {
    expect(() => toLineUnits(100n, 'xyz', ONE)).toThrow(RangeError);
    expect(() => toLineUnits(100n, 'USD', ONE)).toThrow(/unsupported currency USD/);
  });
});

describe('toFiatMinor', () => {
  it('is exact where the conversion is', () => {
    expect(toFiatMinor(100n * UNIT, 'usd', ONE)).toBe(10_000n);
    expect(toFiatMinor(108n * UNIT, 'eur', EUR_RATE)).toBe(10_000n);
    expect(toFiatMinor(67_000_000n, 'jpy', JPY_RATE)).toBe(1_000n);
    expect(toFiatMinor(0n, 'usd', ONE)).toBe(0n);
  });

  it('ceils: the payment covers at least what is owed', () => {
    expect(toFiatMinor(1n, 'usd', ONE)).toBe(1n); // 1e-7 USDC still costs a cent
    expect(toFiatMinor(100_001n, 'usd', ONE)).toBe(2n);
    expect(toFiatMinor(100n * UNIT, 'eur', EUR_RATE)).toBe(9_260n); // 92.592592...
    expect(toFiatMinor(UNIT, 'jpy', JPY_RATE)).toBe(150n); // 149.25...
    expect(toFiatMinor(UNIT, 'usd', THIRD)).toBe(301n); // 300.000000000003
  });

  it('refuses a currency it does not know', () => {
    expect(() => toFiatMinor(100n, 'xyz', ONE)).toThrow(RangeError);
  });

  it('property: what the user pays always covers the amount, and one minor unit less would not', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), anyCurrency, anyRate, (lineUnits, currency, rate) => {
        const fiat = toFiatMinor(lineUnits, currency, rate);
        expect(toLineUnits(fiat, currency, rate)).toBeGreaterThanOrEqual(lineUnits);
        if (fiat > 0n) expect(toLineUnits(fiat - 1n, currency, rate)).toBeLessThan(lineUnits);
      }),
      { numRuns: 500 },
    );
  });

  it('property: converting a payment to the line and back never asks for more than was paid', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), anyCurrency, anyRate, (fiat, currency, rate) => {
        expect(toFiatMinor(toLineUnits(fiat, currency, rate), currency, rate)).toBeLessThanOrEqual(fiat);
      }),
      { numRuns: 500 },
    );
  });

  it('property: at 1:1 for a two-decimal currency both directions are exact inverses on whole cents', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), (cents) => {
        expect(toFiatMinor(toLineUnits(cents, 'usd', ONE), 'usd', ONE)).toBe(cents);
      }),
    );
  });
});

describe('parseFiat and formatFiat', () => {
  it.each([
    ['100.00', 'usd', 10_000n],
    ['100.5', 'usd', 10_050n],
    ['100', 'usd', 10_000n],
    ['0.01', 'eur', 1n],
    ['0', 'usd', 0n],
    ['007.10', 'usd', 710n],
    ['999999999999999.99', 'usd', 99_999_999_999_999_999n],
    ['1500', 'jpy', 1_500n],
    ['0', 'jpy', 0n],
  ])('parses %s %s as %s minor units', (text, currency, minor) => {
    expect(parseFiat(text, currency)).toBe(minor);
  });

  it.each([
    ['100.001', 'usd', 'more decimals than the currency has'],
    ['100.5', 'jpy', 'decimals for a currency without minor units'],
    ['100.', 'usd', 'a trailing dot'],
    ['.5', 'usd', 'no integer part'],
    ['', 'usd', 'nothing'],
    ['-1.00', 'usd', 'a sign'],
    ['+1.00', 'usd', 'a sign'],
    [' 1.00', 'usd', 'whitespace'],
    ['1,00', 'eur', 'a decimal comma'],
    ['1e3', 'usd', 'an exponent'],
    ['1000000000000000', 'usd', 'more than 15 integer digits'],
    ['1.00', 'xyz', 'an unknown currency'],
    ['1.00', 'USD', 'an upper-case code'],
  ])('refuses %j in %s (%s)', (text, currency) => {
    expect(parseFiat(text, currency)).toBeNull();
  });

  it('formats minor units with the currency\'s decimals', () => {
    expect(formatFiat(10_050n, 'usd')).toBe('100.50');
    expect(formatFiat(5n, 'eur')).toBe('0.05');
    expect(formatFiat(0n, 'usd')).toBe('0.00');
    expect(formatFiat(1_234n, 'jpy')).toBe('1234');
    expect(formatFiat(99_999_999_999_999_999n, 'usd')).toBe('999999999999999.99');
    // An unknown code falls back to two decimals (display only: parsing refuses it).
    expect(formatFiat(123n, 'xyz')).toBe('1.23');
  });

  it('property: formatting then parsing gives the same minor units back', () => {
    fc.assert(
      fc.property(anyCurrency, fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }), fc.bigInt({ min: 0n, max: 99n }), (currency, major, minorPart) => {
        const exponent = BigInt(minorUnitsOf(currency)!);
        const minor = major * 10n ** exponent + (minorPart % 10n ** exponent);
        const text = formatFiat(minor, currency);
        expect(text).toMatch(exponent === 0n ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${exponent}}$`));
        expect(parseFiat(text, currency)).toBe(minor);
      }),
      { numRuns: 500 },
    );
  });
});
