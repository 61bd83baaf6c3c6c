import { randomUUID } from 'node:crypto';
import { statusAfterLimitChange, type CreditLine, type CreditLineStatus } from '../domain/creditLine.js';
import type { LedgerEntry, LedgerEntryType } from '../domain/ledger.js';
import { formatAmount, minBigint } from '../domain/money.js';
import { creditLineToJson } from '../domain/serialization.js';
import type { ChainEventRecord, ChainEventStatus, DomainEvent, Repositories } from '../repositories/repositories.js';
import type { CreditEvent } from '../stellar/creditEvents.js';

export interface ProjectionOutcome {
  status: ChainEventStatus;
  error?: string;
}

const STATUS_EVENTS: Partial<Record<CreditEvent['name'], string>> = {
  suspend: 'credit_line.suspended',
  reinstate: 'credit_line.reinstated',
  defaulted: 'credit_line.defaulted',
  closed: 'credit_line.closed',
};

const parked = (error: string): ProjectionOutcome => ({ status: 'parked', error });

/**
 * The rules credit_lines enforces (migrations 0001/0004), checked per event: writes are batched at the end of
 * the page, so a value the database would refuse must be caught on the event that produced it.
 */
function assertStorable(line: CreditLine): void {
  const problems = [
    line.creditLimit <= 0n && 'credit limit must be positive',
    line.utilized < 0n && 'utilised amount is negative',
    line.accruedInterest < 0n && 'accrued interest is negative',
    (line.interestRateBps < 0 || line.interestRateBps > 10_000) && `interest rate ${line.interestRateBps} bps is outside 0..10000`,
    line.riskScore !== null && (line.riskScore < 0 || line.riskScore > 100) && `risk score ${line.riskScore} is outside 0..100`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`the projected line cannot be stored: ${problems.join(', ')}`);
}

/** A flush that failed, named by the last event that touched what failed to write (for retry-then-park). */
export class FlushFailure extends Error {
  constructor(
    readonly eventId: string,
    cause: unknown,
  ) {
    super(`writing the projection of chain event ${eventId} failed: ${(cause as Error).message}`);
  }
}

/**
 * Applies one page of decoded contract events to the lines bound to the contract (reference C.5), inside the
 * page's transaction. The chain has already decided: the projection copies its numbers (new_utilized_amount,
 * status) and writes the ledger entries and domain events a database-ledger change would write.
 *
 * Work is page-scoped, because a backlog is thousands of events: each line is locked and read once per page,
 * updated in memory event by event, and written once at `flush`; ledger entries and domain events are written
 * in one statement each. Events that need no projection are recorded; an event for a line never seen opened is
 * parked for reconciliation.
 */
export class PageProjection {
  private readonly lines = new Map<string, CreditLine | null>();
  /** Lines changed in this page, with the last event that changed each. */
  private readonly dirty = new Map<string, string>();
  private readonly ledger: Array<Omit<LedgerEntry, 'seq'>> = [];
  private readonly events: Array<Omit<DomainEvent, 'seq'>> = [];
  private lastEventId = '';

  constructor(private readonly repos: Repositories) {}

