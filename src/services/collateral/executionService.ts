import { randomUUID } from 'node:crypto';
import type { ExecutionPlan } from '../../domain/collateral/plans.js';
import type { ExecutionFill, ExecutionStatus, RiskExecution } from '../../domain/collateral/records.js';
import { planToApiJson } from '../../domain/collateral/planView.js';
import { formatAmount } from '../../domain/money.js';
import { BPS } from '../../domain/collateral/valuation.js';
import { formatQuantity, parseQuantity } from '../../domain/collateral/quantity.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import { pageByTime, type PageRequest, type PageResult } from '../../lib/cursor.js';
import type { InTransaction, Repositories, Store } from '../../repositories/repositories.js';
import { actorName, auditRow } from '../audit.js';
import type { CreditLineService, RequestMeta } from '../creditLineService.js';

export interface FillInput {
  /** Quantity sold (stop-loss) or seized (liquidation), a decimal string in the asset's decimals; ignored for bad debt, which seizes what the plan lists. */
  collateralQuantity: string;
  /** USDC units received from the sale, or repaid by the liquidator. */
  usdcAmount: bigint;
  reference?: string;
}

type ParsedFill = Omit<FillInput, 'collateralQuantity'> & { collateralQuantity: bigint };

const EVENT: Record<ExecutionPlan['kind'], string> = {
  stop_loss: 'stop_loss.executed',
  liquidation: 'liquidation.executed',
  bad_debt: 'liquidation.bad_debt',
};

const MOVEMENT: Record<ExecutionPlan['kind'], 'stop_loss_sale' | 'liquidation_seizure'> = {
  stop_loss: 'stop_loss_sale',
  liquidation: 'liquidation_seizure',
  bad_debt: 'liquidation_seizure',
};

/** The contract's settlement id is a Symbol (at most 32 of [A-Za-z0-9_]): the execution's id, compacted. */
const settlementIdOf = (executionId: string) => `x${executionId.replace(/-/g, '').slice(0, 31)}`;

/**
 * The built-in executor: an order with the computed amounts waits for a keeper, who sells (or liquidates) and
 * confirms the actual fill. The fill is checked against the plan (a worse execution than the asset's maximum
 * slippage allows is refused) and then applied in one transaction: the debt repaid (or written off), the
 * collateral taken from the position, the order settled, the event and the audit row.
 */
