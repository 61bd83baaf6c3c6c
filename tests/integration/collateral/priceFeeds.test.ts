import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../../scripts/devnet/index.js';
import { admin, client, createTestApp, randomWallet, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { CollateralAssetService } from '../../../src/services/collateral/assetService.js';
import { createAsset, deposited, testClock } from './helpers.js';

/**
 * The price job (PriceService.poll, what the `price-feed` worker runs) against the devnet: XLM priced by the
 * Reflector-style oracle over Soroban RPC simulation, and by SDEX trade aggregations over Horizon. The devnet's clock
 * and the app's move together.
 */

const T0 = 1_750_000_000; // 2025-06-15T15:06:40Z
const MIN = 60;
const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const round5m = (unixSeconds: number) => Math.floor(unixSeconds / 300) * 300;

describe.each(STORAGE_KINDS)('the price job against the devnet on %s', (kind) => {
  let d: Devnet;
  let t: TestApp;
  const time = testClock(iso(T0));
  const unixNow = () => Math.floor(time.now.getTime() / 1000);
  const usdc = { code: 'USDC', issuer: Keypair.random().publicKey() };

  /** Both clocks forward by `seconds`. */
  const advance = (seconds: number) => {
    time.tick(seconds);
    d.contract.advanceTime(seconds);
  };
  /** An SDEX trade of 100 XLM for `usdcFor100` USDC, `secondsAgo` before now. */
  const trade = (usdcFor100: string, secondsAgo: number) =>
    d.seedHorizon.trade({ base: 'native', counter: usdc, baseAmount: '100', counterAmount: usdcFor100, timestampMs: (unixNow() - secondsAgo) * 1000 });
  const oraclePrice = (price1e14: bigint) => {
    d.oracle.setPrice({ other: 'XLM' }, price1e14);
    d.closeLedger(); // RPC sees a write after the next close
  };

  const priceOf = async (code: string) => (await request(t.app).get(`/api/collateral/assets/${code}`).set(client)).body.data.price;
  const monitorJobs = () => t.container.store.repos.jobs.list({ queue: 'risk-monitor' }, { limit: 10 });
  const ready = async () => (await request(t.app).get('/health/ready')).body.data.checks.prices;

  beforeAll(async () => {
    d = await startDevnet({ startTime: T0 });
    t = await createTestApp(
      kind,
      {
        WALLET_AUTH: 'optional',
        PRICE_RPC_URL: d.rpcUrl,
        STELLAR_NETWORK_PASSPHRASE: d.networkPassphrase,
        HORIZON_URL: d.horizonUrl,
        PRICE_FEED_TIMEOUT_MS: '2000',
      },
      { clock: time.clock },
    );
    // k = 0 keeps limits simple; a quarter of an hour of price age
    const params = { kBps: 0, maxPriceAgeSeconds: 900 };
    await createAsset(t.app, { code: 'XLMR', decimals: 7, priceSource: { kind: 'reflector', contractId: d.oracleId, asset: { other: 'XLM' } }, params });
    await createAsset(t.app, { code: 'XLMH', decimals: 7, priceSource: { kind: 'horizon', base: 'native', counter: usdc }, params });
    // the oracle has no price for DOGE: its feed fails on every round
    await createAsset(t.app, { code: 'DOGE', decimals: 7, priceSource: { kind: 'reflector', contractId: d.oracleId, asset: { other: 'DOGE' } }, params });
    await createAsset(t.app, { code: 'MANL', decimals: 7, priceSource: { kind: 'manual' }, params });
  });
  afterAll(async () => {
    await t?.close();
    await d?.stop();
  });

  it('stores each feed’s newest observation only when it is newer, queues one monitor run per observation, and survives a failing feed', async () => {
    // ── Round 1: a Reflector round 10 s ago, an SDEX trade 7 minutes ago ───────────────────────────────────────
    d.oracle.setPrice({ other: 'XLM' }, 12_000_000_000_000n, T0 - 10);
    d.closeLedger();
    trade('12.5', 7 * MIN); // T0 is 100 s into a 5-minute bucket: this one has closed
    expect(await t.container.services.prices.poll()).toBe(2);

    // the oracle's round timestamp (floored to its 5-minute resolution); the end of the latest completed bucket
    expect(await priceOf('XLMR')).toEqual({ price: '0.12000000000000', source: 'reflector', observedAt: iso(round5m(T0 - 10)) });
    expect(await priceOf('XLMH')).toEqual({ price: '0.12500000000000', source: 'horizon', observedAt: iso(round5m(T0 - 7 * MIN) + 300) });
    expect(await priceOf('DOGE')).toBeNull();
    expect(await priceOf('MANL')).toBeNull(); // manual assets have no feed to poll
    expect(t.logs.text).toMatch(/price feed failed/);
    expect(t.logs.lines.filter((l) => l.includes('price feed failed')).map((l) => JSON.parse(l).asset)).toEqual(['DOGE']);

    let jobs = await monitorJobs();
    expect(jobs.map((j) => j.subject).sort()).toEqual(['XLMH', 'XLMR']);
    const latest = await t.container.store.repos.collateralAssets.latestPrices(['XLMR', 'XLMH']);
    for (const job of jobs) {
      const observation = latest.get(job.subject!)!;
      expect(job).toMatchObject({ status: 'queued', payload: { assetCode: job.subject, observationId: observation.id.toString() }, dedupeKey: `price:${observation.id}` });
    }

    // ── Round 2: nothing new at either source: nothing is stored, nothing queued ───────────────────────────
    advance(30);
    expect(await t.container.services.prices.poll()).toBe(0);
    expect(await monitorJobs()).toHaveLength(2);
    const unchanged = await t.container.store.repos.collateralAssets.latestPrices(['XLMR', 'XLMH']);
    expect([...unchanged.values()].map((o) => o.id).sort()).toEqual([...latest.values()].map((o) => o.id).sort());

    // ── Round 3: ten minutes later, a new round and a new trade ──────────────────────────────────────────────
    advance(10 * MIN);
    oraclePrice(13_000_000_000_000n);
    trade('13.5', 3 * MIN);
    expect(await t.container.services.prices.poll()).toBe(2);
    expect(await priceOf('XLMR')).toEqual({ price: '0.13000000000000', source: 'reflector', observedAt: iso(round5m(unixNow())) });
    expect(await priceOf('XLMH')).toEqual({ price: '0.13500000000000', source: 'horizon', observedAt: iso(round5m(unixNow() - 3 * MIN) + 300) });
    jobs = await monitorJobs();
    expect(jobs).toHaveLength(4);
    expect(jobs.slice(0, 2).map((j) => j.subject).sort()).toEqual(['XLMH', 'XLMR']); // newest first
    expect(await ready()).toMatchObject({ status: 'down' });
    expect((await ready()).error).not.toMatch(/XLMR|XLMH/);
    expect((await ready()).error).toMatch(/DOGE.*MANL|MANL.*DOGE/);

    // ── Round 4: Soroban RPC fails; Horizon does not. XLMR keeps its last price until it is too old ───────────
    d.faults.set({ scope: 'rpc', force5xx: true });
    const failuresBefore = t.logs.lines.filter((l) => l.includes('price feed failed')).length;
    advance(15 * MIN);
    oraclePrice(14_000_000_000_000n); // a round the job cannot read
    trade('14', 3 * MIN);
    expect(await t.container.services.prices.poll()).toBe(1);
    expect((await priceOf('XLMH')).price).toBe('0.14000000000000');
    expect((await priceOf('XLMR')).price).toBe('0.13000000000000');
    const failures = t.logs.lines.filter((l) => l.includes('price feed failed')).slice(failuresBefore).map((l) => JSON.parse(l));
    expect(failures.map((f) => f.asset).sort()).toEqual(['DOGE', 'XLMR']);
    expect(failures.find((f) => f.asset === 'XLMR').err).toMatch(/HTTP 503/);
    expect(await monitorJobs()).toHaveLength(5);

    // XLMR's last observation is now 1,030 s old (900 s allowed): stale, and only what depends on it is refused
    expect((await ready()).error).toMatch(/XLMR/);
    expect((await ready()).error).not.toMatch(/XLMH/);
    const onHorizon = randomWallet();
    await deposited(t.app, onHorizon, 'XLMH', '1000');
    const fine = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: onHorizon });
    expect(fine.status).toBe(201);
    expect(fine.body.data.limits.collateralLimit).toBe('105.0000000'); // 1,000 x 0.14 x 75%
    const onReflector = randomWallet();
    await deposited(t.app, onReflector, 'XLMR', '1000');
    const refused = await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: onReflector });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'price_stale', details: { stale: [expect.objectContaining({ assetCode: 'XLMR', maxAgeSeconds: 900 })] } });

    // ── Round 5: RPC recovers; the job reads the newest round and XLMR is fresh again ─────────────────────────
    d.faults.clear();
    advance(MIN);
    expect(await t.container.services.prices.poll()).toBe(1); // Horizon's latest bucket is the one already stored
    expect(await priceOf('XLMR')).toMatchObject({ price: '0.14000000000000', source: 'reflector' });
    expect((await ready()).error).not.toMatch(/XLMR/);
    expect((await request(t.app).post('/api/credit/issue').set(client).send({ walletAddress: onReflector })).status).toBe(201);

    // every stored observation queued exactly one run, and the monitor takes each once
    jobs = await monitorJobs();
    expect(jobs).toHaveLength(6);
    expect(new Set(jobs.map((j) => j.dedupeKey)).size).toBe(6);
    let ran = 0;
    for (let round = 0; round < 10; round++) {
      const claimed = await t.container.services.riskEngine.runQueued('test-runner', 10);
      if (claimed === 0) break;
      ran += claimed;
    }
    expect(ran).toBe(6);
    expect((await monitorJobs()).map((j) => j.status)).toEqual(Array(6).fill('done'));
  });

  it('admin-posted prices are refused for fed assets, and the job never touches manual ones', async () => {
    const posted = await request(t.app).post('/api/collateral/assets/XLMR/prices').set(admin).send({ price: '1' });
    expect(posted.status).toBe(409);
    expect(posted.body.error.code).toBe('price_source_not_manual');
    expect((await request(t.app).post('/api/collateral/assets/MANL/prices').set(admin).send({ price: '2' })).status).toBe(201);
    const jobsBefore = (await monitorJobs()).length;
    advance(1);
    expect(await t.container.services.prices.poll()).toBe(0); // neither feed has anything newer
    expect(await priceOf('MANL')).toMatchObject({ price: '2.00000000000000', source: 'manual' });
    expect(await monitorJobs()).toHaveLength(jobsBefore);
  });
});

