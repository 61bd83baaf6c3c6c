import { describe, expect, it } from 'vitest';
import { accountHealth, triggerPrice, type Holding } from '../../../../src/domain/collateral/health.js';
import { adjustedLtvBps, onchainCompatibleAdjustedLtvBps } from '../../../../src/domain/collateral/ltv.js';
import { DEFAULT_ASSET_PARAMS, paramProblems, type AssetRiskParams } from '../../../../src/domain/collateral/params.js';
import { planLiquidation, planStopLoss } from '../../../../src/domain/collateral/plans.js';
import { applyBps, collateralValue } from '../../../../src/domain/collateral/valuation.js';
import { annualisedVolatility, onchainCompatibleVolatilityBps } from '../../../../src/domain/collateral/volatility.js';
import { accruedYield, effectiveRateBps } from '../../../../src/domain/collateral/yieldCushion.js';

/** Reference C.4: 10,000 XLM at $0.12, sigma 60%, base LTV 75%, LT 85%, bonus 5%, T = 30 days. */
const USDC = 10_000_000n;
const XLM = 10_000_000n;
const price = (dollars: string) => BigInt(Math.round(Number(dollars) * 1e6)) * 10n ** 8n; // exact for these inputs
const params: AssetRiskParams = { ...DEFAULT_ASSET_PARAMS, maxSlippageBps: 100, closeFactorBps: 10_000, protocolFeeShareBps: 2_000 };
const xlm = (quantity: bigint, dollars: string, overrides: Partial<AssetRiskParams> = {}): Holding => ({
  assetCode: 'XLM',
  decimals: 7,
  quantity,
  price1e14: price(dollars),
  sigmaBps: 6_000,
  params: { ...params, ...overrides },
});
const usd = (units: bigint) => Number(units) / 1e7;

