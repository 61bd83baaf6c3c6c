import { randomUUID } from 'node:crypto';
import { accountHealth, triggerPrice, type AccountHealth, type HealthBand } from '../../domain/collateral/health.js';
import { planLiquidation, planStopLoss, type ExecutionPlan } from '../../domain/collateral/plans.js';
import type { AccountRiskState, CollateralPosition, RiskExecution, StopLossSettings } from '../../domain/collateral/records.js';
import { effectiveRateBps } from '../../domain/collateral/yieldCushion.js';
import { ConflictError } from '../../domain/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { DomainEvent, Job, Store } from '../../repositories/repositories.js';
import { formatAmount } from '../../domain/money.js';
import { actorName, auditRow } from '../audit.js';
import { maskAddress } from '../../domain/stellarAddress.js';
import type { RequestMeta } from '../creditLineService.js';
import { WalletOwnership } from '../walletOwnership.js';
import { accountHealthNow, assertFresh, debtNow, loadMarket, paramsVersionsOf, stalePrices, toHoldings, withYieldTo, type MarketSnapshot, type StalePrice } from './holdings.js';
import { RISK_MONITOR_QUEUE } from './priceService.js';

export interface RiskEngineOptions {
  store: Store;
  logger: Logger;
  ownership?: WalletOwnership;
  /** Accounts re-priced per transaction by the monitor. */
  batchSize?: number;
  leaseMs?: number;
  clock?: () => Date;
}

export interface Assessment {
  walletAddress: string;
  health: AccountHealth;
  positions: CollateralPosition[];
  market: MarketSnapshot;
  stale: StalePrice[];
  creditLineId: string | null;
  interestRateBps: number | null;
  stopLoss: StopLossSettings | null;
  /** Per asset: the price at which the stop-loss trigger and a health factor of 1.0 are reached. */
  triggers: Array<{ assetCode: string; stopLossPrice: bigint | null; liquidationPrice: bigint | null }>;
  /** Borrow rate net of the collateral's yield (bps of the debt; negative when the yield earns more). */
  effectiveRateBps: number | null;
  pendingExecution: RiskExecution | null;
}

export interface MonitorOutcome {
  accounts: number;
  bandChanges: number;
  ordered: number;
  cancelled: number;
}

/**
 * The risk engine: assessments, the monitor that re-prices every account holding an asset after each price
 * observation (band changes become events; the stop-loss zone and liquidatable accounts get an order), and the
 * admin-triggered liquidation. Orders go to the built-in executor (see ExecutionService) and run once: an account
 * has at most one pending order, enforced by the database.
 */
export class RiskEngine {
  private readonly store: Store;
  private readonly clock: () => Date;
  private readonly ownership: WalletOwnership;
  private readonly batchSize: number;

  constructor(private readonly options: RiskEngineOptions) {
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.ownership = options.ownership ?? new WalletOwnership('required');
    this.batchSize = options.batchSize ?? 2_000;
  }