describe.each(STORAGE_KINDS)('a static price for development on %s', (kind) => {
  it('is observed by the price job at its fixed price, takes no posted prices, and is refused where static prices are not allowed', async () => {
    const time = testClock('2026-06-01T12:00:00Z');
    const t = await createTestApp(kind, { WALLET_AUTH: 'optional' }, { clock: time.clock });
    try {
      const bad = await request(t.app).post('/api/collateral/assets').set(admin).send({ code: 'STAZ', decimals: 7, priceSource: { kind: 'static', price: '0' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toEqual([expect.objectContaining({ field: 'priceSource.price', rule: 'positive' })]);

      const created = await createAsset(t.app, { code: 'STAT', decimals: 7, priceSource: { kind: 'static', price: '0.25' }, params: { kBps: 0 } });
      expect(created.priceSource).toEqual({ kind: 'static', price: '0.25' });
      expect(await t.container.services.prices.poll()).toBe(1);
      const asset = await request(t.app).get('/api/collateral/assets/STAT').set(client);
      expect(asset.body.data.price).toMatchObject({ price: '0.25000000000000', source: 'static', observedAt: time.now.toISOString() });
      const posted = await request(t.app).post('/api/collateral/assets/STAT/prices').set(admin).send({ price: '1' });
      expect(posted.body.error.code).toBe('price_source_not_manual');

      const production = new CollateralAssetService(t.container.store, time.clock, false);
      await expect(production.create({ code: 'STAP', decimals: 7, priceSource: { kind: 'static', price: '1' }, params: {} }, { actor: { kind: 'admin', id: 'admin' } })).rejects.toMatchObject({
        details: [expect.objectContaining({ field: 'priceSource.kind', rule: 'not_in_production' })],
      });
    } finally {
      await t.close();
    }
  });
});
