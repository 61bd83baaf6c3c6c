import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../domain/errors.js';
import { formatAmount } from '../domain/money.js';
import { isFresh, type RiskEvaluation, type RiskEvaluationSummary } from '../domain/risk/evaluation.js';
import type { RiskModel } from '../domain/risk/model.js';
import { termsForScore } from '../domain/risk/terms.js';
import { pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { InTransaction, Store } from '../repositories/repositories.js';
import type { RequestMeta } from './creditLineService.js';
import type { RiskProvider } from './risk/riskProvider.js';
import { WalletOwnership } from './walletOwnership.js';

export interface RiskServiceOptions {
  store: Store;
  provider: RiskProvider;
  /** Its bands turn any provider's score into terms. */
  model: RiskModel;
  maxCreditLimit: bigint;
  /** How long an evaluation is served from cache and may be applied (24 h). */
  evaluationTtlMs: number;
  ownership?: WalletOwnership;
  metrics?: { evaluated(provider: string, cached: boolean, score: number | null): void };
  clock?: () => Date;
  newId?: () => string;
}

export interface EvaluationResult {
  evaluation: RiskEvaluation;
  /** True when a still-valid earlier evaluation was returned instead of a new one. */
  cached: boolean;
}

/** Where credit lines get their terms: the wallet's current evaluation. */
export interface CreditOffers {
  currentOffer(walletAddress: string): Promise<RiskEvaluation>;
}

/**
 * Scores wallets: asks the configured provider for a score, sets the limit and rate from the model's bands, and
 * stores the evaluation with its explanation and a `risk.evaluated` event in one transaction. A wallet's latest
 * evaluation is reused for 24 h unless a refresh is forced, or the provider or model version changed.
 */
export class RiskService implements CreditOffers {
  private readonly store: Store;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly ownership: WalletOwnership;

  constructor(private readonly options: RiskServiceOptions) {
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.ownership = options.ownership ?? new WalletOwnership('required');
  }

  async evaluate(walletAddress: string, forceRefresh: boolean, meta: RequestMeta, alsoWithin?: InTransaction<EvaluationResult>): Promise<EvaluationResult> {
    // A forced refresh writes a new evaluation that supersedes the one an admin may be about to apply: only the
    // wallet itself (or an admin) may force one. Anyone with a client key gets the cached answer.
    if (forceRefresh && meta.actor.kind !== 'admin') await this.ownership.assertCanAct(this.store.repos.walletAuth, meta.wallet, walletAddress);
    else await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, walletAddress);
    const reusable = forceRefresh ? null : await this.reusable(walletAddress);
    if (reusable) {
      const result = { evaluation: reusable, cached: true };
      if (alsoWithin) await this.store.transaction((repos) => alsoWithin(repos, result));
      this.options.metrics?.evaluated(reusable.provider, true, null);
      return result;
    }
    const evaluation = await this.evaluateNow(walletAddress, alsoWithin && ((repos, evaluation) => alsoWithin(repos, { evaluation, cached: false })));
    return { evaluation, cached: false };
  }

  async currentOffer(walletAddress: string): Promise<RiskEvaluation> {
    return (await this.reusable(walletAddress)) ?? this.evaluateNow(walletAddress);
  }

  async get(id: string, meta: RequestMeta): Promise<RiskEvaluation> {
    const evaluation = await this.store.repos.riskEvaluations.findById(id);
    if (!evaluation) throw new NotFoundError('Risk evaluation', id);
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, evaluation.walletAddress);
    return evaluation;
  }

  async history(walletAddress: string, page: PageRequest, meta: RequestMeta): Promise<PageResult<RiskEvaluationSummary>> {
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, walletAddress);
    return pageBySeq(page, (p) => this.store.repos.riskEvaluations.listByWallet(walletAddress, p));
  }

  private async reusable(walletAddress: string): Promise<RiskEvaluation | null> {
    const latest = await this.store.repos.riskEvaluations.latestForWallet(walletAddress);
    if (!latest || !isFresh(latest, this.clock())) return null;
    const { provider, model } = this.options;
    // A new model version (or provider) makes yesterday's scores stale at once.
    if (latest.provider !== provider.name || (provider.name === 'signals' && latest.modelVersion !== model.version)) return null;
    return latest;
  }

  private async evaluateNow(walletAddress: string, alsoWithin?: InTransaction<RiskEvaluation>): Promise<RiskEvaluation> {
    const now = this.clock();
    const assessment = await this.options.provider.assess(walletAddress, now);
    const terms = termsForScore(this.options.model, assessment.score, this.options.maxCreditLimit);
    const evaluation = await this.store.transaction(async (repos) => {
      const stored = await repos.riskEvaluations.insert({
        id: this.newId(),
        walletAddress,
        provider: assessment.provider,
        modelVersion: assessment.modelVersion,
        score: assessment.score,
        band: terms.band,
        decision: terms.decision,
        creditLimit: terms.creditLimit,
        interestRateBps: terms.interestRateBps,
        signals: assessment.signals,
        inputs: assessment.inputs,
        evaluatedAt: now,
        expiresAt: new Date(now.getTime() + this.options.evaluationTtlMs),
        application: null,
      });
      await repos.events.append({
        id: this.newId(),
        type: 'risk.evaluated',
        aggregateType: 'risk_evaluation',
        aggregateId: stored.id,
        payload: {
          evaluationId: stored.id,
          walletAddress,
          provider: stored.provider,
          modelVersion: stored.modelVersion,
          score: stored.score,
          band: stored.band,
          decision: stored.decision,
          creditLimit: formatAmount(stored.creditLimit),
          interestRateBps: stored.interestRateBps,
        },
        createdAt: now,
      });
      await alsoWithin?.(repos, stored);
      return stored;
    });
    this.options.metrics?.evaluated(evaluation.provider, false, evaluation.score);
    return evaluation;
  }
}
