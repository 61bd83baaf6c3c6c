import { randomUUID } from 'node:crypto';
import type { CollateralAsset, PriceObservation, VolatilityObservation } from '../../domain/collateral/records.js';
import { formatPrice } from '../../domain/collateral/quantity.js';
import { annualisedVolatility } from '../../domain/collateral/volatility.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Repositories, Store } from '../../repositories/repositories.js';
import type { PriceFeed } from '../../stellar/priceFeeds.js';
import { auditRow } from '../audit.js';
import type { RequestMeta } from '../creditLineService.js';

export const RISK_MONITOR_QUEUE = 'risk-monitor';
const DAY_MS = 86_400_000;
const WINDOWS = [7, 30] as const;

/**
 * Price observations: from each asset's feed (a periodic job) or posted by an admin for `manual` assets. Each new
 * observation, in its own transaction, refreshes the asset's volatility once a day and queues a risk-monitor run
 * for the asset, so every observation is re-priced exactly once by one runner across instances.
 */
export class PriceService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly feedFor: (asset: CollateralAsset) => PriceFeed | null,
    private readonly logger: Logger,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /** An admin's price for a `manual` asset (assets with a feed take their prices from it). */
  async post(code: string, price1e14: bigint, observedAt: Date | undefined, meta: RequestMeta): Promise<PriceObservation> {
    const asset = await this.store.repos.collateralAssets.findAsset(code);
    if (!asset) throw new NotFoundError('Collateral asset', code);
    if (asset.priceSource.kind !== 'manual') {
      throw new ConflictError('price_source_not_manual', `${code} is priced by its ${asset.priceSource.kind} feed; only manual assets take posted prices`);
    }
    const now = this.clock();
    const at = observedAt ?? now;
    if (at.getTime() > now.getTime() + 5_000) throw new UnprocessableError('price_in_future', 'observedAt is in the future');
    return this.store.transaction(async (repos) => {
      const observation = await this.recordWithin(repos, { assetCode: code, price1e14, source: 'manual', observedAt: at, recordedAt: now });
      await repos.audit.append(auditRow(meta, 'collateral_asset.post_price', { type: 'collateral_asset', id: code }, { before: null, after: { price: formatPrice(price1e14), observedAt: at.toISOString() } }, now));
      return observation;
    });
  }

  /** One round of the price job: every asset with a feed, newest quote only if it is newer than what is stored. */
  async poll(): Promise<number> {
    const assets = await this.store.repos.collateralAssets.listAssets();
    let recorded = 0;
    for (const asset of assets) {
      const feed = this.feedFor(asset);
      if (!feed) continue;
      try {
        const quote = await feed.latest();
        const latest = (await this.store.repos.collateralAssets.latestPrices([asset.code])).get(asset.code);
        if (latest && latest.observedAt.getTime() >= quote.observedAt.getTime()) continue;
        await this.store.transaction((repos) =>
          this.recordWithin(repos, { assetCode: asset.code, price1e14: quote.price1e14, source: quote.source, observedAt: quote.observedAt, recordedAt: this.clock() }),
        );
        recorded++;
      } catch (error) {
        // One feed failing must not stop the others; its asset simply goes stale, which /health/ready shows.
        this.logger.warn({ asset: asset.code, err: (error as Error).message }, 'price feed failed');
      }
    }
    return recorded;
  }

  private async recordWithin(repos: Repositories, observation: Omit<PriceObservation, 'id'>): Promise<PriceObservation> {
    const stored = await repos.collateralAssets.recordPrice(observation);
    await this.refreshVolatility(repos, observation.assetCode, observation.recordedAt);
    await repos.jobs.enqueue([
      {
        id: randomUUID(),
        queue: RISK_MONITOR_QUEUE,
        dedupeKey: `price:${stored.id}`,
        subject: observation.assetCode,
        payload: { assetCode: observation.assetCode, observationId: stored.id.toString() },
        maxAttempts: 10,
        runAt: observation.recordedAt,
        createdAt: observation.recordedAt,
      },
    ]);
    return stored;
  }

  /** Once per UTC day per asset: log returns of the daily closes over 7 and 30 days. */
  private async refreshVolatility(repos: Repositories, code: string, now: Date): Promise<void> {
    const latest = (await repos.collateralAssets.latestVolatility([code])).get(code);
    const today = now.toISOString().slice(0, 10);
    if (latest?.[30] && latest[30].computedAt.toISOString().slice(0, 10) === today) return;
    const closes = await repos.collateralAssets.dailyCloses(code, new Date(now.getTime() - 31 * DAY_MS));
    const observations: VolatilityObservation[] = [];
    for (const window of WINDOWS) {
      const measured = annualisedVolatility(closes.slice(-(window + 1)).map((c) => c.price1e14));
      if (measured) observations.push({ assetCode: code, windowDays: window, sigmaBps: measured.sigmaBps, returns: measured.returns, computedAt: now });
    }
    await repos.collateralAssets.recordVolatility(observations);
  }
}
