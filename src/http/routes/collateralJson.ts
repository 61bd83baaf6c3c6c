import { formatPrice, formatQuantity } from '../../domain/collateral/quantity.js';
import { fillToApiJson, planToApiJson } from '../../domain/collateral/planView.js';
import type { CollateralPosition, PriceObservation, RiskExecution, StopLossSettings, VolatilityObservation } from '../../domain/collateral/records.js';
import { creditLineToJson } from '../../domain/serialization.js';
import { formatAmount } from '../../domain/money.js';
import type { AssetDetails } from '../../services/collateral/assetService.js';
import type { CardCredit } from '../../services/collateral/cardCreditService.js';
import type { CollateralView } from '../../services/collateral/collateralService.js';
import type { Assessment } from '../../services/collateral/riskEngine.js';

/**
 * JSON shapes of the collateral side. Quantities carry the asset's own decimals, prices 14 decimals, values and
 * debt USDC's 7 decimals; all as decimal strings. Ratios are integer bps.
 */

const priceToJson = (p: PriceObservation | null | undefined) =>
  p ? { price: formatPrice(p.price1e14), source: p.source, observedAt: p.observedAt.toISOString() } : null;

const volatilityToJson = (v: Partial<Record<7 | 30, VolatilityObservation>>) => ({
  sigma7dBps: v[7]?.sigmaBps ?? null,
  sigma30dBps: v[30]?.sigmaBps ?? null,
  computedAt: (v[30] ?? v[7])?.computedAt.toISOString() ?? null,
});

export function assetDetailsToJson(d: AssetDetails) {
  return {
    code: d.asset.code,
    decimals: d.asset.decimals,
    priceSource: d.asset.priceSource,
    paramsVersion: d.current.version,
    params: d.current.params,
    paramsHistory: d.history.map((v) => ({ version: v.version, params: v.params, createdBy: v.createdBy, effectiveFrom: v.effectiveFrom.toISOString() })),
    price: priceToJson(d.price),
    volatility: volatilityToJson(d.volatility),
    createdAt: d.asset.createdAt.toISOString(),
  };
}

export const priceObservationToJson = (p: PriceObservation) => ({ assetCode: p.assetCode, ...priceToJson(p)!, recordedAt: p.recordedAt.toISOString() });

export function positionToJson(p: CollateralPosition, view: CollateralView) {
  const decimals = view.market.assets.get(p.assetCode)?.decimals ?? 7;
  const holding = view.health.holdings.find((h) => h.assetCode === p.assetCode);
  return {
    id: p.id,
    walletAddress: p.walletAddress,
    assetCode: p.assetCode,
    quantity: formatQuantity(p.quantity, decimals),
    yieldEarned: formatQuantity(p.yieldEarned, decimals),
    yieldAprBps: view.market.params.get(p.assetCode)?.params.yieldAprBps ?? 0,
    price: priceToJson(view.market.prices.get(p.assetCode)),
    value: formatAmount(holding?.value ?? 0n),
    adjustedLtvBps: holding?.adjustedLtvBps ?? null,
    borrowLimit: formatAmount(holding?.borrowLimit ?? 0n),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function collateralViewToJson(view: CollateralView) {
  return {
    walletAddress: view.walletAddress,
    positions: view.positions.map((p) => positionToJson(p, view)),
    totalValue: formatAmount(view.health.totalValue),
    collateralLimit: formatAmount(view.health.collateralLimit),
    debt: formatAmount(view.health.debt),
    healthFactorBps: view.health.healthFactorBps,
    band: view.health.band,
    stalePrices: view.stale,
  };
}

export function cardCreditToJson(c: CardCredit) {
  return {
    creditLine: creditLineToJson(c.line),
    limits: {
      creditLimit: formatAmount(c.line.creditLimit),
      collateralLimit: formatAmount(c.collateralLimit),
      productCap: formatAmount(c.productCap),
      effectiveLimit: formatAmount(c.effectiveLimit),
      available: formatAmount(c.available),
    },
    collateral: collateralViewToJson(c.collateral),
  };
}

export function assessmentToJson(a: Assessment) {
  const decimalsOf = (code: string) => a.market.assets.get(code)?.decimals ?? 7;
  return {
    walletAddress: a.walletAddress,
    creditLineId: a.creditLineId,
    healthFactorBps: a.health.healthFactorBps,
    band: a.health.band,
    thresholds: { healthyFromHfBps: 11_000, stopLossTriggerHfBps: a.health.stopLossTriggerHfBps, liquidationBelowHfBps: 10_000, targetHfBps: a.health.targetHfBps },
    debt: formatAmount(a.health.debt),
    totalValue: formatAmount(a.health.totalValue),
    collateralLimit: formatAmount(a.health.collateralLimit),
    assets: a.health.holdings.map((h) => {
      const trigger = a.triggers.find((t) => t.assetCode === h.assetCode);
      const position = a.positions.find((p) => p.assetCode === h.assetCode);
      return {
        assetCode: h.assetCode,
        quantity: formatQuantity(h.quantity, h.decimals),
        price: formatPrice(h.price1e14),
        value: formatAmount(h.value),
        ltvBps: h.params.baseLtvBps,
        adjustedLtvBps: h.adjustedLtvBps,
        volatilityBps: h.sigmaBps,
        liquidationThresholdBps: h.params.liquidationThresholdBps,
        borrowLimit: formatAmount(h.borrowLimit),
        stopLossPrice: trigger?.stopLossPrice ? formatPrice(trigger.stopLossPrice) : null,
        liquidationPrice: trigger?.liquidationPrice ? formatPrice(trigger.liquidationPrice) : null,
        yield: { aprBps: h.params.yieldAprBps, earned: formatQuantity(position?.yieldEarned ?? 0n, decimalsOf(h.assetCode)) },
      };
    }),
    interestRateBps: a.interestRateBps,
    effectiveRateBps: a.effectiveRateBps,
    stopLoss: a.stopLoss ? stopLossToJson(a.stopLoss) : null,
    pendingExecution: a.pendingExecution ? executionToJson(a.pendingExecution) : null,
    stalePrices: a.stale,
  };
}

export const stopLossToJson = (s: StopLossSettings) => ({
  walletAddress: s.walletAddress,
  enabled: s.enabled,
  assetPriority: s.assetPriority,
  maxSlippageBps: s.maxSlippageBps,
  updatedAt: s.updatedAt.toISOString(),
});

export const executionToJson = (e: RiskExecution) => ({
  id: e.id,
  walletAddress: e.walletAddress,
  creditLineId: e.creditLineId,
  kind: e.kind,
  trigger: e.trigger,
  status: e.status,
  plan: planToApiJson(e.plan),
  fill: e.fill ? fillToApiJson(e.fill, e.plan) : null,
  paramsVersions: e.paramsVersions,
  createdBy: e.createdBy,
  createdAt: e.createdAt.toISOString(),
  settledAt: e.settledAt?.toISOString() ?? null,
  cancelReason: e.cancelReason,
});
