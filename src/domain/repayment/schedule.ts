import type { LedgerEntry } from '../ledger.js';

/**
 * The repayment schedule of a line, derived from its ledger (nothing here is stored, so it cannot drift): every
 * `cycleDays` after the line opened a statement closes; if the line owed anything then, a minimum is due within
 * `dueDays`. Borrower repayments after the statement count toward it; the statement is paid once they reach the
 * minimum. Unpaid past the due date it is late, and delinquent from `delinquentAfterDays` past due.
 */

export interface ScheduleRule {
  cycleDays: number;
  dueDays: number;
  /** The minimum due is this share of the statement balance... */
  minimumDueBps: number;
  /** ...but at least this much (or the whole balance when it is smaller). */
  minimumDueFloor: bigint;
  delinquentAfterDays: number;
}

export const DEFAULT_SCHEDULE_RULE: ScheduleRule = Object.freeze({
  cycleDays: 30,
  dueDays: 15,
  minimumDueBps: 300,
  minimumDueFloor: 100_000_000n, // 10 USDC
  delinquentAfterDays: 30,
});

export type StatementState = 'open' | 'paid' | 'paid_late' | 'late' | 'delinquent';

export interface DerivedStatement {
  statementDate: Date;
  dueDate: Date;
  balance: bigint;
  minimumDue: bigint;
  /** Borrower repayments since the statement (up to the next one, or now). */
  paid: bigint;
  /** When the repayments reached the minimum. */
  paidAt: Date | null;
  state: StatementState;
  /** Days past the due date: to the day it was paid, or to now if it is still unpaid. */
  daysPastDue: number;
}

const DAY_MS = 86_400_000;

export function minimumDue(balance: bigint, rule: ScheduleRule): bigint {
  if (balance <= 0n) return 0n;
  const share = (balance * BigInt(rule.minimumDueBps)) / 10_000n;
  const floor = share > rule.minimumDueFloor ? share : rule.minimumDueFloor;
  return floor < balance ? floor : balance;
}

const daysBetween = (from: Date, to: Date): number => Math.max(0, Math.ceil((to.getTime() - from.getTime()) / DAY_MS));

/** Every statement of a line up to `now` that found a balance, oldest first. `entries` must be oldest first. */
export function statementsOf(
  openedAt: Date,
  entries: ReadonlyArray<Pick<LedgerEntry, 'type' | 'amount' | 'utilizedAfter' | 'createdAt'>>,
  now: Date,
  rule: ScheduleRule = DEFAULT_SCHEDULE_RULE,
): DerivedStatement[] {
  const statements: DerivedStatement[] = [];
  let balanceIndex = -1;
  for (let k = 1; ; k++) {
    const statementDate = new Date(openedAt.getTime() + k * rule.cycleDays * DAY_MS);
    if (statementDate > now) break;
    while (balanceIndex + 1 < entries.length && entries[balanceIndex + 1]!.createdAt <= statementDate) balanceIndex++;
    const balance = balanceIndex >= 0 ? entries[balanceIndex]!.utilizedAfter : 0n;
    if (balance <= 0n) continue;
    const dueDate = new Date(statementDate.getTime() + rule.dueDays * DAY_MS);
    const nextStatement = new Date(statementDate.getTime() + rule.cycleDays * DAY_MS);
    const due = minimumDue(balance, rule);
    let paid = 0n;
    let paidAt: Date | null = null;
    for (const entry of entries) {
      if ((entry.type !== 'repay' && entry.type !== 'repay_reversal') || entry.createdAt <= statementDate || entry.createdAt > nextStatement || entry.createdAt > now) continue;
      // A repayment given back (refund, dispute) no longer counts toward the minimum.
      paid += entry.type === 'repay' ? entry.amount : -entry.amount;
      if (paidAt === null && paid >= due) paidAt = entry.createdAt;
    }
    const pastDue = paidAt ? daysBetween(dueDate, paidAt) : now > dueDate ? daysBetween(dueDate, now) : 0;
    const state: StatementState = paidAt
      ? paidAt <= dueDate
        ? 'paid'
        : 'paid_late'
      : now <= dueDate
        ? 'open'
        : pastDue >= rule.delinquentAfterDays
          ? 'delinquent'
          : 'late';
    statements.push({ statementDate, dueDate, balance, minimumDue: due, paid, paidAt, state, daysPastDue: paidAt && paidAt <= dueDate ? 0 : pastDue });
  }
  return statements;
}

export type LineStanding = 'current' | 'late' | 'delinquent';

/** Current unless a statement is unpaid past its due date; delinquent when that has lasted the delinquency period. */
export function standing(statements: readonly DerivedStatement[]): { standing: LineStanding; daysPastDue: number } {
  const unpaid = statements.filter((s) => s.state === 'late' || s.state === 'delinquent');
  if (unpaid.length === 0) return { standing: 'current', daysPastDue: 0 };
  const worst = Math.max(...unpaid.map((s) => s.daysPastDue));
  return { standing: unpaid.some((s) => s.state === 'delinquent') ? 'delinquent' : 'late', daysPastDue: worst };
}
