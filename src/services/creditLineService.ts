import { randomUUID } from 'node:crypto';
import {
  accrue,
  allocateRepayment,
  applyDraw,
  assertCanUpdate,
  MAX_INTEREST_RATE_BPS,
  nextStatus,
  type CreditLine,
  type CreditLineAction,
  type CreditLineStatus,
} from '../domain/creditLine.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../domain/errors.js';
import type { LedgerEntry, LedgerEntryType } from '../domain/ledger.js';
import { formatAmount } from '../domain/money.js';
import { auditSnapshot, creditLineToJson } from '../domain/serialization.js';
import { decodeCursor, encodeCursor, pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { CreditLineFilter, InTransaction, Repositories, Store } from '../repositories/repositories.js';
import { auditRow } from './audit.js';
import { WalletOwnership, type WalletPrincipal } from './walletOwnership.js';

/** Who asked: a client application or an admin, identified by a fingerprint of its key. */
export interface Actor {
  kind: 'client' | 'admin';
  id: string;
}

export interface RequestMeta {
  actor: Actor;
  requestId?: string;
  /** The wallet the caller proved control of with a SEP-10 token, if any. */
  wallet?: WalletPrincipal;
}

export interface CreditMetrics {
  lineOpened(): void;
  drawn(amount: bigint): void;
  repaid(amount: bigint): void;
}

export interface CreditLineServiceOptions {
  store: Store;
  maxCreditLimit: bigint;
  /** Who may act for a wallet; defaults to `required` wallet tokens. */
  ownership?: WalletOwnership;
  metrics?: CreditMetrics;
  clock?: () => Date;
  newId?: () => string;
}

export interface OpenCreditLineInput {
  walletAddress: string;
  creditLimit: bigint;
  interestRateBps: number;
  currency?: string;
}

export interface MovementResult {
  line: CreditLine;
  transaction: LedgerEntry;
}

const STATUS_EVENT: Record<CreditLineAction, string> = {
  suspend: 'credit_line.suspended',
  reinstate: 'credit_line.reinstated',
  default: 'credit_line.defaulted',
  close: 'credit_line.closed',
};

interface LineCursor {
  createdAt: string;
  id: string;
}

const isLineCursor = (value: unknown): value is LineCursor =>
  typeof value === 'object' && value !== null && typeof (value as LineCursor).createdAt === 'string' && typeof (value as LineCursor).id === 'string';

const withTransaction = (result: { line: CreditLine; transaction?: LedgerEntry }): MovementResult => {
  if (!result.transaction) throw new Error('a money movement must leave a ledger entry');
  return { line: result.line, transaction: result.transaction };
};

/** A movement always has its ledger entry: the same callback, typed for draw and repay. */
const withinAsMovement = (alsoWithin?: InTransaction<MovementResult>): InTransaction<{ line: CreditLine; transaction?: LedgerEntry }> | undefined =>
  alsoWithin && ((repos, result) => alsoWithin(repos, withTransaction(result)));

const noMetrics: CreditMetrics = { lineOpened() {}, drawn() {}, repaid() {} };

/**
 * Credit lines whose ledger is the database. Every change is one transaction that locks the line,
 * capitalises interest up to now, applies the change, and writes the ledger rows, the domain event
 * and (for admin actions) the audit entry together.
 */
export class CreditLineService {
  private readonly store: Store;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly metrics: CreditMetrics;
  private readonly ownership: WalletOwnership;

  constructor(private readonly options: CreditLineServiceOptions) {
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.metrics = options.metrics ?? noMetrics;
    this.ownership = options.ownership ?? new WalletOwnership('required');
  }

  async open(input: OpenCreditLineInput, meta: RequestMeta, alsoWithin?: InTransaction<CreditLine>): Promise<CreditLine> {
    this.assertTerms(input.creditLimit, input.interestRateBps);
    const now = this.clock();
    const line: CreditLine = {
      id: this.newId(),
      walletAddress: input.walletAddress,
      currency: input.currency ?? 'USDC',
      creditLimit: input.creditLimit,
      interestRateBps: input.interestRateBps,
      utilized: 0n,
      accruedInterest: 0n,
      status: 'active',
      lastAccrualAt: now,
      createdAt: now,
      updatedAt: now,
      contractId: null,
      riskScore: null,
    };
    await this.store.transaction(async (repos) => {
      if (meta.actor.kind !== 'admin') await this.ownership.assertCanAct(repos.walletAuth, meta.wallet, line.walletAddress);
      await repos.creditLines.insert(line);
      await this.recordEvent(repos, 'credit_line.created', line, {}, now);
      if (meta.actor.kind === 'admin') await this.recordAudit(repos, meta, 'credit_line.open', null, line, now);
      await alsoWithin?.(repos, line);
    });
    this.metrics.lineOpened();
    return line;
  }

  /** The line as of now: interest is projected to the current second, as a borrower would see it. */
  async get(id: string, meta?: RequestMeta): Promise<CreditLine> {
    const line = await this.store.repos.creditLines.findById(id);
    if (!line) throw new NotFoundError('Credit line', id);
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta?.wallet, line.walletAddress);
    return accrue(line, this.clock()).line;
  }

  async list(filter: CreditLineFilter, page: PageRequest, meta?: RequestMeta): Promise<PageResult<CreditLine>> {
    if (filter.walletAddress) await this.ownership.assertCanRead(this.store.repos.walletAuth, meta?.wallet, filter.walletAddress);
    const after = page.cursor ? decodeCursor(page.cursor, isLineCursor) : undefined;
    const lines = await this.store.repos.creditLines.list(filter, {
      limit: page.limit + 1,
      after: after ? { createdAt: new Date(after.createdAt), id: after.id } : undefined,
    });
    const items = lines.slice(0, page.limit);
    const last = items.at(-1);
    const now = this.clock();
    return {
      items: items.map((line) => accrue(line, now).line),
      nextCursor: lines.length > page.limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
    };
  }

  async transactions(id: string, page: PageRequest, meta?: RequestMeta): Promise<PageResult<LedgerEntry>> {
    await this.get(id, meta);
    return pageBySeq(page, (p) => this.store.repos.ledger.listByLine(id, p));
  }

  async draw(id: string, amount: bigint, meta: RequestMeta, alsoWithin?: InTransaction<MovementResult>): Promise<MovementResult> {
    const result = await this.change(id, meta, 'borrower', withinAsMovement(alsoWithin), (line, now) => {
      const after = applyDraw(line, amount);
      return {
        line: after,
        entry: this.entry(line.id, 'draw', amount, { principal: amount, utilizedAfter: after.utilized }, now),
        event: { type: 'credit_line.drawn', data: { amount: formatAmount(amount) } },
      };
    });
    this.metrics.drawn(amount);
    return withTransaction(result);
  }

  async repay(id: string, amount: bigint, meta: RequestMeta, alsoWithin?: InTransaction<MovementResult>): Promise<MovementResult> {
    const result = await this.change(id, meta, 'borrower', withinAsMovement(alsoWithin), (line, now) => {
      const { line: after, split } = allocateRepayment(line, amount);
      return {
        line: after,
        entry: this.entry(line.id, 'repay', amount, { interest: split.interest, principal: split.principal, utilizedAfter: after.utilized }, now),
        event: {
          type: 'credit_line.repaid',
          data: { amount: formatAmount(amount), interestPaid: formatAmount(split.interest), principalPaid: formatAmount(split.principal) },
        },
      };
    });
    this.metrics.repaid(amount);
    return withTransaction(result);
  }

  async updateTerms(id: string, terms: { creditLimit?: bigint; interestRateBps?: number }, meta: RequestMeta): Promise<CreditLine> {
    const { line } = await this.change(id, meta, 'admin', undefined, (line) => {
      assertCanUpdate(line);
      const updated = { ...line, creditLimit: terms.creditLimit ?? line.creditLimit, interestRateBps: terms.interestRateBps ?? line.interestRateBps };
      this.assertTerms(updated.creditLimit, updated.interestRateBps);
      return {
        line: updated,
        event: {
          type: 'credit_line.updated',
          data: { previous: { creditLimit: formatAmount(line.creditLimit), interestRateBps: line.interestRateBps } },
        },
        audit: 'credit_line.update',
      };
    });
    return line;
  }

  suspend = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine>) => this.transition(id, 'suspend', meta, reason, alsoWithin);
  reinstate = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine>) => this.transition(id, 'reinstate', meta, reason, alsoWithin);
  markDefaulted = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine>) => this.transition(id, 'default', meta, reason, alsoWithin);
  close = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine>) => this.transition(id, 'close', meta, reason, alsoWithin);

  private async transition(id: string, action: CreditLineAction, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine>): Promise<CreditLine> {
    const { line } = await this.change(id, meta, 'admin', alsoWithin && ((repos, result) => alsoWithin(repos, result.line)), (line, now) => {
      const status: CreditLineStatus = nextStatus(line.status, action);
      let updated: CreditLine = { ...line, status };
      let entry: Omit<LedgerEntry, 'seq'> | undefined;
      if (action === 'close' && line.utilized > 0n) {
        // A defaulted line may be closed with debt outstanding: the remainder is written off, visibly.
        if (line.status !== 'defaulted') {
          throw new UnprocessableError('outstanding_balance', `Cannot close a credit line with ${formatAmount(line.utilized)} outstanding; repay it or default the line first`, {
            outstanding: formatAmount(line.utilized),
          });
        }
        entry = this.entry(line.id, 'write_off', line.utilized, { interest: line.accruedInterest, principal: line.utilized - line.accruedInterest, utilizedAfter: 0n }, now);
        updated = { ...updated, utilized: 0n, accruedInterest: 0n };
      }
      return {
        line: updated,
        entry,
        event: { type: STATUS_EVENT[action], data: { previousStatus: line.status, ...(reason ? { reason } : {}) } },
        audit: `credit_line.${action}`,
      };
    });
    return line;
  }

  /**
   * The one path every change takes: lock, check who may act, accrue to now, apply, persist line + ledger +
   * event + audit. Borrower actions need the wallet's own token; admin actions reach here only with an admin key.
   */
  private async change(
    id: string,
    meta: RequestMeta,
    actingAs: 'borrower' | 'admin',
    alsoWithin: InTransaction<{ line: CreditLine; transaction?: LedgerEntry }> | undefined,
    apply: (line: CreditLine, now: Date) => {
      line: CreditLine;
      entry?: Omit<LedgerEntry, 'seq'>;
      event: { type: string; data: Record<string, unknown> };
      audit?: string;
    },
  ): Promise<{ line: CreditLine; transaction?: LedgerEntry }> {
    return this.store.transaction(async (repos) => {
      const locked = await repos.creditLines.findByIdForUpdate(id);
      if (!locked) throw new NotFoundError('Credit line', id);
      // Who may act is decided first: a stranger learns nothing from the answers that follow.
      if (actingAs === 'borrower') await this.ownership.assertCanAct(repos.walletAuth, meta.wallet, locked.walletAddress);
      if (locked.contractId) {
        // The chain is this line's ledger of record; its state moves only through contract events.
        throw new ConflictError('chain_bound', 'This line is bound to the Credit contract; its balance and status follow the chain', { contractId: locked.contractId });
      }
      const now = this.clock();
      const { line: accrued, interest } = accrue(locked, now);
      if (interest > 0n) {
        await repos.ledger.append(this.entry(id, 'interest', interest, { interest, utilizedAfter: accrued.utilized }, now));
      }
      const outcome = apply(accrued, now);
      const line = { ...outcome.line, updatedAt: now };
      await repos.creditLines.update(line);
      const transaction = outcome.entry ? await repos.ledger.append(outcome.entry) : undefined;
      await this.recordEvent(repos, outcome.event.type, line, { ...outcome.event.data, ...(transaction ? { transactionId: transaction.id } : {}) }, now);
      if (outcome.audit) await this.recordAudit(repos, meta, outcome.audit, locked, line, now);
      await alsoWithin?.(repos, { line, transaction });
      return { line, transaction };
    });
  }

  private entry(
    creditLineId: string,
    type: LedgerEntryType,
    amount: bigint,
    parts: { interest?: bigint; principal?: bigint; utilizedAfter: bigint },
    now: Date,
  ): Omit<LedgerEntry, 'seq'> {
    return {
      id: this.newId(),
      creditLineId,
      type,
      amount,
      interestAmount: parts.interest ?? 0n,
      principalAmount: parts.principal ?? 0n,
      utilizedAfter: parts.utilizedAfter,
      createdAt: now,
    };
  }

  private async recordEvent(repos: Repositories, type: string, line: CreditLine, data: Record<string, unknown>, now: Date): Promise<void> {
    await repos.events.append({
      id: this.newId(),
      type,
      aggregateType: 'credit_line',
      aggregateId: line.id,
      payload: { creditLine: creditLineToJson(line), ...data },
      createdAt: now,
    });
  }

  private async recordAudit(repos: Repositories, meta: RequestMeta, action: string, before: CreditLine | null, after: CreditLine, now: Date): Promise<void> {
    await repos.audit.append(
      auditRow(meta, action, { type: 'credit_line', id: after.id }, { before: before ? auditSnapshot(before) : null, after: auditSnapshot(after) }, now, this.newId),
    );
  }

  private assertTerms(creditLimit: bigint, interestRateBps: number): void {
    if (creditLimit <= 0n) throw new UnprocessableError('invalid_credit_limit', 'creditLimit must be greater than zero');
    if (creditLimit > this.options.maxCreditLimit) {
      throw new UnprocessableError('credit_limit_above_cap', `creditLimit exceeds the product cap of ${formatAmount(this.options.maxCreditLimit)}`, {
        cap: formatAmount(this.options.maxCreditLimit),
      });
    }
    if (!Number.isInteger(interestRateBps) || interestRateBps < 0 || interestRateBps > MAX_INTEREST_RATE_BPS) {
      throw new UnprocessableError('invalid_interest_rate', `interestRateBps must be an integer between 0 and ${MAX_INTEREST_RATE_BPS}`);
    }
  }
}
