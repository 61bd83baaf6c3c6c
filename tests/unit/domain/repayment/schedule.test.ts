import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE_RULE, minimumDue, standing, statementsOf } from '../../../../src/domain/repayment/schedule.js';
import type { LedgerEntryType } from '../../../../src/domain/ledger.js';

const USDC = 10_000_000n;
const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const e = (type: LedgerEntryType, days: number, amount: bigint, utilizedAfter: bigint) => ({ type, createdAt: at(days), amount: amount * USDC, utilizedAfter: utilizedAfter * USDC });

describe('the minimum due', () => {
  it('is 3% of the balance, at least 10 USDC, at most the balance', () => {
    expect(minimumDue(1_000n * USDC, DEFAULT_SCHEDULE_RULE)).toBe(30n * USDC);
    expect(minimumDue(200n * USDC, DEFAULT_SCHEDULE_RULE)).toBe(10n * USDC);
    expect(minimumDue(4n * USDC, DEFAULT_SCHEDULE_RULE)).toBe(4n * USDC);
    expect(minimumDue(0n, DEFAULT_SCHEDULE_RULE)).toBe(0n);
  });

  it('property: never more than the balance, never less than the floor when the balance allows', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 18n }), (balance) => {
        const due = minimumDue(balance, DEFAULT_SCHEDULE_RULE);
        return due <= balance && (balance < DEFAULT_SCHEDULE_RULE.minimumDueFloor || due >= DEFAULT_SCHEDULE_RULE.minimumDueFloor);
      }),
    );
  });
});

describe('statements derived from the ledger', () => {
  it('closes a statement every 30 days on the balance; repayments after it count toward its minimum', () => {
    const entries = [e('draw', 2, 1_000n, 1_000n), e('repay', 35, 20n, 980n), e('repay', 40, 10n, 970n)];
    const [first] = statementsOf(T0, entries, at(50));
    expect(first).toMatchObject({ balance: 1_000n * USDC, minimumDue: 30n * USDC, paid: 30n * USDC, state: 'paid', daysPastDue: 0 });
    expect(first!.paidAt).toEqual(at(40));
    expect(first!.dueDate).toEqual(at(45));
  });

  it('is late past the due date, delinquent from 30 days past it; standing follows the worst', () => {
    const entries = [e('draw', 2, 500n, 500n)];
    expect(standing(statementsOf(T0, entries, at(44)))).toEqual({ standing: 'current', daysPastDue: 0 });
    expect(statementsOf(T0, entries, at(44))[0]!.state).toBe('open');
    expect(standing(statementsOf(T0, entries, at(50)))).toEqual({ standing: 'late', daysPastDue: 5 });
    expect(standing(statementsOf(T0, entries, at(80)))).toEqual({ standing: 'delinquent', daysPastDue: 35 });
  });

  it('a late payment settles the statement as paid late; debt repaid from collateral is not a borrower repayment', () => {
    const late = statementsOf(T0, [e('draw', 2, 500n, 500n), e('repay', 50, 500n, 0n)], at(100));
    expect(late.map((s) => [s.state, s.daysPastDue])).toEqual([['paid_late', 5]]);
    const seized = statementsOf(T0, [e('draw', 2, 500n, 500n), e('collateral_repay', 40, 500n, 0n)], at(50));
    expect(seized.map((s) => s.state)).toEqual(['late']);
  });
});
