import { primaryHolding, type AccountHealth, type ValuedHolding } from './health.js';
import { applyBps, BPS, ceilDiv, quantityForValue } from './valuation.js';

/**
 * What the engine asks an executor to do. All amounts are integers: values and debt in USDC base units, quantities
 * in the asset's base units. The formulas are reference C.3 (6) and (7), not the Vantis contract's, which C.3
 * shows over-sells (stop-loss) or liquidates all-or-nothing.
 */

export interface StopLossPlan {
  kind: 'stop_loss';
  assetCode: string;
  decimals: number;
  price1e14: bigint;
  /** Market value to sell: S = (H x D - LT x V) / (H x (1 - s) - LT), rounded up, at most the holding. */
  sellValue: bigint;
  sellQuantity: bigint;
  /** USDC the sale must return at least (the planned price less the maximum slippage); all of it repays debt. */
  minProceeds: bigint;
  debtBefore: bigint;
  healthFactorBefore: number | null;
  /** Expected after a fill at exactly the maximum slippage. */
  healthFactorAfter: number | null;
  targetHfBps: number;
  slippageBps: number;
}

export interface LiquidationPlan {
  kind: 'liquidation';
  assetCode: string;
  decimals: number;
  price1e14: bigint;
  /** Debt repaid: R = (H x D - LT x V) / (H - LT x (1 + b)), rounded up, capped by the close factor, the debt and the holding. */
  repay: bigint;
  /** R x (1 + b) of market value, at most what the holding is worth. */
  seizeValue: bigint;
  seizeQuantity: bigint;
  bonus: bigint;
  protocolFee: bigint;
  liquidatorBonus: bigint;
  debtBefore: bigint;
  healthFactorBefore: number | null;
  healthFactorAfter: number | null;
  targetHfBps: number;
  /** True when the close factor (or the holding) stopped R short of the target: another round will follow. */
  capped: boolean;
}

export interface BadDebtPlan {
  kind: 'bad_debt';
  /** Everything is seized: no partial liquidation can restore health (HF <= LT x (1 + b)). */
  seizures: Array<{ assetCode: string; decimals: number; price1e14: bigint; quantity: bigint; value: bigint }>;
  /** What the seized collateral covers after the bonus; the rest of the debt is written off. */
  repay: bigint;
  /** The largest maximum slippage of the seized assets: a recovery below repay less this is refused. */
  slippageBps: number;
  writeOff: bigint;
  debtBefore: bigint;
  healthFactorBefore: number | null;
}

export type ExecutionPlan = StopLossPlan | LiquidationPlan | BadDebtPlan;

const hfAfter = (weighted: bigint, debt: bigint): number | null => (debt <= 0n ? null : Number(weighted / debt));

/** The stop-loss sale that brings the account to its target after slippage; null when no sale can (or need) do it. */
export function planStopLoss(health: AccountHealth, options: { priority?: readonly string[]; slippageBps?: number } = {}): StopLossPlan | null {
  const asset = primaryHolding(health.holdings, options.priority);
  if (!asset || health.debt <= 0n) return null;
  const target = BigInt(health.targetHfBps);
  const slippage = options.slippageBps ?? asset.params.maxSlippageBps;
  const lt = BigInt(asset.params.liquidationThresholdBps);
  const shortfall = target * health.debt - health.weighted; // H x D - sum(LT x V), in value x bps
  if (shortfall <= 0n) return null;
  const denominator = target * (BPS - BigInt(slippage)) - lt * BPS; // (H x (1 - s) - LT), in bps^2
  if (denominator <= 0n) return null;
  const sellValue = minOf(ceilDiv(shortfall * BPS, denominator), asset.value);
  const sellQuantity = minOf(quantityForValue(sellValue, asset.decimals, asset.price1e14), asset.quantity);
  const minProceeds = applyBps(sellValue, BPS - BigInt(slippage));
  const repaid = minOf(minProceeds, health.debt);
  return {
    kind: 'stop_loss',
    assetCode: asset.assetCode,
    decimals: asset.decimals,
    price1e14: asset.price1e14,
    sellValue,
    sellQuantity,
    minProceeds,
    debtBefore: health.debt,
    healthFactorBefore: health.healthFactorBps,
    healthFactorAfter: hfAfter(health.weighted - sellValue * lt, health.debt - repaid),
    targetHfBps: health.targetHfBps,
    slippageBps: slippage,
  };
}

/**
 * The partial liquidation of a liquidatable account, or the bad-debt path when seizing cannot restore health
 * (the health factor is at or below LT x (1 + b), or the target is out of reach).
 */
export function planLiquidation(health: AccountHealth, options: { priority?: readonly string[] } = {}): LiquidationPlan | BadDebtPlan | null {
  if (health.debt <= 0n || health.healthFactorBps === null || health.healthFactorBps >= 10_000) return null;
  const asset = primaryHolding(health.holdings, options.priority);
  if (!asset) return badDebt(health);
  const target = BigInt(health.targetHfBps);
  const lt = BigInt(asset.params.liquidationThresholdBps);
  const bonusFactor = BPS + BigInt(asset.params.liquidationBonusBps);
  const denominator = target * BPS - lt * bonusFactor; // (H - LT x (1 + b)), in bps^2
  // Seizing R x (1 + b) of value worth LT each only helps while HF > LT x (1 + b).
  if (denominator <= 0n || BigInt(health.healthFactorBps) * BPS <= lt * bonusFactor) return badDebt(health);
  const exact = ceilDiv((target * health.debt - health.weighted) * BPS, denominator);
  const byCloseFactor = applyBps(health.debt, asset.params.closeFactorBps);
  const byHolding = (asset.value * BPS) / bonusFactor;
  const repay = minOf(exact, byCloseFactor, byHolding, health.debt);
  const seizeValue = minOf((repay * bonusFactor) / BPS, asset.value);
  const seizeQuantity = minOf(quantityForValue(seizeValue, asset.decimals, asset.price1e14), asset.quantity);
  const bonus = seizeValue - repay;
  const protocolFee = applyBps(bonus > 0n ? bonus : 0n, asset.params.protocolFeeShareBps);
  return {
    kind: 'liquidation',
    assetCode: asset.assetCode,
    decimals: asset.decimals,
    price1e14: asset.price1e14,
    repay,
    seizeValue,
    seizeQuantity,
    bonus,
    protocolFee,
    liquidatorBonus: bonus - protocolFee,
    debtBefore: health.debt,
    healthFactorBefore: health.healthFactorBps,
    healthFactorAfter: hfAfter(health.weighted - seizeValue * lt, health.debt - repay),
    targetHfBps: health.targetHfBps,
    capped: repay < exact,
  };
}

function badDebt(health: AccountHealth): BadDebtPlan {
  const seizures = health.holdings.filter((h) => h.quantity > 0n).map((h: ValuedHolding) => ({ assetCode: h.assetCode, decimals: h.decimals, price1e14: h.price1e14, quantity: h.quantity, value: h.value }));
  const covered = health.holdings.reduce((sum, h) => sum + (h.value * BPS) / (BPS + BigInt(h.params.liquidationBonusBps)), 0n);
  const repay = minOf(covered, health.debt);
  const slippageBps = Math.max(0, ...health.holdings.filter((h) => h.quantity > 0n).map((h) => h.params.maxSlippageBps));
  return { kind: 'bad_debt', seizures, repay, slippageBps, writeOff: health.debt - repay, debtBefore: health.debt, healthFactorBefore: health.healthFactorBps };
}

function minOf(first: bigint, ...rest: bigint[]): bigint {
  return rest.reduce((min, x) => (x < min ? x : min), first);
}
