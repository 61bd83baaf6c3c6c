import type { FieldProblem } from '../errors.js';

/**
 * Risk parameters of one collateral asset, versioned: a change is a new version, so every assessment and execution
 * can say which parameters it used. Ratios are bps; the volatility multiplier k is bps too (10,000 = 1.0).
 */
export interface AssetRiskParams {
  baseLtvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  /** Volatility multiplier k in bps (10,000 = 1.0; 16,500 is about a 95% one-sided band). */
  kBps: number;
  horizonDays: number;
  minLtvBps: number;
  /** Most of the debt one liquidation round may repay. */
  closeFactorBps: number;
  /** Stop-loss fires at or below this health factor (inclusive). */
  stopLossTriggerHfBps: number;
  /** Stop-loss and liquidation size their sale to reach this health factor. */
  targetHfBps: number;
  /** A fill that slipped more than this against the planned price is refused. */
  maxSlippageBps: number;
  /** A price older than this is stale: nothing that depends on it may proceed. */
  maxPriceAgeSeconds: number;
  /** Yield the collateral earns (APR); it counts toward value once accrued. */
  yieldAprBps: number;
  /** The protocol's share of the liquidation bonus; the liquidator keeps the rest. */
  protocolFeeShareBps: number;
  /** Used until enough daily closes exist to measure volatility (conservative by default). */
  fallbackVolatilityBps: number;
}

export const DEFAULT_ASSET_PARAMS: AssetRiskParams = Object.freeze({
  baseLtvBps: 7_500,
  liquidationThresholdBps: 8_500,
  liquidationBonusBps: 500,
  kBps: 10_000,
  horizonDays: 30,
  minLtvBps: 3_000,
  closeFactorBps: 5_000,
  stopLossTriggerHfBps: 10_200,
  targetHfBps: 10_500,
  maxSlippageBps: 100,
  maxPriceAgeSeconds: 300,
  yieldAprBps: 0,
  protocolFeeShareBps: 2_000,
  fallbackVolatilityBps: 10_000,
});

/**
 * The relations that keep the engine sound. Liquidation can reach the target only if H > LT x (1 + b), and
 * stop-loss only if H x (1 - slippage) > LT; the trigger must sit between 1.0 and the target.
 */
export function paramProblems(p: AssetRiskParams): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: keyof AssetRiskParams, rule: string, message: string) => problems.push({ field, rule, message });
  if (p.minLtvBps > p.baseLtvBps) add('minLtvBps', 'at_most_base_ltv', 'must not exceed baseLtvBps');
  if (p.baseLtvBps >= p.liquidationThresholdBps) add('baseLtvBps', 'below_liquidation_threshold', 'must be below liquidationThresholdBps');
  if (p.stopLossTriggerHfBps < 10_000) add('stopLossTriggerHfBps', 'at_least_one', 'must be at least 10000 (a health factor of 1.0)');
  if (p.targetHfBps <= p.stopLossTriggerHfBps) add('targetHfBps', 'above_stop_loss_trigger', 'must be above stopLossTriggerHfBps');
  if (p.targetHfBps * 10_000 <= p.liquidationThresholdBps * (10_000 + p.liquidationBonusBps)) {
    add('targetHfBps', 'reachable_by_liquidation', 'must exceed liquidationThresholdBps x (1 + liquidationBonusBps): otherwise no liquidation can reach it');
  }
  if (p.targetHfBps * (10_000 - p.maxSlippageBps) <= p.liquidationThresholdBps * 10_000) {
    add('maxSlippageBps', 'reachable_by_stop_loss', 'is too large: a sale at this slippage cannot raise the health factor to targetHfBps');
  }
  return problems;
}
