import { Asset, Horizon, Keypair, NotFoundError, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { devnet, T0 } from './helpers.js';

/** Horizon's HAL API through `Horizon.Server`: accounts, payment paging, transactions, trade aggregations. */
describe('devnet Horizon', () => {
  let d: Devnet;
  let horizon: Horizon.Server;
  const wallet = Keypair.random().publicKey();
  const counterparty = Keypair.random().publicKey();
  const issuer = Keypair.random().publicKey();
  const cosigner = Keypair.random().publicKey();
  const usdc = new Asset('USDC', issuer);

  beforeAll(async () => {
    d = await devnet();
    horizon = new Horizon.Server(d.horizonUrl, { allowHttp: true });
    d.seedHorizon.account({
      id: wallet,
      balances: [{ asset: 'native', amount: '25.5' }, { asset: `USDC:${issuer}`, amount: '1000', limit: '5000' }],
      signers: [{ key: cosigner, weight: 2 }],
      masterWeight: 1,
      thresholds: { low: 1, med: 2, high: 3 },
    });
    for (let i = 1; i <= 7; i++) {
      d.seedHorizon.payment({ from: counterparty, to: wallet, amount: `${i}.5`, asset: { code: 'USDC', issuer }, memo: `inv-${i}` });
      if (i % 3 === 0) d.closeLedger();
    }
    d.seedHorizon.payment({ from: wallet, to: counterparty, amount: '1', asset: 'native' });
    d.seedHorizon.payment({ from: counterparty, to: wallet, amount: '99', successful: false });
    d.seedHorizon.payment({ from: Keypair.random().publicKey(), to: Keypair.random().publicKey(), amount: '3' });
  });
  afterAll(() => d.stop());

  it('loads an account with signers, thresholds and a USDC trustline', async () => {
    const account = await horizon.loadAccount(wallet);
    expect(account.accountId()).toBe(wallet);
    expect(account.thresholds).toEqual({ low_threshold: 1, med_threshold: 2, high_threshold: 3 });
    expect(account.signers).toEqual(
      expect.arrayContaining([
        { key: cosigner, weight: 2, type: 'ed25519_public_key' },
        { key: wallet, weight: 1, type: 'ed25519_public_key' },
      ]),
    );
    const usdcBalance = account.balances.find((b) => b.asset_type === 'credit_alphanum4');
    expect(usdcBalance).toMatchObject({ asset_code: 'USDC', asset_issuer: issuer, balance: '1000.0000000', limit: '5000.0000000' });
    expect(account.balances.find((b) => b.asset_type === 'native')?.balance).toBe('25.5000000');
    expect(account.subentry_count).toBe(2);
    await expect(horizon.loadAccount(Keypair.random().publicKey())).rejects.toBeInstanceOf(NotFoundError);
  });

  it('pages an account’s payments with cursor, limit and next()', async () => {
    const first = await horizon.payments().forAccount(wallet).limit(3).call();
    expect(first.records).toHaveLength(3);
    const second = await first.next();
    const third = await second.next();
    const fourth = await third.next();
    const all = [...first.records, ...second.records, ...third.records, ...fourth.records];
    expect(all).toHaveLength(8); // 7 incoming USDC + 1 outgoing XLM; the failed one is excluded
    expect(new Set(all.map((r) => r.id)).size).toBe(8);
    expect(all.map((r) => BigInt(r.paging_token))).toEqual([...all.map((r) => BigInt(r.paging_token))].sort((a, b) => (a < b ? -1 : 1)));
    const p = first.records[0]! as Horizon.ServerApi.PaymentOperationRecord;
    expect(p).toMatchObject({
      type: 'payment',
      type_i: 1,
      transaction_successful: true,
      from: counterparty,
      to: wallet,
      amount: '1.5000000',
      asset_type: 'credit_alphanum4',
      asset_code: 'USDC',
      asset_issuer: issuer,
      source_account: counterparty,
      created_at: new Date(T0 * 1000).toISOString().replace('.000Z', 'Z'),
    });
    // resume from a stored paging token
    const resumed = await horizon.payments().forAccount(wallet).cursor(first.records[2]!.paging_token).limit(2).call();
    expect(resumed.records.map((r) => r.id)).toEqual(second.records.slice(0, 2).map((r) => r.id));
    const desc = await horizon.payments().forAccount(wallet).order('desc').limit(1).call();
    expect(desc.records[0]!.id).toBe(all[all.length - 1]!.id);
    const withFailed = await horizon.payments().forAccount(wallet).limit(200).includeFailed(true).call();
    expect(withFailed.records).toHaveLength(9);
    const now = await horizon.payments().cursor('now').call();
    expect(now.records).toEqual([]);
  });

  it('follows a payment to its transaction, with memo and decodable XDR', async () => {
    const [payment] = (await horizon.payments().forAccount(wallet).limit(1).call()).records;
    const tx = await (payment as Horizon.ServerApi.PaymentOperationRecord).transaction();
    expect(tx).toMatchObject({ memo_type: 'text', memo: 'inv-1', successful: true, source_account: counterparty, operation_count: 1 });
    const envelope = TransactionBuilder.fromXDR(tx.envelope_xdr, d.networkPassphrase);
    expect(envelope.hash().toString('hex')).toBe(tx.hash);
    expect(xdr.TransactionResult.fromXDR(tx.result_xdr, 'base64').result().switch().name).toBe('txSuccess');
    const byHash = await horizon.transactions().transaction(tx.hash).call();
    expect(byHash.id).toBe(tx.hash);
    const mine = await horizon.transactions().forAccount(wallet).limit(200).call();
    expect(mine.records).toHaveLength(8);
    await expect(horizon.transactions().transaction('00'.repeat(32)).call()).rejects.toBeInstanceOf(NotFoundError);
    const ops = await horizon.operations().forAccount(wallet).limit(200).call();
    expect(ops.records).toHaveLength(8);
  });

  it('aggregates trades into OHLC buckets', async () => {
    const hour = 3_600_000;
    const start = Date.UTC(2026, 0, 1);
    const trade = (minute: number, base: string, counter: string) =>
      d.seedHorizon.trade({ base: 'native', counter: { code: 'USDC', issuer }, baseAmount: base, counterAmount: counter, timestampMs: start + minute * 60_000 });
    trade(5, '100', '12'); // 0.12
    trade(20, '100', '15'); // 0.15
    trade(50, '200', '20'); // 0.10
    trade(70, '10', '1.3'); // 0.13, next hour
    const page = await horizon.tradeAggregation(Asset.native(), usdc, start, start + 3 * hour, hour, 0).call();
    expect(page.records).toHaveLength(2);
    const [h0, h1] = page.records;
    expect(h0).toMatchObject({
      timestamp: String(start),
      trade_count: '3',
      base_volume: '400.0000000',
      counter_volume: '47.0000000',
      avg: '0.1175000',
      open: '0.1200000',
      high: '0.1500000',
      low: '0.1000000',
      close: '0.1000000',
    });
    expect((h0 as unknown as { high_r: unknown }).high_r).toEqual({ N: 3, D: 20 }); // not in the SDK's type, but sent by Horizon
    expect(h1).toMatchObject({ timestamp: String(start + hour), trade_count: '1', close: '0.1300000' });
    const bad = await fetch(`${d.horizonUrl}/trade_aggregations?base_asset_type=native&counter_asset_type=native&resolution=12345`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('answers unknown resources with Horizon’s problem document', async () => {
    const res = await fetch(`${d.horizonUrl}/accounts/${Keypair.random().publicKey()}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'https://stellar.org/horizon-errors/not_found', title: 'Resource Missing', status: 404 });
    const root = (await (await fetch(`${d.horizonUrl}/`)).json()) as { network_passphrase: string };
    expect(root.network_passphrase).toBe(d.networkPassphrase);
  });
});
