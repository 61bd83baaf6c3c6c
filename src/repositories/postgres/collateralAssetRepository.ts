import { constraintName, pgErrorCode, PgErrorCode, type Queryable } from '../../db/db.js';
import { ConflictError } from '../../domain/errors.js';
import type { AssetRiskParams } from '../../domain/collateral/params.js';
import type { AssetParamsVersion, CollateralAsset, PriceObservation, PriceSource, VolatilityObservation } from '../../domain/collateral/records.js';
import type { CollateralAssetRepository } from '../repositories.js';

interface ParamsRow {
  asset_code: string;
  version: number;
  base_ltv_bps: number;
  liquidation_threshold_bps: number;
  liquidation_bonus_bps: number;
  k_bps: number;
  horizon_days: number;
  min_ltv_bps: number;
  close_factor_bps: number;
  stop_loss_trigger_hf_bps: number;
  target_hf_bps: number;
  max_slippage_bps: number;
  max_price_age_seconds: number;
  yield_apr_bps: number;
  protocol_fee_share_bps: number;
  fallback_volatility_bps: number;
  created_by: string;
  effective_from: Date;
}

/** Parameter fields and their columns, in one table so that reading and writing cannot drift apart. */
const PARAM_COLUMNS: Array<[keyof AssetRiskParams, keyof ParamsRow]> = [
  ['baseLtvBps', 'base_ltv_bps'],
  ['liquidationThresholdBps', 'liquidation_threshold_bps'],
  ['liquidationBonusBps', 'liquidation_bonus_bps'],
  ['kBps', 'k_bps'],
  ['horizonDays', 'horizon_days'],
  ['minLtvBps', 'min_ltv_bps'],
  ['closeFactorBps', 'close_factor_bps'],
  ['stopLossTriggerHfBps', 'stop_loss_trigger_hf_bps'],
  ['targetHfBps', 'target_hf_bps'],
  ['maxSlippageBps', 'max_slippage_bps'],
  ['maxPriceAgeSeconds', 'max_price_age_seconds'],
  ['yieldAprBps', 'yield_apr_bps'],
  ['protocolFeeShareBps', 'protocol_fee_share_bps'],
  ['fallbackVolatilityBps', 'fallback_volatility_bps'],
];

const PARAMS_SELECT = `asset_code, version, ${PARAM_COLUMNS.map(([, c]) => c).join(', ')}, created_by, effective_from`;

const toParams = (row: ParamsRow): AssetParamsVersion => ({
  assetCode: row.asset_code,
  version: row.version,
  params: Object.fromEntries(PARAM_COLUMNS.map(([field, column]) => [field, Number(row[column])])) as unknown as AssetRiskParams,
  createdBy: row.created_by,
  effectiveFrom: new Date(row.effective_from),
});

interface PriceRow {
  id: string;
  asset_code: string;
  price: string;
  source: string;
  observed_at: Date;
  recorded_at: Date;
}

const toPrice = (row: PriceRow): PriceObservation => ({
  id: BigInt(row.id),
  assetCode: row.asset_code,
  price1e14: BigInt(row.price),
  source: row.source,
  observedAt: new Date(row.observed_at),
  recordedAt: new Date(row.recorded_at),
});

export class PostgresCollateralAssetRepository implements CollateralAssetRepository {
  constructor(private readonly db: Queryable) {}

