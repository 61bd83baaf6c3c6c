import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import type { Devnet } from '../../../scripts/devnet/index.js';
import type { HorizonPaymentListener } from '../../../src/services/horizonListener.js';
import type { TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { chainFixture, USDC } from './helpers.js';

/**
 * The Horizon payment listener against the devnet's Horizon: USDC payments into the repayment account are
 * recorded once with their memo; other assets, other issuers, other accounts and outgoing payments are not;
 * a restart resumes from the stored paging token.
 */
describe.each(STORAGE_KINDS)('Horizon repayment listener (%s)', (kind) => {
  const fx = chainFixture(kind);
  const account = Keypair.random().publicKey();
  const issuer = Keypair.random().publicKey();
  const otherIssuer = Keypair.random().publicKey();
  const payer = Keypair.random().publicKey();
  const usdc = { code: 'USDC', issuer };

  const env = (devnet: Devnet) => ({ HORIZON_URL: devnet.horizonUrl, REPAYMENT_ACCOUNT: account, REPAYMENT_ASSET_CODE: 'USDC', REPAYMENT_ASSET_ISSUER: issuer });
  const listenerOf = (t: TestApp): HorizonPaymentListener => {
    const listener = t.container.services.horizonListener;
    if (!listener) throw new Error('the Horizon listener is not configured');
    return listener;
  };
  const drainPayments = async (t: TestApp, max = 50) => {
    for (let i = 1; i <= max; i++) if ((await listenerOf(t).tick()) === 0) return i;
    throw new Error(`the listener did not catch up within ${max} ticks`);
  };
  const recorded = async (t: TestApp) =>
    (await t.container.store.repos.incomingPayments.list({}, 1_000)).sort((a, b) => (BigInt(a.pagingToken) < BigInt(b.pagingToken) ? -1 : 1));

  function seed(devnet: Devnet) {
    devnet.seedHorizon.account({ id: account, balances: [{ asset: 'native', amount: '100' }, { asset: `USDC:${issuer}`, amount: '0', limit: '1000000' }] });
    const h = devnet.seedHorizon;
    const wanted = [
      h.payment({ from: payer, to: account, amount: '125.5', asset: usdc, memo: 'line-42' }),
      h.payment({ from: payer, to: account, amount: '0.0000001', asset: usdc, memo: '987654321', memoType: 'id' }),
      h.payment({ from: Keypair.random().publicKey(), to: account, amount: '3', asset: usdc }), // no memo: recorded, unmatched later
    ];
    const ignored = [
      h.payment({ from: payer, to: account, amount: '10', asset: 'native', memo: 'line-42' }), // XLM
      h.payment({ from: payer, to: account, amount: '10', asset: { code: 'USDC', issuer: otherIssuer }, memo: 'line-42' }), // another issuer's USDC
      h.payment({ from: payer, to: account, amount: '10', asset: { code: 'EURC', issuer }, memo: 'line-42' }), // another asset
      h.payment({ from: account, to: payer, amount: '1', asset: usdc, memo: 'refund' }), // outgoing
      h.payment({ from: payer, to: Keypair.random().publicKey(), amount: '9', asset: usdc, memo: 'line-42' }), // someone else's
      h.payment({ from: payer, to: account, amount: '99', asset: usdc, memo: 'failed', successful: false }), // failed transaction
    ];
    return { wanted, ignored };
  }

  it('records USDC payments into the repayment account once, with their memo, and ignores the rest', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, env(devnet));
    const { wanted } = seed(devnet);

    await drainPayments(t);
    const payments = await recorded(t);
    expect(payments.map((p) => [p.txHash, p.fromAccount, p.toAccount, p.assetCode, p.assetIssuer, p.amount, p.memo, p.memoType, p.status])).toEqual([
      [wanted[0]!.tx.hash, payer, account, 'USDC', issuer, 1_255_000_000n, 'line-42', 'text', 'received'],
      [wanted[1]!.tx.hash, payer, account, 'USDC', issuer, 1n, '987654321', 'id', 'received'],
      [wanted[2]!.tx.hash, expect.any(String), account, 'USDC', issuer, 3n * USDC, null, 'none', 'received'],
    ]);
    expect(new Set(payments.map((p) => p.id)).size).toBe(3);
    expect(await t.container.store.repos.incomingPayments.list({ memo: 'line-42' }, 10)).toHaveLength(1);

    // ticking again (and re-reading from the start) records nothing twice
    expect(await listenerOf(t).tick()).toBe(0);
    const chain = t.container.store.repos.chain;
    const name = listenerOf(t).cursorName;
    const cursor = await chain.getCursor(name);
    expect(cursor?.cursor).toEqual(expect.any(String));
    expect(await chain.advanceCursor(name, cursor!.cursor, { cursor: null, lastLedger: null }, new Date())).toBe(true);
    await drainPayments(t);
    expect(await recorded(t)).toHaveLength(3);

    // new payments after the tip are picked up on the next tick
    devnet.seedHorizon.payment({ from: payer, to: account, amount: '7', asset: usdc, memo: 'line-43' });
    await drainPayments(t);
    expect((await recorded(t)).map((p) => p.memo)).toEqual(['line-42', '987654321', null, 'line-43']);
  });

  it('pages through more payments than one Horizon page holds', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, env(devnet));
    for (let i = 0; i < 230; i++) devnet.seedHorizon.payment({ from: payer, to: account, amount: `${i + 1}`, asset: usdc, memo: `m-${i}` });
    const ticks = await drainPayments(t);
    expect(ticks).toBeGreaterThanOrEqual(2);
    const payments = await recorded(t);
    expect(payments).toHaveLength(230);
    expect(payments.map((p) => p.memo)).toEqual(Array.from({ length: 230 }, (_, i) => `m-${i}`));
  });

  it('stops on a Horizon outage without moving its cursor, then catches up', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, env(devnet));
    seed(devnet);
    devnet.faults.set({ force5xx: true, scope: 'horizon' });
    await expect(listenerOf(t).tick()).rejects.toThrow();
    expect(await t.container.store.repos.chain.getCursor(listenerOf(t).cursorName)).toBeNull();
    devnet.faults.clear();
    await drainPayments(t);
    expect(await recorded(t)).toHaveLength(3);
  });

  if (kind !== 'memory') {
    it('a restarted listener resumes from its stored cursor: nothing lost, nothing doubled', async () => {
      const devnet = await fx.devnet();
      const first = await fx.app(devnet, env(devnet));
      seed(devnet);
      await drainPayments(first);
      const cursor = await first.container.store.repos.chain.getCursor(listenerOf(first).cursorName);
      await first.close();

      devnet.seedHorizon.payment({ from: payer, to: account, amount: '1.5', asset: usdc, memo: 'after-restart' });
      devnet.seedHorizon.payment({ from: payer, to: account, amount: '2', asset: 'native', memo: 'xlm-after-restart' });

      const second = await fx.app(devnet, env(devnet));
      expect(await second.container.store.repos.chain.getCursor(listenerOf(second).cursorName)).toEqual(cursor);
      await drainPayments(second);
      const payments = await recorded(second);
      expect(payments.map((p) => p.memo)).toEqual(['line-42', '987654321', null, 'after-restart']);
      expect(payments[3]!.amount).toBe(15_000_000n);
    });
  }
});
