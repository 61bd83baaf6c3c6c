import type { CreditLine } from '../creditLine.js';
import type { LedgerEntry } from '../ledger.js';

/**
 * A wallet's track record on our own lines, for the risk model.
 *
 * Until repayment schedules exist, lateness follows a statement rule: every 30 days after a line opens a statement
 * closes, and if the line carried a balance then, a repayment is due within 15 days. The first repayment after the
 * statement settles it: on time if by the due date, late otherwise (days past due counted to that repayment, or to
 * now if none came yet). Statements still inside their 15 days are not judged.
 */

export const STATEMENT_CYCLE_DAYS = 30;
export const PAYMENT_DUE_DAYS = 15;

const DAY_MS = 86_400_000;

export interface CreditHistory {
  repayments: number;
  onTimeStatements: number;
  lateStatements: number;
  maxDaysPastDue: number;
  currentDaysPastDue: number;
  /** Drawn over limit across the wallet's open lines, in bps; null when it has no open line. */
  utilizationBps: number | null;
  defaults: number;
  liquidations: number;
  /** The collateral health factor in bps when the wallet has collateral; null otherwise. */
  collateralHealthFactorBps: number | null;
}

export const EMPTY_HISTORY: CreditHistory = Object.freeze({
  repayments: 0,
  onTimeStatements: 0,
  lateStatements: 0,
  maxDaysPastDue: 0,
  currentDaysPastDue: 0,
  utilizationBps: null,
  defaults: 0,
  liquidations: 0,
  collateralHealthFactorBps: null,
});

export interface LineHistory {
  line: Pick<CreditLine, 'createdAt' | 'status' | 'creditLimit' | 'utilized'>;
  /** Oldest first. */
  entries: Pick<LedgerEntry, 'type' | 'utilizedAfter' | 'createdAt'>[];
}

const daysBetween = (from: Date, to: Date): number => Math.ceil((to.getTime() - from.getTime()) / DAY_MS);

/** Statement outcomes of one line up to `now`. */
export function statementOutcomes(history: LineHistory, now: Date): { onTime: number; late: number; maxDaysPastDue: number; currentDaysPastDue: number } {
  const result = { onTime: 0, late: 0, maxDaysPastDue: 0, currentDaysPastDue: 0 };
  const { entries } = history;
  let balanceIndex = -1; // last entry at or before the statement
  let repayIndex = 0; // first repayment candidate after the statement
  for (let k = 1; ; k++) {
    const statement = new Date(history.line.createdAt.getTime() + k * STATEMENT_CYCLE_DAYS * DAY_MS);
    if (statement > now) break;
    while (balanceIndex + 1 < entries.length && entries[balanceIndex + 1]!.createdAt <= statement) balanceIndex++;
    const balance = balanceIndex >= 0 ? entries[balanceIndex]!.utilizedAfter : 0n;
    if (balance <= 0n) continue;
    const due = new Date(statement.getTime() + PAYMENT_DUE_DAYS * DAY_MS);
    while (repayIndex < entries.length && (entries[repayIndex]!.createdAt <= statement || entries[repayIndex]!.type !== 'repay')) repayIndex++;
    const repayment = entries[repayIndex];
    if (repayment && repayment.createdAt <= due) {
      result.onTime++;
    } else if (repayment) {
      result.late++;
      result.maxDaysPastDue = Math.max(result.maxDaysPastDue, daysBetween(due, repayment.createdAt));
    } else if (now > due) {
      result.late++;
      const overdue = daysBetween(due, now);
      result.maxDaysPastDue = Math.max(result.maxDaysPastDue, overdue);
      result.currentDaysPastDue = Math.max(result.currentDaysPastDue, overdue);
    }
  }
  return result;
}

export function summariseCreditHistory(lines: LineHistory[], counts: { defaults: number; liquidations: number }, now: Date): CreditHistory {
  const history: CreditHistory = { ...EMPTY_HISTORY, defaults: counts.defaults, liquidations: counts.liquidations };
  let limit = 0n;
  let drawn = 0n;
  let openLines = 0;
  for (const lineHistory of lines) {
    history.repayments += lineHistory.entries.filter((e) => e.type === 'repay').length;
    const outcome = statementOutcomes(lineHistory, now);
    history.onTimeStatements += outcome.onTime;
    history.lateStatements += outcome.late;
    history.maxDaysPastDue = Math.max(history.maxDaysPastDue, outcome.maxDaysPastDue);
    history.currentDaysPastDue = Math.max(history.currentDaysPastDue, outcome.currentDaysPastDue);
    if (lineHistory.line.status !== 'closed') {
      openLines++;
      limit += lineHistory.line.creditLimit;
      drawn += lineHistory.line.utilized;
    }
  }
  if (openLines > 0) history.utilizationBps = limit > 0n ? Number((drawn * 10_000n) / limit) : 10_000;
  return history;
}
