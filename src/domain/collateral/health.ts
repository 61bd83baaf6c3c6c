import { adjustedLtvBps } from './ltv.js';
import type { AssetRiskParams } from './params.js';
import { applyBps, ceilDiv, collateralValue, valueScale } from './valuation.js';

/** One asset an account holds, priced: the input of every risk computation. */
export interface Holding {
  assetCode: string;
  decimals: number;
  /** Base units, accrued yield included. */
  quantity: bigint;
  price1e14: bigint;
  sigmaBps: number;
  params: AssetRiskParams;
}

export interface ValuedHolding extends Holding {
  value: bigint;
  adjustedLtvBps: number;
  /** value x adjusted LTV: what this asset lets the account borrow. */
  borrowLimit: bigint;
  /** value x liquidation threshold, in value-units x bps (the HF numerator's share). */
  weighted: bigint;
}

export const HEALTH_BANDS = ['healthy', 'warning', 'stop_loss', 'liquidatable'] as const;
export type HealthBand = (typeof HEALTH_BANDS)[number];

/** Healthy from 1.10; warning above the stop-loss trigger; the stop-loss zone down to 1.00 inclusive; below, liquidatable. */
export const HEALTHY_FROM_HF_BPS = 11_000;

export function valueHolding(h: Holding): ValuedHolding {
  const value = collateralValue(h.quantity, h.decimals, h.price1e14);
  const ltv = adjustedLtvBps(h.params, h.sigmaBps);
  return { ...h, value, adjustedLtvBps: ltv, borrowLimit: applyBps(value, ltv), weighted: value * BigInt(h.params.liquidationThresholdBps) };
}

/** The sum of weighted values over the debt, in bps (floored); null when there is no debt (HF is infinite). */
export function healthFactorBps(weighted: bigint, debt: bigint): number | null {
  if (debt <= 0n) return null;
  return Number(weighted / debt);
}

export function band(hfBps: number | null, stopLossTriggerHfBps: number): HealthBand {
  if (hfBps === null || hfBps >= HEALTHY_FROM_HF_BPS) return 'healthy';
  if (hfBps > stopLossTriggerHfBps) return 'warning';
  if (hfBps >= 10_000) return 'stop_loss';
  return 'liquidatable';
}

/** The asset the engine sells or seizes first: the user's priority order, then the largest value. */
export function primaryHolding(holdings: readonly ValuedHolding[], priority: readonly string[] = []): ValuedHolding | undefined {
  const candidates = holdings.filter((h) => h.value > 0n);
  for (const code of priority) {
    const match = candidates.find((h) => h.assetCode === code);
    if (match) return match;
  }
  return [...candidates].sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : a.assetCode < b.assetCode ? -1 : 1))[0];
}

export interface AccountHealth {
  holdings: ValuedHolding[];
  totalValue: bigint;
  collateralLimit: bigint;
  weighted: bigint;
  debt: bigint;
  healthFactorBps: number | null;
  band: HealthBand;
  /** The thresholds in force: those of the primary (largest or first-priority) asset. */
  stopLossTriggerHfBps: number;
  targetHfBps: number;
}

export function accountHealth(holdings: readonly Holding[], debt: bigint, priority: readonly string[] = []): AccountHealth {
  const valued = holdings.map(valueHolding);
  const weighted = valued.reduce((sum, h) => sum + h.weighted, 0n);
  const hf = healthFactorBps(weighted, debt);
  const primary = primaryHolding(valued, priority);
  const trigger = primary?.params.stopLossTriggerHfBps ?? 10_200;
  return {
    holdings: valued,
    totalValue: valued.reduce((sum, h) => sum + h.value, 0n),
    collateralLimit: valued.reduce((sum, h) => sum + h.borrowLimit, 0n),
    weighted,
    debt,
    healthFactorBps: hf,
    band: band(hf, trigger),
    stopLossTriggerHfBps: trigger,
    targetHfBps: primary?.params.targetHfBps ?? 10_500,
  };
}

/**
 * The price of one asset at which the account's health factor falls to `hfBps`, the others unchanged (rounded up:
 * the alarm sounds no later than it should). Null when that asset alone cannot take it there.
 */
export function triggerPrice(health: AccountHealth, assetCode: string, hfBps: number): bigint | null {
  const holding = health.holdings.find((h) => h.assetCode === assetCode);
  if (!holding || holding.quantity <= 0n || health.debt <= 0n) return null;
  const others = health.weighted - holding.weighted;
  const neededWeighted = BigInt(hfBps) * health.debt - others;
  if (neededWeighted <= 0n) return null;
  const neededValue = ceilDiv(neededWeighted, BigInt(holding.params.liquidationThresholdBps));
  // value = quantity x price / scale, so the price is value x scale / quantity.
  return ceilDiv(neededValue * valueScale(holding.decimals), holding.quantity);
}
