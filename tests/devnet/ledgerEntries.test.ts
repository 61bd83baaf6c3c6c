import { Address, Asset, Keypair, nativeToScVal, rpc, scValToNative, xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { borrower, DAY, devnet, openLine, rpcClient, T0, USDC } from './helpers.js';

/** getLedgerEntries: the chain truth a reconciliation job reads, including injected drift. */
describe('devnet getLedgerEntries', () => {
  let d: Devnet;
  let server: rpc.Server;
  beforeEach(async () => {
    d = await devnet();
    server = rpcClient(d);
  });
  afterEach(() => d.stop());

  const lineKey = (who: string) =>
    xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: new Address(d.contractId).toScAddress(),
        key: nativeToScVal(who, { type: 'address' }),
        durability: xdr.ContractDataDurability.persistent(),
      }),
    );

  it('returns CreditLineData under the raw borrower Address, decoded by the SDK, with TTL fields', async () => {
    const a = borrower();
    const b = borrower();
    openLine(d, a, 1_000n * USDC, 1_500, 10);
    d.contract.invoke('draw_credit', { borrower: a, amount: 400n * USDC });
    openLine(d, b);
    const ledger = d.closeLedger();
    const missing = borrower();
    const response = await server.getLedgerEntries(lineKey(a), lineKey(b), lineKey(missing));
    expect(response.latestLedger).toBe(ledger);
    expect(response.entries).toHaveLength(2); // absent keys are simply not returned
    const first = response.entries.find((e) => e.key.toXDR('base64') === lineKey(a).toXDR('base64'))!;
    expect(first.lastModifiedLedgerSeq).toBe(ledger);
    expect(first.liveUntilLedgerSeq).toBeGreaterThan(ledger);
    const data = first.val.contractData();
    expect(data.durability().name).toBe('persistent');
    expect(scValToNative(data.val())).toEqual({
      borrower: a,
      credit_limit: 1_000n * USDC,
      utilized_amount: 400n * USDC,
      interest_rate_bps: 1_500,
      risk_score: 10,
      status: 0,
      last_rate_update_ts: 0n,
      accrued_interest: 0n,
      last_accrual_ts: BigInt(T0),
      suspension_ts: 0n,
    });
    const keys = (data.val().map() ?? []).map((e) => e.key().sym().toString());
    expect(keys).toEqual([...keys].sort());
  });

  it('shows stored (not accrued-to-now) state, and the stable id keys', async () => {
    const a = borrower();
    openLine(d, a, 1_000n * USDC, 1_500);
    d.contract.invoke('draw_credit', { borrower: a, amount: 100n * USDC });
    d.closeLedger();
    d.contract.setTime(T0 + 90 * DAY);
    d.closeLedger();
    const entry = await server.getContractData(d.contractId, nativeToScVal(a, { type: 'address' }), rpc.Durability.Persistent);
    expect(scValToNative(entry.val.contractData().val())).toMatchObject({ utilized_amount: 100n * USDC, last_accrual_ts: BigInt(T0) });
    const idKey = xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('CreditLineIdByBorrower'), nativeToScVal(a, { type: 'address' })]);
    const id = await server.getContractData(d.contractId, idKey, rpc.Durability.Persistent);
    expect(scValToNative(id.val.contractData().val())).toBe(0);
    const byId = xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('CreditLineBorrowerById'), xdr.ScVal.scvU32(0)]);
    expect(scValToNative((await server.getContractData(d.contractId, byId, rpc.Durability.Persistent)).val.contractData().val())).toBe(a);
  });

  it('reflects tampered drift immediately, without any event', async () => {
    const a = borrower();
    openLine(d, a);
    d.contract.invoke('draw_credit', { borrower: a, amount: 10n * USDC });
    d.closeLedger();
    const latest = (await server.getLatestLedger()).sequence;
    d.contract.tamper(a, { utilized_amount: 11n * USDC, status: 'Suspended' });
    const entry = await server.getContractData(d.contractId, nativeToScVal(a, { type: 'address' }), rpc.Durability.Persistent);
    expect(scValToNative(entry.val.contractData().val())).toMatchObject({ utilized_amount: 11n * USDC, status: 1 });
    d.closeLedger();
    const after = await server.getEvents({ filters: [], startLedger: latest + 1 });
    expect(after.events).toEqual([]);
    d.contract.tamper(a, null);
    await expect(server.getContractData(d.contractId, nativeToScVal(a, { type: 'address' }), rpc.Durability.Persistent)).rejects.toThrow();
  });

  it('serves classic accounts and trustlines for getAccount / getTrustline', async () => {
    const who = Keypair.random();
    const issuer = Keypair.random().publicKey();
    d.seedHorizon.account({
      id: who.publicKey(),
      sequence: '123456789',
      balances: [{ asset: 'native', amount: '50' }, { asset: `USDC:${issuer}`, amount: '12.5' }],
      signers: [{ key: Keypair.random().publicKey(), weight: 1 }],
      thresholds: { low: 1, med: 2, high: 3 },
    });
    const account = await server.getAccount(who.publicKey());
    expect(account.sequenceNumber()).toBe('123456789');
    const entry = await server.getAccountEntry(who.publicKey());
    expect(entry.balance().toString()).toBe('500000000');
    expect([...entry.thresholds()]).toEqual([1, 1, 2, 3]);
    const trustline = await server.getTrustline(who.publicKey(), new Asset('USDC', issuer));
    expect(trustline.balance().toString()).toBe('125000000');
    await expect(server.getAccount(Keypair.random().publicKey())).rejects.toThrow(/Account not found/);
  });
});
