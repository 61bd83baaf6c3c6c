import { randomUUID } from 'node:crypto';
import {
  accrue,
  allocateRepayment,
  applyDraw,
  assertCanDraw,
  assertCanRepay,
  assertCanUpdate,
  duplicateOpenLine,
  MAX_INTEREST_RATE_BPS,
  nextStatus,
  statusAfterLimitChange,
  type CreditLine,
  type CreditLineAction,
  type CreditLineStatus,
} from '../domain/creditLine.js';
import type { ChainTransaction } from '../domain/chainTransaction.js';
import { ConflictError, NotFoundError, ServiceUnavailableError, UnprocessableError, ValidationError } from '../domain/errors.js';
import { creditContract, type ContractCall } from '../stellar/creditContractCalls.js';
import { assertApplicable, type RiskEvaluation } from '../domain/risk/evaluation.js';
import { contractRiskScore, reachableRate, type RateChangeLimits, type RateConstraint } from '../domain/risk/terms.js';
import type { LedgerEntry, LedgerEntryType } from '../domain/ledger.js';
import { formatAmount, minBigint } from '../domain/money.js';
import { auditSnapshot, creditLineToJson } from '../domain/serialization.js';
import { decodeCursor, encodeCursor, pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { CreditLineFilter, InTransaction, Repositories, Store } from '../repositories/repositories.js';
import { actorName, auditRow } from './audit.js';
import type { CreditOffers } from './riskService.js';
import { WalletOwnership, type WalletPrincipal } from './walletOwnership.js';
import type { BorrowerRequest, OperatorRequest } from './chain/chainTransactionService.js';
import type { ChainCreditLine } from './reconciliationService.js';

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
  /** Where a line's terms come from unless an admin sets them by hand: the wallet's risk evaluation. */
  offers: CreditOffers;
  /** The contract's rate-change guard, kept for every line so that any of them could be bound later. */
  rateChange: RateChangeLimits;
  /** A card line's limit at current prices; required for collateral-backed lines. */
  collateralLimits?: CollateralLimits;
  /** Acting on the Credit contract for bound lines; without it a bound line can only be read. */
  chain?: ChainActions;
  /** Who may act for a wallet; defaults to `required` wallet tokens. */
  ownership?: WalletOwnership;
  metrics?: CreditMetrics;
  clock?: () => Date;
  newId?: () => string;
}

export interface OpenCreditLineInput {
  walletAddress: string;
  /** A smaller limit than the evaluation offers; with interestRateBps, an admin's manual terms. */
  creditLimit?: bigint;
  /** Admins only: manual terms instead of the evaluation's. */
  interestRateBps?: number;
  currency?: string;
  /** A card line: its limit is also capped by the wallet's collateral at current prices. */
  collateralBacked?: boolean;
}

export interface CollateralLimits {
  /** The most the line may have utilized now, inside the drawing transaction (the line is locked). Throws on a stale price. */
  limitWithin(repos: Repositories, line: CreditLine, now: Date): Promise<bigint>;
}

export interface AppliedEvaluation {
  line: CreditLine;
  evaluation: RiskEvaluation;
  /** For a bound line: the update_risk_parameters call that carries the terms to the chain. */
  chainTransaction?: ChainTransaction;
}

export interface MovementResult {
  line: CreditLine;
  transaction: LedgerEntry;
}

/** The contract calls a bound line's changes become (see ChainTransactionService). */
export interface ChainActions {
  readonly operatorAccount: string | null;
  readonly defaultContractId: string;
  isFollowed(contractId: string): boolean;
  readLine(contractId: string, borrower: string): Promise<ChainCreditLine | null>;
  operate(request: OperatorRequest): Promise<ChainTransaction>;
  prepare(request: BorrowerRequest): Promise<ChainTransaction>;
}

/** A change to a bound line: the line as it stands, and the contract transaction that will change it on chain. */
export interface ChainSubmission {
  line: CreditLine;
  chainTransaction: ChainTransaction;
}

export const isChainSubmission = (result: object): result is ChainSubmission => 'chainTransaction' in result && (result as ChainSubmission).chainTransaction !== undefined;

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