  async assess(walletAddress: string, meta: RequestMeta): Promise<Assessment> {
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, walletAddress);
    const repos = this.store.repos;
    const now = this.clock();
    const [stopLoss, pendingExecution] = await Promise.all([repos.riskExecutions.getStopLoss(walletAddress), repos.riskExecutions.findPending(walletAddress)]);
    const { account, market, health } = await accountHealthNow(repos, walletAddress, now, stopLoss?.assetPriority);
    return {
      walletAddress,
      health,
      positions: account.positions.map((p) => (market.params.has(p.assetCode) ? withYieldTo(p, market.params.get(p.assetCode)!.params.yieldAprBps, now).position : p)),
      market,
      stale: stalePrices(market, account.positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), now),
      creditLineId: account.lineId,
      interestRateBps: account.interestRateBps,
      stopLoss,
      triggers: health.holdings.map((h) => ({
        assetCode: h.assetCode,
        stopLossPrice: triggerPrice(health, h.assetCode, health.stopLossTriggerHfBps),
        // Liquidatable below a health factor of 1.0: at this price (rounded up) the account is not yet, below it it is.
        liquidationPrice: triggerPrice(health, h.assetCode, 10_000),
      })),
      effectiveRateBps: account.interestRateBps === null ? null : effectiveRateBps(health.debt, account.interestRateBps, health.holdings.map((h) => ({ value: h.value, aprBps: h.params.yieldAprBps }))),
      pendingExecution,
    };
  }

  async setStopLoss(input: { walletAddress: string; enabled: boolean; assetPriority?: string[]; maxSlippageBps?: number | null }, meta: RequestMeta): Promise<StopLossSettings> {
    await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, input.walletAddress);
    const settings: StopLossSettings = {
      walletAddress: input.walletAddress,
      enabled: input.enabled,
      assetPriority: input.assetPriority ?? [],
      maxSlippageBps: input.maxSlippageBps ?? null,
      updatedAt: this.clock(),
    };
    await this.store.repos.riskExecutions.putStopLoss(settings);
    return settings;
  }

  /** The wallet's stop-loss settings; null when it never set any (stop-loss is then off). */
  async stopLoss(walletAddress: string, meta: RequestMeta): Promise<StopLossSettings | null> {
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, walletAddress);
    return this.store.repos.riskExecutions.getStopLoss(walletAddress);
  }

  /**
   * The admin's liquidation of one account: the same plan the monitor would make, at fresh prices. A dry run
   * returns the plan and records nothing; otherwise the order is recorded once (409 if one is pending).
   */
  async liquidate(walletAddress: string, dryRun: boolean, meta: RequestMeta): Promise<{ plan: ExecutionPlan; execution: RiskExecution | null }> {
    const now = this.clock();
    const account = (await this.store.repos.collateralPositions.accounts([walletAddress])).get(walletAddress)!;
    if (!account.lineId || debtNow(account, now) <= 0n) throw new ConflictError('not_liquidatable', 'The account has no debt on a collateral-backed line');
    const market = await loadMarket(this.store.repos, account.positions.map((p) => p.assetCode));
    assertFresh(market, account.positions.filter((p) => p.quantity > 0n).map((p) => p.assetCode), now);
    const stopLoss = await this.store.repos.riskExecutions.getStopLoss(walletAddress);
    const health = accountHealth(toHoldings(market, account.positions, now), debtNow(account, now), stopLoss?.assetPriority);
    const plan = planLiquidation(health, { priority: stopLoss?.assetPriority });
    if (!plan) {
      throw new ConflictError('not_liquidatable', `The account's health factor is ${health.healthFactorBps ?? 'infinite'} bps: not below 10000`, { healthFactorBps: health.healthFactorBps, band: health.band });
    }
    if (dryRun) return { plan, execution: null };
    const execution = this.execution(walletAddress, account.lineId, plan, 'admin', actorName(meta), market, now);
    await this.store.transaction(async (repos) => {
      await repos.riskExecutions.insert(execution);
      await repos.audit.append(auditRow(meta, 'risk_execution.order', { type: 'risk_execution', id: execution.id }, { before: null, after: { kind: plan.kind, walletAddress: maskAddress(walletAddress) } }, now));
    });
    return { plan, execution };
  }

  /** The worker: claims the queued re-pricing runs (one per price observation) and runs them, one asset at a time. */
  async runQueued(worker: string, limit = 10): Promise<number> {
    const now = this.clock();
    const jobs = await this.store.repos.jobs.claim(RISK_MONITOR_QUEUE, { limit, now, leaseUntil: new Date(now.getTime() + (this.options.leaseMs ?? 60_000)), worker });
    for (const job of jobs) await this.runJob(job, worker);
    return jobs.length;
  }

  private async runJob(job: Job, worker: string): Promise<void> {
    try {
      await this.monitorAsset(String(job.payload.assetCode));
      await this.store.repos.jobs.complete(job.id, worker, this.clock());
    } catch (error) {
      const now = this.clock();
      const message = (error as Error).message;
      this.options.logger.error({ err: message, asset: job.payload.assetCode }, 'risk monitor run failed');
      if (job.attempts >= job.maxAttempts) await this.store.repos.jobs.bury(job.id, worker, { error: message, now });
      else await this.store.repos.jobs.retryLater(job.id, worker, { error: message, runAt: new Date(now.getTime() + 1_000 * 2 ** Math.min(job.attempts, 8)), now });
    }
  }

  /**
   * Re-prices every account holding the asset, a batch of accounts per transaction: band changes are recorded and
   * emitted, and accounts in the stop-loss zone (with stop-loss on) or below 1.0 get their order. With a stale
   * price nothing is decided: acting on it could liquidate at a price that no longer exists.
   */
  async monitorAsset(assetCode: string): Promise<MonitorOutcome> {
    const outcome: MonitorOutcome = { accounts: 0, bandChanges: 0, ordered: 0, cancelled: 0 };
    let afterWallet: string | undefined;
    for (;;) {
      const wallets = await this.store.repos.collateralPositions.holdersOf(assetCode, { limit: this.batchSize, afterWallet });
      if (wallets.length === 0) break;
      afterWallet = wallets.at(-1);
      const batch = await this.monitorBatch(wallets, { first: wallets[0]!, last: wallets.at(-1)! });
      outcome.accounts += batch.accounts;
      outcome.bandChanges += batch.bandChanges;
      outcome.ordered += batch.ordered;
      outcome.cancelled += batch.cancelled;
      if (wallets.length < this.batchSize) break;
    }
    return outcome;
  }

  /** `span`: the batch's first and last wallet in holdersOf's order. */
  private async monitorBatch(wallets: string[], span: { first: string; last: string }): Promise<MonitorOutcome> {
    const now = this.clock();
    return this.store.transaction(async (repos) => {
      const accounts = await repos.collateralPositions.accounts(wallets, span);
      const codes = [...new Set([...accounts.values()].flatMap((a) => a.positions.map((p) => p.assetCode)))];
      const market = await loadMarket(repos, codes);
      const staleCodes = new Set(stalePrices(market, codes, now).map((s) => s.assetCode));
      const states = await repos.riskExecutions.lockRiskStates(wallets);
      const stopLoss = await repos.riskExecutions.stopLossFor(wallets);
      const changed: AccountRiskState[] = [];
      const events: Array<Omit<DomainEvent, 'seq'>> = [];
      const candidates: Array<{ wallet: string; lineId: string | null; health: AccountHealth; settings: StopLossSettings | undefined }> = [];
      const outcome: MonitorOutcome = { accounts: 0, bandChanges: 0, ordered: 0, cancelled: 0 };
      for (const wallet of wallets) {
        const account = accounts.get(wallet)!;
        if (account.positions.some((p) => p.quantity > 0n && staleCodes.has(p.assetCode))) continue;
        outcome.accounts++;
        const settings = stopLoss.get(wallet);
        const health = accountHealth(toHoldings(market, account.positions, now), debtNow(account, now), settings?.assetPriority);
        const previous = states.get(wallet);
        // The state is the band and the health factor it was entered at: rewriting every account's row after each
        // price move would cost a write per account for nothing (an assessment computes the current factor anyway).
        if (previous?.band !== health.band) changed.push({ walletAddress: wallet, band: health.band, healthFactorBps: health.healthFactorBps, updatedAt: now });
        const before = previous?.band ?? 'healthy';
        if (before !== health.band) {
          outcome.bandChanges++;
          events.push(bandChanged(wallet, previous?.band ?? null, health, account.lineId, now));
        }
        // Orders exist only around the acting bands: look when the account is in one, was in one, or has just
        // recovered (an order placed in the stop-loss zone may still wait through a warning).
        if (ACTING_BANDS.has(health.band) || ACTING_BANDS.has(before) || (health.band === 'healthy' && before !== 'healthy')) {
          candidates.push({ wallet, lineId: account.lineId, health, settings });
        }
      }
      // The orders of the whole batch are read, decided and written set-wise: a crash re-prices thousands of accounts.
      const pending = await repos.riskExecutions.pendingFor(candidates.map((c) => c.wallet));
      const cancellations: Array<{ id: string; reason: string }> = [];
      const orders: RiskExecution[] = [];
      for (const c of candidates) {
        const decision = decideOrder(pending.get(c.wallet) ?? null, c.lineId, c.health, c.settings);
        if (decision.cancel) cancellations.push({ id: pending.get(c.wallet)!.id, reason: decision.cancel });
        if (decision.plan) orders.push(this.execution(c.wallet, c.lineId!, decision.plan, 'monitor', 'risk-monitor', market, now));
      }
      outcome.cancelled = await repos.riskExecutions.cancelMany(cancellations, now);
      outcome.ordered = await repos.riskExecutions.insertMany(orders);
      await repos.events.appendMany(events);
      await repos.riskExecutions.putRiskStates(changed);
      return outcome;
    });
  }

  private execution(wallet: string, lineId: string, plan: ExecutionPlan, trigger: 'monitor' | 'admin', createdBy: string, market: MarketSnapshot, now: Date): RiskExecution {
    const codes = plan.kind === 'bad_debt' ? plan.seizures.map((s) => s.assetCode) : [plan.assetCode];
    return {
      id: randomUUID(),
      walletAddress: wallet,
      creditLineId: lineId,
      kind: plan.kind,
      trigger,
      status: 'pending',
      plan,
      fill: null,
      paramsVersions: paramsVersionsOf(market, codes),
      createdBy,
      createdAt: now,
      settledAt: null,
      cancelReason: null,
    };
  }
}

