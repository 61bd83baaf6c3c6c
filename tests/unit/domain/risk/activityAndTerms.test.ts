import { Keypair } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseVolumeAsset, summariseActivity, type HorizonOperationLine } from '../../../../src/domain/risk/activity.js';
import { reachableRate } from '../../../../src/domain/risk/terms.js';

const NOW = new Date('2026-11-01T00:00:00Z');
const DAY = 86_400_000;
const wallet = Keypair.random().publicKey();
const [alice, bob, carol] = [Keypair.random().publicKey(), Keypair.random().publicKey(), Keypair.random().publicKey()];
const USDC_ISSUER = Keypair.random().publicKey();
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY).toISOString();

let tx = 0;
const payment = (from: string, to: string, amount: string, days: number, extra: Partial<HorizonOperationLine> = {}): HorizonOperationLine => ({
  type: 'payment',
  created_at: daysAgo(days),
  transaction_hash: `tx${++tx}`,
  transaction_successful: true,
  source_account: from,
  from,
  to,
  amount,
  asset_type: 'native',
  ...extra,
});

describe('summariseActivity (Horizon records to chain activity)', () => {
  const created: HorizonOperationLine = {
    type: 'create_account',
    created_at: daysAgo(400),
    transaction_hash: 'tx0',
    transaction_successful: true,
    source_account: alice,
    funder: alice,
    account: wallet,
    starting_balance: '100.0000000',
  };
  const operations = [
    payment(alice, wallet, '100', 5),
    payment(wallet, bob, '40', 10),
    payment(bob, wallet, '100', 35),
    payment(carol, wallet, '100', 65),
    payment(alice, wallet, '999', 120), // outside the 90-day window
    payment(wallet, carol, '10', 3, { transaction_successful: false }), // the wallet's own failure
    payment(carol, wallet, '10', 3, { transaction_successful: false }), // someone else's failure: not held against it
    payment(alice, wallet, '50', 6, { asset_type: 'credit_alphanum4', asset_code: 'USDC', asset_issuer: USDC_ISSUER }),
  ];
  const activity = summariseActivity(
    {
      wallet,
      balances: [
        { asset_type: 'native', balance: '250.5000000' },
        { asset_type: 'credit_alphanum4', asset_code: 'USDC', asset_issuer: USDC_ISSUER, balance: '50.0000000' },
      ],
      firstOperation: created,
      operations,
      windowComplete: true,
      requests: 3,
    },
    parseVolumeAsset('native'),
    NOW,
  );

  it('counts age, balance and trustlines from the account and its first operation', () => {
    expect(activity.firstSeenAt?.toISOString()).toBe(daysAgo(400));
    expect(activity.balance).toBe(2_505_000_000n);
    expect(activity.trustlines).toBe(1);
  });

  it('counts only the last 90 days, in the volume asset for amounts and in any asset for payments', () => {
    expect(activity.payments90d).toBe(5);
    expect(activity.payments30d).toBe(3);
    expect(activity.inflow90d).toBe(3_000_000_000n);
    expect(activity.monthlyInflows).toEqual([1_000_000_000n, 1_000_000_000n, 1_000_000_000n]);
    expect(activity.outflow30d).toBe(400_000_000n);
    expect(activity.largestOutflow30d).toBe(400_000_000n);
    expect(activity.counterparties90d).toBe(3);
  });

  it('holds only the wallet\'s own failed transactions against it', () => {
    expect(activity.transactions90d).toBe(2);
    expect(activity.failedTransactions90d).toBe(1);
  });

  it('reads amounts of an issued volume asset and ignores the native ones', () => {
    const usdc = summariseActivity(
      { wallet, balances: [{ asset_type: 'credit_alphanum4', asset_code: 'USDC', asset_issuer: USDC_ISSUER, balance: '50.0000000' }], firstOperation: null, operations, windowComplete: true, requests: 3 },
      parseVolumeAsset(`USDC:${USDC_ISSUER}`),
      NOW,
    );
    expect(usdc.inflow90d).toBe(500_000_000n);
    expect(usdc.balance).toBe(500_000_000n);
  });
});

describe('reachableRate (the contract rate-change guard)', () => {
  const limits = { maxStepBps: 500, minIntervalSeconds: 86_400 };

  it('moves all the way within one step, one step toward a far target, and not at all inside the interval', () => {
    expect(reachableRate(1_200, 1_500, null, NOW, limits)).toEqual({ rate: 1_500, constraint: 'none' });
    expect(reachableRate(1_200, 2_600, null, NOW, limits)).toEqual({ rate: 1_700, constraint: 'max_step' });
    expect(reachableRate(2_600, 800, null, NOW, limits)).toEqual({ rate: 2_100, constraint: 'max_step' });
    expect(reachableRate(1_200, 800, new Date(NOW.getTime() - 3_600_000), NOW, limits)).toEqual({ rate: 1_200, constraint: 'min_interval' });
    expect(reachableRate(1_200, 1_200, new Date(NOW.getTime() - 1), NOW, limits)).toEqual({ rate: 1_200, constraint: 'none' });
  });

  it('property: the applied rate never breaks the guard and never overshoots the target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }), (current, target, agoSeconds) => {
        const last = agoSeconds === null ? null : new Date(NOW.getTime() - agoSeconds * 1000);
        const { rate } = reachableRate(current, target, last, NOW, limits);
        const within = Math.abs(rate - current) <= limits.maxStepBps;
        const notTooSoon = rate === current || last === null || agoSeconds! >= limits.minIntervalSeconds;
        const noOvershoot = Math.abs(target - rate) <= Math.abs(target - current);
        return within && notTooSoon && noOvershoot;
      }),
    );
  });
});
