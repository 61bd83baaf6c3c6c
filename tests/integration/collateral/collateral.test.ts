import { StrKey } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ASSET_PARAMS } from '../../../src/domain/collateral/params.js';
import { admin, client, createTestApp, randomWallet, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { signIn } from '../../support/wallets.js';
import { createAsset, deposit, deposited, drawn, issue, manualAsset, postPrice, testClock, units, withdraw } from './helpers.js';

/**
 * Collateral assets and their versioned risk parameters (admin), manual prices, deposits and withdrawals in each
 * asset's own decimals, valuation in USDC, wallet tokens and Idempotency-Key on the movements.
 */

const oracleId = StrKey.encodeContract(Buffer.alloc(32, 7));
const problem = (field: string, rule: string) => expect.objectContaining({ field, rule });

describe.each(STORAGE_KINDS)('collateral assets, prices, deposits and withdrawals on %s', (kind) => {
  let t: TestApp;
  const time = testClock('2026-06-01T12:00:00Z');

  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional' }, { clock: time.clock });
  });
  afterAll(() => t.close());

  it('creates an asset with version 1 of its parameters over the defaults; a second one with the code is 409', async () => {
    const created = await manualAsset(t.app, 'ADM', { kBps: 0, yieldAprBps: 150 });
    const params = { ...DEFAULT_ASSET_PARAMS, kBps: 0, yieldAprBps: 150 };
    expect(created).toMatchObject({
      code: 'ADM',
      decimals: 7,
      priceSource: { kind: 'manual' },
      paramsVersion: 1,
      params,
      paramsHistory: [{ version: 1, params, effectiveFrom: time.now.toISOString(), createdBy: expect.any(String) }],
      price: null,
      volatility: { sigma7dBps: null, sigma30dBps: null, computedAt: null },
    });

    const again = await request(t.app).post('/api/collateral/assets').set(admin).send({ code: 'ADM', decimals: 8, priceSource: { kind: 'manual' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('asset_exists');
    expect((await request(t.app).get('/api/collateral/assets/ADM').set(client)).body.data).toMatchObject({ decimals: 7, paramsVersion: 1 });
    const listed = await request(t.app).get('/api/collateral/assets').set(client);
    expect(listed.status).toBe(200);
    expect(listed.body.data.items.map((a: { code: string }) => a.code)).toContain('ADM');
  });

  it('refuses parameters that break the engine’s relations with 400, naming params.<field> and the rule', async () => {
    const refused = async (code: string, params: Record<string, unknown>) => {
      const res = await request(t.app).post('/api/collateral/assets').set(admin).send({ code, decimals: 7, priceSource: { kind: 'manual' }, params });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      return res.body.error.details as unknown[];
    };
    expect(await refused('BAD1', { baseLtvBps: 8_600 })).toEqual([problem('params.baseLtvBps', 'below_liquidation_threshold')]);
    expect(await refused('BAD2', { minLtvBps: 7_600 })).toEqual([problem('params.minLtvBps', 'at_most_base_ltv')]);
    expect(await refused('BAD3', { targetHfBps: 10_200 })).toEqual([problem('params.targetHfBps', 'above_stop_loss_trigger')]);
    // H x (1 - s) must exceed LT: a 20% slippage at target 1.05 and LT 85% cannot restore health
    expect(await refused('BAD4', { maxSlippageBps: 2_000 })).toEqual([problem('params.maxSlippageBps', 'reachable_by_stop_loss')]);
    // H must exceed LT x (1 + b): 1.05 <= 0.85 x 1.25
    expect(await refused('BAD5', { liquidationBonusBps: 2_500 })).toEqual([problem('params.targetHfBps', 'reachable_by_liquidation')]);
    // every broken relation is named at once
    const several = await refused('BAD6', { baseLtvBps: 9_000, minLtvBps: 9_500 });
    expect(several).toEqual(expect.arrayContaining([problem('params.baseLtvBps', 'below_liquidation_threshold'), problem('params.minLtvBps', 'at_most_base_ltv')]));
    // a field out of its own range is caught by the schema, before the relations
    const res = await request(t.app).post('/api/collateral/assets').set(admin).send({ code: 'BAD7', decimals: 7, priceSource: { kind: 'manual' }, params: { baseLtvBps: 12_000 } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'params.baseLtvBps' })]);
    for (const code of ['BAD1', 'BAD2', 'BAD3', 'BAD4', 'BAD5', 'BAD6', 'BAD7']) {
      expect((await request(t.app).get(`/api/collateral/assets/${code}`).set(client)).status).toBe(404);
    }
  });

  it('PATCH makes a new version from the current one and keeps the history; a broken relation leaves it as it was', async () => {
    await manualAsset(t.app, 'VER');
    const createdAt = time.now.toISOString();
    time.tick(60);
    const patched = await request(t.app).patch('/api/collateral/assets/VER/params').set(admin).send({ baseLtvBps: 7_000, maxPriceAgeSeconds: 600 });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ paramsVersion: 2, params: { ...DEFAULT_ASSET_PARAMS, baseLtvBps: 7_000, maxPriceAgeSeconds: 600 } });
    expect(patched.body.data.paramsHistory).toEqual([
      expect.objectContaining({ version: 2, params: expect.objectContaining({ baseLtvBps: 7_000, maxPriceAgeSeconds: 600 }), effectiveFrom: time.now.toISOString() }),
      expect.objectContaining({ version: 1, params: DEFAULT_ASSET_PARAMS, effectiveFrom: createdAt }),
    ]);

    // LT 69% would leave the base LTV (70%) above it: the relation is checked on the merged parameters
    const broken = await request(t.app).patch('/api/collateral/assets/VER/params').set(admin).send({ liquidationThresholdBps: 6_900 });
    expect(broken.status).toBe(400);
    expect(broken.body.error.details).toEqual([problem('params.baseLtvBps', 'below_liquidation_threshold')]);
    const empty = await request(t.app).patch('/api/collateral/assets/VER/params').set(admin).send({});
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([expect.objectContaining({ rule: 'at_least_one' })]);
    const unknown = await request(t.app).patch('/api/collateral/assets/VER/params').set(admin).send({ ltv: 5 });
    expect(unknown.status).toBe(400);

    time.tick(60);
    const third = await request(t.app).patch('/api/collateral/assets/VER/params').set(admin).send({ yieldAprBps: 400 });
    expect(third.body.data.paramsVersion).toBe(3);
    expect(third.body.data.params).toMatchObject({ baseLtvBps: 7_000, maxPriceAgeSeconds: 600, yieldAprBps: 400 });
    expect(third.body.data.paramsHistory.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    expect((await request(t.app).patch('/api/collateral/assets/NOPE/params').set(admin).send({ kBps: 1 })).status).toBe(404);
  });

  it('keeps asset administration and prices to admins: a client key gets 403', async () => {
    await manualAsset(t.app, 'ACL');
    const create = await request(t.app).post('/api/collateral/assets').set(client).send({ code: 'ACL2', decimals: 7, priceSource: { kind: 'manual' } });
    const patch = await request(t.app).patch('/api/collateral/assets/ACL/params').set(client).send({ kBps: 0 });
    const price = await request(t.app).post('/api/collateral/assets/ACL/prices').set(client).send({ price: '1' });
    for (const res of [create, patch, price]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('admin_required');
    }
    expect((await request(t.app).get('/api/collateral/assets/ACL').set(client)).body.data).toMatchObject({ paramsVersion: 1, price: null });
    expect((await request(t.app).get('/api/collateral/assets/ACL2').set(client)).status).toBe(404);
    expect((await request(t.app).get('/api/collateral/assets/ACL')).status).toBe(401);
  });

  it('takes manual prices for manual assets only, never from the future; the latest observation is the newest observedAt', async () => {
    await manualAsset(t.app, 'PRC');
    const posted = await postPrice(t.app, 'PRC', '0.12');
    expect(posted).toEqual({ assetCode: 'PRC', price: '0.12000000000000', source: 'manual', observedAt: time.now.toISOString(), recordedAt: time.now.toISOString() });
    // an older observation is recorded but does not replace the latest
    await postPrice(t.app, 'PRC', '0.11', new Date(time.now.getTime() - 60_000));
    expect((await request(t.app).get('/api/collateral/assets/PRC').set(client)).body.data.price).toEqual({ price: '0.12000000000000', source: 'manual', observedAt: time.now.toISOString() });

    const future = await request(t.app).post('/api/collateral/assets/PRC/prices').set(admin).send({ price: '0.13', observedAt: new Date(time.now.getTime() + 60_000).toISOString() });
    expect(future.status).toBe(422);
    expect(future.body.error.code).toBe('price_in_future');
    for (const price of ['0', '-1', '1e3', 0.12]) {
      const bad = await request(t.app).post('/api/collateral/assets/PRC/prices').set(admin).send({ price });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toEqual([expect.objectContaining({ field: 'price' })]);
    }
    expect((await request(t.app).post('/api/collateral/assets/NONE/prices').set(admin).send({ price: '1' })).status).toBe(404);

    await createAsset(t.app, { code: 'ORCL', decimals: 7, priceSource: { kind: 'reflector', contractId: oracleId, asset: { other: 'XLM' } } });
    const notManual = await request(t.app).post('/api/collateral/assets/ORCL/prices').set(admin).send({ price: '0.12' });
    expect(notManual.status).toBe(409);
    expect(notManual.body.error.code).toBe('price_source_not_manual');
    expect((await request(t.app).get('/api/collateral/assets/ORCL').set(client)).body.data.price).toBeNull();
  });

  it('deposits and withdraws in the asset’s own decimals; over-withdrawal is insufficient_collateral; without debt no price is needed', async () => {
    await manualAsset(t.app, 'BTC8', {}, 8);
    await manualAsset(t.app, 'XLM7', {}, 7);
    const wallet = randomWallet();
    const first = await deposited(t.app, wallet, 'BTC8', '0.12345678');
    expect(first.position).toMatchObject({ walletAddress: wallet, assetCode: 'BTC8', quantity: '0.12345678', yieldEarned: '0.00000000', price: null, value: '0.0000000' });
    const second = await deposited(t.app, wallet, 'BTC8', '1');
    expect(second.position).toMatchObject({ id: first.position.id, quantity: '1.12345678' });

    for (const [asset, amount, rule] of [
      ['BTC8', '0.000000001', 'max_decimals'],
      ['XLM7', '1.12345678', 'max_decimals'],
      ['XLM7', '0', 'positive'],
      ['XLM7', '0.0000000', 'positive'],
    ] as const) {
      const res = await deposit(t.app, wallet, asset, amount);
      expect(res.status, `${asset} ${amount}`).toBe(400);
      expect(res.body.error.details).toEqual([problem('amount', rule)]);
    }
    expect((await deposit(t.app, wallet, 'NOPE', '1')).status).toBe(404);

    const over = await withdraw(t.app, wallet, 'BTC8', '1.12345679');
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'insufficient_collateral', details: { held: '1.12345678' } });
    const notHeld = await withdraw(t.app, wallet, 'XLM7', '1');
    expect(notHeld.status).toBe(404);

    // BTC8 has never had a price: without debt the collateral is simply the wallet's own
    const out = await withdraw(t.app, wallet, 'BTC8', '0.12345678');
    expect(out.status).toBe(200);
    expect(out.body.data.position.quantity).toBe('1.00000000');
    expect(out.body.data.collateral).toMatchObject({ debt: '0.0000000', totalValue: '0.0000000', stalePrices: [{ assetCode: 'BTC8', observedAt: null, maxAgeSeconds: 300 }] });
    const all = await withdraw(t.app, wallet, 'BTC8', '1');
    expect(all.status).toBe(200);
    expect(all.body.data.position.quantity).toBe('0.00000000');
    expect((await withdraw(t.app, wallet, 'BTC8', '0.00000001')).body.error.code).toBe('insufficient_collateral');
    expect(all.body.data.collateral.stalePrices).toEqual([]); // an empty position depends on no price
  });

  it('refuses a withdrawal that would leave the balance above the collateral limit; with debt it needs a fresh price, without none', async () => {
    // k = 0: the limit is the static 75% LTV, 10,000 x 0.12 x 75% = 900
    await manualAsset(t.app, 'LIM', { kBps: 0 });
    await postPrice(t.app, 'LIM', '0.12');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'LIM', '10000');
    const credit = await issue(t.app, wallet);
    expect(credit.limits).toMatchObject({ collateralLimit: '900.0000000', effectiveLimit: '900.0000000' });
    await drawn(t.app, credit.creditLine.id, '800');

    // 8,000 left would allow 720 < 800
    const breaks = await withdraw(t.app, wallet, 'LIM', '2000');
    expect(breaks.status).toBe(422);
    expect(breaks.body.error.code).toBe('withdrawal_breaks_limit');
    expect(breaks.body.error.details).toEqual({ balance: '800.0000000', limitAfter: '720.0000000' });
    // 9,500 left allows 855 >= 800
    const fits = await withdraw(t.app, wallet, 'LIM', '500');
    expect(fits.status).toBe(200);
    expect(fits.body.data.collateral).toMatchObject({ totalValue: '1140.0000000', collateralLimit: '855.0000000', debt: '800.0000000', band: 'healthy' });
    // exactly down to the balance: 8,888.8888892 x 0.12 = 1,066.6666667 (floored), x 75% = 800.0000000
    const exact = await withdraw(t.app, wallet, 'LIM', '611.1111108');
    expect(exact.status).toBe(200);
    expect(exact.body.data.collateral.collateralLimit).toBe('800.0000000');
    expect((await withdraw(t.app, wallet, 'LIM', '0.0000001')).body.error.code).toBe('withdrawal_breaks_limit');

    // with debt a stale price refuses the withdrawal; once repaid, none is needed
    time.tick(301);
    const stale = await withdraw(t.app, wallet, 'LIM', '1');
    expect(stale.status).toBe(503);
    expect(stale.body.error.code).toBe('price_stale');
    const line = (await request(t.app).get(`/api/credit/lines/${credit.creditLine.id}`).set(client)).body.data;
    expect((await request(t.app).post(`/api/credit/lines/${credit.creditLine.id}/repay`).set(client).send({ amount: line.utilized })).status).toBe(200);
    const free = await withdraw(t.app, wallet, 'LIM', '8888.8888892');
    expect(free.status).toBe(200);
    expect(free.body.data.position.quantity).toBe('0.0000000');
  });

  it('holds a withdrawal to the balance as it stands now, interest accrued since the last movement included', async () => {
    await manualAsset(t.app, 'INT', { kBps: 0 });
    await postPrice(t.app, 'INT', '1');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'INT', '10000'); // collateral limit 7,500, the line's own 5,000
    const lineId = (await issue(t.app, wallet)).creditLine.id as string;
    await drawn(t.app, lineId, '4000');

    // 30 days at 12%: 4,039.4250513 owed, though nothing has been written to the line since the draw
    time.tick(30 * 86_400);
    await postPrice(t.app, 'INT', '1');
    const line = (await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).body.data;
    expect(line.utilized).toBe('4039.4250513');
    // 5,360 left would allow 4,020: enough for the 4,000 drawn, not for what is owed now
    const breaks = await withdraw(t.app, wallet, 'INT', '4640');
    expect(breaks.status, JSON.stringify(breaks.body)).toBe(422);
    expect(breaks.body.error).toMatchObject({ code: 'withdrawal_breaks_limit', details: { balance: '4039.4250513', limitAfter: '4020.0000000' } });
    // 5,500 left allows 4,125
    const fits = await withdraw(t.app, wallet, 'INT', '4500');
    expect(fits.status, JSON.stringify(fits.body.error)).toBe(200);
    const credit = (await request(t.app).get(`/api/credit/${lineId}`).set(client)).body.data;
    expect(credit.limits).toMatchObject({ collateralLimit: '4125.0000000', effectiveLimit: '4125.0000000' });
    expect(units(credit.creditLine.utilized)).toBeLessThanOrEqual(units(credit.limits.effectiveLimit));
  });

  it('with debt, needs fresh prices only for the assets the wallet still holds (an emptied position needs none)', async () => {
    await manualAsset(t.app, 'HELD', { kBps: 0 });
    await manualAsset(t.app, 'GONE', { kBps: 0 });
    await postPrice(t.app, 'HELD', '1');
    const wallet = randomWallet();
    await deposited(t.app, wallet, 'GONE', '5'); // never priced
    expect((await withdraw(t.app, wallet, 'GONE', '5')).status).toBe(200); // no debt yet: no price needed
    await deposited(t.app, wallet, 'HELD', '1000');
    const lineId = (await issue(t.app, wallet)).creditLine.id as string; // the empty GONE position does not block issuing
    await drawn(t.app, lineId, '100'); // nor a draw
    const res = await withdraw(t.app, wallet, 'HELD', '100');
    expect(res.status, JSON.stringify(res.body.error)).toBe(200);
    expect(res.body.data.collateral.stalePrices).toEqual([]);
  });

  it('shows a position by id and a wallet’s collateral by address, valued in USDC at the volatility-adjusted LTV', async () => {
    // default parameters: k = 1.0, fallback volatility 100%, 30 days: 7,500 - ceil(10,000 x sqrt(30/365)) = 4,633 bps
    await manualAsset(t.app, 'VAL');
    await manualAsset(t.app, 'VBTC', {}, 8);
    await postPrice(t.app, 'VAL', '0.12');
    await postPrice(t.app, 'VBTC', '65000');
    const wallet = randomWallet();
    const xlm = await deposited(t.app, wallet, 'VAL', '10000');
    await deposited(t.app, wallet, 'VBTC', '0.01');

    const byId = await request(t.app).get(`/api/collateral/${xlm.position.id}`).set(client);
    expect(byId.status).toBe(200);
    expect(byId.body.data.position).toEqual({
      id: xlm.position.id,
      walletAddress: wallet,
      assetCode: 'VAL',
      quantity: '10000.0000000',
      yieldEarned: '0.0000000',
      yieldAprBps: 0,
      price: { price: '0.12000000000000', source: 'manual', observedAt: time.now.toISOString() },
      value: '1200.0000000',
      adjustedLtvBps: 4_633,
      borrowLimit: '555.9600000',
      createdAt: time.now.toISOString(),
      updatedAt: time.now.toISOString(),
    });
    const expected = {
      walletAddress: wallet,
      totalValue: '1850.0000000',
      collateralLimit: '857.1050000', // 555.96 + 650 x 46.33%
      debt: '0.0000000',
      healthFactorBps: null,
      band: 'healthy',
      stalePrices: [],
    };
    expect(byId.body.data.collateral).toMatchObject(expected);

    const byWallet = await request(t.app).get(`/api/collateral/wallet/${wallet}`).set(client);
    expect(byWallet.status).toBe(200);
    expect(byWallet.body.data).toMatchObject(expected);
    expect(byWallet.body.data.positions.map((p: { assetCode: string; value: string; quantity: string }) => [p.assetCode, p.quantity, p.value])).toEqual([
      ['VAL', '10000.0000000', '1200.0000000'],
      ['VBTC', '0.01000000', '650.0000000'],
    ]);

    const nobody = await request(t.app).get(`/api/collateral/wallet/${randomWallet()}`).set(client);
    expect(nobody.body.data).toMatchObject({ positions: [], totalValue: '0.0000000', collateralLimit: '0.0000000' });
    expect((await request(t.app).get('/api/collateral/00000000-0000-4000-8000-000000000000').set(client)).status).toBe(404);
    expect((await request(t.app).get('/api/collateral/not-a-uuid').set(client)).status).toBe(400);
  });

  it('replays a deposit sent again with its Idempotency-Key instead of depositing twice', async () => {
    await manualAsset(t.app, 'IDEM');
    const wallet = randomWallet();
    const send = (amount: string, key: string) =>
      request(t.app).post('/api/collateral/deposit').set({ ...client, 'Idempotency-Key': key }).send({ walletAddress: wallet, asset: 'IDEM', amount });
    const original = await send('100', `dep-${wallet}`);
    expect(original.status).toBe(200);
    expect(original.headers['idempotency-replayed']).toBeUndefined();
    const replay = await send('100', `dep-${wallet}`);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect(replay.body).toEqual(original.body);
    const reused = await send('200', `dep-${wallet}`);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');

    const view = (await request(t.app).get(`/api/collateral/wallet/${wallet}`).set(client)).body.data;
    expect(view.positions[0].quantity).toBe('100.0000000');
    const movements = await t.container.store.repos.collateralPositions.movements(original.body.data.position.id, { limit: 10 });
    expect(movements.map((m) => m.type)).toEqual(['deposit']);

    // a new key is a new deposit; a withdrawal replays the same way
    expect((await send('100', `dep2-${wallet}`)).body.data.position.quantity).toBe('200.0000000');
    const out = () => request(t.app).post('/api/collateral/withdraw').set({ ...client, 'Idempotency-Key': `wd-${wallet}` }).send({ walletAddress: wallet, asset: 'IDEM', amount: '30' });
    expect((await out()).body.data.position.quantity).toBe('170.0000000');
    const outAgain = await out();
    expect(outAgain.headers['idempotency-replayed']).toBe('true');
    expect(outAgain.body.data.position.quantity).toBe('170.0000000');
    expect((await request(t.app).get(`/api/collateral/wallet/${wallet}`).set(client)).body.data.positions[0].quantity).toBe('170.0000000');
  });
});

