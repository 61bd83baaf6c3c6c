import { formatAmount } from '../money.js';
import type { ExecutionPlan } from './plans.js';
import { formatPrice, formatQuantity } from './quantity.js';
import type { ExecutionFill } from './records.js';

/** A plan for people and clients: USDC amounts with 7 decimals, quantities with the asset's, prices with 14. */
export function planToApiJson(plan: ExecutionPlan) {
  const hf = { healthFactorBefore: plan.healthFactorBefore };
  if (plan.kind === 'bad_debt') {
    return {
      kind: plan.kind,
      ...hf,
      debtBefore: formatAmount(plan.debtBefore),
      repay: formatAmount(plan.repay),
      writeOff: formatAmount(plan.writeOff),
      seizures: plan.seizures.map((s) => ({ assetCode: s.assetCode, price: formatPrice(s.price1e14), quantity: formatQuantity(s.quantity, s.decimals), value: formatAmount(s.value) })),
    };
  }
  const common = { kind: plan.kind, assetCode: plan.assetCode, price: formatPrice(plan.price1e14), debtBefore: formatAmount(plan.debtBefore), ...hf, healthFactorAfter: plan.healthFactorAfter, targetHfBps: plan.targetHfBps };
  if (plan.kind === 'stop_loss') {
    return { ...common, sellValue: formatAmount(plan.sellValue), sellQuantity: formatQuantity(plan.sellQuantity, plan.decimals), minProceeds: formatAmount(plan.minProceeds), slippageBps: plan.slippageBps };
  }
  return {
    ...common,
    repay: formatAmount(plan.repay),
    seizeValue: formatAmount(plan.seizeValue),
    seizeQuantity: formatQuantity(plan.seizeQuantity, plan.decimals),
    bonus: formatAmount(plan.bonus),
    protocolFee: formatAmount(plan.protocolFee),
    liquidatorBonus: formatAmount(plan.liquidatorBonus),
    capped: plan.capped,
  };
}

export function fillToApiJson(fill: ExecutionFill, plan: ExecutionPlan) {
  return {
    collateralQuantity: plan.kind === 'bad_debt' ? null : formatQuantity(fill.collateralQuantity, plan.decimals),
    usdcAmount: formatAmount(fill.usdcAmount),
    repaid: formatAmount(fill.repaid),
    writtenOff: formatAmount(fill.writtenOff),
    surplus: formatAmount(fill.surplus),
    filledBy: fill.filledBy,
    reference: fill.reference,
  };
}

