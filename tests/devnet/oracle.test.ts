import { Account, Address, BASE_FEE, Keypair, nativeToScVal, Operation, rpc, scValToNative, StrKey, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { devnet, rpcClient, T0 } from './helpers.js';

/** The Reflector-style oracle, read the way consumers read it: simulateTransaction through the real SDK. */
describe('devnet price oracle', () => {
  let d: Devnet;
  let server: rpc.Server;
  const usdc = StrKey.encodeContract(Buffer.alloc(32, 7));

  beforeEach(async () => {
    d = await devnet();
    server = rpcClient(d);
  });
  afterEach(() => d.stop());

  const asset = {
    stellar: (c: string) => xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Stellar'), new Address(c).toScVal()]),
    other: (s: string) => xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Other'), xdr.ScVal.scvSymbol(s)]),
  };

  /** Simulates a call from a source account that does not exist, as a read-only consumer would. */
  async function simulate(fn: string, ...args: xdr.ScVal[]): Promise<rpc.Api.SimulateTransactionResponse> {
    const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), '0'), { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
      .addOperation(Operation.invokeContractFunction({ contract: d.oracleId, function: fn, args }))
      .setTimeout(30)
      .build();
    return server.simulateTransaction(tx);
  }

  async function retval(fn: string, ...args: xdr.ScVal[]): Promise<xdr.ScVal> {
    const sim = await simulate(fn, ...args);
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${(sim as rpc.Api.SimulateTransactionErrorResponse).error}`);
    return sim.result!.retval;
  }

  it('has its own contract id and answers decimals, resolution and base with the defaults', async () => {
    expect(StrKey.isValidContract(d.oracleId)).toBe(true);
    expect(d.oracleId).not.toBe(d.contractId);
    expect(d.oracle.contractId).toBe(d.oracleId);
    const decimals = await retval('decimals');
    expect(decimals.switch().name).toBe('scvU32');
    expect(decimals.u32()).toBe(14);
    expect((await retval('resolution')).u32()).toBe(300);
    const base = await retval('base');
    expect(base.toXDR('base64')).toBe(asset.other('USD').toXDR('base64'));
    expect(scValToNative(base)).toEqual(['Other', 'USD']);
  });

  it('serves lastprice as Option<PriceData> once the ledger closes, with the timestamp floored to the resolution', async () => {
    const set = d.oracle.setPrice({ other: 'XLM' }, 12_345_678_901_234n, T0 - 7);
    expect(set).toEqual({ price: 12_345_678_901_234n, timestamp: Math.floor((T0 - 7) / 300) * 300 });
    expect(scValToNative(await retval('lastprice', asset.other('XLM')))).toBeNull(); // not sealed yet
    d.closeLedger();

    const value = await retval('lastprice', asset.other('XLM'));
    // a #[contracttype] struct: an ScMap keyed by sorted field-name symbols, with i128 and u64 values
    const entries = value.map()!;
    expect(entries.map((e) => e.key().sym().toString())).toEqual(['price', 'timestamp']);
    expect(entries.map((e) => e.val().switch().name)).toEqual(['scvI128', 'scvU64']);
    expect(scValToNative(value)).toEqual({ price: 12_345_678_901_234n, timestamp: BigInt(set.timestamp) });
  });

  it('quotes Stellar(Address) assets separately from Other(Symbol) ones, and answers None for unknown assets', async () => {
    d.oracle.setPrice({ stellar: usdc }, 100_000_000_000_000n);
    d.closeLedger();
    expect(scValToNative(await retval('lastprice', asset.stellar(usdc)))).toEqual({ price: 100_000_000_000_000n, timestamp: BigInt(Math.floor(T0 / 300) * 300) });
    const none = await retval('lastprice', asset.other('BTC'));
    expect(none.switch().name).toBe('scvVoid');
    expect(scValToNative(await retval('lastprice', asset.stellar(StrKey.encodeContract(Buffer.alloc(32, 8)))))).toBeNull();
    expect(scValToNative(await retval('assets'))).toEqual([['Stellar', usdc]]);
    expect(scValToNative(await retval('last_timestamp'))).toBe(BigInt(Math.floor(T0 / 300) * 300));
  });

  it('keeps the newest round and refuses future or backwards timestamps', async () => {
    d.oracle.setPrice({ other: 'XLM' }, 1n, T0 - 600);
    d.oracle.setPrice({ other: 'XLM' }, 2n, T0);
    expect(() => d.oracle.setPrice({ other: 'XLM' }, 3n, T0 + 300)).toThrow(/future/);
    expect(() => d.oracle.setPrice({ other: 'XLM' }, 3n, T0 - 600)).toThrow(/before/);
    expect(() => d.oracle.setPrice({ other: 'XLM' }, 0n)).toThrow(/positive/);
    expect(() => d.oracle.setPrice({ other: 'not a symbol!' }, 1n)).toThrow(/symbol/);
    d.closeLedger();
    expect(scValToNative(await retval('lastprice', asset.other('XLM')))).toMatchObject({ price: 2n });
  });

  it('takes decimals, resolution and base from the options and from configure()', async () => {
    const other = await devnet({ oracle: { decimals: 7, resolution: 60, base: { stellar: usdc } } });
    try {
      const sim = async (fn: string) => {
        const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), '0'), { fee: BASE_FEE, networkPassphrase: other.networkPassphrase })
          .addOperation(Operation.invokeContractFunction({ contract: other.oracleId, function: fn, args: [] }))
          .setTimeout(30)
          .build();
        const res = await rpcClient(other).simulateTransaction(tx);
        return rpc.Api.isSimulationSuccess(res) ? scValToNative(res.result!.retval) : undefined;
      };
      expect(await sim('decimals')).toBe(7);
      expect(await sim('resolution')).toBe(60);
      expect(await sim('base')).toEqual(['Stellar', usdc]);
    } finally {
      await other.stop();
    }
    d.oracle.configure({ decimals: 18 });
    expect((await retval('decimals')).u32()).toBe(18);
  });

  it('answers None once the price is maxAgeResolutions old, like current Reflector', async () => {
    d.oracle.configure({ maxAgeResolutions: 2 });
    d.oracle.setPrice({ other: 'XLM' }, 5n);
    d.closeLedger();
    expect(scValToNative(await retval('lastprice', asset.other('XLM')))).toMatchObject({ price: 5n });
    d.contract.advanceTime(600);
    expect(scValToNative(await retval('lastprice', asset.other('XLM')))).toBeNull();
  });

  it('fails like the host on bad arguments and unknown functions', async () => {
    const wrongType = await simulate('lastprice', nativeToScVal('XLM', { type: 'symbol' }));
    expect(rpc.Api.isSimulationError(wrongType) && wrongType.error).toMatch(/^HostError: Error\(Value, UnexpectedType\)/);
    const missing = await simulate('lastprice');
    expect(rpc.Api.isSimulationError(missing)).toBe(true);
    const unknown = await simulate('set_price', asset.other('XLM'));
    expect(rpc.Api.isSimulationError(unknown) && unknown.error).toMatch(/non-existent contract function set_price/);
  });

  it('sets prices and settings over the control API', async () => {
    const post = async (route: string, body: unknown) => {
      const res = await fetch(`${d.controlUrl}/${route}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const info = await post('info', {});
    expect(info.body.oracleId).toBe(d.oracleId);
    const set = await post('oracle/price', { asset: { other: 'XLM' }, price: '12000000000000', timestamp: T0 - 1 });
    expect(set).toEqual({ status: 200, body: { oracleId: d.oracleId, price: '12000000000000', timestamp: Math.floor((T0 - 1) / 300) * 300 } });
    await post('close', {});
    expect(scValToNative(await retval('lastprice', asset.other('XLM')))).toMatchObject({ price: 12_000_000_000_000n });

    expect((await post('oracle/price', { asset: { other: 'XLM' }, price: '1.5' })).status).toBe(400);
    expect((await post('oracle/price', { asset: { ticker: 'XLM' }, price: '1' })).status).toBe(400);
    const config = await post('oracle/config', { decimals: 7, resolution: 60 });
    expect(config.body.settings).toMatchObject({ decimals: 7, resolution: 60, base: { other: 'USD' } });
    expect((await post('oracle/config', { decimals: 99 })).status).toBe(400);
  });
});
