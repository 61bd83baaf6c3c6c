import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrice } from '../../../src/domain/collateral/quantity.js';
import { client, createTestApp, randomWallet, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { assessment, cardCredit, deposited, draw, drawn, issue, manualAsset, postPrice, testClock, units } from './helpers.js';

/**
 * The "Buy & Keep" card's credit: issued against collateral, its effective limit the smallest of the line's own
 * (behavioural) limit, the collateral's volatility-adjusted limit at current prices and the product cap. The risk
 * provider is the static one (score 70, band B: 5,000 at 1,200 bps).
 */

const DAY = 86_400;
const SQRT_T = Math.sqrt(30 / 365);

/** The issue's volatility, reimplemented: log returns of the daily closes, sample deviation, x sqrt(365), bps. */
function expectedSigmaBps(closes: bigint[]): number | null {
  if (closes.length < 3) return null;
  const returns: number[] = [];
  for (let i = 1; i < closes.length; i++) returns.push(Math.log(Number(closes[i]!) / Number(closes[i - 1]!)));
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const variance = returns.reduce((sum, r) => sum + (r - mean) ** 2, 0) / (returns.length - 1);
  return Math.round(Math.sqrt(variance) * Math.sqrt(365) * 10_000);
}

/** max(LTV_base - k x sigma x sqrt(T/365), LTV_min), the adjustment rounded up to whole bps. */
const expectedLtvBps = (sigmaBps: number, base = 7_500, min = 3_000, k = 1) => Math.max(base - Math.ceil(k * sigmaBps * SQRT_T - 1e-9), min);

describe.each(STORAGE_KINDS)('card credit against collateral on %s', (kind) => {
  let t: TestApp;
  const time = testClock('2026-03-01T12:00:00Z');

  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional' }, { clock: time.clock });
    // k = 0: the static 75% LTV, so that limits are round numbers; volatility has its own test below
    await manualAsset(t.app, 'CARD', { kBps: 0 });
    await postPrice(t.app, 'CARD', '0.12');
  });
  afterAll(() => t.close());

  /** A wallet holding `quantity` CARD (0.12 each). */
  const holder = async (quantity = '10000') => {
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'CARD', quantity);
    return wallet;
  };

  it('issue opens a collateral-backed line on the evaluation’s terms; the effective limit is the smallest of the three', async () => {
    const wallet = await holder();
    const issued = await issue(t.app, wallet, 201);
    expect(issued.opened).toBe(true);
    expect(issued.creditLine).toMatchObject({ walletAddress: wallet, collateralBacked: true, creditLimit: '5000.0000000', interestRateBps: 1_200, status: 'active' });
    expect(issued.limits).toEqual({
      creditLimit: '5000.0000000', // the evaluation's
      collateralLimit: '900.0000000', // 10,000 x 0.12 x 75%
      productCap: '100000.0000000',
      effectiveLimit: '900.0000000',
      available: '900.0000000',
    });
    expect(issued.collateral).toMatchObject({ walletAddress: wallet, totalValue: '1200.0000000', collateralLimit: '900.0000000', debt: '0.0000000' });

    const lineId = issued.creditLine.id as string;
    expect((await cardCredit(t.app, lineId)).limits).toEqual(issued.limits);
    const forUser = await request(t.app).get(`/api/credit/user/${wallet}`).set(client);
    expect(forUser.status).toBe(200);
    expect(forUser.body.data.items.map((c: any) => [c.creditLine.id, c.limits.effectiveLimit])).toEqual([[lineId, '900.0000000']]);
    expect((await request(t.app).get(`/api/credit/user/${randomWallet()}`).set(client)).body.data.items).toEqual([]);
    expect((await request(t.app).get('/api/credit/00000000-0000-4000-8000-000000000000').set(client)).status).toBe(404);

    // issuing again when the line already has what the evaluation offers changes nothing
    const again = await issue(t.app, wallet, 200);
    expect(again).toMatchObject({ opened: false, creditLine: { id: lineId, creditLimit: '5000.0000000' } });
  });

  it('issuing again raises the line’s own limit to what the evaluation offers (200), never above it or downwards', async () => {
    const wallet = await holder('100000'); // collateral limit 9,000: the line's own limit binds
    const small = await issue(t.app, wallet, 201, '1000');
    expect(small.limits).toMatchObject({ creditLimit: '1000.0000000', collateralLimit: '9000.0000000', effectiveLimit: '1000.0000000' });
    const lineId = small.creditLine.id as string;

    const raised = await issue(t.app, wallet, 200);
    expect(raised).toMatchObject({ opened: false, creditLine: { id: lineId, creditLimit: '5000.0000000' } });
    expect(raised.limits).toMatchObject({ creditLimit: '5000.0000000', effectiveLimit: '5000.0000000', available: '5000.0000000' });
    const events = (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).map((e) => e.type);
    expect(events).toEqual(['credit_line.created', 'credit_line.updated']);

    const above = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: wallet, creditLimit: '6000' });
    expect(above.status).toBe(422);
    expect(above.body.error).toMatchObject({ code: 'credit_limit_above_offer', details: { offeredCreditLimit: '5000.0000000' } });
    const lower = await issue(t.app, wallet, 200, '3000');
    expect(lower.creditLine.creditLimit).toBe('5000.0000000');
    expect((await request(t.app).get(`/api/credit/user/${wallet}`).set(client)).body.data.items).toHaveLength(1);
  });

  it('refuses a wallet without collateral (422 no_collateral), without a fresh price (503), or with a line not backed by collateral (409)', async () => {
    const empty = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: randomWallet() });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('no_collateral');

    await manualAsset(t.app, 'NOPX', { kBps: 0 });
    const unpriced = randomWallet();
    await deposited(t.app, unpriced, 'NOPX', '10');
    const stale = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: unpriced });
    expect(stale.status).toBe(503);
    expect(stale.body.error).toMatchObject({ code: 'price_stale', details: { stale: [expect.objectContaining({ assetCode: 'NOPX', observedAt: null })] } });

    const plain = randomWallet();
    const line = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: plain, creditLimit: '100' });
    expect(line.status).toBe(201);
    expect(line.body.data.collateralBacked).toBe(false);
    await deposited(t.app, plain, 'CARD', '1000');
    const conflict = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: plain });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'line_not_collateral_backed', details: { creditLineId: line.body.data.id } });
    // an ordinary line is not card credit
    expect((await request(t.app).get(`/api/credit/${line.body.data.id}`).set(client)).status).toBe(404);
    expect((await request(t.app).get(`/api/credit/user/${plain}`).set(client)).body.data.items).toEqual([]);
  });

  it('moves the effective limit with the price; a draw beyond the collateral limit is insufficient_credit, collateralLimited', async () => {
    await manualAsset(t.app, 'MOVE', { kBps: 0 });
    await postPrice(t.app, 'MOVE', '0.12');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'MOVE', '10000');
    const lineId = (await issue(t.app, wallet)).creditLine.id as string;
    await drawn(t.app, lineId, '500');
    expect((await cardCredit(t.app, lineId)).limits).toMatchObject({ collateralLimit: '900.0000000', effectiveLimit: '900.0000000', available: '400.0000000' });

    // a millisecond later (no interest accrues in under a second), the price falls to 0.10: 10,000 x 0.10 x 75% = 750
    time.tick(0.001);
    await postPrice(t.app, 'MOVE', '0.10');
    const lower = await cardCredit(t.app, lineId);
    expect(lower.limits).toEqual({ creditLimit: '5000.0000000', collateralLimit: '750.0000000', productCap: '100000.0000000', effectiveLimit: '750.0000000', available: '250.0000000' });
    expect(lower.collateral).toMatchObject({ totalValue: '1000.0000000', collateralLimit: '750.0000000', debt: '500.0000000' });

    const over = await draw(t.app, lineId, '250.0000001');
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'insufficient_credit', details: { requested: '250.0000001', available: '250.0000000', collateralLimited: true } });
    expect((await draw(t.app, lineId, '250')).status).toBe(200);
    expect((await cardCredit(t.app, lineId)).limits).toMatchObject({ effectiveLimit: '750.0000000', available: '0.0000000' });

    // a lower price leaves the balance above the limit: nothing more can be drawn, nothing is taken away
    time.tick(0.001);
    await postPrice(t.app, 'MOVE', '0.09');
    const under = await cardCredit(t.app, lineId);
    expect(under.limits).toMatchObject({ collateralLimit: '675.0000000', effectiveLimit: '675.0000000', available: '0.0000000' });
    expect(under.creditLine.utilized).toBe('750.0000000');
    expect((await draw(t.app, lineId, '0.0000001')).body.error).toMatchObject({ code: 'insufficient_credit', details: { collateralLimited: true } });

    time.tick(0.001);
    await postPrice(t.app, 'MOVE', '0.13');
    expect((await cardCredit(t.app, lineId)).limits).toMatchObject({ collateralLimit: '975.0000000', available: '225.0000000' });
  });

  it('adjusts the LTV for volatility from daily closes: the fallback first, then 7- and 30-day figures; the LTV falls as volatility rises', async () => {
    // k = 1.0 over 30 days; fallback 50% until three closes exist
    await manualAsset(t.app, 'VOLA', { fallbackVolatilityBps: 5_000, maxPriceAgeSeconds: 2 * DAY });
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'VOLA', '1000');

    // calm for 10 days (±1%), then ±4% for 10, then ±10%: each close alternately up and down
    const closes: bigint[] = [];
    let price = 10n ** 14n; // 1.0
    const seen: Array<{ day: number; sigma: number; ltv: number }> = [];
    for (let day = 0; day <= 31; day++) {
      if (day > 0) {
        time.tick(DAY);
        const step = day <= 10 ? 100n : day <= 20 ? 400n : 1_000n;
        price = (price * (day % 2 === 1 ? 10_000n + step : 10_000n - step)) / 10_000n;
      }
      closes.push(price);
      await postPrice(t.app, 'VOLA', formatPrice(price));

      const asset = (await request(t.app).get('/api/collateral/assets/VOLA').set(client)).body.data;
      const sigma7 = expectedSigmaBps(closes.slice(-8));
      const sigma30 = expectedSigmaBps(closes.slice(-31));
      expect(asset.volatility, `day ${day}`).toEqual({
        sigma7dBps: sigma7,
        sigma30dBps: sigma30,
        computedAt: sigma30 === null ? null : time.now.toISOString(),
      });
      const [held] = (await assessment(t.app, wallet)).assets;
      // the larger (more conservative) of the two figures, or the fallback before there is one
      const sigma = sigma7 === null ? 5_000 : Math.max(sigma7, sigma30!);
      expect(held, `day ${day}`).toMatchObject({ assetCode: 'VOLA', ltvBps: 7_500, volatilityBps: sigma, adjustedLtvBps: expectedLtvBps(sigma) });
      seen.push({ day, sigma, ltv: held.adjustedLtvBps });
    }

    // before three closes the fallback: 7,500 - ceil(5,000 x sqrt(30/365)) = 6,066
    expect(seen.slice(0, 2).map((s) => s.ltv)).toEqual([6_066, 6_066]);
    // calm markets lend more than the fallback, wild ones less, down to the 30% floor
    expect(seen[10]!.ltv).toBeGreaterThan(6_066);
    expect(seen[31]!.ltv).toBe(3_000);
    // monotone: whenever volatility is higher, the adjusted LTV is no higher
    for (const a of seen) for (const b of seen) if (a.sigma < b.sigma) expect(a.ltv, `day ${a.day} vs day ${b.day}`).toBeGreaterThanOrEqual(b.ltv);
    expect(seen[20]!.sigma).toBeGreaterThan(seen[10]!.sigma);
    expect(seen[20]!.ltv).toBeLessThan(seen[10]!.ltv);

    // the windows hold 7 and 30 returns once there are enough closes
    const stored = (await t.container.store.repos.collateralAssets.latestVolatility(['VOLA'])).get('VOLA')!;
    expect([stored[7]!.returns, stored[30]!.returns]).toEqual([7, 30]);

    // the collateral's limit follows: 1,000 units at the last close, at the floor LTV
    const view = (await request(t.app).get(`/api/collateral/wallet/${wallet}`).set(client)).body.data;
    expect(view.positions[0].adjustedLtvBps).toBe(3_000);
    expect(units(view.collateralLimit)).toBe((units(view.totalValue) * 3_000n) / 10_000n);

    // volatility is measured once a UTC day: a second observation the same day does not move it
    const before = (await request(t.app).get('/api/collateral/assets/VOLA').set(client)).body.data.volatility;
    time.tick(3_600);
    await postPrice(t.app, 'VOLA', formatPrice(price * 2n));
    expect((await request(t.app).get('/api/collateral/assets/VOLA').set(client)).body.data.volatility).toEqual(before);
  });

  it('counts accrued yield toward value and health; the assessment shows yield.earned and a rate net of it', async () => {
    await manualAsset(t.app, 'YLD', { kBps: 0, yieldAprBps: 2_000 });
    await postPrice(t.app, 'YLD', '1');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'YLD', '10000');
    const lineId = (await issue(t.app, wallet)).creditLine.id as string;
    await drawn(t.app, lineId, '1000');

    const start = await assessment(t.app, wallet);
    expect(start).toMatchObject({ creditLineId: lineId, debt: '1000.0000000', totalValue: '10000.0000000', healthFactorBps: 85_000, interestRateBps: 1_200 });
    expect(start.assets[0]).toMatchObject({ quantity: '10000.0000000', value: '10000.0000000', yield: { aprBps: 2_000, earned: '0.0000000' } });
    // (1,000 x 12% - 10,000 x 20%) / 1,000: the collateral earns more than the debt costs
    expect(start.effectiveRateBps).toBe(-18_800);

    // 30 days: 10,000 x 20% x 30/365 = 164.3835616 more units, worth as much at a constant price
    time.tick(30 * DAY);
    await postPrice(t.app, 'YLD', '1');
    const later = await assessment(t.app, wallet);
    expect(later.assets[0]).toMatchObject({ quantity: '10164.3835616', value: '10164.3835616', yield: { aprBps: 2_000, earned: '164.3835616' } });
    expect(later.totalValue).toBe('10164.3835616');
    expect(units(later.collateralLimit)).toBe((units('10164.3835616') * 7_500n) / 10_000n);
    // the health factor is the weighted value over the debt (see the known bug below on which debt)
    expect(later.healthFactorBps).toBe(Number((units(later.totalValue) * 8_500n) / units(later.debt)));
    expect(later.healthFactorBps).toBeGreaterThan(start.healthFactorBps);
    expect(later.effectiveRateBps).toBeLessThan(later.interestRateBps);

    // the card's view agrees, and the accrued yield is written into the position when it next moves
    const credit = await cardCredit(t.app, lineId);
    expect(credit.collateral.positions[0]).toMatchObject({ quantity: '10164.3835616', yieldEarned: '164.3835616', yieldAprBps: 2_000 });
    const moved = await deposited(t.app, wallet, 'YLD', '1');
    expect(moved.position).toMatchObject({ quantity: '10165.3835616', yieldEarned: '164.3835616' });
    const movements = await t.container.store.repos.collateralPositions.movements(moved.position.id, { limit: 10 });
    expect(movements.map((m) => m.type)).toEqual(['deposit', 'yield', 'deposit']);
  });

  /**
   * KNOWN BUG (reported): the assessment, the collateral views and the monitor take the line's stored `utilized`,
   * not the balance with the interest accrued since the line last moved (what GET /api/credit/lines/{id} shows and a
   * draw is held to). An idle line's health is overstated, and the monitor orders its liquidation late. Remove
   * `.fails` once RiskEngine.assess/monitorBatch/liquidate and CollateralService.viewWithin project the debt.
   */
  it('prices health against the balance owed now, interest included: assessment, collateral view and monitor', async () => {
    await manualAsset(t.app, 'IDLE', { kBps: 0 });
    await postPrice(t.app, 'IDLE', '1');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'IDLE', '10000');
    const lineId = (await issue(t.app, wallet)).creditLine.id as string;
    await drawn(t.app, lineId, '5000'); // HF 1.70

    // two idle years at 12%: 6,200.0… owed, HF 8,500 / 6,200 = 1.37
    time.tick(2 * 365 * DAY);
    await postPrice(t.app, 'IDLE', '1');
    const owed = (await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).body.data.utilized as string;
    expect(units(owed)).toBeGreaterThan(units('6190'));
    const view = (await request(t.app).get(`/api/collateral/wallet/${wallet}`).set(client)).body.data;
    const assessed = await assessment(t.app, wallet);
    expect({ view: view.debt, assessment: assessed.debt }).toEqual({ view: owed, assessment: owed });
    expect(assessed.healthFactorBps).toBe(Number((units('10000') * 8_500n) / units(owed)));

    // the monitor's view: at 0.75 the stored 5,000 looks healthy (HF 1.275) while the 6,200 owed is in the warning band (1.028)
    time.tick(1);
    await postPrice(t.app, 'IDLE', '0.75');
    await t.container.services.riskEngine.runQueued('test-runner', 100);
    const [state] = [...(await t.container.store.repos.riskExecutions.riskStates([wallet])).values()];
    expect(state).toMatchObject({ band: 'warning' });
  });

  it('gives stop-loss and liquidation trigger prices at which the health factor reaches its thresholds', async () => {
    await manualAsset(t.app, 'TRG', { kBps: 0 });
    await manualAsset(t.app, 'TRG2', { kBps: 0 });
    await postPrice(t.app, 'TRG', '0.12');
    await postPrice(t.app, 'TRG2', '1');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'TRG', '10000');
    const lineId = (await issue(t.app, wallet)).creditLine.id as string;
    await drawn(t.app, lineId, '900');

    const at = await assessment(t.app, wallet);
    expect(at).toMatchObject({
      healthFactorBps: 11_333,
      band: 'healthy',
      thresholds: { healthyFromHfBps: 11_000, stopLossTriggerHfBps: 10_200, liquidationBelowHfBps: 10_000, targetHfBps: 10_500 },
    });
    // HF = 10,000 x p x 85% / 900: 1.02 at p = 0.108; 1.0 at p = 900 / 8,500 = 0.1058823529411… (rounded up)
    const { stopLossPrice, liquidationPrice } = at.assets[0];
    expect(stopLossPrice).toBe('0.10800000000000');

    const bandAt = async (price: string) => {
      time.tick(0.001); // a newer observation, no interest
      await postPrice(t.app, 'TRG', price);
      const a = await assessment(t.app, wallet);
      return [a.healthFactorBps, a.band];
    };
    // the stop-loss zone starts at the stop-loss price (the trigger is inclusive), not a unit of value above it
    expect(await bandAt('0.1081')).toEqual([10_209, 'warning']);
    expect(await bandAt('0.10801')).toEqual([10_200, 'stop_loss']);
    expect(await bandAt(stopLossPrice)).toEqual([10_200, 'stop_loss']);
    expect(await bandAt('0.1079999')).toEqual([10_199, 'stop_loss']);
    // the account is liquidatable below the liquidation price and not at or above it
    expect(await bandAt('0.10589')).toEqual([10_000, 'stop_loss']);
    expect(await bandAt(liquidationPrice)).toEqual([10_000, 'stop_loss']);
    expect(await bandAt('0.10588')).toEqual([9_999, 'liquidatable']);
    expect(units(liquidationPrice, 14)).toBeGreaterThan(units('0.10588', 14));
    expect(await bandAt(formatPrice(units(liquidationPrice, 14) - 10_000_000n))).toEqual([9_999, 'liquidatable']); // 1e-7 lower
    expect(liquidationPrice).toBe('0.10588235295000');

    // triggers are per asset with the others unchanged: once TRG2 alone covers the debt at 1.02, TRG has none
    await deposited(t.app, wallet, 'TRG2', '1100'); // 1,100 x 85% = 935 >= 1.02 x 900 = 918
    const covered = await assessment(t.app, wallet);
    const trg = covered.assets.find((a: { assetCode: string }) => a.assetCode === 'TRG');
    const trg2 = covered.assets.find((a: { assetCode: string }) => a.assetCode === 'TRG2');
    expect(trg).toMatchObject({ stopLossPrice: null, liquidationPrice: null });
    // TRG2 must carry what TRG does not: its price at HF 1.02
    expect(units(trg2.stopLossPrice, 14)).toBeGreaterThan(0n);
    expect(units(trg2.stopLossPrice, 14)).toBeLessThan(units('1', 14));
    time.tick(0.001);
    await postPrice(t.app, 'TRG2', trg2.stopLossPrice);
    expect((await assessment(t.app, wallet)).healthFactorBps).toBe(10_200);
  });
});
