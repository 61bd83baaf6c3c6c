import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accrue,
  allocateRepayment,
  applyDraw,
  availableCredit,
  interestFor,
  nextStatus,
  type CreditLine,
  type CreditLineAction,
  type CreditLineStatus,
} from '../../../src/domain/creditLine.js';
import { ConflictError, UnprocessableError } from '../../../src/domain/errors.js';

const USDC = 10_000_000n;
const DAY = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00Z');

const line = (overrides: Partial<CreditLine> = {}): CreditLine => ({
  id: 'line-1',
  walletAddress: 'GA',
  currency: 'USDC',
  creditLimit: 1_000n * USDC,
  interestRateBps: 1_500,
  utilized: 0n,
  accruedInterest: 0n,
  status: 'active',
  lastAccrualAt: t0,
  createdAt: t0,
  updatedAt: t0,
  contractId: null,
  riskScore: null,
  rateUpdatedAt: null,
    collateralBacked: false,
  ...overrides,
});

describe('interest (mirrors the Credit contract)', () => {
  it('charges 12.3203285 USDC on 1,000 USDC at 1,500 bps over 30 days (reference example)', () => {
    expect(interestFor(1_000n * USDC, 1_500, 30n * 86_400n)).toBe(123_203_285n);
  });

  it('charges 10.8418891 USDC on 600 USDC at 2,200 bps over 30 days (reference example)', () => {
    expect(interestFor(600n * USDC, 2_200, 2_592_000n)).toBe(108_418_891n);
  });

  it('capitalises interest into utilized and accruedInterest and moves the checkpoint', () => {
    const { line: after, interest } = accrue(line({ utilized: 1_000n * USDC }), new Date(t0.getTime() + 30 * DAY));
    expect(interest).toBe(123_203_285n);
    expect(after.utilized).toBe(1_000n * USDC + 123_203_285n);
    expect(after.accruedInterest).toBe(123_203_285n);
    expect(after.lastAccrualAt).toEqual(new Date(t0.getTime() + 30 * DAY));
  });

  it('keeps the checkpoint when less than one unit accrues, so dust time is not lost', () => {
    const tiny = line({ utilized: 1n });
    const { line: after, interest } = accrue(tiny, new Date(t0.getTime() + 1000));
    expect(interest).toBe(0n);
    expect(after.lastAccrualAt).toEqual(t0);
  });

  it('moves the checkpoint to now when there is no debt', () => {
    const now = new Date(t0.getTime() + DAY);
    expect(accrue(line(), now).line.lastAccrualAt).toEqual(now);
  });

  it('accruing in two steps equals accruing once, give or take compounding and one unit per floor', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 400 }), (utilized, rate, a, b) => {
        const start = line({ utilized, interestRateBps: rate });
        const once = accrue(start, new Date(t0.getTime() + (a + b) * 3600_000)).line;
        const first = accrue(start, new Date(t0.getTime() + a * 3600_000)).line;
        const twice = accrue(first, new Date(t0.getTime() + (a + b) * 3600_000)).line;
        // Splitting can only lose the floors' fractions, and only gain interest on the first step's interest.
        const firstInterest = first.utilized - utilized;
        const compounding = interestFor(firstInterest, rate, BigInt(b * 3600)) + 1n;
        expect(twice.utilized >= once.utilized - 2n).toBe(true);
        expect(twice.utilized <= once.utilized + compounding).toBe(true);
      }),
    );
  });
});

describe('state machine', () => {
  const table: Array<[CreditLineStatus, CreditLineAction, CreditLineStatus | 'refused']> = [
    ['active', 'suspend', 'suspended'],
    ['active', 'reinstate', 'refused'],
    ['active', 'default', 'defaulted'],
    ['active', 'close', 'closed'],
    ['suspended', 'suspend', 'refused'],
    ['suspended', 'reinstate', 'active'],
    ['suspended', 'default', 'defaulted'],
    ['suspended', 'close', 'closed'],
    ['defaulted', 'suspend', 'refused'],
    ['defaulted', 'reinstate', 'active'],
    ['defaulted', 'default', 'refused'],
    ['defaulted', 'close', 'closed'],
    ['closed', 'suspend', 'refused'],
    ['closed', 'reinstate', 'refused'],
    ['closed', 'default', 'refused'],
    ['closed', 'close', 'refused'],
    ['restricted', 'suspend', 'suspended'],
    ['restricted', 'reinstate', 'refused'],
    ['restricted', 'default', 'defaulted'],
    ['restricted', 'close', 'closed'],
  ];

  it.each(table)('%s + %s -> %s', (from, action, expected) => {
    if (expected === 'refused') {
      expect(() => nextStatus(from, action)).toThrow(ConflictError);
      try {
        nextStatus(from, action);
      } catch (error) {
        expect((error as ConflictError).details).toMatchObject({ currentStatus: from, action });
      }
    } else {
      expect(nextStatus(from, action)).toBe(expected);
    }
  });
});

describe('draw', () => {
  it('refuses more than the available credit and names the available amount', () => {
    const l = line({ utilized: 990n * USDC });
    expect(() => applyDraw(l, 11n * USDC)).toThrow(UnprocessableError);
    try {
      applyDraw(l, 11n * USDC);
    } catch (error) {
      expect((error as UnprocessableError).code).toBe('insufficient_credit');
      expect((error as UnprocessableError).details).toMatchObject({ available: '10.0000000' });
    }
    expect(applyDraw(l, 10n * USDC).utilized).toBe(1_000n * USDC);
  });

  it.each(['suspended', 'defaulted', 'closed'] as const)('refuses a draw on a %s line', (status) => {
    expect(() => applyDraw(line({ status }), 1n)).toThrow(ConflictError);
  });

  it('never reports negative available credit when the limit is below the balance', () => {
    expect(availableCredit({ creditLimit: 10n, utilized: 50n })).toBe(0n);
  });
});

describe('repayment allocation', () => {
  it('pays accrued interest first, then principal', () => {
    const l = line({ utilized: 610_8418891n, accruedInterest: 10_8418891n });
    const { line: after, split } = allocateRepayment(l, 200n * USDC);
    expect(split).toEqual({ interest: 10_8418891n, principal: 189_1581109n });
    expect(after.utilized).toBe(410_8418891n);
    expect(after.accruedInterest).toBe(0n);
  });

  it('refuses over-payment with the outstanding amount', () => {
    try {
      allocateRepayment(line({ utilized: 5n * USDC }), 6n * USDC);
      expect.unreachable();
    } catch (error) {
      expect((error as UnprocessableError).code).toBe('over_repayment');
      expect((error as UnprocessableError).details).toMatchObject({ outstanding: '5.0000000' });
    }
  });

  it('preserves value: interest + principal = amount, balance never below zero', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 20n }), (principal, interest, amount) => {
        const l = line({ utilized: principal + interest, accruedInterest: interest });
        if (amount > l.utilized) return;
        const { line: after, split } = allocateRepayment(l, amount);
        expect(split.interest + split.principal).toBe(amount);
        expect(split.interest <= interest).toBe(true);
        expect(after.utilized).toBe(l.utilized - amount);
        expect(after.accruedInterest >= 0n && after.accruedInterest <= after.utilized).toBe(true);
      }),
    );
  });
});