export class ExecutionService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly creditLines: CreditLineService,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  async get(id: string): Promise<RiskExecution> {
    const execution = await this.store.repos.riskExecutions.findById(id);
    if (!execution) throw new NotFoundError('Risk execution', id);
    return execution;
  }

  async list(filter: { walletAddress?: string; status?: ExecutionStatus }, page: PageRequest): Promise<PageResult<RiskExecution>> {
    return pageByTime(page, (e) => ({ at: e.createdAt, id: e.id }), ({ limit, after }) => this.store.repos.riskExecutions.list(filter, { limit, after: after && { createdAt: after.at, id: after.id } }));
  }

  async cancel(id: string, reason: string | undefined, meta: RequestMeta): Promise<RiskExecution> {
    const execution = await this.get(id);
    const now = this.clock();
    await this.store.transaction(async (repos) => {
      const settled = await repos.riskExecutions.settle(id, { status: 'cancelled', fill: null, cancelReason: reason ?? `cancelled by ${actorName(meta)}`, at: now });
      if (!settled) throw alreadySettled((await repos.riskExecutions.findById(id)) ?? execution);
      await repos.audit.append(auditRow(meta, 'risk_execution.cancel', { type: 'risk_execution', id }, { before: { status: 'pending' }, after: { status: 'cancelled', reason: reason ?? null } }, now));
    });
    return this.get(id);
  }

  async fill(id: string, request: FillInput, meta: RequestMeta, alsoWithin?: InTransaction<RiskExecution>): Promise<RiskExecution> {
    const execution = await this.get(id);
    if (execution.status !== 'pending') throw alreadySettled(execution);
    const plan = execution.plan;
    const input = { ...request, collateralQuantity: plan.kind === 'bad_debt' ? 0n : parseQuantity(request.collateralQuantity, plan.decimals, 'collateralQuantity') };
    const repay = this.checkFill(plan, input);
    const debtBefore = execution.plan.debtBefore;
    const fill: ExecutionFill = {
      // Bad debt seizes every position the plan lists (see plan.seizures); there is no single quantity to report.
      collateralQuantity: execution.plan.kind === 'bad_debt' ? 0n : input.collateralQuantity,
      usdcAmount: input.usdcAmount,
      repaid: 0n,
      writtenOff: 0n,
      surplus: 0n,
      filledBy: actorName(meta),
      reference: input.reference ?? null,
    };
    let settledExecution: RiskExecution = execution;
    const settle = async (repos: Repositories, actual: ExecutionFill, at: Date) => {
      await this.takeCollateral(repos, execution, input, at);
      if (!(await repos.riskExecutions.settle(execution.id, { status: 'filled', fill: actual, cancelReason: null, at }))) {
        // Another fill or a cancellation won the race; this transaction rolls back whole.
        throw alreadySettled((await repos.riskExecutions.findById(execution.id)) ?? execution);
      }
      settledExecution = { ...execution, status: 'filled', fill: actual, settledAt: at };
      await alsoWithin?.(repos, settledExecution);
    };
    const line = await this.store.repos.creditLines.findById(execution.creditLineId);
    if (line?.contractId) {
      // A bound line's debt is on chain: the recovery goes through the contract, with the collateral taken here.
      if (plan.kind === 'stop_loss') {
        throw new ConflictError('chain_bound', 'A stop-loss sale cannot repay a line bound to the Credit contract: the contract takes collateral-funded repayments only from defaulted lines', { contractId: line.contractId });
      }
      const data = { executionId: execution.id, plan: planToApiJson(plan), usdcReceived: formatAmount(input.usdcAmount), debtBefore: formatAmount(debtBefore) };
      await this.creditLines.settleFromCollateralOnChain(
        line.id,
        { recovered: repay, settlementId: settlementIdOf(execution.id), event: EVENT[plan.kind], data },
        meta,
        (repos, { chainTransaction }) => settle(repos, { ...fill, repaid: repay }, chainTransaction.createdAt),
      );
      return settledExecution;
    }
    await this.creditLines.settleFromCollateral(
      execution.creditLineId,
      { repay, writeOffRest: plan.kind === 'bad_debt', event: EVENT[execution.plan.kind], data: { executionId: execution.id, plan: planToApiJson(execution.plan), usdcReceived: formatAmount(input.usdcAmount), debtBefore: formatAmount(debtBefore) } },
      meta,
      async (repos, { line, repaid, writtenOff }) => {
        // More USDC than is owed by then (the borrower repaid meanwhile) is a surplus: the borrower's after a sale, the
        // liquidator's to take back after a liquidation. It is recorded, never lost.
        await settle(repos, { ...fill, repaid, writtenOff, surplus: input.usdcAmount > repaid ? input.usdcAmount - repaid : 0n }, line.updatedAt);
      },
    );
    return settledExecution;
  }

  /** What the fill repays, or a 422 when it is worse for the borrower than the plan allows. */
  private checkFill(plan: ExecutionPlan, input: ParsedFill): bigint {
    if (plan.kind === 'bad_debt') {
      // Everything is seized; what it fetched must be what the plan expected it to cover, less the slippage allowed.
      const minimum = (plan.repay * (BPS - BigInt(plan.slippageBps))) / BPS;
      if (input.usdcAmount < minimum) {
        throw fillRefused('fill_slippage_exceeded', 'The seized collateral fetched less than the plan allows after the maximum slippage', { minimumRecovery: formatAmount(minimum) });
      }
      return input.usdcAmount;
    }
    if (plan.kind === 'stop_loss') {
      if (input.collateralQuantity > plan.sellQuantity) {
        throw fillRefused('fill_exceeds_plan', 'The sale sold more collateral than the order asked for', { plannedQuantity: formatQuantity(plan.sellQuantity, plan.decimals) });
      }
      // The proceeds must be at least the sold quantity's value at the planned price, less the maximum slippage.
      const minimum = (valueAtPlanPrice(plan, input.collateralQuantity) * (BPS - BigInt(plan.slippageBps))) / BPS;
      if (input.usdcAmount < minimum) {
        throw fillRefused('fill_slippage_exceeded', 'The sale returned less than the planned price allows after the maximum slippage', { minimumProceeds: formatAmount(minimum) });
      }
      return input.usdcAmount;
    }
    if (input.usdcAmount > plan.repay) throw fillRefused('fill_exceeds_plan', 'The liquidator repaid more than the order allows (the close factor caps it)', { plannedRepay: formatAmount(plan.repay) });
    // Collateral seized per unit of debt repaid may not exceed the plan's ratio: R x seizeQuantity >= repay x quantity.
    if (input.collateralQuantity * plan.repay > plan.seizeQuantity * input.usdcAmount) {
      throw fillRefused('fill_slippage_exceeded', 'The liquidator seized more collateral for the debt repaid than the order allows', {
        plannedSeizeQuantity: formatQuantity(plan.seizeQuantity, plan.decimals),
        plannedRepay: formatAmount(plan.repay),
      });
    }
    return input.usdcAmount;
  }

  private async takeCollateral(repos: Repositories, execution: RiskExecution, input: ParsedFill, now: Date): Promise<void> {
    const plan = execution.plan;
    const takes = plan.kind === 'bad_debt' ? plan.seizures.map((s) => ({ assetCode: s.assetCode, quantity: s.quantity })) : [{ assetCode: plan.assetCode, quantity: input.collateralQuantity }];
    const positions = await repos.collateralPositions.listByWalletForUpdate(execution.walletAddress);
    for (const take of takes) {
      const position = positions.find((p) => p.assetCode === take.assetCode);
      if (!position || take.quantity <= 0n) continue;
      if (take.quantity > position.quantity) {
        throw new ConflictError('collateral_changed', `The ${take.assetCode} position holds less than the order takes; cancel it and let the monitor plan again`, {
          held: formatQuantity(position.quantity, plan.kind === 'bad_debt' ? (plan.seizures.find((x) => x.assetCode === take.assetCode)?.decimals ?? 7) : plan.decimals),
        });
      }
      const updated = { ...position, quantity: position.quantity - take.quantity, updatedAt: now };
      await repos.collateralPositions.update(updated);
      await repos.collateralPositions.appendMovement({
        id: randomUUID(),
        positionId: position.id,
        type: MOVEMENT[plan.kind],
        quantity: take.quantity,
        quantityAfter: updated.quantity,
        executionId: execution.id,
        createdAt: now,
      });
    }
  }
}

/** sellValue is sellQuantity's value at the planned price: scaled to the quantity actually sold. */
const valueAtPlanPrice = (plan: Extract<ExecutionPlan, { kind: 'stop_loss' }>, quantity: bigint): bigint =>
  plan.sellQuantity === 0n ? 0n : (plan.sellValue * quantity) / plan.sellQuantity;

const alreadySettled = (execution: RiskExecution) =>
  new ConflictError('execution_settled', `This order is ${execution.status}; it cannot change again`, { status: execution.status });

const fillRefused = (code: string, message: string, details: Record<string, unknown>) => new UnprocessableError(code, message, details);
