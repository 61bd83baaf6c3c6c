import { Contract, Keypair, nativeToScVal, rpc, scValToNative, TransactionBuilder, BASE_FEE } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError, type Devnet } from '../../scripts/devnet/index.js';
import { borrower, DAY, devnet, openLine, readAllEvents, rpcClient, T0, USDC } from './helpers.js';

/** The Credit contract model's rules (reference A.5/A.6): check order, error codes, allocations, totals. */
describe('devnet Credit contract model', () => {
  let d: Devnet;
  let who: string;
  beforeEach(async () => {
    d = await devnet();
    who = borrower();
  });
  afterEach(() => d.stop());

  const code = (fn: () => unknown): number | undefined => {
    try {
      fn();
    } catch (error) {
      if (error instanceof ContractError) return error.code;
      throw error;
    }
    return undefined;
  };
  const draw = (amount: bigint, b = who) => () => d.contract.invoke('draw_credit', { borrower: b, amount });
  const admin = () => d.adminKeypair.publicKey();

  it('follows the draw check order of A.6.1', () => {
    openLine(d, who, 100n * USDC);
    d.contract.invoke('set_protocol_paused', { paused: true });
    expect(code(draw(0n))).toBe(18); // paused wins over InvalidAmount
    d.contract.invoke('set_protocol_paused', { paused: false });
    d.contract.invoke('freeze_draws', { reason: 1 });
    expect(code(draw(0n))).toBe(5); // InvalidAmount before DrawsFrozen
    expect(code(draw(1n))).toBe(19);
    d.contract.invoke('unfreeze_draws');
    d.contract.invoke('freeze_credit_line', { borrower: who, reason: 2 });
    expect(code(draw(1n))).toBe(46);
    d.contract.invoke('unfreeze_credit_line', { borrower: who });
    d.contract.invoke('set_max_draw_amount', { amount: 10n * USDC });
    expect(code(draw(11n * USDC, borrower()))).toBe(17); // max-draw check comes before the line lookup
    expect(code(draw(1n, borrower()))).toBe(3);
    expect(code(draw(10n * USDC))).toBeUndefined();
    d.contract.invoke('set_max_draw_amount', { amount: 0n });
    expect(code(draw(91n * USDC))).toBe(6);
    d.contract.invoke('self_suspend_credit_line', { borrower: who });
    expect(code(draw(1n))).toBe(20);
    d.contract.invoke('default_credit_line', { borrower: who });
    expect(code(draw(1n))).toBe(21);
    d.contract.invoke('close_credit_line', { borrower: who, closer: admin() });
    expect(code(draw(1n))).toBe(4);
  });

  it('treats the devnet as unsecured by default, and enforces a configured collateral ratio', () => {
    openLine(d, who, 100n * USDC);
    expect(code(draw(50n * USDC))).toBeUndefined();
    d.contract.invoke('set_min_collateral_ratio_bps', { ratio_bps: 15_000 });
    expect(code(draw(10n * USDC))).toBe(35);
    d.contract.invoke('deposit_collateral', { borrower: who, amount: 90n * USDC });
    expect(code(draw(10n * USDC))).toBeUndefined(); // 90 ≥ 60 × 1.5
    expect(code(() => d.contract.invoke('withdraw_collateral', { borrower: who, amount: 1n * USDC }))).toBe(35);
  });

  it('leaves no trace when a call fails after accruing', async () => {
    openLine(d, who, 100n * USDC, 1_500);
    d.contract.invoke('draw_credit', { borrower: who, amount: 100n * USDC });
    const ledger = d.closeLedger();
    d.contract.setTime(T0 + 30 * DAY);
    expect(code(draw(1n))).toBe(6); // accrued first, then over the limit: the whole call reverts
    expect(d.contract.creditLine(who)).toMatchObject({ utilized_amount: 100n * USDC, last_accrual_ts: BigInt(T0) });
    d.closeLedger();
    expect((await readAllEvents(rpcClient(d), [], ledger + 1)).events).toEqual([]);
  });

  it('enforces lifecycle rules with the reference error codes', () => {
    openLine(d, who, 100n * USDC);
    expect(code(() => openLine(d, who))).toBe(14); // an Active line cannot be reopened
    expect(code(() => d.contract.invoke('open_credit_line', { borrower: borrower(), credit_limit: 0n, interest_rate_bps: 1, risk_score: 1 }))).toBe(5);
    expect(code(() => d.contract.invoke('open_credit_line', { borrower: borrower(), credit_limit: 1n, interest_rate_bps: 10_001, risk_score: 1 }))).toBe(8);
    expect(code(() => d.contract.invoke('open_credit_line', { borrower: borrower(), credit_limit: 1n, interest_rate_bps: 1, risk_score: 101 }))).toBe(9);
    d.contract.invoke('draw_credit', { borrower: who, amount: 5n });
    expect(code(() => d.contract.invoke('close_credit_line', { borrower: who, closer: who }))).toBe(10);
    expect(code(() => d.contract.invoke('close_credit_line', { borrower: who, closer: borrower() }))).toBe(1);
    expect(code(() => d.contract.invoke('reinstate_credit_line', { borrower: who, target_status: 'Active' }))).toBe(21);
    expect(code(() => d.contract.invoke('reinstate_credit_line', { borrower: who, target_status: 'Suspended' }))).toBe(5);
    d.contract.invoke('suspend_credit_line', { borrower: who });
    expect(() => d.contract.invoke('suspend_credit_line', { borrower: who })).toThrow(/Only active credit lines can be suspended/);
    d.contract.invoke('default_credit_line', { borrower: who });
    d.contract.invoke('default_credit_line', { borrower: who }); // already defaulted: a no-op
    d.contract.invoke('close_credit_line', { borrower: who, closer: admin() });
    d.contract.invoke('close_credit_line', { borrower: who, closer: admin() }); // already closed: a no-op
    expect(code(() => d.contract.invoke('repay_credit', { borrower: who, amount: 1n }))).toBe(4);
    expect(code(() => d.contract.invoke('default_credit_line', { borrower: who }))).toBe(4);
    // reopen resets utilisation, keeps the stable id, and TotalUtilized follows
    openLine(d, who, 200n * USDC);
    expect(d.contract.creditLine(who)).toMatchObject({ utilized_amount: 0n, status: 0, credit_limit: 200n * USDC });
    expect(d.contract.state().idByBorrower.get(who)).toBe(0);
    expect(d.contract.state().totalUtilized).toBe(0n);
  });

  it('allocates repayments interest-first and charges the protocol fee on the interest part', async () => {
    d.contract.invoke('set_protocol_fee_bps', { fee_bps: 1_000 });
    d.contract.invoke('set_treasury_fee_share_bps', { share_bps: 7_000 });
    openLine(d, who, 1_000n * USDC, 1_500);
    d.contract.invoke('draw_credit', { borrower: who, amount: 10_000_000_000n });
    d.contract.setTime(T0 + 30 * DAY);
    d.contract.invoke('repay_credit', { borrower: who, amount: 100_000_000n }); // less than the 123,203,285 of interest
    const ledger = d.closeLedger();
    const { events } = await readAllEvents(rpcClient(d), [], ledger);
    expect(events.map((e) => e.name)).toEqual(['opened', 'drawn', 'borrow_lc', 'accrue', 'fee_accrd', 'accrue', 'repay', 'borrow_lc']);
    expect(events[4]!.payload).toMatchObject({ fee_amount: 10_000_000n, treasury_amount: 7_000_000n, bounty_amount: 3_000_000n });
    expect(d.contract.creditLine(who)).toMatchObject({
      accrued_interest: 23_203_285n,
      utilized_amount: 10_000_000_000n + 23_203_285n,
    });
    expect(d.contract.state().totalUtilized).toBe(10_000_000_000n + 23_203_285n);
  });

  it('forgives debt and settles a defaulted line to Closed', async () => {
    openLine(d, who, 1_000n * USDC, 0);
    d.contract.invoke('draw_credit', { borrower: who, amount: 100n * USDC });
    d.contract.invoke('forgive_debt', { borrower: who, amount: 30n * USDC });
    expect(code(() => d.contract.invoke('settle_default_liquidation', { borrower: who, recovered_amount: 1n, settlement_id: 's1', close_factor_bps: 10_000 }))).toBe(21);
    d.contract.invoke('default_credit_line', { borrower: who });
    d.contract.invoke('settle_default_liquidation', { borrower: who, recovered_amount: 70n * USDC, settlement_id: 's1', close_factor_bps: 10_000 });
    expect(code(() => d.contract.invoke('settle_default_liquidation', { borrower: who, recovered_amount: 1n, settlement_id: 's1', close_factor_bps: 10_000 }))).toBe(14);
    const ledger = d.closeLedger();
    const { events } = await readAllEvents(rpcClient(d), [], ledger);
    expect(events.slice(3).map((e) => e.name)).toEqual(['debt_frgv', 'borrow_lc', 'defaulted', 'liq_req', 'closed', 'liq_setl']);
    expect(events[3]!.payload).toEqual({ borrower: who, amount_forgiven: 30n * USDC, remaining_accrued_interest: 0n, new_utilized_amount: 70n * USDC });
    expect(events[4]!.payload.phase).toEqual(['DebtForgiven']);
    expect(events[8]!.payload).toEqual({
      borrower: who,
      settlement_id: 's1',
      recovered_amount: 70n * USDC,
      remaining_utilized_amount: 0n,
      status: 3,
      close_factor_bps: 10_000,
    });
  });

  it('answers the global views reconciliation uses through simulateTransaction', async () => {
    const other = borrower();
    openLine(d, who);
    openLine(d, other);
    d.contract.invoke('draw_credit', { borrower: who, amount: 7n });
    d.contract.invoke('draw_credit', { borrower: other, amount: 5n });
    d.closeLedger();
    const server = rpcClient(d);
    const source = Keypair.random();
    d.seedHorizon.account({ id: source.publicKey() });
    const view = async (fn: string) => {
      const tx = new TransactionBuilder(await server.getAccount(source.publicKey()), { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
        .addOperation(new Contract(d.contractId).call(fn))
        .setTimeout(60)
        .build();
      const sim = await server.simulateTransaction(tx);
      if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error ?? 'failed');
      return scValToNative(sim.result!.retval) as unknown;
    };
    expect(await view('get_total_utilized')).toBe(12n);
    expect(await view('get_protocol_summary')).toEqual({ count: 2, total_utilized: 12n, total_collateral: 0n, treasury_balance: 0n, bounty_balance: 0n });
    expect(await view('get_contract_version')).toEqual([1, 0, 0]);
    // drift injected without touching TotalUtilized shows up as a checksum mismatch
    d.contract.tamper(who, { utilized_amount: 9n });
    const tx = new TransactionBuilder(await server.getAccount(source.publicKey()), { fee: BASE_FEE, networkPassphrase: d.networkPassphrase })
      .addOperation(new Contract(d.contractId).call('get_credit_line', nativeToScVal(who, { type: 'address' })))
      .setTimeout(60)
      .build();
    const sim = await server.simulateTransaction(tx);
    expect(rpc.Api.isSimulationSuccess(sim) && scValToNative(sim.result!.retval)).toMatchObject({ utilized_amount: 9n });
    expect(await view('get_total_utilized')).toBe(12n);
  });
});
