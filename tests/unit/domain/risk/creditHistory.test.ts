import { describe, expect, it } from 'vitest';
import { statementOutcomes, summariseCreditHistory, type LineHistory } from '../../../../src/domain/risk/creditHistory.js';
import type { LedgerEntryType } from '../../../../src/domain/ledger.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const USDC = 10_000_000n;
/** An entry by the balance it leaves (in whole USDC); its amount is the change from the previous balance. */
const entry = (type: LedgerEntryType, days: number, balanceAfter: bigint) => ({ type, createdAt: at(days), utilizedAfter: balanceAfter * USDC });

const lineWith = (entries: Array<ReturnType<typeof entry>>, overrides: Partial<LineHistory['line']> = {}): LineHistory => ({
  line: { id: 'line-1', createdAt: T0, status: 'active', creditLimit: 1_000n * USDC, utilized: entries.at(-1)?.utilizedAfter ?? 0n, ...overrides },
  entries: entries.map((e, i) => {
    const before = i === 0 ? 0n : entries[i - 1]!.utilizedAfter;
    return { ...e, amount: e.utilizedAfter > before ? e.utilizedAfter - before : before - e.utilizedAfter };
  }),
});

describe('lateness from the repayment schedule (30-day statements, 15 days to pay the minimum)', () => {
  it('a repayment between the statement and its due date is on time', () => {
    const line = lineWith([entry('draw', 5, 500n), entry('repay', 40, 0n)]);
    expect(statementOutcomes(line, at(100))).toEqual({ onTime: 1, late: 0, maxDaysPastDue: 0, currentDaysPastDue: 0 });
  });

  it('a repayment after the due date is late by the days past it', () => {
    const line = lineWith([entry('draw', 5, 500n), entry('repay', 55, 0n)]);
    // statement at day 30, due day 45, paid day 55: 10 days late; nothing owed at the next statements
    expect(statementOutcomes(line, at(100))).toEqual({ onTime: 0, late: 1, maxDaysPastDue: 10, currentDaysPastDue: 0 });
  });

  it('an unpaid statement past its due date is late and currently past due', () => {
    const line = lineWith([entry('draw', 5, 500n)]);
    // statements at 30 (due 45) and 60 (due 75), none paid by day 80
    expect(statementOutcomes(line, at(80))).toEqual({ onTime: 0, late: 2, maxDaysPastDue: 35, currentDaysPastDue: 35 });
  });

  it('a statement still inside its 15 days is not judged, and a zero balance owes nothing', () => {
    expect(statementOutcomes(lineWith([entry('draw', 5, 500n)]), at(40))).toEqual({ onTime: 0, late: 0, maxDaysPastDue: 0, currentDaysPastDue: 0 });
    expect(statementOutcomes(lineWith([entry('draw', 5, 500n), entry('repay', 10, 0n)]), at(200)).onTime).toBe(0);
  });

  it('a repayment before the statement does not settle it: the balance at the statement does', () => {
    const line = lineWith([entry('draw', 5, 500n), entry('repay', 20, 300n), entry('repay', 44, 0n)]);
    expect(statementOutcomes(line, at(100))).toMatchObject({ onTime: 1, late: 0 });
  });

  it('summarises lines: repayments counted, worst lateness kept, utilisation over open lines only', () => {
    const open = lineWith([entry('draw', 5, 500n), entry('repay', 40, 250n), entry('repay', 70, 0n), entry('draw', 80, 250n)], { creditLimit: 1_000n * USDC, utilized: 250n * USDC });
    const closed = lineWith([entry('draw', 1, 100n), entry('repay', 60, 0n)], { status: 'closed', creditLimit: 5_000n * USDC, utilized: 0n });
    const history = summariseCreditHistory([open, closed], { defaults: 1, liquidations: 0 }, at(100));
    expect(history).toMatchObject({ repayments: 3, onTimeStatements: 2, lateStatements: 1, maxDaysPastDue: 15, utilizationBps: 2_500, defaults: 1, liquidations: 0 });
    expect(summariseCreditHistory([], { defaults: 0, liquidations: 0 }, at(100)).utilizationBps).toBeNull();
  });
});
