import type { Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAmount } from '../../../src/domain/money.js';
import { admin, client, closeServer, createTestApp, listenOnLoopback, randomWallet, type TestApp } from '../../support/app.js';
import { SQL_STORAGE_KINDS } from '../../support/databases.js';
import { testClock, units } from './helpers.js';

/**
 * The collateral side under concurrency, over HTTP against a real server and a real SQL storage (see
 * tests/integration/concurrency.test.ts): on PostgreSQL the requests run in parallel on a pool of connections, and
 * only the row locks (line, then positions) and the one-pending-order index keep the books straight.
 */
describe.each(SQL_STORAGE_KINDS)('collateral under concurrency on %s', (kind) => {
  let t: TestApp;
  let server: Server;
  // A fixed clock: no interest accrues, so balances move only by what is drawn, repaid and withdrawn.
  const time = testClock('2026-06-01T12:00:00Z');

  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional', RISK_STATIC_SCORE: '90' }, { clock: time.clock });
    server = await listenOnLoopback(t);
  });
  afterAll(async () => {
    await closeServer(server);
    await t?.close();
  });

  const asset = async (code: string, params: Record<string, unknown>, price: string) => {
    expect((await request(server).post('/api/collateral/assets').set(admin).send({ code, decimals: 7, priceSource: { kind: 'manual' }, params })).status).toBe(201);
    expect((await request(server).post(`/api/collateral/assets/${code}/prices`).set(admin).send({ price })).status).toBe(201);
  };

  /** A wallet with `quantity` of the asset and an issued card line; its line id. */
  const account = async (code: string, quantity: string) => {
    const wallet = randomWallet();
    expect((await request(server).post('/api/collateral/deposit').set(client).send({ walletAddress: wallet, asset: code, amount: quantity })).status).toBe(200);
    const issued = await request(server).post('/api/credit/issue').set(client).send({ walletAddress: wallet });
    expect(issued.status).toBe(201);
    return { wallet, lineId: issued.body.data.creditLine.id as string };
  };

  const draw = (lineId: string, amount: string) => request(server).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount });

  it('20 withdrawals racing 20 draws on one wallet never leave the debt above the collateral limit', async () => {
    // k = 0: 10,000 x 0.12 x 75% = 900; each withdrawal of 400 takes 36 of it, each draw 40
    await asset('RACE', { kBps: 0 }, '0.12');
    const { wallet, lineId } = await account('RACE', '10000');

    const requests = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? draw(lineId, '40') : request(server).post('/api/collateral/withdraw').set(client).send({ walletAddress: wallet, asset: 'RACE', amount: '400' }),
    );
    const responses = await Promise.all(requests);
    const draws = responses.filter((_, i) => i % 2 === 0);
    const withdrawals = responses.filter((_, i) => i % 2 === 1);
    for (const res of draws) {
      expect([200, 422], JSON.stringify(res.body)).toContain(res.status);
      if (res.status === 422) expect(res.body.error.code).toBe('insufficient_credit');
    }
    for (const res of withdrawals) {
      expect([200, 422], JSON.stringify(res.body)).toContain(res.status);
      if (res.status === 422) expect(res.body.error.code).toBe('withdrawal_breaks_limit');
    }
    const drawsOk = draws.filter((r) => r.status === 200).length;
    const withdrawalsOk = withdrawals.filter((r) => r.status === 200).length;
    expect(drawsOk).toBeGreaterThan(0);
    expect(withdrawalsOk).toBeGreaterThan(0);

    // every accepted change left the account within its limit at that moment
    for (const res of withdrawals.filter((r) => r.status === 200)) {
      expect(units(res.body.data.collateral.debt)).toBeLessThanOrEqual(units(res.body.data.collateral.collateralLimit));
    }
    // the final state: the books add up, and the debt is within the collateral limit
    const credit = (await request(server).get(`/api/credit/${lineId}`).set(client)).body.data;
    const debt = units(credit.creditLine.utilized);
    expect(debt).toBe(BigInt(drawsOk) * units('40'));
    expect(credit.collateral.positions[0].quantity).toBe(`${10_000 - 400 * withdrawalsOk}.0000000`);
    expect(units(credit.limits.collateralLimit)).toBe(BigInt(10_000 - 400 * withdrawalsOk) * units('0.09'));
    expect(debt).toBeLessThanOrEqual(units(credit.limits.collateralLimit));
    // at least one request of each kind had to be refused, so less than a draw is left, and exactly that much can be drawn
    const headroom = units(credit.limits.collateralLimit) - debt;
    expect(headroom).toBeLessThan(units('40'));
    expect(credit.limits.available).toBe(formatAmount(headroom));
    expect((await draw(lineId, formatAmount(headroom + 1n))).body.error).toMatchObject({ code: 'insufficient_credit', details: { collateralLimited: true } });

    const movements = await t.container.store.repos.collateralPositions.movements(credit.collateral.positions[0].id, { limit: 100 });
    expect(movements.filter((m) => m.type === 'withdrawal')).toHaveLength(withdrawalsOk);
    const ledger = await t.container.store.repos.ledger.listByLine(lineId, { limit: 100 });
    expect(ledger.filter((e) => e.type === 'draw')).toHaveLength(drawsOk);
  });

  it('10 parallel fills of one order apply it once', async () => {
    // C.4: 10,000 at 0.12, 900 drawn, stop-loss on; at 0.108 the monitor orders a sale
    await asset('FILL', { kBps: 0 }, '0.12');
    const { wallet, lineId } = await account('FILL', '10000');
    expect((await draw(lineId, '900')).status).toBe(200);
    expect((await request(server).put('/api/risk/stop-loss').set(client).send({ walletAddress: wallet, enabled: true })).status).toBe(200);
    time.tick(60);
    expect((await request(server).post('/api/collateral/assets/FILL/prices').set(admin).send({ price: '0.108' })).status).toBe(201);
    await t.container.services.riskEngine.runQueued('test-runner', 100);
    const [order] = (await request(server).get('/api/risk/executions').query({ walletAddress: wallet }).set(admin)).body.data.items;
    expect(order).toMatchObject({ kind: 'stop_loss', status: 'pending' });
    const debtBefore = units((await request(server).get(`/api/credit/lines/${lineId}`).set(client)).body.data.utilized);

    const fill = { collateralQuantity: order.plan.sellQuantity, usdcAmount: '141.5' };
    const responses = await Promise.all(Array.from({ length: 10 }, () => request(server).post(`/api/risk/executions/${order.id}/fill`).set(admin).send(fill)));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const res of responses.filter((r) => r.status !== 200)) {
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'execution_settled', details: { status: 'filled' } });
    }
    expect(ok[0]!.body.data).toMatchObject({ status: 'filled', fill: { repaid: '141.5000000' } });

    // once: one repayment from collateral, one sale out of the position, one event
    const line = (await request(server).get(`/api/credit/lines/${lineId}`).set(client)).body.data;
    expect(units(line.utilized)).toBe(debtBefore - units('141.5'));
    const ledger = await t.container.store.repos.ledger.listByLine(lineId, { limit: 100 });
    expect(ledger.filter((e) => e.type === 'collateral_repay').map((e) => e.amount)).toEqual([units('141.5')]);
    const view = (await request(server).get(`/api/collateral/wallet/${wallet}`).set(client)).body.data;
    expect(units(view.positions[0].quantity)).toBe(units('10000') - units(order.plan.sellQuantity));
    const movements = await t.container.store.repos.collateralPositions.movements(view.positions[0].id, { limit: 100 });
    expect(movements.filter((m) => m.type === 'stop_loss_sale')).toHaveLength(1);
    const events = (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).map((e) => e.type);
    expect(events.filter((type) => type === 'stop_loss.executed')).toHaveLength(1);
    expect((await request(server).get(`/api/risk/executions/${order.id}`).set(admin)).body.data).toMatchObject({ status: 'filled', fill: { repaid: '141.5000000' } });
  });

  it('two monitor runs at once create exactly one pending order per account', async () => {
    await asset('MON', { kBps: 0 }, '0.12');
    const accounts = await Promise.all(Array.from({ length: 6 }, () => account('MON', '10000')));
    for (const { wallet, lineId } of accounts) {
      expect((await draw(lineId, '900')).status).toBe(200);
      expect((await request(server).put('/api/risk/stop-loss').set(client).send({ walletAddress: wallet, enabled: true })).status).toBe(200);
    }
    time.tick(60);
    // the observation queues a run; two runners take the asset at the same moment, bypassing the queue's lease
    expect((await request(server).post('/api/collateral/assets/MON/prices').set(admin).send({ price: '0.108' })).status).toBe(201);
    const engine = t.container.services.riskEngine;
    const runs = await Promise.allSettled([engine.monitorAsset('MON'), engine.monitorAsset('MON')]);
    // a run that loses the race for an account's order fails as a whole (it is retried as a job); none succeeds twice
    for (const run of runs) if (run.status === 'rejected') expect((run.reason as { code?: string }).code).toBe('execution_pending');
    expect(runs.some((run) => run.status === 'fulfilled')).toBe(true);

    const pendingPerAccount = async () =>
      Promise.all(accounts.map(async ({ wallet }) => (await t.container.store.repos.riskExecutions.list({ walletAddress: wallet }, { limit: 10 })).filter((e) => e.status === 'pending')));
    for (const pending of await pendingPerAccount()) expect(pending.map((e) => e.kind)).toEqual(['stop_loss']);
    for (const { wallet } of accounts) {
      const bands = (await t.container.store.repos.events.listByAggregate('risk_account', wallet)).map((e) => e.payload.band);
      expect(bands).toEqual(['stop_loss']);
    }

    // the queued runs, taken by two workers at once: the asset is leased to one of them at a time
    time.tick(1);
    expect((await request(server).post('/api/collateral/assets/MON/prices').set(admin).send({ price: '0.1079' })).status).toBe(201);
    const claimed = await Promise.all([engine.runQueued('worker-a', 10), engine.runQueued('worker-b', 10)]);
    let total = claimed[0] + claimed[1];
    for (let round = 0; round < 10 && total < 3; round++) total += await engine.runQueued('worker-a', 10);
    // MON's three observations (0.12, 0.108, 0.1079), each run once
    expect(total).toBe(3);
    expect(await engine.runQueued('worker-b', 10)).toBe(0);
    const jobs = await t.container.store.repos.jobs.list({ queue: 'risk-monitor', subject: 'MON' }, { limit: 10 });
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual([
      ['done', 1],
      ['done', 1],
      ['done', 1],
    ]);
    for (const pending of await pendingPerAccount()) expect(pending).toHaveLength(1);
  });
});
