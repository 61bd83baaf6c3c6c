import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountHealth, type Holding } from '../../../../src/domain/collateral/health.js';
import { adjustedLtvBps } from '../../../../src/domain/collateral/ltv.js';
import { DEFAULT_ASSET_PARAMS, paramProblems, type AssetRiskParams } from '../../../../src/domain/collateral/params.js';
import { planLiquidation, planStopLoss } from '../../../../src/domain/collateral/plans.js';
import { collateralValue, quantityForValue } from '../../../../src/domain/collateral/valuation.js';

const USDC = 10_000_000n;

/** Sound parameter sets: those paramProblems accepts. */
const paramsArb: fc.Arbitrary<AssetRiskParams> = fc
  .record({
    liquidationThresholdBps: fc.integer({ min: 5_000, max: 9_000 }),
    ltvGap: fc.integer({ min: 200, max: 2_000 }),
    liquidationBonusBps: fc.integer({ min: 0, max: 1_000 }),
    closeFactorBps: fc.integer({ min: 1_000, max: 10_000 }),
    targetHfBps: fc.integer({ min: 10_300, max: 13_000 }),
    maxSlippageBps: fc.integer({ min: 0, max: 300 }),
    protocolFeeShareBps: fc.integer({ min: 0, max: 10_000 }),
  })
  .map(({ ltvGap, ...p }) => ({
    ...DEFAULT_ASSET_PARAMS,
    ...p,
    baseLtvBps: p.liquidationThresholdBps - ltvGap,
    minLtvBps: Math.min(3_000, p.liquidationThresholdBps - ltvGap),
    stopLossTriggerHfBps: 10_200,
  }))
  .filter((p) => paramProblems(p).length === 0);

const holdingArb = (params: fc.Arbitrary<AssetRiskParams>): fc.Arbitrary<Holding> =>
  fc.record({
    assetCode: fc.constantFrom('XLM', 'BTC', 'ETH'),
    decimals: fc.constantFrom(7, 8),
    quantity: fc.bigInt({ min: 10n ** 8n, max: 10n ** 15n }),
    price1e14: fc.bigInt({ min: 10n ** 11n, max: 10n ** 19n }),
    sigmaBps: fc.integer({ min: 0, max: 20_000 }),
    params,
  });

/** An account and a debt that puts its HF in [lowBps, highBps). */
const accountArb = (lowBps: number, highBps: number) =>
  fc
    .tuple(holdingArb(paramsArb), fc.integer({ min: lowBps, max: highBps - 1 }))
    .map(([holding, hf]) => {
      const weighted = collateralValue(holding.quantity, holding.decimals, holding.price1e14) * BigInt(holding.params.liquidationThresholdBps);
      const debt = weighted / BigInt(hf);
      return { holding, debt };
    })
    .filter(({ debt }) => debt >= 10n * USDC);

describe('collateral engine properties', () => {
  it('adjusted LTV is never below the minimum nor above the base', () => {
    fc.assert(
      fc.property(paramsArb, fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 365 }), fc.integer({ min: 0, max: 50_000 }), (p, sigma, days, k) => {
        const ltv = adjustedLtvBps({ ...p, horizonDays: days, kBps: k }, sigma);
        return ltv >= p.minLtvBps && ltv <= p.baseLtvBps;
      }),
    );
  });

  it('a partial liquidation never seizes more than exists, never repays more than the debt, and reaches the target within rounding unless capped', () => {
    fc.assert(
      fc.property(accountArb(9_000, 10_000), ({ holding, debt }) => {
        const health = accountHealth([holding], debt);
        const plan = planLiquidation(health);
        if (!plan) return health.healthFactorBps! >= 10_000;
        if (plan.kind === 'bad_debt') {
          return plan.repay + plan.writeOff === debt && plan.seizures.every((s) => s.quantity === holding.quantity);
        }
        const valued = health.holdings[0]!;
        expect(plan.seizeQuantity).toBeLessThanOrEqual(holding.quantity);
        expect(plan.seizeValue).toBeLessThanOrEqual(valued.value);
        expect(plan.repay).toBeLessThanOrEqual(debt);
        expect(plan.repay).toBeLessThanOrEqual((debt * BigInt(holding.params.closeFactorBps)) / 10_000n);
        expect(plan.protocolFee + plan.liquidatorBonus).toBe(plan.bonus);
        if (!plan.capped) {
          expect(plan.healthFactorAfter).toBeGreaterThanOrEqual(plan.targetHfBps - 1);
          expect(plan.healthFactorAfter).toBeLessThanOrEqual(plan.targetHfBps + 1);
        } else {
          expect(plan.healthFactorAfter).toBeLessThan(plan.targetHfBps);
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('a stop-loss sells no more than needed to reach the target after slippage, and never more than is held', () => {
    fc.assert(
      fc.property(accountArb(10_000, 10_200), ({ holding, debt }) => {
        const health = accountHealth([holding], debt);
        const plan = planStopLoss(health);
        if (!plan) return false; // sound parameters always make the target reachable
        const valued = health.holdings[0]!;
        const lt = BigInt(holding.params.liquidationThresholdBps);
        const keep = 10_000n - BigInt(plan.slippageBps);
        // HF after selling `value`, as an exact comparison with the target: (W - v LT) x 10000 >= H x (D - v (1 - s))
        const reaches = (value: bigint) => (health.weighted - value * lt) * 10_000n >= BigInt(plan.targetHfBps) * (debt * 10_000n - value * keep);
        expect(plan.sellValue).toBeLessThanOrEqual(valued.value);
        expect(plan.sellQuantity).toBeLessThanOrEqual(holding.quantity);
        expect(plan.sellQuantity).toBeLessThanOrEqual(quantityForValue(plan.sellValue, holding.decimals, holding.price1e14));
        if (plan.sellValue < valued.value) {
          expect(reaches(plan.sellValue)).toBe(true);
          expect(reaches(plan.sellValue - 1n)).toBe(false); // one unit less would fall short: nothing extra is sold
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('a healthy account gets neither a stop-loss nor a liquidation', () => {
    fc.assert(
      fc.property(accountArb(10_600, 30_000), ({ holding, debt }) => {
        const health = accountHealth([holding], debt);
        return planLiquidation(health) === null && (health.healthFactorBps! >= health.targetHfBps ? planStopLoss(health) === null : true);
      }),
    );
  });
});
