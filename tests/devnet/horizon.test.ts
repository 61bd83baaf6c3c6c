import { Asset, Horizon, Keypair, NotFoundError, Transaction, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVNET_FUNDER, type Devnet } from '../../scripts/devnet/index.js';
import { DAY, devnet, T0 } from './helpers.js';

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
    // like Horizon, the window is cut to whole buckets: the hour in progress at end_time is left out
    const cut = await horizon.tradeAggregation(Asset.native(), usdc, start - 30 * 60_000, start + 90 * 60_000, hour, 0).call();
    expect(cut.records.map((r) => r.timestamp)).toEqual([String(start)]);
    const empty = await fetch(`${d.horizonUrl}/trade_aggregations?base_asset_type=native&counter_asset_type=native&resolution=${hour}&start_time=${start + 1}&end_time=${start + 2}`);
    expect(empty.status).toBe(400); // start rounds up past the end, which rounds down
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

/**
 * An account seeded with `createdAt` has Horizon history that starts with its `create_account` operation,
 * so account age is read from the first operation exactly as a risk model would on a real Horizon.
 */
describe('devnet Horizon account creation', () => {
  let d: Devnet;
  let horizon: Horizon.Server;
  const aged = Keypair.random().publicKey();
  const funder = Keypair.random().publicKey();
  const bornAt = T0 - 400 * DAY;
  /** Horizon's timestamp format: ISO 8601 without milliseconds. */
  const horizonTime = (unix: number) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
  const firstOperation = async (id: string) =>
    (await horizon.operations().forAccount(id).order('asc').limit(1).call()).records[0] as Horizon.ServerApi.CreateAccountOperationRecord | undefined;
  const operationCount = async () => (await horizon.operations().limit(200).call()).records.length;

  beforeAll(async () => {
    d = await devnet();
    horizon = new Horizon.Server(d.horizonUrl, { allowHttp: true });
    d.seedHorizon.account({ id: aged, createdAt: bornAt, funder, balances: [{ asset: 'native', amount: '250' }] });
    d.closeLedger();
    d.seedHorizon.payment({ from: funder, to: aged, amount: '5' }); // later activity, later TOID
  });
  afterAll(() => d.stop());

  it('serves the creation as the account’s first operation, also among payments', async () => {
    const creation = await firstOperation(aged);
    expect(creation).toMatchObject({
      type: 'create_account',
      type_i: 0,
      created_at: horizonTime(bornAt),
      funder,
      account: aged,
      starting_balance: '250.0000000',
      source_account: funder,
      transaction_successful: true,
    });
    const payments = await horizon.payments().forAccount(aged).order('asc').call();
    expect(payments.records.map((r) => r.type)).toEqual(['create_account', 'payment']);
    expect(payments.records[0]!.id).toBe(creation!.id);
    expect((await horizon.operations().operation(creation!.id).call()).type).toBe('create_account');
    expect((await horizon.operations().forAccount(funder).call()).records.map((r) => r.id)).toContain(creation!.id);
    expect((await horizon.operations().call()).records.map((r) => r.id)).toContain(creation!.id);
    expect((await horizon.payments().call()).records.map((r) => r.id)).toContain(creation!.id);
  });

  it('records a real create_account transaction for the funder and the new account', async () => {
    const creation = (await firstOperation(aged))!;
    const tx = await creation.transaction();
    expect(tx).toMatchObject({ source_account: funder, operation_count: 1, successful: true, created_at: horizonTime(bornAt), memo_type: 'none' });
    const envelope = TransactionBuilder.fromXDR(tx.envelope_xdr, d.networkPassphrase) as Transaction;
    expect(envelope.hash().toString('hex')).toBe(tx.hash);
    expect(envelope.operations).toEqual([expect.objectContaining({ type: 'createAccount', destination: aged, startingBalance: '250.0000000' })]);
    const [opResult] = xdr.TransactionResult.fromXDR(tx.result_xdr, 'base64').result().results();
    expect(opResult!.tr().createAccountResult().switch().name).toBe('createAccountSuccess');
    for (const account of [funder, aged]) {
      expect((await horizon.transactions().forAccount(account).call()).records.map((t) => t.hash)).toContain(tx.hash);
    }
    expect((await horizon.transactions().call()).records.map((t) => t.hash)).toContain(tx.hash);
    expect((await horizon.operations().forTransaction(tx.hash).call()).records.map((r) => r.id)).toEqual([creation.id]);
    expect((await horizon.payments().forTransaction(tx.hash).call()).records.map((r) => r.id)).toEqual([creation.id]);
  });

  it('defaults to the devnet funder and 1 XLM, and records nothing without createdAt', async () => {
    const before = await operationCount();
    const plain = Keypair.random().publicKey();
    d.seedHorizon.account({ id: plain });
    expect(await operationCount()).toBe(before);
    expect(await firstOperation(plain)).toBeUndefined();
    expect((await horizon.transactions().forAccount(plain).call()).records).toEqual([]);

    const young = Keypair.random().publicKey();
    d.seedHorizon.account({ id: young, createdAt: T0 - DAY });
    expect(await firstOperation(young)).toMatchObject({ funder: DEVNET_FUNDER, starting_balance: '1.0000000', created_at: horizonTime(T0 - DAY) });
    expect((await horizon.loadAccount(DEVNET_FUNDER)).accountId()).toBe(DEVNET_FUNDER); // created on demand
    expect(() => d.seedHorizon.account({ id: young, createdAt: T0 })).toThrow(/already has a create_account/);
  });

  it('seeds a creation through the control API', async () => {
    const id = Keypair.random().publicKey();
    const seed = (body: unknown) => fetch(`${d.controlUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await seed({ accounts: [{ id, createdAt: T0 - 30 * DAY, balances: [{ asset: 'native', amount: '42' }] }] });
    expect(res.status).toBe(200);
    expect(await firstOperation(id)).toMatchObject({
      type: 'create_account',
      funder: DEVNET_FUNDER,
      account: id,
      starting_balance: '42.0000000',
      created_at: horizonTime(T0 - 30 * DAY),
    });
    expect((await seed({ accounts: [{ id: Keypair.random().publicKey(), createdAt: 'yesterday' }] })).status).toBe(400);
  });
});