const ACTING_BANDS = new Set<HealthBand>(['stop_loss', 'liquidatable']);

function bandChanged(wallet: string, from: HealthBand | null, health: AccountHealth, lineId: string | null, now: Date): Omit<DomainEvent, 'seq'> {
  return {
    id: randomUUID(),
    type: 'risk.band_changed',
    aggregateType: 'risk_account',
    aggregateId: wallet,
    payload: { walletAddress: wallet, creditLineId: lineId, previousBand: from, band: health.band, healthFactorBps: health.healthFactorBps, debt: formatAmount(health.debt) },
    createdAt: now,
  };
}

/** A pending plan is overtaken when the new one is another kind, or its price has moved beyond the asset's slippage. */
function overtaken(pending: ExecutionPlan, next: ExecutionPlan, health: AccountHealth): boolean {
  if (pending.kind !== next.kind) return true;
  if (pending.kind === 'bad_debt' || next.kind === 'bad_debt') return false;
  const holding = health.holdings.find((h) => h.assetCode === pending.assetCode);
  if (!holding || pending.assetCode !== next.assetCode) return true;
  const moved = pending.price1e14 > next.price1e14 ? pending.price1e14 - next.price1e14 : next.price1e14 - pending.price1e14;
  return moved * 10_000n > pending.price1e14 * BigInt(holding.params.maxSlippageBps);
}

