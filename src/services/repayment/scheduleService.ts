import { randomUUID } from 'node:crypto';
import type { CreditLine } from '../../domain/creditLine.js';
import { DEFAULT_SCHEDULE_RULE, standing, statementsOf, type DerivedStatement, type LineStanding, type ScheduleRule } from '../../domain/repayment/schedule.js';
import { creditLineToJson } from '../../domain/serialization.js';
import { formatAmount } from '../../domain/money.js';
import type { Logger } from '../../lib/logger.js';
import type { DomainEvent, Store } from '../../repositories/repositories.js';
import type { CreditLineService, RequestMeta } from '../creditLineService.js';

export interface LineSchedule {
  line: CreditLine;
  standing: LineStanding;
  daysPastDue: number;
  /** The oldest statement not yet paid to its minimum, if any: what the borrower should pay next, by when. */
  nextDue: DerivedStatement | null;
  /** Newest first. */
  statements: DerivedStatement[];
}

const DAY_MS = 86_400_000;

/**
 * Repayment schedules: derived from the ledger on every read (nothing to drift), and a daily job that sends each
 * statement's `repayment.due_soon` (a few days before its due date, while unpaid) and `repayment.late` once.
 */
export class ScheduleService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly creditLines: CreditLineService,
    private readonly logger: Logger,
    private readonly options: { rule?: ScheduleRule; dueSoonDays?: number; batchSize?: number; clock?: () => Date } = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  private get rule(): ScheduleRule {
    return this.options.rule ?? DEFAULT_SCHEDULE_RULE;
  }

  async schedule(lineId: string, meta: RequestMeta): Promise<LineSchedule> {
    const line = await this.creditLines.get(lineId, meta);
    const statements = await this.statementsOf(line, this.clock());
    const { standing: current, daysPastDue } = standing(statements);
    return { line, standing: current, daysPastDue, nextDue: statements.find((s) => s.paidAt === null) ?? null, statements: [...statements].reverse() };
  }

  /** One run of the daily job over every line that owes something; returns the notices sent. */
  async notify(): Promise<number> {
    const now = this.clock();
    let sent = 0;
    let afterId: string | undefined;
    for (;;) {
      const lines = await this.store.repos.creditLines.listOwing({ limit: this.options.batchSize ?? 500, afterId });
      if (lines.length === 0) break;
      afterId = lines.at(-1)!.id;
      for (const line of lines) sent += await this.notifyLine(line, now);
    }
    if (sent > 0) this.logger.info({ sent }, 'repayment notices sent');
    return sent;
  }

  private async notifyLine(line: CreditLine, now: Date): Promise<number> {
    const statements = await this.statementsOf(line, now);
    const dueSoonFrom = (this.options.dueSoonDays ?? 3) * DAY_MS;
    const wanted = statements.flatMap((s): Array<{ statement: DerivedStatement; kind: 'due_soon' | 'late' }> => {
      if (s.state === 'open' && s.dueDate.getTime() - now.getTime() <= dueSoonFrom) return [{ statement: s, kind: 'due_soon' }];
      if (s.state === 'late' || s.state === 'delinquent') return [{ statement: s, kind: 'late' }];
      return [];
    });
    if (wanted.length === 0) return 0;
    return this.store.transaction(async (repos) => {
      const recorded = await repos.statementNotices.record(wanted.map((w) => ({ creditLineId: line.id, statementDate: w.statement.statementDate, kind: w.kind, sentAt: now })));
      const events: Array<Omit<DomainEvent, 'seq'>> = recorded.map((r) => {
        const s = wanted.find((w) => w.kind === r.kind && w.statement.statementDate.getTime() === r.statementDate.getTime())!.statement;
        return {
          id: randomUUID(),
          type: r.kind === 'due_soon' ? 'repayment.due_soon' : 'repayment.late',
          aggregateType: 'credit_line',
          aggregateId: line.id,
          payload: { creditLine: creditLineToJson(line), ...statementToJson(s) },
          createdAt: now,
        };
      });
      await repos.events.appendMany(events);
      return events.length;
    });
  }

  private async statementsOf(line: CreditLine, now: Date): Promise<DerivedStatement[]> {
    const history = await this.store.repos.creditHistory.forWallet(line.walletAddress);
    const own = history.lines.find((l) => l.line.id === line.id);
    return own ? statementsOf(line.createdAt, own.entries, now, this.rule) : [];
  }
}

export const statementToJson = (s: DerivedStatement) => ({
  statementDate: s.statementDate.toISOString(),
  dueDate: s.dueDate.toISOString(),
  balance: formatAmount(s.balance),
  minimumDue: formatAmount(s.minimumDue),
  paid: formatAmount(s.paid),
  paidAt: s.paidAt?.toISOString() ?? null,
  state: s.state,
  daysPastDue: s.daysPastDue,
});