describe.each(STORAGE_KINDS)('collateral movements need the wallet’s own token (WALLET_AUTH=required) on %s', (kind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'required' });
    await manualAsset(t.app, 'TOK');
  });
  afterAll(() => t.close());

  it('refuses deposits and withdrawals without a token (401) or with another wallet’s (403); reads need none', async () => {
    const alice = await signIn(t.app);
    const bob = await signIn(t.app);

    const anonymous = await deposit(t.app, alice.wallet, 'TOK', '10');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('wallet_auth_required');
    const stranger = await deposit(t.app, alice.wallet, 'TOK', '10', bob.headers);
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.code).toBe('wallet_forbidden');
    const own = await deposit(t.app, alice.wallet, 'TOK', '10', alice.headers);
    expect(own.status).toBe(200);
    expect(own.body.data.position.quantity).toBe('10.0000000');

    expect((await withdraw(t.app, alice.wallet, 'TOK', '1')).status).toBe(401);
    const bobWithdraws = await withdraw(t.app, alice.wallet, 'TOK', '1', bob.headers);
    expect(bobWithdraws.status).toBe(403);
    expect(bobWithdraws.body.error.code).toBe('wallet_forbidden');
    // an admin key is no wallet token either
    expect((await withdraw(t.app, alice.wallet, 'TOK', '1', admin)).status).toBe(401);
    const aliceWithdraws = await withdraw(t.app, alice.wallet, 'TOK', '4', alice.headers);
    expect(aliceWithdraws.status).toBe(200);
    expect(aliceWithdraws.body.data.position.quantity).toBe('6.0000000');

    // reads: a client key alone may read; a token that is presented must be the wallet's
    expect((await request(t.app).get(`/api/collateral/wallet/${alice.wallet}`).set(client)).status).toBe(200);
    expect((await request(t.app).get(`/api/collateral/wallet/${alice.wallet}`).set(bob.headers)).status).toBe(403);
    expect((await request(t.app).get(`/api/collateral/${own.body.data.position.id}`).set(bob.headers)).status).toBe(403);
    const mine = await request(t.app).get(`/api/collateral/${own.body.data.position.id}`).set(alice.headers);
    expect(mine.status).toBe(200);
    expect(mine.body.data.position.quantity).toBe('6.0000000');
  });
});