  async apply(record: ChainEventRecord, event: CreditEvent): Promise<ProjectionOutcome> {
    this.lastEventId = record.eventId;
    const at = record.ledgerClosedAt;
    const context = { source: 'chain', chainEventId: record.eventId, ledger: record.ledger, txHash: record.txHash };
    const line = (borrower: string) => this.line(record.contractId, borrower);

    const change = (
      updated: CreditLine,
      type: string | null,
      data: Record<string, unknown>,
      entry?: { type: LedgerEntryType; amount: bigint; interest?: bigint; principal?: bigint },
    ): ProjectionOutcome => {
      const saved = { ...updated, updatedAt: at };
      assertStorable(saved);
      this.lines.set(key(record.contractId, saved.walletAddress), saved);
      this.dirty.set(key(record.contractId, saved.walletAddress), record.eventId);
      let transactionId: string | undefined;
      if (entry && entry.amount > 0n) {
        transactionId = randomUUID();
        this.ledger.push({
          id: transactionId,
          creditLineId: saved.id,
          type: entry.type,
          amount: entry.amount,
          interestAmount: entry.interest ?? 0n,
          principalAmount: entry.principal ?? 0n,
          utilizedAfter: saved.utilized,
          createdAt: at,
        });
      }
      if (type) {
        this.events.push({
          id: randomUUID(),
          type,
          aggregateType: 'credit_line',
          aggregateId: saved.id,
          payload: { creditLine: creditLineToJson(saved), ...data, ...(transactionId ? { transactionId } : {}), ...context },
          createdAt: at,
        });
      }
      return { status: 'applied' };
    };

    switch (event.name) {
      case 'opened': {
        const f = event.fields;
        const existing = await line(f.borrower);
        const terms = { creditLimit: f.credit_limit, interestRateBps: f.interest_rate_bps, riskScore: f.risk_score, status: f.status as CreditLineStatus };
        if (existing) {
          // The contract reopens a non-active line in place: utilisation starts again from zero.
          return change({ ...existing, ...terms, utilized: 0n, accruedInterest: 0n, lastAccrualAt: at }, 'credit_line.created', { reopened: true });
        }
        // Checked before writing: on PostgreSQL a failed INSERT would abort the whole page transaction.
        const openInDatabase = await this.repos.creditLines.findOpenByWallet(f.borrower);
        if (openInDatabase) return parked(`the wallet already has an open database-ledger line ${openInDatabase.id}`);
        const created: CreditLine = {
          id: randomUUID(),
          walletAddress: f.borrower,
          currency: 'USDC',
          ...terms,
          utilized: 0n,
          accruedInterest: 0n,
          lastAccrualAt: at,
          createdAt: at,
          updatedAt: at,
          contractId: record.contractId,
          rateUpdatedAt: null,
          collateralBacked: false,
        };
        const outcome = change(created, 'credit_line.created', { reopened: false });
        // Inserted now, as tracked: unless a later event of this page changes it, flush has nothing to update.
        await this.repos.creditLines.insert(this.lines.get(key(record.contractId, created.walletAddress))!);
        this.dirty.delete(key(record.contractId, created.walletAddress));
        return outcome;
      }
      case 'drawn': {
        const current = await line(event.fields.borrower);
        if (!current) return parked('drawn for a line that was never seen opened');
        const amount = event.fields.amount;
        return change({ ...current, utilized: event.fields.new_utilized_amount }, 'credit_line.drawn', { amount: formatAmount(amount) }, { type: 'draw', amount, principal: amount });
      }
      case 'repay': {
        const current = await line(event.fields.borrower);
        if (!current) return parked('repay for a line that was never seen opened');
        const amount = event.fields.amount;
        const interest = minBigint(amount, current.accruedInterest);
        return change(
          { ...current, utilized: event.fields.new_utilized_amount, accruedInterest: current.accruedInterest - interest },
          'credit_line.repaid',
          { amount: formatAmount(amount), interestPaid: formatAmount(interest), principalPaid: formatAmount(amount - interest) },
          { type: 'repay', amount, interest, principal: amount - interest },
        );
      }
      case 'accrue': {
        // The contract emits a zero accrue inside every repay: nothing to project.
        if (event.fields.accrued_amount === 0n) return { status: 'recorded' };
        const current = await line(event.fields.borrower);
        if (!current) return parked('accrue for a line that was never seen opened');
        const amount = event.fields.accrued_amount;
        return change(
          { ...current, utilized: event.fields.new_utilized_amount, accruedInterest: current.accruedInterest + amount, lastAccrualAt: at },
          null,
          {},
          { type: 'interest', amount, interest: amount },
        );
      }
      case 'risk_upd': {
        const current = await line(event.fields.borrower);
        if (!current) return parked('risk_upd for a line that was never seen opened');
        const f = event.fields;
        // risk_upd is the only signal of Restricted <-> Active: the status is recomputed as the contract does.
        const status = statusAfterLimitChange(current.status, current.utilized, f.credit_limit);
        const rateUpdatedAt = f.interest_rate_bps !== current.interestRateBps ? at : current.rateUpdatedAt;
        return change({ ...current, creditLimit: f.credit_limit, interestRateBps: f.interest_rate_bps, riskScore: f.risk_score, status, rateUpdatedAt }, 'credit_line.updated', {
          previous: { creditLimit: formatAmount(current.creditLimit), interestRateBps: current.interestRateBps },
        });
      }
      case 'suspend':
      case 'reinstate':
      case 'defaulted':
      case 'closed': {
        const current = await line(event.fields.borrower);
        if (!current) return parked(`${event.name} for a line that was never seen opened`);
        return change({ ...current, status: event.fields.status as CreditLineStatus }, STATUS_EVENTS[event.name]!, { previousStatus: current.status });
      }
      case 'debt_frgv': {
        const current = await line(event.fields.borrower);
        if (!current) return parked('debt_frgv for a line that was never seen opened');
        const f = event.fields;
        const interestForgiven = current.accruedInterest - f.remaining_accrued_interest;
        return change(
          { ...current, utilized: f.new_utilized_amount, accruedInterest: f.remaining_accrued_interest },
          'credit_line.updated',
          { debtForgiven: formatAmount(f.amount_forgiven) },
          { type: 'write_off', amount: f.amount_forgiven, interest: interestForgiven, principal: f.amount_forgiven - interestForgiven },
        );
      }
      case 'liq_setl': {
        const current = await line(event.fields.borrower);
        if (!current) return parked('liq_setl for a line that was never seen opened');
        const f = event.fields;
        return change(
          { ...current, utilized: f.remaining_utilized_amount, status: f.status as CreditLineStatus },
          'credit_line.repaid',
          { amount: formatAmount(f.recovered_amount), settlementId: f.settlement_id, liquidation: true },
          { type: 'repay', amount: f.recovered_amount, principal: f.recovered_amount },
        );
      }
      default:
        // Lifecycle cross-checks (borrow_lc), fees, collateral, freezes, oracle and admin events: kept for audit and
        // analytics; they move nothing on a credit line's balance or status here.
        return { status: 'recorded' };
    }
  }

  /** Writes the page's changes: each changed line once, then its ledger entries and domain events in order. */
  async flush(): Promise<void> {
    for (const [lineKey, eventId] of this.dirty) {
      try {
        await this.repos.creditLines.update(this.lines.get(lineKey)!);
      } catch (error) {
        throw new FlushFailure(eventId, error);
      }
    }
    try {
      await this.repos.ledger.appendMany(this.ledger);
      await this.repos.events.appendMany(this.events);
    } catch (error) {
      throw new FlushFailure(this.lastEventId, error);
    }
  }

  private async line(contractId: string, borrower: string): Promise<CreditLine | null> {
    const lineKey = key(contractId, borrower);
    if (!this.lines.has(lineKey)) this.lines.set(lineKey, await this.repos.creditLines.findByChainIdentityForUpdate(contractId, borrower));
    return this.lines.get(lineKey) ?? null;
  }
}

const key = (contractId: string, borrower: string) => `${contractId}|${borrower}`;