describe('C.4 worked examples', () => {
  it('values 10,000 XLM at $0.12 at 1,200 USDC (C.3 1)', () => {
    expect(collateralValue(10_000n * XLM, 7, 12_000_000_000_000n)).toBe(1_200n * USDC);
  });

  it('1. adjusted LTV: 17.20% off 75% for k = 1 (rounded down to 5,779 bps), 28.38% for k = 1.65, 1,578 bps in the contract\'s integer method', () => {
    expect(adjustedLtvBps(params, 6_000)).toBe(5_779); // C.4: 57.80% (unrounded 57.7986%, $693.58)
    expect(applyBps(1_200n * USDC, 5_779)).toBe(6_934_800_000n); // $693.48: never more than the unrounded figure
    expect(adjustedLtvBps({ ...params, kBps: 16_500 }, 6_000)).toBe(4_661); // C.4: 46.62% ($559.41)
    expect(onchainCompatibleAdjustedLtvBps(params, 6_000)).toBe(5_922); // C.4: 59.22%
    expect(applyBps(1_200n * USDC, 5_922)).toBe(7_106_400_000n); // C.4: $710.64
    expect(onchainCompatibleAdjustedLtvBps({ ...params, kBps: 100 }, 6_000)).toBe(7_485); // C.4: 74.85%, $898.20
    expect(applyBps(1_200n * USDC, 7_485)).toBe(8_982_000_000n);
    expect(adjustedLtvBps(params, 90_000)).toBe(3_000); // never below the minimum LTV
  });

  it('2. HF before and after a 20% drop, with the band it lands in', () => {
    const cases: Array<[bigint, number, number, string]> = [
      [600n * USDC, 17_000, 13_600, 'healthy'],
      [6_935_800_000n, 14_706, 11_765, 'healthy'], // $693.58
      [900n * USDC, 11_333, 9_066, 'liquidatable'],
    ];
    for (const [debt, before, after, bandAfter] of cases) {
      expect(accountHealth([xlm(10_000n * XLM, '0.12')], debt).healthFactorBps).toBe(before);
      const dropped = accountHealth([xlm(10_000n * XLM, '0.096')], debt);
      expect(dropped.healthFactorBps).toBe(after);
      expect(dropped.band).toBe(bandAfter);
    }
  });

  it('3. partial liquidation of D = $900 after -20%: repays $819.05, seizes $860.00, HF back to 1.05; bonus $40.95 split 8.19 / 32.76', () => {
    const health = accountHealth([xlm(10_000n * XLM, '0.096')], 900n * USDC);
    const plan = planLiquidation(health);
    expect(plan?.kind).toBe('liquidation');
    if (plan?.kind !== 'liquidation') return;
    expect(plan.repay).toBe(8_190_476_191n); // $819.0476, rounded up to reach the target
    expect(usd(plan.repay)).toBeCloseTo(819.05, 2);
    expect(usd(plan.seizeValue)).toBeCloseTo(860.0, 2);
    expect(plan.seizeQuantity).toBe(89_583_333_334n); // about 8,958 XLM at $0.096
    expect(usd(plan.bonus)).toBeCloseTo(40.95, 2);
    expect(usd(plan.protocolFee)).toBeCloseTo(8.19, 2);
    expect(usd(plan.liquidatorBonus)).toBeCloseTo(32.76, 2);
    expect(plan.healthFactorAfter).toBe(10_500);
    expect(plan.capped).toBe(false);
  });

  it('3. with a 50% close factor: repays $450, seizes $472.50, HF 0.921: another round follows', () => {
    const health = accountHealth([xlm(10_000n * XLM, '0.096', { closeFactorBps: 5_000 })], 900n * USDC);
    const plan = planLiquidation(health);
    if (plan?.kind !== 'liquidation') throw new Error('expected a partial liquidation');
    expect(plan.repay).toBe(450n * USDC);
    expect(plan.seizeValue).toBe(4_725_000_000n);
    expect(plan.healthFactorAfter).toBe(9_208); // 0.921
    expect(plan.capped).toBe(true);
  });

  it('3. repayment grows with the drop: 33% of the debt at -12%, 55% at -15%, 91% at -20%', () => {
    const repayAt = (dollars: string) => {
      const plan = planLiquidation(accountHealth([xlm(10_000n * XLM, dollars)], 900n * USDC));
      return plan?.kind === 'liquidation' ? usd(plan.repay) : NaN;
    };
    expect(repayAt('0.1056')).toBeCloseTo(300.95, 1);
    expect(repayAt('0.102')).toBeCloseTo(495.24, 1);
    expect(repayAt('0.096')).toBeCloseTo(819.05, 1);
  });

  it('4. stop-loss for D = $900: triggers at $0.108 (HF 1.02), sells $142.48 (~1,319 XLM) with 1% slippage, HF back to 1.05', () => {
    const at108 = accountHealth([xlm(10_000n * XLM, '0.108')], 900n * USDC);
    expect(at108.healthFactorBps).toBe(10_200);
    expect(at108.band).toBe('stop_loss');
    expect(triggerPrice(accountHealth([xlm(10_000n * XLM, '0.12')], 900n * USDC), 'XLM', 10_200)).toBe(10_800_000_000_000n);
    const plan = planStopLoss(at108);
    expect(plan).not.toBeNull();
    expect(usd(plan!.sellValue)).toBeCloseTo(142.48, 2);
    expect(plan!.sellQuantity).toBe(13_192_612_139n); // about 1,319 XLM
    expect(usd(plan!.minProceeds)).toBeCloseTo(141.06, 2);
    // 1.050: the proceeds are floored to whole units, so the bps figure lands on 10,499.99...
    expect(plan!.healthFactorAfter).toBe(10_499);
    // the Vantis contract would have sold $540, about 3.8 times as much
    expect(540 / usd(plan!.sellValue)).toBeGreaterThan(3.7);
  });

  it('6. yield cushion: 3% APR earns about 24.66 XLM in 30 days; net rate on $600 at 8% with $1,200 at 3% is 2.0%', () => {
    expect(Number(accruedYield(10_000n * XLM, 300, 30n * 86_400n)) / 1e7).toBeCloseTo(24.66, 2);
    expect(effectiveRateBps(600n * USDC, 800, [{ value: 1_200n * USDC, aprBps: 300 }])).toBe(200);
    expect(effectiveRateBps(600n * USDC, 200, [{ value: 1_200n * USDC, aprBps: 300 }])).toBe(-400);
  });
});

describe('volatility from daily closes', () => {
  it('is the sample deviation of log returns annualised with sqrt(365)', () => {
    // alternating +/-r log returns: sample stdev of [r,-r,r,-r] is r x sqrt(4/3)
    const r = 0.0314;
    const closes = [1, Math.exp(r), 1, Math.exp(r), 1].map((x) => BigInt(Math.round(x * 1e14)));
    const expected = Math.round(r * Math.sqrt(4 / 3) * Math.sqrt(365) * 10_000);
    expect(annualisedVolatility(closes)).toEqual({ sigmaBps: expected, returns: 4 });
    expect(annualisedVolatility(closes.slice(0, 2))).toBeNull();
    expect(onchainCompatibleVolatilityBps([100n, 110n, 100n])).toBeGreaterThan(0);
  });
});

describe('asset parameter relations', () => {
  it('accepts the reference parameters and names every broken relation', () => {
    expect(paramProblems(DEFAULT_ASSET_PARAMS)).toEqual([]);
    const broken = paramProblems({ ...DEFAULT_ASSET_PARAMS, baseLtvBps: 9_000, minLtvBps: 9_500, targetHfBps: 8_900, maxSlippageBps: 3_000 });
    expect(broken.map((p) => p.rule).sort()).toEqual(['above_stop_loss_trigger', 'at_most_base_ltv', 'below_liquidation_threshold', 'reachable_by_liquidation', 'reachable_by_stop_loss']);
  });
});
