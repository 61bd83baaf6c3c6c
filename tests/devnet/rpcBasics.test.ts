import { rpc, xdr } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { devnet, rpcClient, T0 } from './helpers.js';

/** Health, network and ledger methods, and JSON-RPC framing, as the SDK and raw fetch see them. */
describe('devnet RPC basics', () => {
  let d: Devnet;

  beforeAll(async () => {
    d = await devnet({ retentionLedgers: 100 });
  });
  afterAll(() => d.stop());

  it('getHealth and getNetwork parse with the SDK', async () => {
    const server = rpcClient(d);
    d.closeLedger();
    expect(await server.getHealth()).toEqual({ status: 'healthy', latestLedger: 2, oldestLedger: 1, ledgerRetentionWindow: 100 });
    const network = await server.getNetwork();
    expect(network.passphrase).toBe(d.networkPassphrase);
    expect(network.protocolVersion).toBe(23);
  });

  it('getLatestLedger returns a valid LedgerHeader and LedgerCloseMeta, hash-chained', async () => {
    const server = rpcClient(d);
    d.contract.setTime(T0 + 50);
    const sequence = d.closeLedger();
    const latest = await server.getLatestLedger();
    expect(latest.sequence).toBe(sequence);
    expect(latest.closeTime).toBe(String(T0 + 50));
    expect(latest.headerXdr.ledgerSeq()).toBe(sequence);
    expect(latest.headerXdr.scpValue().closeTime().toString()).toBe(String(T0 + 50));
    expect(latest.id).toMatch(/^[0-9a-f]{64}$/);
    expect(latest.metadataXdr.switch()).toBe(0);
    expect(latest.metadataXdr.v0().ledgerHeader().hash().toString('hex')).toBe(latest.id);
    const previousId = latest.headerXdr.previousLedgerHash().toString('hex');
    d.closeLedger();
    const next = await server.getLatestLedger();
    expect(next.headerXdr.previousLedgerHash().toString('hex')).toBe(latest.id);
    expect(previousId).not.toBe(latest.id);
  });

  it('answers JSON-RPC errors with the standard codes', async () => {
    const post = async (body: string) => (await fetch(d.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
    expect(await post('{nope')).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'noSuchMethod' }))).toMatchObject({ id: 7, error: { code: -32601 } });
    expect(await post(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'getEvents', params: { filters: [] } }))).toMatchObject({
      id: 8,
      error: { code: -32602, message: 'startLedger must be positive' },
    });
    const batch = (await post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'getHealth' },
        { jsonrpc: '2.0', id: 2, method: 'getNetwork' },
      ]),
    )) as Array<{ id: number; result: unknown }>;
    expect(batch.map((r) => r.id)).toEqual([1, 2]);
  });

  it('serves the contract instance entry and the version info', async () => {
    const server = rpcClient(d);
    const instance = await server.getContractData(d.contractId, xdr.ScVal.scvLedgerKeyContractInstance(), rpc.Durability.Persistent);
    const storage = instance.val.contractData().val().instance().storage() ?? [];
    expect(storage.map((e) => e.key().switch().name)).toEqual(['scvSymbol', 'scvSymbol', 'scvVec', 'scvVec', 'scvVec']);
    const version = await server.getVersionInfo();
    expect(version.protocolVersion).toBe(23);
  });
});
