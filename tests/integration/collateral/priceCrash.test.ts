import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, createTestApp, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';

const usd = (amount: string) => Number(amount);

/**
 * A price crash end to end through the API, on the numbers of reference C.4 (give or take the interest the lines
 * accrue between the steps: the engine prices the debt owed now; the exact C.4 figures are in the unit tests): 10,000 XLM at $0.12 (LT 85%, bonus
 * 5%, target HF 1.05, stop-loss at 1.02). The volatility multiplier is 0 here so that, like C.4's $900 case, a
 * line can be drawn to the static 75% LTV; the volatility-adjusted limit has its own tests.
 */
describe.each(STORAGE_KINDS)('a price crash on %s', (kind) => {
  let t: TestApp;
  let now = new Date('2026-06-01T12:00:00Z');
  const tick = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));

  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional', RISK_STATIC_SCORE: '90' }, { clock: () => now });
    const created = await request(t.app)
      .post('/api/collateral/assets')
      .set(admin)
      .send({ code: 'XLM', decimals: 7, priceSource: { kind: 'manual' }, params: { kBps: 0, closeFactorBps: 10_000, maxSlippageBps: 100, protocolFeeShareBps: 2_000 } });
    expect(created.status).toBe(201);
  });
  afterAll(() => t.close());

  const price = async (value: string) => {
    const res = await request(t.app).post('/api/collateral/assets/XLM/prices').set(admin).send({ price: value });
    expect(res.status).toBe(201);
    // The observation queued one re-pricing run; the monitor worker takes it.
    await t.container.services.riskEngine.runQueued('test-runner');
  };

  const account = async (debt: string, stopLoss: boolean) => {
    const wallet = Keypair.random().publicKey();
    expect((await request(t.app).post('/api/collateral/deposit').set(client).send({ walletAddress: wallet, asset: 'XLM', amount: '10000' })).status).toBe(200);
    const issued = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: wallet });
    expect(issued.status).toBe(201);
    expect(issued.body.data.limits).toMatchObject({ collateralLimit: '900.0000000', effectiveLimit: '900.0000000' });
    const line = issued.body.data.creditLine.id as string;
    expect((await request(t.app).post(`/api/credit/lines/${line}/draw`).set(client).send({ amount: debt })).status).toBe(200);
    if (stopLoss) expect((await request(t.app).put('/api/risk/stop-loss').set(client).send({ walletAddress: wallet, enabled: true })).status).toBe(200);
    return { wallet, line };
  };

  const assessment = async (wallet: string) => (await request(t.app).get(`/api/risk/assessment/${wallet}`).set(client)).body.data;
  const executions = async (wallet: string) => (await request(t.app).get('/api/risk/executions').query({ walletAddress: wallet }).set(admin)).body.data.items;
  const eventsOf = async (line: string) => (await t.container.store.repos.events.listByAggregate('credit_line', line)).map((e) => e.type);

  it('moves accounts through the bands, sells for the stop-loss once, liquidates once, and writes off bad debt', async () => {
    await price('0.12');
    const healthy = await account('600', false);
    const guarded = await account('900', true);
    const exposed = await account('900', false);
    expect((await assessment(guarded.wallet)).healthFactorBps).toBe(11_333);
    const over = await request(t.app).post(`/api/credit/lines/${exposed.line}/draw`).set(client).send({ amount: '0.0000001' });
    expect(over.body.error).toMatchObject({ code: 'insufficient_credit', details: { collateralLimited: true } });

    // -10%: both $900 accounts reach the stop-loss trigger (HF 1.02); only the one that enabled stop-loss sells
    tick(60);
    await price('0.108');
    expect((await assessment(healthy.wallet)).band).toBe('healthy');
    expect((await assessment(exposed.wallet)).band).toBe('stop_loss');
    const [order] = await executions(guarded.wallet);
    expect(order).toMatchObject({ kind: 'stop_loss', status: 'pending', trigger: 'monitor', plan: { assetCode: 'XLM' } });
    expect(usd(order.plan.sellValue)).toBeCloseTo(142.48, 1);
    expect(usd(order.plan.minProceeds)).toBeCloseTo(141.06, 1);
    expect(await executions(exposed.wallet)).toEqual([]);

    // a fill worse than the maximum slippage is refused; the planned one is applied once
    const greedy = await request(t.app).post(`/api/risk/executions/${order.id}/fill`).set(admin).send({ collateralQuantity: order.plan.sellQuantity, usdcAmount: '140' });
    expect(greedy.status).toBe(422);
    expect(greedy.body.error.code).toBe('fill_slippage_exceeded');
    const filled = await request(t.app).post(`/api/risk/executions/${order.id}/fill`).set(admin).send({ collateralQuantity: order.plan.sellQuantity, usdcAmount: '141.5', reference: 'sale-1' });
    expect(filled.status).toBe(200);
    expect(filled.body.data).toMatchObject({ status: 'filled', fill: { repaid: '141.5000000', surplus: '0.0000000', reference: 'sale-1' } });
    expect((await request(t.app).post(`/api/risk/executions/${order.id}/fill`).set(admin).send({ collateralQuantity: '1', usdcAmount: '1' })).body.error.code).toBe('execution_settled');
    const afterSale = await assessment(guarded.wallet);
    expect(afterSale.healthFactorBps).toBeGreaterThanOrEqual(10_500);
    expect(afterSale.band).toBe('warning');

    // -20%: the exposed account is liquidatable; a second observation at the same price orders nothing more
    tick(60);
    await price('0.096');
    tick(1);
    await price('0.096');
    const [liquidation] = await executions(exposed.wallet);
    expect(liquidation).toMatchObject({ kind: 'liquidation', status: 'pending', plan: { capped: false } });
    expect(usd(liquidation.plan.repay)).toBeCloseTo(819.05, 1);
    expect(usd(liquidation.plan.seizeValue)).toBeCloseTo(860.0, 1);
    expect(usd(liquidation.plan.bonus)).toBeCloseTo(40.95, 1);
    expect(await executions(exposed.wallet)).toHaveLength(1);
    const again = await request(t.app).post('/api/risk/liquidation').set(admin).send({ walletAddress: exposed.wallet });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('execution_pending');
    const dryRun = await request(t.app).post('/api/risk/liquidation').set(admin).send({ walletAddress: exposed.wallet, dryRun: true });
    expect(dryRun.body.data).toMatchObject({ dryRun: true, execution: null, plan: { kind: 'liquidation' } });

    const seized = await request(t.app)
      .post(`/api/risk/executions/${liquidation.id}/fill`)
      .set(admin)
      .send({ collateralQuantity: liquidation.plan.seizeQuantity, usdcAmount: liquidation.plan.repay });
    expect(seized.status).toBe(200);
    const line = (await request(t.app).get(`/api/credit/lines/${exposed.line}`).set(client)).body.data;
    expect(BigInt(line.utilized.replace('.', ''))).toBeLessThan(81n * 10_000_000n + 10_000_000n);
    expect((await assessment(exposed.wallet)).healthFactorBps).toBeGreaterThanOrEqual(10_499);
    const ledger = (await request(t.app).get(`/api/credit/lines/${exposed.line}/transactions`).set(client)).body.data.items;
    expect(ledger[0]).toMatchObject({ type: 'collateral_repay', amount: liquidation.plan.repay });

    // a collapse: the stop-loss account's remaining collateral cannot cover its debt any more: bad debt
    tick(60);
    await price('0.04');
    const [badDebt] = (await executions(guarded.wallet)).filter((e: { status: string }) => e.status === 'pending');
    expect(badDebt.kind).toBe('bad_debt');
    const short = await request(t.app).post(`/api/risk/executions/${badDebt.id}/fill`).set(admin).send({ collateralQuantity: '0', usdcAmount: '300' });
    expect(short.body.error.code).toBe('fill_slippage_exceeded'); // the seized XLM is worth about $330: $300 is too little
    const written = await request(t.app).post(`/api/risk/executions/${badDebt.id}/fill`).set(admin).send({ collateralQuantity: '0', usdcAmount: badDebt.plan.repay });
    expect(written.status).toBe(200);
    expect(written.body.data.fill).toMatchObject({ repaid: badDebt.plan.repay });
    const defaulted = (await request(t.app).get(`/api/credit/lines/${guarded.line}`).set(client)).body.data;
    expect(defaulted).toMatchObject({ status: 'defaulted', utilized: '0.0000000' });
    expect((await request(t.app).get(`/api/collateral/wallet/${guarded.wallet}`).set(client)).body.data.positions[0].quantity).toBe('0.0000000');

    const count = (types: string[], type: string) => types.filter((x) => x === type).length;
    const guardedEvents = await eventsOf(guarded.line);
    const exposedEvents = await eventsOf(exposed.line);
    expect([count(guardedEvents, 'stop_loss.executed'), count(guardedEvents, 'liquidation.bad_debt'), count(exposedEvents, 'liquidation.executed')]).toEqual([1, 1, 1]);
    const bands = (await t.container.store.repos.events.listByAggregate('risk_account', exposed.wallet)).map((e) => e.payload.band);
    expect(bands).toEqual(['stop_loss', 'liquidatable']); // each band change once, however many observations
  });

  it('refuses what depends on a stale price: draws, withdrawals with debt, liquidations; /health/ready says which', async () => {
    await price('0.12');
    const { wallet, line } = await account('100', false);
    tick(301); // the asset's maximum price age is 300 s
    const draw = await request(t.app).post(`/api/credit/lines/${line}/draw`).set(client).send({ amount: '1' });
    expect(draw.status).toBe(503);
    expect(draw.body.error).toMatchObject({ code: 'price_stale', details: { stale: [expect.objectContaining({ assetCode: 'XLM', maxAgeSeconds: 300 })] } });
    expect((await request(t.app).post('/api/collateral/withdraw').set(client).send({ walletAddress: wallet, asset: 'XLM', amount: '1' })).status).toBe(503);
    expect((await request(t.app).post('/api/risk/liquidation').set(admin).send({ walletAddress: wallet, dryRun: true })).status).toBe(503);
    const ready = await request(t.app).get('/health/ready');
    expect(ready.body.data.checks.prices).toMatchObject({ status: 'down', critical: false });
    expect(ready.body.data.checks.prices.error).toContain('XLM');
    // repaying never depends on a price
    expect((await request(t.app).post(`/api/credit/lines/${line}/repay`).set(client).send({ amount: '10' })).status).toBe(200);
  });
});