interface ChangeOutcome {
  line: CreditLine;
  entry?: Omit<LedgerEntry, 'seq'>;
  event: { type: string; data: Record<string, unknown> };
  audit?: string;
}

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

  /**
   * Opens a line on the terms of the wallet's current risk evaluation (evaluated now if it has none): its limit, or
   * a smaller one the borrower asks for, and its rate. Only an admin may set terms by hand, and that is audited.
   */
  async open(input: OpenCreditLineInput, meta: RequestMeta, alsoWithin?: InTransaction<CreditLine>): Promise<CreditLine> {
    const isAdmin = meta.actor.kind === 'admin';
    if (!isAdmin) await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, input.walletAddress);
    // Answered before any evaluation: a wallet with a line learns that, not a provider outage. The unique index
    // still decides a race.
    if (await this.store.repos.creditLines.findOpenByWallet(input.walletAddress)) throw duplicateOpenLine();
    const terms = await this.openingTerms(input, isAdmin);
    this.assertTerms(terms.creditLimit, terms.interestRateBps);
    const now = this.clock();
    const line: CreditLine = {
      id: this.newId(),
      walletAddress: input.walletAddress,
      currency: input.currency ?? 'USDC',
      creditLimit: terms.creditLimit,
      interestRateBps: terms.interestRateBps,
      utilized: 0n,
      accruedInterest: 0n,
      status: 'active',
      lastAccrualAt: now,
      createdAt: now,
      updatedAt: now,
      contractId: null,
      riskScore: terms.riskScore,
      rateUpdatedAt: null,
      collateralBacked: input.collateralBacked ?? false,
    };
    await this.store.transaction(async (repos) => {
      await repos.creditLines.insert(line);
      await this.recordEvent(repos, 'credit_line.created', line, { evaluationId: terms.evaluationId }, now);
      if (isAdmin) await this.recordAudit(repos, meta, 'credit_line.open', null, line, now);
      await alsoWithin?.(repos, line);
    });
    this.metrics.lineOpened();
    return line;
  }

  /**
   * Opens the wallet's line on the Credit contract (open_credit_line, signed by the operator) on the same terms as
   * a database line. The line appears when its `opened` event is applied; the transaction links to it then.
   */
  async openOnChain(input: OpenCreditLineInput & { contractId?: string }, meta: RequestMeta, alsoWithin?: InTransaction<ChainTransaction>): Promise<ChainTransaction> {
    const chain = this.requireChain();
    const contractId = input.contractId ?? chain.defaultContractId;
    if (!chain.isFollowed(contractId)) {
      throw new ValidationError([{ field: 'contractId', rule: 'followed_contract', message: 'must be one of the contracts this deployment follows (CREDIT_CONTRACT_IDS)' }]);
    }
    if (await this.store.repos.creditLines.findOpenByWallet(input.walletAddress)) throw duplicateOpenLine();
    const terms = await this.openingTerms(input, true);
    this.assertTerms(terms.creditLimit, terms.interestRateBps);
    const call = creditContract.openCreditLine(input.walletAddress, { creditLimit: terms.creditLimit, interestRateBps: terms.interestRateBps, riskScore: terms.riskScore ?? 0 });
    return chain.operate({ contractId, walletAddress: input.walletAddress, creditLineId: null, call, meta, alsoWithin });
  }

  /**
   * Binds a database line to the wallet's existing line on the contract: from now on the chain is its ledger. The
   * line takes the chain's terms, status and balance; a database balance the chain does not show is refused
   * (409 balance_mismatch) rather than silently dropped.
   */
  async bindToChain(id: string, contractIdInput: string | undefined, meta: RequestMeta, alsoWithin?: InTransaction<CreditLine>): Promise<CreditLine> {
    const chain = this.requireChain();
    const contractId = contractIdInput ?? chain.defaultContractId;
    if (!chain.isFollowed(contractId)) {
      throw new ValidationError([{ field: 'contractId', rule: 'followed_contract', message: 'must be one of the contracts this deployment follows (CREDIT_CONTRACT_IDS)' }]);
    }
    const current = await this.store.repos.creditLines.findById(id);
    if (!current) throw new NotFoundError('Credit line', id);
    const onChain = await chain.readLine(contractId, current.walletAddress);
    if (!onChain || onChain.status === 'closed') throw new ConflictError('not_on_chain', 'The wallet has no open line on this contract to bind to', { contractId });
    return this.store.transaction(async (repos) => {
      const locked = await repos.creditLines.findByIdForUpdate(id);
      if (!locked) throw new NotFoundError('Credit line', id);
      if (locked.contractId) throw new ConflictError('already_bound', 'This line is already bound to the Credit contract', { contractId: locked.contractId });
      if (locked.status === 'closed') throw new ConflictError('invalid_status', 'Cannot bind a closed credit line', { currentStatus: locked.status });
      const now = this.clock();
      const accrued = accrue(locked, now).line;
      if (accrued.utilized !== 0n && accrued.utilized !== onChain.utilized) {
        throw new ConflictError('balance_mismatch', `The line owes ${formatAmount(accrued.utilized)} here and ${formatAmount(onChain.utilized)} on chain; settle the difference before binding`, {
          utilized: formatAmount(accrued.utilized),
          chainUtilized: formatAmount(onChain.utilized),
        });
      }
      const line: CreditLine = {
        ...locked,
        contractId,
        creditLimit: onChain.creditLimit,
        interestRateBps: onChain.interestRateBps,
        riskScore: onChain.riskScore,
        status: onChain.status,
        utilized: onChain.utilized,
        accruedInterest: onChain.accruedInterest,
        lastAccrualAt: new Date(Number(onChain.lastAccrualTs) * 1000),
        updatedAt: now,
      };
      await repos.creditLines.update(line);
      await this.recordEvent(repos, 'credit_line.bound', line, { contractId, previous: creditLineToJson(locked) }, now);
      await this.recordAudit(repos, meta, 'credit_line.bind', locked, line, now);
      await alsoWithin?.(repos, line);
      return line;
    });
  }

  chainUnavailable(): ServiceUnavailableError {
    return new ServiceUnavailableError('chain_unavailable', 'This deployment does not act on the Credit contract (STELLAR_RPC_URL and CREDIT_CONTRACT_IDS are not set)');
  }

  private requireChain(): ChainActions {
    if (!this.options.chain) throw this.chainUnavailable();
    return this.options.chain;
  }

  private async openingTerms(
    input: OpenCreditLineInput,
    isAdmin: boolean,
  ): Promise<{ creditLimit: bigint; interestRateBps: number; riskScore: number | null; evaluationId: string | null }> {
    if (input.interestRateBps !== undefined) {
      if (!isAdmin) {
        throw new ValidationError([{ field: 'interestRateBps', rule: 'admin_only', message: "is set by the wallet's risk evaluation; only an admin may set it by hand" }]);
      }
      if (input.creditLimit === undefined) {
        throw new ValidationError([{ field: 'creditLimit', rule: 'required_with_interestRateBps', message: 'is required when setting terms by hand' }]);
      }
      return { creditLimit: input.creditLimit, interestRateBps: input.interestRateBps, riskScore: null, evaluationId: null };
    }
    const offer = await this.options.offers.currentOffer(input.walletAddress);
    if (offer.decision === 'decline') {
      throw new UnprocessableError('credit_declined', `The wallet's risk evaluation declined credit (score ${offer.score}, band ${offer.band})`, {
        evaluationId: offer.id,
        score: offer.score,
      });
    }
    if (input.creditLimit !== undefined && input.creditLimit > offer.creditLimit) {
      throw new UnprocessableError('credit_limit_above_offer', `creditLimit exceeds the ${formatAmount(offer.creditLimit)} the wallet's risk evaluation offers`, {
        evaluationId: offer.id,
        offeredCreditLimit: formatAmount(offer.creditLimit),
      });
    }
    return {
      creditLimit: input.creditLimit ?? offer.creditLimit,
      interestRateBps: offer.interestRateBps,
      riskScore: contractRiskScore(offer.score),
      evaluationId: offer.id,
    };
  }

  /**
   * A borrower raising its own card line's limit to what its current evaluation offers (never lowering it; the
   * collateral still caps what can be drawn).
   */
  async raiseLimit(id: string, creditLimit: bigint, meta: RequestMeta, alsoWithin?: InTransaction<CreditLine>): Promise<CreditLine> {
    const actingAs = meta.actor.kind === 'admin' ? 'admin' : 'borrower';
    const { line } = await this.change(id, meta, actingAs, alsoWithin && ((repos, result) => alsoWithin(repos, result.line)), (line) => {
      assertCanUpdate(line);
      if (creditLimit <= line.creditLimit) throw new ConflictError('not_a_raise', 'The line\'s limit is already at least that', { creditLimit: formatAmount(line.creditLimit) });
      this.assertTerms(creditLimit, line.interestRateBps);
      return {
        line: { ...line, creditLimit, status: statusAfterLimitChange(line.status, line.utilized, creditLimit) },
        event: { type: 'credit_line.updated', data: { previous: { creditLimit: formatAmount(line.creditLimit), interestRateBps: line.interestRateBps } } },
      };
    });
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

  async draw(id: string, amount: bigint, meta: RequestMeta, alsoWithin?: InTransaction<MovementResult | ChainSubmission>): Promise<MovementResult | ChainSubmission> {
    const onChain = await this.onChain(id, meta, 'borrower', alsoWithin, async (line) => {
      assertCanDraw(line);
      // The contract judges the amount against its own limit; a card line's collateral is ours to check.
      if (line.collateralBacked) applyDraw(line, amount, await this.effectiveLimit(this.store.repos, line, this.clock()));
      return creditContract.drawCredit(line.walletAddress, amount);
    });
    if (onChain) return onChain;
    const result = await this.change(id, meta, 'borrower', withinAsMovement(alsoWithin), async (line, now, repos) => {
      assertCanDraw(line); // a status refusal says more than a price one
      const after = applyDraw(line, amount, await this.effectiveLimit(repos, line, now));
      return {
        line: after,
        entry: this.entry(line.id, 'draw', amount, { principal: amount, utilizedAfter: after.utilized }, now),
        event: { type: 'credit_line.drawn', data: { amount: formatAmount(amount) } },
      };
    });
    this.metrics.drawn(amount);
    return withTransaction(result);
  }

  /** A card line is also held to its collateral at current prices; other lines to their own limit. */
  private async effectiveLimit(repos: Repositories, line: CreditLine, now: Date): Promise<bigint> {
    if (!line.collateralBacked) return line.creditLimit;
    if (!this.options.collateralLimits) throw new Error('a collateral-backed line needs the collateral limits');
    return this.options.collateralLimits.limitWithin(repos, line, now);
  }

  async repay(id: string, amount: bigint, meta: RequestMeta, alsoWithin?: InTransaction<MovementResult | ChainSubmission>): Promise<MovementResult | ChainSubmission> {
    const onChain = await this.onChain(id, meta, 'borrower', alsoWithin, (line) => {
      assertCanRepay(line);
      return creditContract.repayCredit(line.walletAddress, amount);
    });
    if (onChain) return onChain;
    const result = await this.change(id, meta, 'borrower', withinAsMovement(alsoWithin), (line, now) => this.repayment(line, amount, now));
    this.metrics.repaid(amount);
    return withTransaction(result);
  }

  /** An admin's manual change of terms; the rate must respect the rate-change guard (422 otherwise). */
  async updateTerms(id: string, terms: { creditLimit?: bigint; interestRateBps?: number }, meta: RequestMeta, alsoWithin?: InTransaction<CreditLine | ChainSubmission>): Promise<CreditLine | ChainSubmission> {
    const checked = (line: CreditLine, now: Date) => {
      assertCanUpdate(line);
      const creditLimit = terms.creditLimit ?? line.creditLimit;
      const interestRateBps = terms.interestRateBps ?? line.interestRateBps;
      this.assertTerms(creditLimit, interestRateBps);
      const reachable = reachableRate(line.interestRateBps, interestRateBps, line.rateUpdatedAt, now, this.options.rateChange);
      if (reachable.rate !== interestRateBps) throw rateChangeRefused(reachable.constraint, line, this.options.rateChange);
      return { creditLimit, interestRateBps };
    };
    const onChain = await this.onChain(id, meta, 'admin', alsoWithin, (line) =>
      creditContract.updateRiskParameters(line.walletAddress, { ...checked(line, this.clock()), riskScore: line.riskScore ?? 0 }),
    );
    if (onChain) return onChain;
    const { line } = await this.change(id, meta, 'admin', alsoWithin && ((repos, result) => alsoWithin(repos, result.line)), (line, now) => {
      const { creditLimit, interestRateBps } = checked(line, now);
      return {
        line: this.withTerms(line, creditLimit, interestRateBps, line.riskScore, now),
        event: {
          type: 'credit_line.updated',
          data: { previous: { creditLimit: formatAmount(line.creditLimit), interestRateBps: line.interestRateBps } },
        },
        audit: 'credit_line.update',
      };
    });
    return line;
  }

  /**
   * Sets the wallet's open line to an evaluation's terms: its limit, and its rate as far as the rate-change guard
   * allows today. The evaluation is marked applied in the same transaction, so two racing applies move it once.
   */
  async applyEvaluation(evaluationId: string, meta: RequestMeta, alsoWithin?: InTransaction<AppliedEvaluation>): Promise<AppliedEvaluation> {
    const { repos } = this.store;
    const evaluation = await repos.riskEvaluations.findById(evaluationId);
    if (!evaluation) throw new NotFoundError('Risk evaluation', evaluationId);
    assertApplicable(evaluation, (await repos.riskEvaluations.latestForWallet(evaluation.walletAddress))?.id, this.clock());
    const open = await repos.creditLines.findOpenByWallet(evaluation.walletAddress);
    if (!open) throw new ConflictError('no_open_line', 'The wallet has no open credit line to apply the evaluation to; open one instead');

    let rateConstraint: RateConstraint = 'none';
    let applied: RiskEvaluation = evaluation;
    let chainRate = open.interestRateBps;
    const onChain = await this.onChain(
      open.id,
      meta,
      'admin',
      async (txRepos, { line, chainTransaction }) => {
        // Marked applied with the submission, so two racing applies submit once; the terms take effect when it confirms.
        const application = { at: chainTransaction.createdAt, by: actorName(meta), creditLineId: line.id, creditLimit: evaluation.creditLimit, interestRateBps: chainRate, rateConstraint };
        if (!(await txRepos.riskEvaluations.markApplied(evaluation.id, application))) throw new ConflictError('evaluation_already_applied', 'This evaluation was already applied');
        applied = { ...evaluation, application };
        await alsoWithin?.(txRepos, { line, evaluation: applied, chainTransaction });
      },
      (line) => {
        assertCanUpdate(line);
        const reachable = reachableRate(line.interestRateBps, evaluation.interestRateBps, line.rateUpdatedAt, this.clock(), this.options.rateChange);
        rateConstraint = reachable.constraint;
        chainRate = reachable.rate;
        return creditContract.updateRiskParameters(line.walletAddress, { creditLimit: evaluation.creditLimit, interestRateBps: reachable.rate, riskScore: contractRiskScore(evaluation.score) });
      },
    );
    if (onChain) return { line: onChain.line, evaluation: applied, chainTransaction: onChain.chainTransaction };
    const { line } = await this.change(
      open.id,
      meta,
      'admin',
      async (txRepos, { line }) => {
        const now = line.updatedAt;
        const application = { at: now, by: actorName(meta), creditLineId: line.id, creditLimit: line.creditLimit, interestRateBps: line.interestRateBps, rateConstraint };
        if (!(await txRepos.riskEvaluations.markApplied(evaluation.id, application))) {
          throw new ConflictError('evaluation_already_applied', 'This evaluation was already applied');
        }
        applied = { ...evaluation, application };
        if (line.creditLimit !== open.creditLimit) {
          await this.recordEvent(txRepos, 'risk.limit_changed', line, { evaluationId: evaluation.id, score: evaluation.score, previousCreditLimit: formatAmount(open.creditLimit) }, now);
        }
        await alsoWithin?.(txRepos, { line, evaluation: applied });
      },
      (line, now) => {
        assertCanUpdate(line);
        const reachable = reachableRate(line.interestRateBps, evaluation.interestRateBps, line.rateUpdatedAt, now, this.options.rateChange);
        rateConstraint = reachable.constraint;
        return {
          line: this.withTerms(line, evaluation.creditLimit, reachable.rate, contractRiskScore(evaluation.score), now),
          event: {
            type: 'credit_line.updated',
            data: {
              previous: { creditLimit: formatAmount(line.creditLimit), interestRateBps: line.interestRateBps },
              evaluationId: evaluation.id,
              targetInterestRateBps: evaluation.interestRateBps,
              rateConstraint,
            },
          },
          audit: 'risk.evaluation.apply',
        };
      },
    );
    return { line, evaluation: applied };
  }

  /**
   * Debt repaid from the borrower's collateral (a stop-loss sale or a liquidation), interest first; with
   * `writeOffRest` (bad debt) whatever is still owed afterwards is written off and the line defaulted. `event` names
   * what happened (stop_loss.executed, ...).
   */
  async settleFromCollateral(
    id: string,
    settlement: { repay: bigint; writeOffRest: boolean; event: string; data: Record<string, unknown> },
    meta: RequestMeta,
    alsoWithin?: InTransaction<{ line: CreditLine; repaid: bigint; writtenOff: bigint }>,
  ): Promise<CreditLine> {
    let repaid = 0n;
    let writeOff: Omit<LedgerEntry, 'seq'> | undefined;
    const { line } = await this.change(
      id,
      meta,
      'admin',
      async (repos, result) => {
        if (writeOff) await repos.ledger.append(writeOff);
        await alsoWithin?.(repos, { line: result.line, repaid, writtenOff: writeOff?.amount ?? 0n });
      },
      (line, now) => {
        repaid = minBigint(settlement.repay, line.utilized);
        let after = line;
        let entry: Omit<LedgerEntry, 'seq'> | undefined;
        if (repaid > 0n) {
          const { line: less, split } = allocateRepayment(line, repaid);
          after = less;
          entry = this.entry(line.id, 'collateral_repay', repaid, { interest: split.interest, principal: split.principal, utilizedAfter: after.utilized }, now);
        }
        if (settlement.writeOffRest && after.utilized > 0n) {
          writeOff = this.entry(line.id, 'write_off', after.utilized, { interest: after.accruedInterest, principal: after.utilized - after.accruedInterest, utilizedAfter: 0n }, now);
          // Bad debt: what the collateral could not cover is written off, and the line is defaulted.
          const status = line.status === 'defaulted' ? line.status : nextStatus(line.status, 'default');
          after = { ...after, utilized: 0n, accruedInterest: 0n, status };
        } else {
          after = { ...after, status: statusAfterLimitChange(after.status, after.utilized, after.creditLimit) };
        }
        return {
          line: after,
          entry,
          event: { type: settlement.event, data: { ...settlement.data, repaid: formatAmount(repaid), writtenOff: formatAmount(writeOff?.amount ?? 0n) } },
          audit: settlement.event,
        };
      },
    );
    return line;
  }

  /**
   * A liquidation's recovery for a bound line: the contract takes collateral-funded repayments only through
   * settle_default_liquidation, on a defaulted line (its repay_credit needs the borrower's signature), so the line
   * must be defaulted first (409 chain_default_required). The debt falls when the `liq_setl` event is applied;
   * `event` (liquidation.executed ...) and the audit row are written with the submission.
   */
  async settleFromCollateralOnChain(
    id: string,
    settlement: { recovered: bigint; settlementId: string; event: string; data: Record<string, unknown> },
    meta: RequestMeta,
    alsoWithin?: InTransaction<ChainSubmission>,
  ): Promise<ChainSubmission> {
    const submission = await this.onChain(
      id,
      meta,
      'admin',
      async (repos, result) => {
        const now = result.chainTransaction.createdAt;
        await this.recordEvent(repos, settlement.event, result.line, { ...settlement.data, recovered: formatAmount(settlement.recovered), chainTransactionId: result.chainTransaction.id }, now);
        await this.recordAudit(repos, meta, settlement.event, result.line, result.line, now);
        await alsoWithin?.(repos, result);
      },
      (line) => {
        if (line.status !== 'defaulted') {
          throw new ConflictError('chain_default_required', 'The Credit contract settles collateral recoveries only on defaulted lines; default the line first', { currentStatus: line.status });
        }
        // Our plan already applied the close factor to what it recovers: the contract is not asked to cap it again.
        return creditContract.settleDefaultLiquidation(line.walletAddress, settlement.recovered, settlement.settlementId, 10_000);
      },
    );
    if (!submission) throw new ConflictError('not_bound', 'This line is not bound to the Credit contract');
    return submission;
  }

  /**
   * A repayment the payment provider confirmed: applied interest first, up to what is owed. What exceeds the balance
   * is not applied (the caller holds it as a credit balance). Runs `alsoWithin` in the same transaction, so the
   * provider event is claimed together with the money it moves.
   */
  async applyProviderRepayment(
    id: string,
    amount: bigint,
    data: Record<string, unknown>,
    meta: RequestMeta,
    alsoWithin: InTransaction<{ line: CreditLine; applied: bigint }>,
    /** Runs first, with the line locked: the provider's event is claimed there, so a duplicate stops before any write. */
    first?: (repos: Repositories) => Promise<void>,
  ): Promise<{ line: CreditLine; applied: bigint }> {
    let applied = 0n;
    const { line } = await this.change(
      id,
      meta,
      'admin',
      (repos, result) => alsoWithin(repos, { line: result.line, applied }),
      (line, now) => {
        applied = minBigint(amount, line.utilized);
        return this.repayment(line, applied, now, data);
      },
      first,
    );
    return { line, applied };
  }

  /**
   * A repayment the provider gave back (refund, lost dispute): the amount goes back on the balance as principal.
   * `decide` runs inside the transaction with the line locked, so it can read what was already reversed and size
   * this reversal from fresh state (two reversals of one payment then queue instead of both counting the same).
   */
  async reverseProviderRepayment(id: string, meta: RequestMeta, decide: (repos: Repositories) => Promise<{ amount: bigint; data: Record<string, unknown> }>): Promise<CreditLine> {
    const { line } = await this.change(id, meta, 'admin', undefined, async (line, now, repos) => {
      const { amount, data } = await decide(repos);
      const after = { ...line, utilized: line.utilized + amount, status: statusAfterLimitChange(line.status, line.utilized + amount, line.creditLimit) };
      return {
        line: after,
        entry: amount > 0n ? this.entry(line.id, 'repay_reversal', amount, { principal: amount, utilizedAfter: after.utilized }, now) : undefined,
        event: { type: 'repayment.reversed', data: { ...data, amount: formatAmount(amount) } },
      };
    });
    return line;
  }

  /** Interest first, then principal: a repayment's line, ledger entry and `credit_line.repaid` event (none for zero). */
  private repayment(line: CreditLine, amount: bigint, now: Date, data: Record<string, unknown> = {}): ChangeOutcome {
    const { line: after, split } = amount > 0n ? allocateRepayment(line, amount) : { line, split: { interest: 0n, principal: 0n } };
    return {
      line: after,
      entry: amount > 0n ? this.entry(line.id, 'repay', amount, { interest: split.interest, principal: split.principal, utilizedAfter: after.utilized }, now) : undefined,
      event: {
        type: 'credit_line.repaid',
        data: { ...data, amount: formatAmount(amount), interestPaid: formatAmount(split.interest), principalPaid: formatAmount(split.principal) },
      },
    };
  }

  /** New terms, with what follows from them: the status the contract would give, and when the rate last moved. */
  private withTerms(line: CreditLine, creditLimit: bigint, interestRateBps: number, riskScore: number | null, now: Date): CreditLine {
    return {
      ...line,
      creditLimit,
      interestRateBps,
      riskScore,
      status: statusAfterLimitChange(line.status, line.utilized, creditLimit),
      rateUpdatedAt: interestRateBps !== line.interestRateBps ? now : line.rateUpdatedAt,
    };
  }

  suspend = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine | ChainSubmission>) => this.transition(id, 'suspend', meta, reason, alsoWithin);
  reinstate = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine | ChainSubmission>) => this.transition(id, 'reinstate', meta, reason, alsoWithin);
  markDefaulted = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine | ChainSubmission>) => this.transition(id, 'default', meta, reason, alsoWithin);
  close = (id: string, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine | ChainSubmission>) => this.transition(id, 'close', meta, reason, alsoWithin);

  private async transition(id: string, action: CreditLineAction, meta: RequestMeta, reason?: string, alsoWithin?: InTransaction<CreditLine | ChainSubmission>): Promise<CreditLine | ChainSubmission> {
    const onChain = await this.onChain(id, meta, 'admin', alsoWithin, (line) => {
      nextStatus(line.status, action);
      const borrower = line.walletAddress;
      switch (action) {
        case 'suspend':
          return creditContract.suspendCreditLine(borrower);
        case 'default':
          return creditContract.defaultCreditLine(borrower);
        case 'reinstate':
          return creditContract.reinstateCreditLine(borrower, line.utilized > line.creditLimit ? 'restricted' : 'active');
        case 'close':
          assertClosable(line);
          return creditContract.closeCreditLine(borrower, this.options.chain!.operatorAccount ?? borrower);
      }
    });
    if (onChain) return onChain;
    const { line } = await this.change(id, meta, 'admin', alsoWithin && ((repos, result) => alsoWithin(repos, result.line)), (line, now) => {
      // A reinstated line whose limit no longer covers its balance comes back restricted, as the contract allows.
      const allowed: CreditLineStatus = nextStatus(line.status, action);
      const status = action === 'reinstate' ? statusAfterLimitChange(allowed, line.utilized, line.creditLimit) : allowed;
      let updated: CreditLine = { ...line, status };
      let entry: Omit<LedgerEntry, 'seq'> | undefined;
      if (action === 'close' && line.utilized > 0n) {
        assertClosable(line);
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
   * A bound line's change is a contract call: who may act and what the state machine allows are checked here, on
   * the line as last projected; amounts and everything else the chain knows better are the contract's to judge
   * (its refusal names its error). The line changes when the transaction's events are applied. Null for a line
   * whose ledger is the database.
   */
  private async onChain(
    id: string,
    meta: RequestMeta,
    actingAs: 'borrower' | 'admin',
    alsoWithin: InTransaction<ChainSubmission> | undefined,
    plan: (line: CreditLine) => ContractCall | Promise<ContractCall>,
  ): Promise<ChainSubmission | null> {
    const line = await this.store.repos.creditLines.findById(id);
    if (!line?.contractId) return null;
    if (actingAs === 'borrower') await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, line.walletAddress);
    const chain = this.requireChain();
    const call = await plan(line);
    const within = alsoWithin && ((repos: Repositories, chainTransaction: ChainTransaction) => alsoWithin(repos, { line, chainTransaction }));
    const chainTransaction =
      call.signer === 'borrower'
        ? await chain.prepare({ line, call, meta, alsoWithin: within })
        : await chain.operate({ contractId: line.contractId, walletAddress: line.walletAddress, creditLineId: line.id, call, meta, alsoWithin: within });
    return { line, chainTransaction };
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
    apply: (line: CreditLine, now: Date, repos: Repositories) => ChangeOutcome | Promise<ChangeOutcome>,
    /** Runs with the line locked, before anything is written: a caller's own check that may still call it off. */
    first?: (repos: Repositories) => Promise<void>,
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
      await first?.(repos);
      const now = this.clock();
      const { line: accrued, interest } = accrue(locked, now);
      if (interest > 0n) {
        await repos.ledger.append(this.entry(id, 'interest', interest, { interest, utilizedAfter: accrued.utilized }, now));
      }
      const outcome = await apply(accrued, now, repos);
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

/** A line is closed with debt only once defaulted: the remainder is then written off, visibly. */
function assertClosable(line: CreditLine): void {
  if (line.utilized > 0n && line.status !== 'defaulted') {
    throw new UnprocessableError('outstanding_balance', `Cannot close a credit line with ${formatAmount(line.utilized)} outstanding; repay it or default the line first`, {
      outstanding: formatAmount(line.utilized),
    });
  }
}

function rateChangeRefused(constraint: RateConstraint, line: CreditLine, limits: RateChangeLimits): UnprocessableError {
  if (constraint === 'min_interval') {
    const nextAt = new Date((line.rateUpdatedAt?.getTime() ?? 0) + limits.minIntervalSeconds * 1000);
    return new UnprocessableError('rate_change_too_soon', `The rate changed less than ${limits.minIntervalSeconds} s ago; it may change again from ${nextAt.toISOString()}`, {
      nextChangeAt: nextAt.toISOString(),
    });
  }
  return new UnprocessableError('rate_change_too_large', `The rate may move at most ${limits.maxStepBps} bps per change (from ${line.interestRateBps})`, {
    currentInterestRateBps: line.interestRateBps,
    maxStepBps: limits.maxStepBps,
  });
}
