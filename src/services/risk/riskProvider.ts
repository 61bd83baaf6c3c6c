import { summariseCreditHistory, type CreditHistory } from '../../domain/risk/creditHistory.js';
import { accountHealthNow } from '../collateral/holdings.js';
import { scoreSignals, type RiskModel, type SignalContribution } from '../../domain/risk/model.js';
import { signalValues, type ChainActivity } from '../../domain/risk/signals.js';
import { formatAmount } from '../../domain/money.js';
import { TtlCache } from '../../lib/ttlCache.js';
import type { Repositories } from '../../repositories/repositories.js';
import type { ChainActivitySource } from '../../stellar/horizonActivity.js';

/** A score for a wallet and how it was reached. Terms (limit, rate) are set from it by the model's bands. */
export interface RiskAssessment {
  provider: string;
  modelVersion: string;
  score: number;
  signals: SignalContribution[];
  inputs: Record<string, unknown>;
}

export interface RiskProvider {
  readonly name: 'signals' | 'static' | 'external';
  assess(walletAddress: string, now: Date): Promise<RiskAssessment>;
}

/** Development only (refused in production): every wallet gets the same score. */
export class StaticRiskProvider implements RiskProvider {
  readonly name = 'static';
  constructor(private readonly score: number) {}

  async assess(): Promise<RiskAssessment> {
    return { provider: this.name, modelVersion: 'static', score: this.score, signals: [], inputs: { staticScore: this.score } };
  }
}

const activityInputs = (a: ChainActivity): Record<string, unknown> => ({
  ...a,
  firstSeenAt: a.firstSeenAt?.toISOString() ?? null,
  balance: formatAmount(a.balance),
  inflow90d: formatAmount(a.inflow90d),
  outflow30d: formatAmount(a.outflow30d),
  largestOutflow30d: formatAmount(a.largestOutflow30d),
  monthlyInflows: a.monthlyInflows.map(formatAmount),
});

/**
 * The behavioural model: chain activity from Horizon plus the wallet's history on our lines, normalised and weighted
 * by the model file. Chain activity is kept for a short while (RISK_SIGNAL_CACHE_SECONDS) so a burst of
 * evaluations, forced or not, cannot amplify into Horizon load; our own history is always read fresh.
 */
export class SignalsRiskProvider implements RiskProvider {
  readonly name = 'signals';
  private readonly cache: TtlCache<ChainActivity>;

  constructor(
    private readonly model: RiskModel,
    private readonly chain: ChainActivitySource,
    private readonly repos: Pick<Repositories, 'creditHistory' | 'collateralPositions' | 'collateralAssets'>,
    signalCacheMs: number,
  ) {
    this.cache = new TtlCache(signalCacheMs, 10_000);
  }

  async assess(walletAddress: string, now: Date): Promise<RiskAssessment> {
    const [activity, history] = await Promise.all([this.activity(walletAddress), this.history(walletAddress, now)]);
    const { score, contributions } = scoreSignals(this.model, signalValues(activity, history, now));
    return { provider: this.name, modelVersion: this.model.version, score, signals: contributions, inputs: { chain: activityInputs(activity), creditHistory: history } };
  }

  private async activity(walletAddress: string): Promise<ChainActivity> {
    const cached = this.cache.get(walletAddress);
    if (cached) return cached;
    const loaded = await this.chain.load(walletAddress);
    this.cache.set(walletAddress, loaded);
    return loaded;
  }

  private async history(walletAddress: string, now: Date): Promise<CreditHistory> {
    const { lines, defaults, liquidations } = await this.repos.creditHistory.forWallet(walletAddress);
    return { ...summariseCreditHistory(lines, { defaults, liquidations }, now), collateralHealthFactorBps: await this.collateralHealth(walletAddress, now) };
  }

  /** The health factor of the wallet's collateral at the latest prices; null without collateral or without debt. */
  private async collateralHealth(walletAddress: string, now: Date): Promise<number | null> {
    const { account, health } = await accountHealthNow(this.repos, walletAddress, now);
    return account.positions.some((p) => p.quantity > 0n) ? health.healthFactorBps : null;
  }
}