/**
 * What the monitor does about one account's orders: cancel a pending one the account recovered from (or the market
 * overtook), and order a stop-loss (when enabled) or a liquidation where the band calls for one.
 */
function decideOrder(
  pending: RiskExecution | null,
  lineId: string | null,
  health: AccountHealth,
  settings: StopLossSettings | undefined,
): { cancel?: string; plan?: ExecutionPlan } {
  if (pending && health.band === 'healthy') return { cancel: 'the account recovered before the order was filled' };
  if (!lineId) return {};
  let plan: ExecutionPlan | null = null;
  if (health.band === 'liquidatable') plan = planLiquidation(health, { priority: settings?.assetPriority });
  else if (health.band === 'stop_loss' && settings?.enabled) {
    const slippage = Math.min(...health.holdings.map((h) => h.params.maxSlippageBps), settings.maxSlippageBps ?? Number.MAX_SAFE_INTEGER);
    plan = planStopLoss(health, { priority: settings.assetPriority, slippageBps: slippage });
  }
  if (!plan) return {};
  if (!pending) return { plan };
  // The market moved past the pending order (another kind of action, or prices beyond its slippage): a keeper must
  // not fill yesterday's plan at today's prices.
  return overtaken(pending.plan, plan, health) ? { cancel: `superseded by a ${plan.kind} plan at the new price`, plan } : {};
}
