import { Keypair, StrKey } from '@stellar/stellar-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../scripts/devnet/index.js';
import { HorizonTradePriceFeed, PriceUnavailableError, ReflectorPriceFeed } from '../../src/stellar/priceFeeds.js';

/** Both chain-backed feeds against the devnet: the Reflector-style oracle over RPC and SDEX trades over Horizon. */

const T0 = 1_750_000_000; // 2025-06-15T15:06:40Z, 100 s into a 5-minute bucket
const MIN = 60_000;
const DAY = 86_400_000;
const masked = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`;

async function rejection(promise: Promise<unknown>): Promise<PriceUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PriceUnavailableError);
  return error as PriceUnavailableError;
}

describe('ReflectorPriceFeed against the devnet oracle', () => {
  let d: Devnet;
  const token = StrKey.encodeContract(Buffer.alloc(32, 9));
  const feed = (asset: { stellar: string } | { other: string }, devnet = d, timeoutMs = 2_000, retries = 0) =>
    new ReflectorPriceFeed(devnet.rpcUrl, devnet.oracleId, asset, { timeoutMs, networkPassphrase: devnet.networkPassphrase, retries });

  beforeAll(async () => {
    d = await startDevnet({ startTime: T0 });
  });
  afterAll(() => d.stop());
  afterEach(() => d.faults.clear());

  it('reads lastprice at 14 decimals with the round timestamp as observedAt', async () => {
    d.oracle.setPrice({ other: 'XLM' }, 12_345_678_901_234n, T0 - 10);
    d.closeLedger();
    expect(await feed({ other: 'XLM' }).latest()).toEqual({
      price1e14: 12_345_678_901_234n,
      observedAt: new Date(Math.floor((T0 - 10) / 300) * 300 * 1000),
      source: 'reflector',
    });
  });

  it.each([
    [7, 1_200_000n, 12_000_000_000_000n],
    [18, 123_456_789_012_345_678n, 12_345_678_901_234n], // floored
    [0, 65_000n, 6_500_000_000_000_000_000n],
  ])('converts a %i-decimal oracle exactly', async (decimals, raw, expected) => {
    const other = await startDevnet({ startTime: T0, oracle: { decimals } });
    try {
      other.oracle.setPrice({ stellar: token }, raw);
      other.closeLedger();
      const quote = await feed({ stellar: token }, other).latest();
      expect(quote.price1e14).toBe(expected);
    } finally {
      await other.stop();
    }
  });

  it('caches decimals after the first read', async () => {
    const btc = feed({ other: 'BTC' });
    d.oracle.setPrice({ other: 'BTC' }, 6_500_000_000_000_000_000n);
    d.closeLedger();
    expect((await btc.latest()).price1e14).toBe(6_500_000_000_000_000_000n);
    d.oracle.configure({ decimals: 7 }); // a redeploy the cached feed does not notice
    try {
      expect((await btc.latest()).price1e14).toBe(6_500_000_000_000_000_000n);
      expect((await feed({ other: 'BTC' }).latest()).price1e14).toBe(6_500_000_000_000_000_000n * 10_000_000n);
    } finally {
      d.oracle.configure({ decimals: 14 });
    }
  });

  it('turns None into PriceUnavailableError naming the asset, with addresses masked', async () => {
    const none = await rejection(feed({ other: 'DOGE' }).latest());
    expect(none.message).toMatch(/DOGE/);
    expect(none.message).toContain(masked(d.oracleId));
    expect(none.message).not.toContain(d.oracleId);
    const unknownToken = StrKey.encodeContract(Buffer.alloc(32, 10));
    const stellar = await rejection(feed({ stellar: unknownToken }).latest());
    expect(stellar.message).toContain(masked(unknownToken));
    expect(stellar.message).not.toContain(unknownToken);
  });

  it('reports an oracle that does not exist without its full id', async () => {
    const ghost = StrKey.encodeContract(Buffer.alloc(32, 11));
    const error = await rejection(new ReflectorPriceFeed(d.rpcUrl, ghost, { other: 'XLM' }, { timeoutMs: 2_000, networkPassphrase: d.networkPassphrase }).latest());
    expect(error.reason).toMatch(/decimals failed: HostError: Error\(Storage, MissingValue\)/);
    expect(error.message).not.toContain(ghost);
  });

  it('times out into PriceUnavailableError, then recovers (decimals were not cached on failure)', async () => {
    d.oracle.setPrice({ other: 'ETH' }, 250_000_000_000_000_000n);
    d.closeLedger();
    const eth = feed({ other: 'ETH' }, d, 250);
    d.faults.set({ scope: 'rpc', timeoutMs: 1_500 });
    const error = await rejection(eth.latest());
    expect(error.reason).toMatch(/simulateTransaction: .*(timed out|no answer within 250 ms)/);
    d.faults.clear();
    expect((await eth.latest()).price1e14).toBe(250_000_000_000_000_000n);
  });

  it('reports HTTP failures, and retries them when asked to', async () => {
    d.faults.set({ scope: 'rpc', force5xx: true });
    expect((await rejection(feed({ other: 'XLM' }).latest())).reason).toMatch(/HTTP 503/);
    d.faults.set({ force5xx: false, fail5xxCount: 1 });
    expect((await feed({ other: 'XLM' }, d, 2_000, 1).latest()).source).toBe('reflector');
  });
});

describe('HorizonTradePriceFeed against devnet trades', () => {
  let d: Devnet;
  const issuer = Keypair.random().publicKey();
  const usdc = { code: 'USDC', issuer };
  const now = T0 * 1000;
  const feed = (base: 'native' | { code: string; issuer: string } = 'native', timeoutMs = 2_000) =>
    new HorizonTradePriceFeed(d.horizonUrl, base, usdc, { timeoutMs, clock: () => new Date(now) });
  const trade = (base: 'native' | { code: string; issuer: string }, baseAmount: string, counterAmount: string, timestampMs: number) =>
    d.seedHorizon.trade({ base, counter: usdc, baseAmount, counterAmount, timestampMs });

  beforeAll(async () => {
    d = await startDevnet({ startTime: T0 });
    trade('native', '100', '12', now - 20 * MIN); // 0.12
    trade('native', '3', '1', now - 7 * MIN); // 1/3: the close of the latest completed bucket
    trade('native', '10', '5', now - 50_000); // 0.5, in the bucket still in progress: Horizon leaves it out
  });
  afterAll(() => d.stop());
  afterEach(() => d.faults.clear());

  it('takes the latest completed bucket’s exact close, observed at the bucket’s end', async () => {
    const bucketStart = Math.floor((now - 7 * MIN) / 300_000) * 300_000;
    expect(await feed().latest()).toEqual({ price1e14: 33_333_333_333_333n, observedAt: new Date(bucketStart + 300_000), source: 'horizon' });
  });

  it('uses the configured resolution', async () => {
    const hourly = new HorizonTradePriceFeed(d.horizonUrl, 'native', usdc, { timeoutMs: 2_000, resolutionMs: 3_600_000, clock: () => new Date(now) });
    // T0 is 15:06:40: the −20 and −7 minute trades closed the 14:00 hour, the −50 s one is in the running hour
    const hour = Math.floor(now / 3_600_000) * 3_600_000;
    expect(await hourly.latest()).toEqual({ price1e14: 33_333_333_333_333n, observedAt: new Date(hour), source: 'horizon' });
  });

  it('has no price without trades in the last day', async () => {
    const aqua = { code: 'AQUA', issuer };
    trade(aqua, '1000', '3', now - DAY - MIN); // just outside the window
    const error = await rejection(feed(aqua).latest());
    expect(error.message).toMatch(/AQUA/);
    expect(error.message).not.toContain(issuer);
    expect(error.reason).toMatch(/no trades/);
  });

  it('lists daily closes (UTC days, oldest first) for completed days with trades', async () => {
    const yield_ = { code: 'YLD', issuer };
    const today = Math.floor(now / DAY) * DAY;
    for (let day = 1; day <= 9; day++) {
      if (day === 4) continue; // a day without trades is simply absent
      const start = today - day * DAY;
      trade(yield_, '10', String(day), start + 3_600_000); // opens at day/10
      trade(yield_, '10', `${day}.5`, start + 20 * 3_600_000); // closes at (day + 0.5)/10
    }
    trade(yield_, '10', '99', today + MIN); // today: still in progress
    const closes = await feed(yield_).dailyCloses(7);
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    // start_time = now − 7 days is rounded up to the next midnight, so 6 completed days remain, minus the empty one
    expect(closes).toEqual(
      [6, 5, 3, 2, 1].map((day) => ({ day: iso(today - day * DAY), close1e14: (BigInt(day) * 10n + 5n) * 10n ** 12n })),
    );
    expect(await feed(yield_).dailyCloses(30)).toHaveLength(8);
    await expect(feed(yield_).dailyCloses(0)).rejects.toThrow(RangeError);
  });

  it('times out into PriceUnavailableError while RPC faults leave Horizon alone', async () => {
    d.faults.set({ scope: 'rpc', timeoutMs: 1_500 });
    expect((await feed().latest()).price1e14).toBe(33_333_333_333_333n);
    d.faults.set({ scope: 'horizon', timeoutMs: 1_500 });
    const error = await rejection(feed('native', 250).latest());
    expect(error.reason).toMatch(/did not answer within 250 ms/);
    d.faults.set({ timeoutMs: 0, force5xx: true });
    expect((await rejection(feed().latest())).reason).toMatch(/HTTP 503/);
  });
});
