import { DEFAULT_ASSET_PARAMS, paramProblems, type AssetRiskParams } from '../../domain/collateral/params.js';
import { parsePrice } from '../../domain/collateral/quantity.js';
import type { AssetParamsVersion, CollateralAsset, PriceObservation, PriceSource, VolatilityObservation } from '../../domain/collateral/records.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Store } from '../../repositories/repositories.js';
import { actorName, auditRow } from '../audit.js';
import type { RequestMeta } from '../creditLineService.js';

export interface AssetDetails {
  asset: CollateralAsset;
  current: AssetParamsVersion;
  history: AssetParamsVersion[];
  price: PriceObservation | null;
  volatility: Partial<Record<7 | 30, VolatilityObservation>>;
}

/** Collateral assets and their versioned risk parameters (admin). Every change is a new version, audited. */
export class CollateralAssetService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    clock?: () => Date,
    /** False in production: a made-up price must never value real collateral. */
    private readonly allowStaticPrices = true,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  async create(input: { code: string; decimals: number; priceSource: PriceSource; params: Partial<AssetRiskParams> }, meta: RequestMeta): Promise<AssetDetails> {
    const params = this.validParams({ ...DEFAULT_ASSET_PARAMS, ...input.params });
    if (input.priceSource.kind === 'static') {
      if (!this.allowStaticPrices) throw new ValidationError([{ field: 'priceSource.kind', rule: 'not_in_production', message: 'a static price is for development; use reflector, horizon or manual' }]);
      parsePrice(input.priceSource.price, 'priceSource.price');
    }
    const now = this.clock();
    await this.store.transaction(async (repos) => {
      const asset: CollateralAsset = { code: input.code, decimals: input.decimals, priceSource: input.priceSource, createdAt: now };
      await repos.collateralAssets.insertAsset(asset);
      await repos.collateralAssets.insertParams({ assetCode: input.code, version: 1, params, createdBy: actorName(meta), effectiveFrom: now });
      await repos.audit.append(auditRow(meta, 'collateral_asset.create', { type: 'collateral_asset', id: input.code }, { before: null, after: { ...asset, params } }, now));
    });
    return this.get(input.code);
  }

  /** A new version from the current one with these fields changed; a concurrent change makes this one 409. */
  async updateParams(code: string, changes: Partial<AssetRiskParams>, meta: RequestMeta): Promise<AssetDetails> {
    const now = this.clock();
    await this.store.transaction(async (repos) => {
      const current = (await repos.collateralAssets.currentParams([code])).get(code);
      if (!current) throw new NotFoundError('Collateral asset', code);
      const params = this.validParams({ ...current.params, ...changes });
      await repos.collateralAssets.insertParams({ assetCode: code, version: current.version + 1, params, createdBy: actorName(meta), effectiveFrom: now });
      await repos.audit.append(
        auditRow(meta, 'collateral_asset.update_params', { type: 'collateral_asset', id: code }, { before: { version: current.version, ...current.params }, after: { version: current.version + 1, ...params } }, now),
      );
    });
    return this.get(code);
  }

  async get(code: string): Promise<AssetDetails> {
    const repo = this.store.repos.collateralAssets;
    const asset = await repo.findAsset(code);
    if (!asset) throw new NotFoundError('Collateral asset', code);
    const [history, prices, volatility] = await Promise.all([repo.paramsHistory(code), repo.latestPrices([code]), repo.latestVolatility([code])]);
    return { asset, current: history[0]!, history, price: prices.get(code) ?? null, volatility: volatility.get(code) ?? {} };
  }

  async list(): Promise<AssetDetails[]> {
    const repo = this.store.repos.collateralAssets;
    const assets = await repo.listAssets();
    const codes = assets.map((a) => a.code);
    const [params, prices, volatility] = await Promise.all([repo.currentParams(codes), repo.latestPrices(codes), repo.latestVolatility(codes)]);
    return assets.map((asset) => ({ asset, current: params.get(asset.code)!, history: [], price: prices.get(asset.code) ?? null, volatility: volatility.get(asset.code) ?? {} }));
  }

  private validParams(params: AssetRiskParams): AssetRiskParams {
    const problems = paramProblems(params);
    if (problems.length > 0) throw new ValidationError(problems.map((p) => ({ ...p, field: `params.${p.field}` })));
    return params;
  }
}
