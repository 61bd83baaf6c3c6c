import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../../scripts/devnet/index.js';
import { parseVolumeAsset } from '../../../src/domain/risk/activity.js';
import { HorizonActivitySource } from '../../../src/stellar/horizonActivity.js';
import { admin, client, createTestApp, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';

/**
 * The behavioural model end to end: Horizon fixtures served by the devnet (real response shapes, read with the
 * SDK), our own ledger, the model file, the API.
 */

const DAY = 86_400_000;
const T0 = new Date('2026-06-01T00:00:00Z');
const unix = (date: Date) => Math.floor(date.getTime() / 1000);

interface Evaluation {
  id: string;
  score: number;
  band: string;
  decision: string;
  creditLimit: string;
  interestRateBps: number;
  cached: boolean;
  signals: Array<{ name: string; value: number | null; points: number }>;
  inputs: { chain: Record<string, unknown>; creditHistory: Record<string, unknown> };
}

/** A wallet two years old with steady monthly income from many payers over the last 90 days, seeded oldest first. */
function seedSeasoned(devnet: Devnet, wallet: string, now: Date): void {
  devnet.seedHorizon.account({ id: wallet, createdAt: unix(new Date(now.getTime() - 800 * DAY)), balances: [{ asset: 'native', amount: '12000' }] });
  const payers = Array.from({ length: 30 }, () => Keypair.random().publicKey());
  for (let day = 88, i = 0; day >= 1; day -= 3, i++) {
    const payer = payers[i % payers.length]!;
    devnet.seedHorizon.payment({ from: payer, to: wallet, amount: '700', createdAt: unix(new Date(now.getTime() - day * DAY)) });
    devnet.seedHorizon.payment({ from: wallet, to: payer, amount: '150', createdAt: unix(new Date(now.getTime() - day * DAY + 3_600_000)) });
  }
}

describe('risk signals from Horizon (devnet)', () => {
  let devnet: Devnet;
  beforeAll(async () => {
    devnet = await startDevnet({ startTime: unix(T0) });
  });
  afterAll(() => devnet.stop());

  it('stays within its request budget and says when the 90-day window was not covered', async () => {
    const wallet = Keypair.random().publicKey();
    seedSeasoned(devnet, wallet, T0);
    const tight = new HorizonActivitySource(devnet.horizonUrl, { timeoutMs: 5_000, requestBudget: 4, volumeAsset: parseVolumeAsset('native'), pageSize: 10 }, () => T0);
    const partial = await tight.load(wallet);
    expect(partial).toMatchObject({ exists: true, requests: 4, windowComplete: false, payments90d: 20 });
    const full = await new HorizonActivitySource(devnet.horizonUrl, { timeoutMs: 5_000, requestBudget: 10, volumeAsset: parseVolumeAsset('native') }, () => T0).load(wallet);
    expect(full).toMatchObject({ exists: true, requests: 3, windowComplete: true, payments90d: 60, counterparties90d: 30, inflow90d: 210_000_000_000n });
    expect(full.firstSeenAt?.toISOString()).toBe(new Date(T0.getTime() - 800 * DAY).toISOString());
  });

  it('answers 504 when Horizon does not answer in time, and 502 when it fails: never a made-up score', async () => {
    const t = await createTestApp('memory', { RISK_PROVIDER: 'signals', HORIZON_URL: devnet.horizonUrl, HORIZON_TIMEOUT_MS: '300', RISK_SIGNAL_CACHE_SECONDS: '0' }, { clock: () => T0 });
    try {
      const walletAddress = Keypair.random().publicKey();
      devnet.faults.set({ scope: 'horizon', timeoutMs: 2_000 });
      const slow = await request(t.app).post('/api/risk/evaluate').set(client).send({ walletAddress });
      expect(slow.status).toBe(504);
      expect(slow.body.error.code).toBe('risk_signals_timeout');
      devnet.faults.set({ timeoutMs: 0, force5xx: true });
      const failing = await request(t.app).post('/api/risk/evaluate').set(client).send({ walletAddress });
      expect(failing.status).toBe(502);
      expect(failing.body.error.code).toBe('risk_signals_unavailable');
      expect((await request(t.app).get(`/api/risk/wallet/${walletAddress}/history`).set(client)).body.data.items).toEqual([]);
    } finally {
      devnet.faults.set({ scope: 'all', timeoutMs: 0, force5xx: false });
      await t.close();
    }
  });

  describe.each(STORAGE_KINDS)('on %s', (kind) => {
    let t: TestApp;
    let now = T0;
    beforeAll(async () => {
      t = await createTestApp(kind, { RISK_PROVIDER: 'signals', HORIZON_URL: devnet.horizonUrl, WALLET_AUTH: 'optional', RISK_SIGNAL_CACHE_SECONDS: '0' }, { clock: () => now });
    });
    afterAll(() => t.close());

    const evaluate = async (walletAddress: string, forceRefresh?: boolean) => {
      const res = await request(t.app).post('/api/risk/evaluate').set(client).send({ walletAddress, ...(forceRefresh !== undefined && { forceRefresh }) });
      expect([200, 201]).toContain(res.status);
      return res.body.data as Evaluation;
    };

    it('scores a seasoned account with steady inflows high and a new empty account low, and explains both', async () => {
      now = T0;
      const seasoned = Keypair.random().publicKey();
      seedSeasoned(devnet, seasoned, now);
      const fresh = Keypair.random().publicKey();
      devnet.seedHorizon.account({ id: fresh, createdAt: unix(new Date(now.getTime() - DAY)), balances: [{ asset: 'native', amount: '1' }] });
      const unknown = Keypair.random().publicKey(); // not on the network at all

      const high = await evaluate(seasoned);
      expect(high).toMatchObject({ decision: 'approve', band: 'C' });
      expect(high.score).toBeGreaterThanOrEqual(55);
      expect(high.signals.find((s) => s.name === 'inflowRegularity')!.value).toBeGreaterThan(0.95);
      expect(high.inputs.chain).toMatchObject({ exists: true, counterparties90d: 30, inflow90d: '21000.0000000', windowComplete: true });

      for (const wallet of [fresh, unknown]) {
        const low = await evaluate(wallet);
        expect(low.score).toBeLessThan(10);
        expect(low).toMatchObject({ decision: 'decline', creditLimit: '0.0000000' });
      }
      const opened = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: fresh });
      expect(opened.status).toBe(422);
      expect(opened.body.error.code).toBe('credit_declined');
    });

    it('penalises collateral close to its liquidation threshold, from the card line and the latest price', async () => {
      now = T0;
      const wallet = Keypair.random().publicKey();
      seedSeasoned(devnet, wallet, now);
      const asset = `C${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
      const created = await request(t.app).post('/api/collateral/assets').set(admin).send({ code: asset, decimals: 7, priceSource: { kind: 'manual' }, params: { kBps: 0 } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await request(t.app).post(`/api/collateral/assets/${asset}/prices`).set(admin).send({ price: '0.12' })).status).toBe(201);
      const collateralSignal = async () => (await evaluate(wallet, true)).signals.find((s) => s.name === 'collateralHealthFactor')!;
      expect(await collateralSignal()).toMatchObject({ value: null, points: 0 });

      expect((await request(t.app).post('/api/collateral/deposit').set(client).send({ walletAddress: wallet, asset, amount: '10000' })).status).toBe(200);
      const issued = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: wallet });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const lineId = issued.body.data.creditLine.id as string;
      expect(await collateralSignal()).toMatchObject({ value: null, points: 0 }); // collateral without debt is not at risk

      // $1,200 of collateral at a liquidation threshold of 85 %: $600 owed is a health factor of 1.7, $900 of 1.1333
      expect((await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount: '600' })).status).toBe(200);
      expect(await collateralSignal()).toMatchObject({ value: 1.7, points: 0 });
      expect((await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount: '300' })).status).toBe(200);
      const close = await collateralSignal();
      expect(close.value).toBeCloseTo(1.1333, 4);
      expect(close.points).toBeLessThan(-10);
    });

    it('gives two wallets with the same behaviour the same score, whatever their addresses', async () => {
      now = T0;
      const [a, b] = [Keypair.random().publicKey(), Keypair.random().publicKey()];
      seedSeasoned(devnet, a, now);
      seedSeasoned(devnet, b, now);
      const [first, second] = [await evaluate(a), await evaluate(b)];
      expect(second.score).toBe(first.score);
      expect(second.signals).toEqual(first.signals);
    });

    it('scores a wallet that repaid late lower than the same wallet that repaid on time', async () => {
      now = T0;
      const [punctual, late] = [Keypair.random().publicKey(), Keypair.random().publicKey()];
      const lines: Record<string, string> = {};
      for (const wallet of [punctual, late]) {
        seedSeasoned(devnet, wallet, new Date(T0.getTime() + 70 * DAY));
        const opened = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: wallet, creditLimit: '1000', interestRateBps: 0 });
        lines[wallet] = opened.body.data.id;
        expect((await request(t.app).post(`/api/credit/lines/${lines[wallet]}/draw`).set(client).send({ amount: '400' })).status).toBe(200);
      }
      const repay = async (wallet: string, day: number) => {
        now = new Date(T0.getTime() + day * DAY);
        expect((await request(t.app).post(`/api/credit/lines/${lines[wallet]}/repay`).set(client).send({ amount: '400' })).status).toBe(200);
      };
      await repay(punctual, 35); // statement day 30, due day 45
      await repay(late, 60); // 15 days past due
      now = new Date(T0.getTime() + 70 * DAY);
      const [good, bad] = [await evaluate(punctual, true), await evaluate(late, true)];
      expect(good.inputs.creditHistory).toMatchObject({ repayments: 1, onTimeStatements: 1, lateStatements: 0, maxDaysPastDue: 0 });
      expect(bad.inputs.creditHistory).toMatchObject({ repayments: 1, onTimeStatements: 0, lateStatements: 1, maxDaysPastDue: 15 });
      expect(bad.score).toBeLessThan(good.score);
    });

    it('serves the cached evaluation for 24 h unless a refresh is forced, and keeps the history newest first', async () => {
      now = T0;
      const wallet = Keypair.random().publicKey();
      seedSeasoned(devnet, wallet, now);
      const first = await evaluate(wallet);
      expect(first.cached).toBe(false);
      const cached = await evaluate(wallet);
      expect(cached).toMatchObject({ id: first.id, cached: true });
      const forced = await evaluate(wallet, true);
      expect(forced.id).not.toBe(first.id);
      expect(forced.cached).toBe(false);
      now = new Date(T0.getTime() + 24 * 3_600_000 + 1_000);
      const expired = await evaluate(wallet);
      expect(expired.cached).toBe(false);

      const page1 = await request(t.app).get(`/api/risk/wallet/${wallet}/history`).query({ limit: 2 }).set(client);
      expect(page1.body.data.items.map((e: Evaluation) => e.id)).toEqual([expired.id, forced.id]);
      const page2 = await request(t.app).get(`/api/risk/wallet/${wallet}/history`).query({ limit: 2, cursor: page1.body.data.nextCursor }).set(client);
      expect(page2.body.data.items.map((e: Evaluation) => e.id)).toEqual([first.id]);
      expect(page2.body.data.nextCursor).toBeNull();
      const one = await request(t.app).get(`/api/risk/evaluations/${first.id}`).set(client);
      expect(one.body.data).toMatchObject({ id: first.id, walletAddress: wallet, provider: 'signals', modelVersion: 'signals-v1', application: null });
    });
  });
});
