import { randomUUID } from 'node:crypto';
import type { CreditLine, CreditLineStatus } from '../domain/creditLine.js';
import type { LedgerEntryType } from '../domain/ledger.js';
import { formatAmount, minBigint } from '../domain/money.js';
import { creditLineToJson } from '../domain/serialization.js';
import type { ChainEventRecord, ChainEventStatus, Repositories } from '../repositories/repositories.js';
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
 * Applies one decoded contract event to the lines bound to the contract (reference C.5). The chain has already
 * decided: the projection copies its numbers (new_utilized_amount, status) rather than recomputing them, and
 * writes the ledger entry and domain event a database-ledger change would write. Events that need no
 * projection are recorded; an event for a line we never saw opened is parked for reconciliation.
 */
export async function projectCreditEvent(repos: Repositories, record: ChainEventRecord, event: CreditEvent): Promise<ProjectionOutcome> {
  const at = record.ledgerClosedAt;
  const context = { source: 'chain', chainEventId: record.eventId, ledger: record.ledger, txHash: record.txHash };

  const save = async (line: CreditLine, type: string, data: Record<string, unknown>, entry?: { type: LedgerEntryType; amount: bigint; interest?: bigint; principal?: bigint }) => {
    const updated = { ...line, updatedAt: at };
    await repos.creditLines.update(updated);
    let transactionId: string | undefined;
    if (entry && entry.amount > 0n) {
      const appended = await repos.ledger.append({
        id: randomUUID(),
        creditLineId: line.id,
        type: entry.type,
        amount: entry.amount,
        interestAmount: entry.interest ?? 0n,
        principalAmount: entry.principal ?? 0n,
        utilizedAfter: updated.utilized,
        createdAt: at,
      });
      transactionId = appended.id;
    }
    await repos.events.append({
      id: randomUUID(),
      type,
      aggregateType: 'credit_line',
      aggregateId: line.id,
      payload: { creditLine: creditLineToJson(updated), ...data, ...(transactionId ? { transactionId } : {}), ...context },
      createdAt: at,
    });
    return { status: 'applied' } as const;
  };

  const boundLine = async (borrower: string) => repos.creditLines.findByChainIdentityForUpdate(record.contractId, borrower);

  switch (event.name) {
    case 'opened': {
      const f = event.fields;
      const existing = await boundLine(f.borrower);
      const terms = { creditLimit: f.credit_limit, interestRateBps: f.interest_rate_bps, riskScore: f.risk_score, status: f.status as CreditLineStatus };
      if (existing) {
        // The contract reopens a non-active line in place: utilisation starts again from zero.
        return save({ ...existing, ...terms, utilized: 0n, accruedInterest: 0n, lastAccrualAt: at }, 'credit_line.created', { reopened: true });
      }
      const line: CreditLine = {
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
      };
      // Checked before writing: on PostgreSQL a failed INSERT would abort the whole page transaction.
      const [openInDatabase] = (await repos.creditLines.list({ walletAddress: f.borrower }, { limit: 20 })).filter((l) => l.status !== 'closed');
      if (openInDatabase) return parked(`the wallet already has an open database-ledger line ${openInDatabase.id}`);
      await repos.creditLines.insert(line);
      await repos.events.append({
        id: randomUUID(),
        type: 'credit_line.created',
        aggregateType: 'credit_line',
        aggregateId: line.id,
        payload: { creditLine: creditLineToJson(line), reopened: false, ...context },
        createdAt: at,
      });
      return { status: 'applied' };
    }
    case 'drawn': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('drawn for a line that was never seen opened');
      const amount = event.fields.amount;
      return save({ ...line, utilized: event.fields.new_utilized_amount }, 'credit_line.drawn', { amount: formatAmount(amount) }, { type: 'draw', amount, principal: amount });
    }
    case 'repay': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('repay for a line that was never seen opened');
      const amount = event.fields.amount;
      const interest = minBigint(amount, line.accruedInterest);
      return save(
        { ...line, utilized: event.fields.new_utilized_amount, accruedInterest: line.accruedInterest - interest },
        'credit_line.repaid',
        { amount: formatAmount(amount), interestPaid: formatAmount(interest), principalPaid: formatAmount(amount - interest) },
        { type: 'repay', amount, interest, principal: amount - interest },
      );
    }
    case 'accrue': {
      // The contract emits a zero accrue inside every repay: nothing to project.
      if (event.fields.accrued_amount === 0n) return { status: 'recorded' };
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('accrue for a line that was never seen opened');
      const amount = event.fields.accrued_amount;
      await repos.creditLines.update({ ...line, utilized: event.fields.new_utilized_amount, accruedInterest: line.accruedInterest + amount, lastAccrualAt: at, updatedAt: at });
      await repos.ledger.append({
        id: randomUUID(),
        creditLineId: line.id,
        type: 'interest',
        amount,
        interestAmount: amount,
        principalAmount: 0n,
        utilizedAfter: event.fields.new_utilized_amount,
        createdAt: at,
      });
      return { status: 'applied' };
    }
    case 'risk_upd': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('risk_upd for a line that was never seen opened');
      const f = event.fields;
      // risk_upd is the only signal of Restricted <-> Active: the status is recomputed as the contract does.
      const status: CreditLineStatus =
        line.status === 'active' && line.utilized > f.credit_limit ? 'restricted' : line.status === 'restricted' && line.utilized <= f.credit_limit ? 'active' : line.status;
      return save({ ...line, creditLimit: f.credit_limit, interestRateBps: f.interest_rate_bps, riskScore: f.risk_score, status }, 'credit_line.updated', {
        previous: { creditLimit: formatAmount(line.creditLimit), interestRateBps: line.interestRateBps },
      });
    }
    case 'suspend':
    case 'reinstate':
    case 'defaulted':
    case 'closed': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked(`${event.name} for a line that was never seen opened`);
      return save({ ...line, status: event.fields.status as CreditLineStatus }, STATUS_EVENTS[event.name]!, { previousStatus: line.status });
    }
    case 'debt_frgv': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('debt_frgv for a line that was never seen opened');
      const f = event.fields;
      return save(
        { ...line, utilized: f.new_utilized_amount, accruedInterest: f.remaining_accrued_interest },
        'credit_line.updated',
        { debtForgiven: formatAmount(f.amount_forgiven) },
        { type: 'write_off', amount: f.amount_forgiven, interest: line.accruedInterest - f.remaining_accrued_interest, principal: f.amount_forgiven - (line.accruedInterest - f.remaining_accrued_interest) },
      );
    }
    case 'liq_setl': {
      const line = await boundLine(event.fields.borrower);
      if (!line) return parked('liq_setl for a line that was never seen opened');
      const f = event.fields;
      return save(
        { ...line, utilized: f.remaining_utilized_amount, status: f.status as CreditLineStatus },
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
