import { accountHealth, type AccountHealth, type Holding } from '../../domain/collateral/health.js';
import type { AssetParamsVersion, CollateralAsset, CollateralPosition, PriceObservation, VolatilityObservation } from '../../domain/collateral/records.js';
import { accruedYield } from '../../domain/collateral/yieldCushion.js';
import { ServiceUnavailableError } from '../../domain/errors.js';
import type { CollateralAccount, Repositories } from '../../repositories/repositories.js';
import { interestFor } from '../../domain/creditLine.js';

/** What pricing a set of assets needs, read once per batch: the asset, its current parameters, its last price and volatility. */
export interface MarketSnapshot {
  assets: Map<string, CollateralAsset>;
  params: Map<string, AssetParamsVersion>;
  prices: Map<string, PriceObservation>;
  volatility: Map<string, Partial<Record<7 | 30, VolatilityObservation>>>;
}

export interface StalePrice {
  assetCode: string;
  observedAt: string | null;
  maxAgeSeconds: number;
}

export async function loadMarket(repos: Pick<Repositories, 'collateralAssets'>, codes: string[]): Promise<MarketSnapshot> {
  const unique = [...new Set(codes)];
  if (unique.length === 0) return { assets: new Map(), params: new Map(), prices: new Map(), volatility: new Map() };
  const repo = repos.collateralAssets;
  const [assets, params, prices, volatility] = await Promise.all([
    Promise.all(unique.map((code) => repo.findAsset(code))),
    repo.currentParams(unique),
    repo.latestPrices(unique),
    repo.latestVolatility(unique),
  ]);
  return { assets: new Map(assets.filter((a) => a !== null).map((a) => [a.code, a])), params, prices, volatility };
}

/** The larger of the 7- and 30-day figures (the conservative one), or the asset's fallback until one exists. */
export function sigmaFor(market: MarketSnapshot, code: string): number {
  const figures = market.volatility.get(code) ?? {};
  const measured = [figures[7]?.sigmaBps, figures[30]?.sigmaBps].filter((x): x is number => x !== undefined);
  return measured.length > 0 ? Math.max(...measured) : market.params.get(code)!.params.fallbackVolatilityBps;
}

/** Assets among these whose price is missing or older than their maximum age at `now`. */
export function stalePrices(market: MarketSnapshot, codes: string[], now: Date): StalePrice[] {
  return [...new Set(codes)].flatMap((code) => {
    const maxAge = market.params.get(code)?.params.maxPriceAgeSeconds ?? 0;
    const price = market.prices.get(code);
    const fresh = price && now.getTime() - price.observedAt.getTime() <= maxAge * 1000;
    return fresh ? [] : [{ assetCode: code, observedAt: price?.observedAt.toISOString() ?? null, maxAgeSeconds: maxAge }];
  });
}

export class StalePriceError extends ServiceUnavailableError {
  constructor(readonly stale: StalePrice[]) {
    super('price_stale', `No fresh price for ${stale.map((s) => s.assetCode).join(', ')}: anything that depends on it is refused until the price feed recovers`, { stale });
  }
}

export function assertFresh(market: MarketSnapshot, codes: string[], now: Date): void {
  const stale = stalePrices(market, codes, now);
  if (stale.length > 0) throw new StalePriceError(stale);
}

/** A position's yield accrued up to now (it counts toward value only once accrued). */
export function withYieldTo(position: CollateralPosition, aprBps: number, now: Date): { position: CollateralPosition; earned: bigint } {
  const seconds = BigInt(Math.max(0, Math.floor((now.getTime() - position.yieldCheckpointAt.getTime()) / 1000)));
  const earned = accruedYield(position.quantity, aprBps, seconds);
  // Like interest, the checkpoint moves only when a unit accrues, so small positions still earn over time.
  if (earned === 0n) return { position, earned };
  return { position: { ...position, quantity: position.quantity + earned, yieldEarned: position.yieldEarned + earned, yieldCheckpointAt: now }, earned };
}

/** Positions priced for the domain: yield accrued to now, the latest price (zero when none), the current parameters. */
export function toHoldings(market: MarketSnapshot, positions: CollateralPosition[], now: Date): Holding[] {
  return positions
    .filter((p) => market.assets.has(p.assetCode) && market.params.has(p.assetCode))
    .map((p) => {
      const params = market.params.get(p.assetCode)!.params;
      return {
        assetCode: p.assetCode,
        decimals: market.assets.get(p.assetCode)!.decimals,
        quantity: withYieldTo(p, params.yieldAprBps, now).position.quantity,
        price1e14: market.prices.get(p.assetCode)?.price1e14 ?? 0n,
        sigmaBps: sigmaFor(market, p.assetCode),
        params,
      };
    });
}

export const paramsVersionsOf = (market: MarketSnapshot, codes: string[]): Record<string, number> =>
  Object.fromEntries([...new Set(codes)].flatMap((code) => (market.params.has(code) ? [[code, market.params.get(code)!.version]] : [])));

/** The card line's balance now: the stored one plus the interest accrued since it last moved (as a draw would see it). */
export function debtNow(account: Pick<CollateralAccount, 'debt' | 'interestRateBps' | 'lastAccrualAt'>, now: Date): bigint {
  if (!account.lastAccrualAt || account.interestRateBps === null) return account.debt;
  const seconds = BigInt(Math.max(0, Math.floor((now.getTime() - account.lastAccrualAt.getTime()) / 1000)));
  return account.debt + interestFor(account.debt, account.interestRateBps, seconds);
}

/**
 * A wallet's collateral account valued at the latest prices, interest and yield accrued to `now`: what an assessment
 * shows and what the risk model scores. `priority` picks the primary asset (the stop-loss settings' order).
 */
export async function accountHealthNow(
  repos: Pick<Repositories, 'collateralPositions' | 'collateralAssets'>,
  walletAddress: string,
  now: Date,
  priority?: readonly string[],
): Promise<{ account: CollateralAccount; market: MarketSnapshot; health: AccountHealth }> {
  const account = (await repos.collateralPositions.accounts([walletAddress])).get(walletAddress)!;
  const market = await loadMarket(repos, account.positions.map((p) => p.assetCode));
  return { account, market, health: accountHealth(toHoldings(market, account.positions, now), debtNow(account, now), priority) };
}
