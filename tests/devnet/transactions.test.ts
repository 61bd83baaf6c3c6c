import {
  Account,
  authorizeEntry,
  BASE_FEE,
  Contract,
  FeeBumpTransaction,
  Keypair,
  nativeToScVal,
  rpc,
  scValToNative,
  TransactionBuilder,
  xdr,
  type Transaction,
} from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { devnet, openLine, readAllEvents, rpcClient, T0, USDC } from './helpers.js';

/** simulateTransaction, prepare → sign → sendTransaction → getTransaction, with the real SDK end to end. */
describe('devnet transactions', () => {
  let d: Devnet;
  let server: rpc.Server;
  let borrowerKey: Keypair;
  /** A funded key that pays for other people's transactions with fee bumps. */
  let feeKey: Keypair;

  beforeEach(async () => {
    d = await devnet();
    server = rpcClient(d);
    borrowerKey = Keypair.random();
    d.seedHorizon.account({ id: borrowerKey.publicKey() });
    feeKey = Keypair.random();
    d.seedHorizon.account({ id: feeKey.publicKey() });
  });
  afterEach(() => d.stop());

  const addr = (g: string) => nativeToScVal(g, { type: 'address' });
  const i128 = (n: bigint) => nativeToScVal(n, { type: 'i128' });

  async function build(source: string, fn: string, ...args: xdr.ScVal[]): Promise<Transaction> {
    const account = await server.getAccount(source);
    return new TransactionBuilder(account, { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
      .addOperation(new Contract(d.contractId).call(fn, ...args))
      .setTimeout(300)
      .build();
  }

  /** A prepared draw_credit signed by the borrower (its source), ready to send or to wrap in a fee bump. */
  async function signedDraw(amount: bigint): Promise<Transaction> {
    const tx = await server.prepareTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(amount)));
    tx.sign(borrowerKey);
    return tx;
  }

  /** Wraps `inner` in a fee bump bidding `baseFee` per operation, paid (and signed) by the fee key. */
  function bump(inner: Transaction, baseFee: string = BASE_FEE): FeeBumpTransaction {
    const feeBump = TransactionBuilder.buildFeeBumpTransaction(feeKey, baseFee, inner, d.networkPassphrase);
    feeBump.sign(feeKey);
    return feeBump;
  }

  const resourceFeeOf = (tx: Transaction): bigint => BigInt(tx.toEnvelope().v1().tx().ext().sorobanData().resourceFee().toString());
  const hex = (tx: Transaction | FeeBumpTransaction): string => tx.hash().toString('hex');

  it('simulates get_credit_line and returns the stored CreditLineData', async () => {
    openLine(d, borrowerKey.publicKey(), 2_000n * USDC, 900, 25);
    d.closeLedger();
    const sim = await server.simulateTransaction(await build(borrowerKey.publicKey(), 'get_credit_line', addr(borrowerKey.publicKey())));
    expect(rpc.Api.isSimulationSuccess(sim)).toBe(true);
    if (!rpc.Api.isSimulationSuccess(sim)) return;
    expect(scValToNative(sim.result!.retval)).toEqual({
      borrower: borrowerKey.publicKey(),
      credit_limit: 2_000n * USDC,
      utilized_amount: 0n,
      interest_rate_bps: 900,
      risk_score: 25,
      status: 0,
      last_rate_update_ts: 0n,
      accrued_interest: 0n,
      last_accrual_ts: BigInt(T0),
      suspension_ts: 0n,
    });
    expect(sim.result!.auth).toEqual([]);
    expect(Number(sim.minResourceFee)).toBeGreaterThan(0);
    expect(sim.transactionData.build().resources().footprint().readOnly().length).toBeGreaterThan(0);
    // unknown borrower: Option::None
    const none = await server.simulateTransaction(await build(borrowerKey.publicKey(), 'get_credit_line', addr(Keypair.random().publicKey())));
    expect(rpc.Api.isSimulationSuccess(none) && scValToNative(none.result!.retval)).toBeNull();
  });

  it('reads only closed state: a line opened in the open ledger is invisible until closeLedger', async () => {
    openLine(d, borrowerKey.publicKey());
    const tx = await build(borrowerKey.publicKey(), 'get_credit_line', addr(borrowerKey.publicKey()));
    const before = await server.simulateTransaction(tx);
    expect(rpc.Api.isSimulationSuccess(before) && scValToNative(before.result!.retval)).toBeNull();
    d.closeLedger();
    const after = await server.simulateTransaction(tx);
    expect(rpc.Api.isSimulationSuccess(after) && scValToNative(after.result!.retval)).toMatchObject({ status: 0 });
  });

  it('pages enumerate_credit_lines with an inclusive cursor and skip_closed', async () => {
    const lines = Array.from({ length: 5 }, () => Keypair.random().publicKey());
    for (const b of lines) openLine(d, b);
    d.contract.invoke('close_credit_line', { borrower: lines[1], closer: lines[1] });
    d.closeLedger();
    const call = async (cursor: number, limit: number, skipClosed: boolean) => {
      const sim = await server.simulateTransaction(
        await build(
          borrowerKey.publicKey(),
          'enumerate_credit_lines',
          nativeToScVal(cursor, { type: 'u32' }),
          nativeToScVal(limit, { type: 'u32' }),
          nativeToScVal(skipClosed),
        ),
      );
      if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error ?? 'simulation failed');
      return scValToNative(sim.result!.retval) as [Array<{ borrower: string; status: number }>, number | null];
    };
    const [first, next] = await call(0, 2, false);
    expect(first.map((l) => l.borrower)).toEqual(lines.slice(0, 2));
    expect(next).toBe(2);
    const [rest, end] = await call(2, 10, false);
    expect(rest.map((l) => l.borrower)).toEqual(lines.slice(2));
    expect(end).toBeNull();
    const [open] = await call(0, 10, true);
    expect(open.map((l) => l.borrower)).toEqual([lines[0], ...lines.slice(2)]);
    const count = await server.simulateTransaction(await build(borrowerKey.publicKey(), 'get_credit_line_count'));
    expect(rpc.Api.isSimulationSuccess(count) && scValToNative(count.result!.retval)).toBe(5);
  });

  it('prepares, signs, sends and confirms a draw; events and state follow', async () => {
    openLine(d, borrowerKey.publicKey(), 1_000n * USDC);
    d.closeLedger();
    const tx = await server.prepareTransaction(
      await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(300n * USDC)),
    );
    tx.sign(borrowerKey);
    const sent = await server.sendTransaction(tx);
    expect(sent.status).toBe('PENDING');
    expect(sent.hash).toBe(tx.hash().toString('hex'));
    expect((await server.getTransaction(sent.hash)).status).toBe('NOT_FOUND');
    expect((await server.sendTransaction(tx)).status).toBe('DUPLICATE');

    d.contract.advanceTime(5);
    const ledger = d.closeLedger();
    const result = await server.getTransaction(sent.hash);
    expect(result.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    if (result.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(result.ledger).toBe(ledger);
    expect(result.applicationOrder).toBe(1);
    expect(result.resultXdr.result().switch().name).toBe('txSuccess');
    expect(result.returnValue?.switch().name).toBe('scvVoid');
    expect(result.events.contractEventsXdr[0]).toHaveLength(2);

    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], ledger);
    expect(events.map((e) => [e.name, e.txHash])).toEqual([
      ['drawn', sent.hash],
      ['borrow_lc', sent.hash],
    ]);
    expect(events[0]!.payload).toEqual({
      borrower: borrowerKey.publicKey(),
      amount: 300n * USDC,
      new_utilized_amount: 300n * USDC,
      timestamp: BigInt(T0 + 5), // applied at the ledger's close time
    });
    const entry = await server.getContractData(d.contractId, addr(borrowerKey.publicKey()), rpc.Durability.Persistent);
    expect(scValToNative(entry.val.contractData().val())).toMatchObject({ utilized_amount: 300n * USDC });
    expect(entry.lastModifiedLedgerSeq).toBe(ledger);
    // the sequence number advanced
    expect((await server.getAccount(borrowerKey.publicKey())).sequenceNumber()).toBe(tx.sequence);
  });

  it('simulates a draw over the limit to Error(Contract, #6) and prepareTransaction refuses it', async () => {
    openLine(d, borrowerKey.publicKey(), 100n * USDC);
    d.closeLedger();
    const tx = await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(101n * USDC));
    const sim = await server.simulateTransaction(tx);
    expect(rpc.Api.isSimulationError(sim)).toBe(true);
    if (!rpc.Api.isSimulationError(sim)) return;
    expect(sim.error).toMatch(/^HostError: Error\(Contract, #6\)/);
    await expect(server.prepareTransaction(tx)).rejects.toThrow(/Error\(Contract, #6\)/);
    const missing = await server.simulateTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(Keypair.random().publicKey()), i128(1n)));
    expect(rpc.Api.isSimulationError(missing) && missing.error).toMatch(/Error\(Contract, #3\)/);
    const typo = await server.simulateTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey())));
    expect(rpc.Api.isSimulationError(typo) && typo.error).toMatch(/Error\(Value, UnexpectedType\)/);
  });

  it('records a transaction that fails at apply as FAILED with a trapped result and no events', async () => {
    openLine(d, borrowerKey.publicKey(), 100n * USDC);
    d.closeLedger();
    const tx = await server.prepareTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(80n * USDC)));
    tx.sign(borrowerKey);
    d.contract.invoke('draw_credit', { borrower: borrowerKey.publicKey(), amount: 50n * USDC }); // state moves first
    expect((await server.sendTransaction(tx)).status).toBe('PENDING');
    const ledger = d.closeLedger();
    const result = await server.getTransaction(tx.hash().toString('hex'));
    expect(result.status).toBe(rpc.Api.GetTransactionStatus.FAILED);
    if (result.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(result.resultXdr.result().switch().name).toBe('txFailed');
    const opResult = result.resultXdr.result().results()[0]!.tr().invokeHostFunctionResult();
    expect(opResult.switch().name).toBe('invokeHostFunctionTrapped');
    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], ledger);
    expect(events.map((e) => e.name)).toEqual(['drawn', 'borrow_lc']); // only the direct draw
    expect(events.every((e) => e.txHash !== tx.hash().toString('hex'))).toBe(true);
    // the failed transaction still consumed its sequence number
    expect((await server.getAccount(borrowerKey.publicKey())).sequenceNumber()).toBe(tx.sequence);
  });

  it('admits admin calls signed by the admin, and fails them when only someone else signed', async () => {
    const admin = d.adminKeypair;
    const adminTx = await server.prepareTransaction(
      await build(
        admin.publicKey(),
        'open_credit_line',
        addr(borrowerKey.publicKey()),
        i128(500n * USDC),
        nativeToScVal(1_200, { type: 'u32' }),
        nativeToScVal(30, { type: 'u32' }),
      ),
    );
    adminTx.sign(admin);
    expect((await server.sendTransaction(adminTx)).status).toBe('PENDING');
    d.closeLedger();
    expect((await server.getTransaction(adminTx.hash().toString('hex'))).status).toBe('SUCCESS');

    const intruder = Keypair.random();
    d.seedHorizon.account({ id: intruder.publicKey() });
    const badTx = await server.prepareTransaction(
      await build(intruder.publicKey(), 'suspend_credit_line', addr(borrowerKey.publicKey())),
    );
    badTx.sign(intruder);
    expect((await server.sendTransaction(badTx)).status).toBe('PENDING');
    d.closeLedger();
    const failed = await server.getTransaction(badTx.hash().toString('hex'));
    expect(failed.status).toBe('FAILED');
    expect(d.contract.creditLine(borrowerKey.publicKey())).toMatchObject({ status: 0, credit_limit: 500n * USDC });
  });

  it('verifies address-credential auth entries signed with authorizeEntry', async () => {
    openLine(d, borrowerKey.publicKey());
    d.closeLedger();
    const relayer = Keypair.random();
    d.seedHorizon.account({ id: relayer.publicKey() });
    const raw = await build(relayer.publicKey(), 'suspend_credit_line', addr(borrowerKey.publicKey()));
    const sim = await server.simulateTransaction(raw);
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error('simulation failed');
    const [entry] = sim.result!.auth;
    expect(entry!.credentials().switch().name).toBe('sorobanCredentialsAddress');
    const latest = (await server.getLatestLedger()).sequence;
    const signed = await authorizeEntry(entry!, d.adminKeypair, latest + 100, d.networkPassphrase);
    const tx = rpc.assembleTransaction(raw, { ...sim, result: { ...sim.result!, auth: [signed] } }).build();
    tx.sign(relayer);
    expect((await server.sendTransaction(tx)).status).toBe('PENDING');
    d.closeLedger();
    expect((await server.getTransaction(tx.hash().toString('hex'))).status).toBe('SUCCESS');
    expect(d.contract.creditLine(borrowerKey.publicKey())!.status).toBe(1);
  });

  it('rejects bad sequence numbers, missing signatures and unprepared transactions with ERROR results', async () => {
    openLine(d, borrowerKey.publicKey());
    d.closeLedger();
    const stale = new Account(borrowerKey.publicKey(), '5'); // not the account's sequence
    const badSeq = new TransactionBuilder(stale, { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
      .addOperation(new Contract(d.contractId).call('draw_credit', addr(borrowerKey.publicKey()), i128(1n)))
      .setTimeout(300)
      .build();
    const prepared = await server.prepareTransaction(badSeq);
    prepared.sign(borrowerKey);
    const sent = await server.sendTransaction(prepared);
    expect(sent.status).toBe('ERROR');
    expect(sent.errorResult?.result().switch().name).toBe('txBadSeq');

    const unsigned = await server.prepareTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(1n)));
    expect((await server.sendTransaction(unsigned)).errorResult?.result().switch().name).toBe('txBadAuth');

    const unprepared = await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(1n));
    unprepared.sign(borrowerKey);
    expect((await server.sendTransaction(unprepared)).errorResult?.result().switch().name).toBe('txSorobanInvalid');
  });

  it('admits a borrower-signed draw in a fee bump paid by another key; the outer hash confirms it', async () => {
    openLine(d, borrowerKey.publicKey(), 1_000n * USDC);
    d.closeLedger();
    const feeSourceSequence = (await server.getAccount(feeKey.publicKey())).sequenceNumber();
    const inner = await signedDraw(300n * USDC);
    const feeBump = bump(inner);
    // the SDK bids the base fee for the inner operation and the bump itself, on top of the resource fee
    expect(BigInt(feeBump.fee)).toBe(resourceFeeOf(inner) + 200n);
    const sent = await server.sendTransaction(feeBump);
    expect(sent.status).toBe('PENDING');
    expect(sent.hash).toBe(hex(feeBump));
    expect(sent.hash).not.toBe(hex(inner));
    expect((await server.sendTransaction(feeBump)).status).toBe('DUPLICATE');
    // the inner transaction sent on its own is already queued inside the bump
    expect((await server.sendTransaction(inner)).status).toBe('DUPLICATE');

    const ledger = d.closeLedger();
    const result = await server.getTransaction(sent.hash);
    expect(result.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    if (result.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(result.feeBump).toBe(true);
    expect(result.ledger).toBe(ledger);
    expect(result.envelopeXdr.switch().name).toBe('envelopeTypeTxFeeBump');
    expect(result.resultXdr.feeCharged().toString()).toBe(feeBump.fee);
    const outcome = result.resultXdr.result();
    expect(outcome.switch().name).toBe('txFeeBumpInnerSuccess');
    expect(outcome.innerResultPair().transactionHash().toString('hex')).toBe(hex(inner));
    expect(outcome.innerResultPair().result().result().switch().name).toBe('txSuccess');
    expect(result.returnValue?.switch().name).toBe('scvVoid');
    expect(result.events.contractEventsXdr[0]).toHaveLength(2);

    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], ledger);
    expect(events.map((e) => [e.name, e.txHash])).toEqual([
      ['drawn', sent.hash],
      ['borrow_lc', sent.hash],
    ]);
    expect(d.contract.creditLine(borrowerKey.publicKey(), 'committed')).toMatchObject({ utilized_amount: 300n * USDC });
    // the inner transaction's sequence is consumed; the fee source's is not
    expect((await server.getAccount(borrowerKey.publicKey())).sequenceNumber()).toBe(inner.sequence);
    expect((await server.getAccount(feeKey.publicKey())).sequenceNumber()).toBe(feeSourceSequence);
  });

  it("refuses a fee bump without the fee source's signature, and one whose inner transaction is not the source's", async () => {
    openLine(d, borrowerKey.publicKey());
    d.closeLedger();
    const inner = await signedDraw(1n);

    const unsigned = TransactionBuilder.buildFeeBumpTransaction(feeKey, BASE_FEE, inner, d.networkPassphrase);
    const noPayer = await server.sendTransaction(unsigned);
    expect(noPayer.status).toBe('ERROR');
    expect(noPayer.hash).toBe(hex(unsigned));
    expect(noPayer.errorResult?.result().switch().name).toBe('txBadAuth');
    unsigned.sign(borrowerKey); // the borrower's signature does not pay for the fee key
    expect((await server.sendTransaction(unsigned)).errorResult?.result().switch().name).toBe('txBadAuth');

    // Inner failures come back as stellar-core reports them: txFeeBumpInnerFailed around the inner result.
    const innerOf = (sent: rpc.Api.SendTransactionResponse) => {
      const result = sent.errorResult!.result();
      expect(result.switch().name).toBe('txFeeBumpInnerFailed');
      return result.innerResultPair();
    };
    const draw = () => build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(1n));
    const unsignedInner = await server.prepareTransaction(await draw());
    const noBorrower = await server.sendTransaction(bump(unsignedInner));
    expect(noBorrower.status).toBe('ERROR');
    expect(innerOf(noBorrower).result().result().switch().name).toBe('txBadAuth');
    expect(innerOf(noBorrower).transactionHash().toString('hex')).toBe(hex(unsignedInner));
    const payerSignedInner = await server.prepareTransaction(await draw());
    payerSignedInner.sign(feeKey);
    expect(innerOf(await server.sendTransaction(bump(payerSignedInner))).result().result().switch().name).toBe('txBadAuth');

    const stale = new TransactionBuilder(new Account(borrowerKey.publicKey(), '5'), { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
      .addOperation(new Contract(d.contractId).call('draw_credit', addr(borrowerKey.publicKey()), i128(1n)))
      .setTimeout(300)
      .build();
    const badSeq = await server.prepareTransaction(stale);
    badSeq.sign(borrowerKey);
    expect(innerOf(await server.sendTransaction(bump(badSeq))).result().result().switch().name).toBe('txBadSeq');

    // nothing was queued on the way: the properly signed bump still gets in
    expect((await server.sendTransaction(bump(inner))).status).toBe('PENDING');
  });

  it('keeps one envelope per sequence: only a fee bump bidding ten times more replaces a queued transaction', async () => {
    openLine(d, borrowerKey.publicKey(), 1_000n * USDC);
    d.closeLedger();
    const stuck = await signedDraw(5n * USDC);
    expect((await server.sendTransaction(stuck)).status).toBe('PENDING');
    const rival = await signedDraw(6n * USDC); // same sequence, different transaction
    expect((await server.sendTransaction(rival)).errorResult?.result().switch().name).toBe('txBadSeq');

    // The queued bid is 100 over 1 operation; a bump counts 2 operations, so it must bid 2,000.
    const cheap = await server.sendTransaction(bump(stuck, '999'));
    expect(cheap.status).toBe('ERROR');
    expect(cheap.errorResult?.result().switch().name).toBe('txInsufficientFee');
    expect(cheap.errorResult?.feeCharged().toString()).toBe(String(resourceFeeOf(stuck) + 2_000n));
    const replacement = bump(stuck, '1000');
    expect((await server.sendTransaction(replacement)).status).toBe('PENDING');

    d.closeLedger();
    const result = await server.getTransaction(hex(replacement));
    expect(result.status).toBe('SUCCESS');
    expect(result.status === 'SUCCESS' && result.feeBump).toBe(true);
    expect((await server.getTransaction(hex(stuck))).status).toBe('NOT_FOUND'); // replaced, never applied
    expect(d.contract.creditLine(borrowerKey.publicKey(), 'committed')).toMatchObject({ utilized_amount: 5n * USDC });
    expect((await server.getAccount(borrowerKey.publicKey())).sequenceNumber()).toBe(stuck.sequence);
  });

  it('surge pricing: refuses bids below minInclusionFee, reports it in fee stats, and a fee bump at that rate gets in', async () => {
    openLine(d, borrowerKey.publicKey(), 1_000n * USDC);
    d.closeLedger();
    d.faults.minInclusionFee = 1_000;
    const stats = await server.getFeeStats();
    expect(stats.sorobanInclusionFee).toMatchObject({ min: '1000', p50: '1000', p90: '1000', max: '1000' });
    expect(stats.inclusionFee.p50).toBe('100'); // classic transactions are not surging

    const inner = await signedDraw(7n * USDC); // prepared as usual: the SDK bids BASE_FEE (100)
    const refused = await server.sendTransaction(inner);
    expect(refused.status).toBe('ERROR');
    expect(refused.hash).toBe(hex(inner));
    expect(refused.errorResult?.result().switch().name).toBe('txInsufficientFee');
    // feeCharged carries the least total fee that would be admitted
    expect(refused.errorResult?.feeCharged().toString()).toBe(String(resourceFeeOf(inner) + 1_000n));
    const low = await server.sendTransaction(bump(inner, '400')); // 800 over both operations
    expect(low.errorResult?.result().switch().name).toBe('txInsufficientFee');

    // Resubmission: the same signed transaction, fee-bumped at the rate fee stats report.
    const resubmitted = bump(inner, stats.sorobanInclusionFee.p50);
    const sent = await server.sendTransaction(resubmitted);
    expect(sent.status).toBe('PENDING');
    d.closeLedger();
    const result = await server.getTransaction(sent.hash);
    expect(result.status).toBe('SUCCESS');
    expect(result.status === 'SUCCESS' && result.feeBump).toBe(true);
    expect(d.contract.creditLine(borrowerKey.publicKey(), 'committed')).toMatchObject({ utilized_amount: 7n * USDC });

    d.faults.minInclusionFee = 0;
    expect((await server.getFeeStats()).sorobanInclusionFee.p50).toBe('100');
    expect((await server.sendTransaction(await signedDraw(1n))).status).toBe('PENDING');
  });

  it('answers TRY_AGAIN_LATER while the fault is on, without queueing', async () => {
    openLine(d, borrowerKey.publicKey());
    d.closeLedger();
    const tx = await server.prepareTransaction(await build(borrowerKey.publicKey(), 'draw_credit', addr(borrowerKey.publicKey()), i128(1n)));
    tx.sign(borrowerKey);
    d.faults.tryAgainLater = true;
    const busy = await server.sendTransaction(tx);
    expect(busy.status).toBe('TRY_AGAIN_LATER');
    expect(busy.hash).toBe(tx.hash().toString('hex'));
    d.faults.clear();
    expect((await server.sendTransaction(tx)).status).toBe('PENDING');
  });

  it('gives getTransaction answers for the txHash of events from direct invokes too', async () => {
    openLine(d, borrowerKey.publicKey());
    d.closeLedger();
    const [opened] = (await server.getEvents({ filters: [], startLedger: 1 })).events;
    const tx = await server.getTransaction(opened!.txHash);
    expect(tx.status).toBe('SUCCESS');
  });
});
