import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmountFormatError, formatAmount, I128_MAX, parseAmount, parsePositiveAmount } from '../../../src/domain/money.js';

describe('money', () => {
  it('parses decimal strings into 7-decimal base units', () => {
    expect(parseAmount('125.5')).toBe(1_255_000_000n);
    expect(parseAmount('0.0000001')).toBe(1n);
    expect(parseAmount('1')).toBe(10_000_000n);
    expect(parseAmount('007.10')).toBe(71_000_000n);
  });

  it('formats base units with exactly 7 decimals', () => {
    expect(formatAmount(1_255_000_000n)).toBe('125.5000000');
    expect(formatAmount(1n)).toBe('0.0000001');
    expect(formatAmount(0n)).toBe('0.0000000');
    expect(formatAmount(-15n)).toBe('-0.0000015');
  });

  it.each([
    ['1e5', 'decimal_string'],
    ['-1', 'decimal_string'],
    ['+1', 'decimal_string'],
    ['1.', 'decimal_string'],
    ['.5', 'decimal_string'],
    [' 1', 'decimal_string'],
    ['1.00000001', 'max_decimals'],
  ])('rejects %j (%s)', (text, rule) => {
    expect(() => parseAmount(text)).toThrow(AmountFormatError);
    try {
      parseAmount(text);
    } catch (error) {
      expect((error as AmountFormatError).rule).toBe(rule);
    }
  });

  it('accepts exactly i128::MAX base units and refuses one more', () => {
    const max = formatAmount(I128_MAX);
    expect(parseAmount(max)).toBe(I128_MAX);
    expect(() => parseAmount(formatAmount(I128_MAX + 1n))).toThrow(/i128/);
  });

  it('refuses zero where a positive amount is required', () => {
    expect(() => parsePositiveAmount('0')).toThrow(/greater than zero/);
    expect(() => parsePositiveAmount('0.0000000')).toThrow(/greater than zero/);
  });

  it('round-trips every amount in the i128 range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: I128_MAX }), (units) => {
        expect(parseAmount(formatAmount(units))).toBe(units);
      }),
    );
  });
});