  async insertAsset(asset: CollateralAsset): Promise<void> {
    try {
      await this.db.query('INSERT INTO collateral_assets (code, decimals, price_source, created_at) VALUES ($1, $2, $3, $4)', [
        asset.code,
        asset.decimals,
        JSON.stringify(asset.priceSource),
        asset.createdAt,
      ]);
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.uniqueViolation) throw new ConflictError('asset_exists', `Collateral asset ${asset.code} already exists`);
      throw error;
    }
  }

  async findAsset(code: string): Promise<CollateralAsset | null> {
    const { rows } = await this.db.query<{ code: string; decimals: number; price_source: PriceSource; created_at: Date }>(
      'SELECT code, decimals, price_source, created_at FROM collateral_assets WHERE code = $1',
      [code],
    );
    const row = rows[0];
    return row ? { code: row.code, decimals: row.decimals, priceSource: row.price_source, createdAt: new Date(row.created_at) } : null;
  }

  async listAssets(): Promise<CollateralAsset[]> {
    const { rows } = await this.db.query<{ code: string; decimals: number; price_source: PriceSource; created_at: Date }>(
      'SELECT code, decimals, price_source, created_at FROM collateral_assets ORDER BY code',
    );
    return rows.map((row) => ({ code: row.code, decimals: row.decimals, priceSource: row.price_source, createdAt: new Date(row.created_at) }));
  }

  async insertParams(v: AssetParamsVersion): Promise<void> {
    const columns = ['asset_code', 'version', ...PARAM_COLUMNS.map(([, c]) => c), 'created_by', 'effective_from'];
    const values = [v.assetCode, v.version, ...PARAM_COLUMNS.map(([field]) => v.params[field]), v.createdBy, v.effectiveFrom];
    try {
      await this.db.query(`INSERT INTO collateral_asset_params (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, values);
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.uniqueViolation && constraintName(error) === 'collateral_asset_params_pkey') {
        throw new ConflictError('params_version_conflict', `Version ${v.version} of ${v.assetCode}'s parameters already exists; read the current version and retry`);
      }
      throw error;
    }
  }

  async currentParams(codes: string[]): Promise<Map<string, AssetParamsVersion>> {
    if (codes.length === 0) return new Map();
    const { rows } = await this.db.query<ParamsRow>(
      `SELECT DISTINCT ON (asset_code) ${PARAMS_SELECT} FROM collateral_asset_params WHERE asset_code = ANY($1) ORDER BY asset_code, version DESC`,
      [codes],
    );
    return new Map(rows.map((row) => [row.asset_code, toParams(row)]));
  }

  async paramsHistory(code: string): Promise<AssetParamsVersion[]> {
    const { rows } = await this.db.query<ParamsRow>(`SELECT ${PARAMS_SELECT} FROM collateral_asset_params WHERE asset_code = $1 ORDER BY version DESC`, [code]);
    return rows.map(toParams);
  }

  async recordPrice(o: Omit<PriceObservation, 'id'>): Promise<PriceObservation> {
    const { rows } = await this.db.query<PriceRow>(
      `INSERT INTO price_observations (asset_code, price, source, observed_at, recorded_at) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, asset_code, price, source, observed_at, recorded_at`,
      [o.assetCode, o.price1e14.toString(), o.source, o.observedAt, o.recordedAt],
    );
    return toPrice(rows[0]!);
  }

  async latestPrices(codes: string[]): Promise<Map<string, PriceObservation>> {
    if (codes.length === 0) return new Map();
    // One index probe per asset (LATERAL), not a scan of the whole history.
    const { rows } = await this.db.query<PriceRow>(
      `SELECT p.id, p.asset_code, p.price, p.source, p.observed_at, p.recorded_at
         FROM unnest($1::text[]) AS a(code)
         CROSS JOIN LATERAL (
           SELECT * FROM price_observations WHERE asset_code = a.code ORDER BY observed_at DESC, id DESC LIMIT 1
         ) p`,
      [codes],
    );
    return new Map(rows.map((row) => [row.asset_code, toPrice(row)]));
  }

  async dailyCloses(code: string, since: Date): Promise<Array<{ day: string; price1e14: bigint }>> {
    const { rows } = await this.db.query<{ day: string; price: string }>(
      `SELECT DISTINCT ON (day) to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, price
         FROM price_observations
        WHERE asset_code = $1 AND observed_at >= $2
        ORDER BY day, observed_at DESC, id DESC`,
      [code, since],
    );
    return rows.map((row) => ({ day: row.day, price1e14: BigInt(row.price) }));
  }

  async recordVolatility(observations: VolatilityObservation[]): Promise<void> {
    if (observations.length === 0) return;
    await this.db.query(
      `INSERT INTO volatility_observations (asset_code, window_days, sigma_bps, returns, computed_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        observations.map((o) => o.assetCode),
        observations.map((o) => o.windowDays),
        observations.map((o) => o.sigmaBps),
        observations.map((o) => o.returns),
        observations.map((o) => o.computedAt),
      ],
    );
  }

  async latestVolatility(codes: string[]): Promise<Map<string, Partial<Record<7 | 30, VolatilityObservation>>>> {
    const result = new Map<string, Partial<Record<7 | 30, VolatilityObservation>>>();
    if (codes.length === 0) return result;
    const { rows } = await this.db.query<{ asset_code: string; window_days: 7 | 30; sigma_bps: number; returns: number; computed_at: Date }>(
      `SELECT DISTINCT ON (asset_code, window_days) asset_code, window_days, sigma_bps, returns, computed_at
         FROM volatility_observations WHERE asset_code = ANY($1)
        ORDER BY asset_code, window_days, computed_at DESC`,
      [codes],
    );
    for (const row of rows) {
      const entry = result.get(row.asset_code) ?? {};
      entry[row.window_days] = { assetCode: row.asset_code, windowDays: row.window_days, sigmaBps: row.sigma_bps, returns: row.returns, computedAt: new Date(row.computed_at) };
      result.set(row.asset_code, entry);
    }
    return result;
  }
}
