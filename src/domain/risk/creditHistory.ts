import type { CreditLine } from '../creditLine.js';
import type { LedgerEntry } from '../ledger.js';
import { statementsOf, type ScheduleRule } from '../repayment/schedule.js';

/**
 * A wallet's track record on our own lines, for the risk model. Lateness is read from the lines' repayment
 * schedules (src/domain/repayment/schedule.ts): a statement paid (to its minimum) by its due date is on time, one
 * paid after it or still unpaid past it is late, with its days past due.
 */

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
  line: Pick<CreditLine, 'id' | 'createdAt' | 'status' | 'creditLimit' | 'utilized'>;
  /** Oldest first. */
  entries: Pick<LedgerEntry, 'type' | 'amount' | 'utilizedAfter' | 'createdAt'>[];
}

/** Statement outcomes of one line up to `now`, under the schedule rule. */
export function statementOutcomes(history: LineHistory, now: Date, rule?: ScheduleRule): { onTime: number; late: number; maxDaysPastDue: number; currentDaysPastDue: number } {
  const result = { onTime: 0, late: 0, maxDaysPastDue: 0, currentDaysPastDue: 0 };
  for (const statement of statementsOf(history.line.createdAt, history.entries, now, rule)) {
    if (statement.state === 'open') continue;
    if (statement.state === 'paid') {
      result.onTime++;
      continue;
    }
    result.late++;
    result.maxDaysPastDue = Math.max(result.maxDaysPastDue, statement.daysPastDue);
    if (statement.state !== 'paid_late') result.currentDaysPastDue = Math.max(result.currentDaysPastDue, statement.daysPastDue);
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
