import { Keypair, nativeToScVal, StrKey, xdr } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Devnet } from '../../scripts/devnet/index.js';
import { borrower, DAY, devnet, openLine, readAllEvents, rpcClient, sym, T0, USDC } from './helpers.js';

/** getEvents: paging, filters, cursors, retention, and the Credit contract's event payloads and sequences. */
describe('devnet getEvents', () => {
  let d: Devnet;
  afterEach(() => d?.stop());

  it('pages across several pages and ledgers, returning each event once, in id order', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who);
    d.closeLedger();
    for (let i = 1; i <= 6; i++) {
      d.contract.invoke('draw_credit', { borrower: who, amount: BigInt(i) * USDC }); // drawn + borrow_lc
      if (i % 2 === 0) d.closeLedger();
    }
    const filters = [{ type: 'contract' as const, contractIds: [d.contractId] }];
    const { events, pages } = await readAllEvents(server, filters, 1, 4);
    expect(events).toHaveLength(1 + 6 * 2);
    expect(pages).toBeGreaterThanOrEqual(4);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect([...events.map((e) => e.id)].sort()).toEqual(events.map((e) => e.id));
    expect(events.map((e) => e.name)).toEqual(['opened', ...Array.from({ length: 6 }, () => ['drawn', 'borrow_lc']).flat()]);
    // ids are TOIDs: 19 digits of (ledger << 32 | tx << 12 | op), a dash, 10 digits of event index
    for (const e of events) {
      expect(e.id).toMatch(/^\d{19}-\d{10}$/);
      const toid = BigInt(e.id.split('-')[0]!);
      expect(Number(toid >> 32n)).toBe(e.ledger);
      expect(Number((toid >> 12n) & 0xfffffn)).toBe(e.transactionIndex);
      expect(e.txHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('keeps a cursor usable on empty pages and resumes with only the new events', async () => {
    d = await devnet();
    const server = rpcClient(d);
    d.closeLedger();
    d.closeLedger();
    const empty = await server.getEvents({ filters: [], startLedger: 2, limit: 10 });
    expect(empty.events).toEqual([]);
    expect(empty.cursor).toMatch(/^\d{19}-\d{10}$/);
    expect(empty.latestLedger).toBe(3);
    // resent at the tip: still valid, still empty
    const again = await server.getEvents({ filters: [], cursor: empty.cursor, limit: 10 });
    expect(again.events).toEqual([]);
    const who = borrower();
    openLine(d, who);
    d.closeLedger();
    const resumed = await server.getEvents({ filters: [], cursor: again.cursor, limit: 10 });
    expect(resumed.events.map((e) => e.ledger)).toEqual([4]);
    expect(resumed.latestLedgerCloseTime).toBe(String(T0));
    expect(resumed.oldestLedger).toBe(1);
  });

  it('applies topic filters with exact segments, "*" and a trailing "**"', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who);
    d.contract.invoke('draw_credit', { borrower: who, amount: 5n * USDC });
    d.contract.invoke('repay_credit', { borrower: who, amount: USDC });
    d.contract.emit('blk_chg', { borrower: who, blocked: true, ledger: 2 });
    d.closeLedger();
    const names = async (topics: string[][], contractIds = [d.contractId]) =>
      (await readAllEvents(server, [{ type: 'contract', contractIds, topics }], 1)).events.map((e) => e.name);
    expect(await names([[sym('credit'), sym('drawn')]])).toEqual(['drawn']);
    expect(await names([['*', sym('repay')]])).toEqual(['repay']);
    expect(await names([[sym('credit'), '**']])).toEqual(['opened', 'drawn', 'borrow_lc', 'accrue', 'repay', 'borrow_lc']);
    expect(await names([['*']])).toEqual(['blk_chg']); // one-segment topics only
    expect(await names([['**']])).toHaveLength(7);
    expect(await names([[sym('credit'), sym('accrue')], [sym('blk_chg')]])).toEqual(['accrue', 'blk_chg']);
    expect(await names([], [StrKey.encodeContract(randomBytes(32))])).toEqual([]);
    const system = await server.getEvents({ filters: [{ type: 'system' }], startLedger: 1 });
    expect(system.events).toEqual([]);
  });

  it('rejects a startLedger outside retention with the RPC error, and serves the window after trimming', async () => {
    d = await devnet({ retentionLedgers: 5 });
    const server = rpcClient(d);
    for (let i = 0; i < 10; i++) d.closeLedger();
    const health = await server.getHealth();
    expect(health).toMatchObject({ latestLedger: 11, oldestLedger: 7, ledgerRetentionWindow: 5 });
    await expect(server.getEvents({ filters: [], startLedger: 2 })).rejects.toMatchObject({
      code: -32600,
      message: 'startLedger must be within the ledger range: 7 - 11',
    });
    await expect(server.getEvents({ filters: [], startLedger: 12 })).rejects.toMatchObject({ code: -32600 });
    await expect(server.getEvents({ filters: [], startLedger: 7 })).resolves.toMatchObject({ oldestLedger: 7, latestLedger: 11 });
  });

  it('validates filters like the RPC (limit, filter counts, malformed cursor)', async () => {
    d = await devnet();
    const server = rpcClient(d);
    await expect(server.getEvents({ filters: [], startLedger: 1, limit: 10_001 })).rejects.toMatchObject({
      code: -32602,
      message: 'limit must not exceed 10000',
    });
    const six = Array.from({ length: 6 }, () => ({ type: 'contract' as const }));
    await expect(server.getEvents({ filters: six, startLedger: 1 })).rejects.toMatchObject({ code: -32602 });
    await expect(server.getEvents({ filters: [{ topics: [['**', sym('x')]] }], startLedger: 1 })).rejects.toMatchObject({ code: -32602 });
    await expect(server.getEvents({ filters: [], cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: -32602 });
  });
});

describe('devnet Credit contract events', () => {
  let d: Devnet;
  afterEach(() => d?.stop());

  it('encodes payloads as field-named maps: drawn, borrow_lc, opened decode to the reference shapes', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who, 1_000n * USDC, 1_500, 40);
    d.contract.invoke('draw_credit', { borrower: who, amount: 250n * USDC });
    d.closeLedger();
    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], 1);
    const [opened, drawn, lifecycle] = events;
    expect(opened!.topics).toEqual(['credit', 'opened']);
    expect(opened!.payload).toEqual({ borrower: who, status: 0, credit_limit: 1_000n * USDC, interest_rate_bps: 1_500, risk_score: 40 });
    expect(drawn!.payload).toEqual({ borrower: who, amount: 250n * USDC, new_utilized_amount: 250n * USDC, timestamp: BigInt(T0) });
    expect(lifecycle!.payload).toEqual({
      borrower: who,
      phase: ['Drawn'],
      status: 0,
      utilized_amount: 250n * USDC,
      credit_limit: 1_000n * USDC,
      interest_rate_bps: 1_500,
      timestamp: BigInt(T0),
    });
    // ScMap keys are sorted, as Soroban requires
    const raw = (await server.getEvents({ filters: [{ topics: [[sym('credit'), sym('borrow_lc')]] }], startLedger: 1 })).events[0]!;
    const keys = (raw.value.map() ?? []).map((e) => e.key().sym().toString());
    expect(keys).toEqual([...keys].sort());
  });

  it('accrues exactly as the reference example: 1,000 USDC at 1,500 bps for 30 days → 123203285', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who, 5_000n * USDC, 1_500);
    d.contract.invoke('draw_credit', { borrower: who, amount: 10_000_000_000n });
    d.closeLedger();
    d.contract.setTime(T0 + 30 * DAY);
    d.contract.invoke('repay_credit', { borrower: who, amount: 100n * USDC });
    const repayLedger = d.closeLedger();
    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], repayLedger);
    // repay: [accrue Δ>0], accrue(0), repay, borrow_lc(Repaid) — all in one transaction
    expect(events.map((e) => e.name)).toEqual(['accrue', 'accrue', 'repay', 'borrow_lc']);
    expect(new Set(events.map((e) => e.txHash)).size).toBe(1);
    const grown = 10_000_000_000n + 123_203_285n;
    expect(events[0]!.payload).toEqual({ borrower: who, accrued_amount: 123_203_285n, new_utilized_amount: grown });
    expect(events[1]!.payload).toEqual({ borrower: who, accrued_amount: 0n, new_utilized_amount: grown - 100n * USDC });
    expect(events[2]!.payload).toEqual({ borrower: who, amount: 100n * USDC, new_utilized_amount: grown - 100n * USDC });
    expect(events[3]!.payload).toMatchObject({ phase: ['Repaid'], status: 0, utilized_amount: grown - 100n * USDC });
    // interest first: the 12.3203285 USDC of interest is gone, the rest of the 100 USDC went to principal
    const line = d.contract.creditLine(who)!;
    expect(line.accrued_interest).toBe(0n);
    expect(line.last_accrual_ts).toBe(BigInt(T0 + 30 * DAY));
  });

  it('emits the zero accrue on every repay, and no accrue when ΔI rounds to 0 (checkpoint stays)', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who, 1_000n * USDC, 100);
    d.contract.invoke('draw_credit', { borrower: who, amount: 10n });
    d.closeLedger();
    d.contract.advanceTime(60); // 10 units at 1% for a minute: far below one unit
    d.contract.invoke('repay_credit', { borrower: who, amount: 3n });
    const ledger = d.closeLedger();
    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], ledger);
    expect(events.map((e) => e.name)).toEqual(['accrue', 'repay', 'borrow_lc']);
    expect(events[0]!.payload.accrued_amount).toBe(0n);
    expect(d.contract.creditLine(who)!.last_accrual_ts).toBe(BigInt(T0)); // dust keeps accumulating time
  });

  it('emits lifecycle events with statuses: suspend, default (+ liq_req), reinstate, close, risk_upd Restricted↔Active', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    openLine(d, who, 1_000n * USDC, 0);
    d.contract.invoke('draw_credit', { borrower: who, amount: 600n * USDC });
    d.contract.invoke('update_risk_parameters', { borrower: who, credit_limit: 500n * USDC, interest_rate_bps: 0, risk_score: 70 });
    expect(d.contract.creditLine(who)!.status).toBe(4); // Restricted
    d.contract.invoke('update_risk_parameters', { borrower: who, credit_limit: 800n * USDC, interest_rate_bps: 0, risk_score: 50 });
    expect(d.contract.creditLine(who)!.status).toBe(0); // cured
    d.contract.invoke('suspend_credit_line', { borrower: who });
    d.contract.invoke('default_credit_line', { borrower: who });
    d.contract.invoke('reinstate_credit_line', { borrower: who, target_status: 'Restricted' });
    d.contract.invoke('close_credit_line', { borrower: who, closer: d.adminKeypair.publicKey() });
    d.closeLedger();
    const { events } = await readAllEvents(server, [{ contractIds: [d.contractId] }], 1);
    expect(events.map((e) => e.name)).toEqual([
      'opened',
      'drawn',
      'borrow_lc',
      'risk_upd',
      'risk_upd',
      'suspend',
      'defaulted',
      'liq_req',
      'reinstate',
      'closed',
    ]);
    const byName = (n: string) => events.filter((e) => e.name === n);
    expect(byName('risk_upd')[0]!.payload).toEqual({ borrower: who, credit_limit: 500n * USDC, interest_rate_bps: 0, risk_score: 70 });
    expect(byName('suspend')[0]!.payload.status).toBe(1);
    expect(byName('defaulted')[0]!.payload.status).toBe(2);
    expect(byName('liq_req')[0]!.payload).toEqual([who, 600n * USDC]);
    expect(byName('reinstate')[0]!.payload.status).toBe(4);
    expect(byName('closed')[0]!.payload).toMatchObject({ status: 3, credit_limit: 800n * USDC });
  });

  it('can emit every other catalogue event, decoding to field-named objects', async () => {
    d = await devnet();
    const server = rpcClient(d);
    const who = borrower();
    const hash32 = 'ab'.repeat(32);
    d.contract.emit('fee_accrd', {
      borrower: who,
      fee_amount: 10n,
      treasury_amount: 7n,
      bounty_amount: 3n,
      new_treasury_balance: 70n,
      new_bounty_balance: 30n,
    });
    d.contract.emit('late_fee', { borrower: who, fee: 5n, installment_index: 2n });
    d.contract.emit('liq_setl', {
      borrower: who,
      settlement_id: 'auction_7',
      recovered_amount: 100n,
      remaining_utilized_amount: 0n,
      status: 'Closed',
      close_factor_bps: 10_000,
    });
    d.contract.emit('col_lca', { borrower: who, kind: 0, token: null, amount: 9n, new_balance: 9n, ledger: 2, timestamp: BigInt(T0) });
    d.contract.emit('drw_freeze', { frozen: true, reason: 2 });
    d.contract.emit('br_freeze', { borrower: who, frozen_until: BigInt(T0 + DAY), ledger: 2 });
    d.contract.emit('upgraded', { old_wasm_hash: '00'.repeat(32), new_wasm_hash: hash32 });
    d.contract.emit('paused', true);
    d.contract.emit('oracle_quorum', [3, 500, 600n]);
    const auction = StrKey.encodeContract(randomBytes(32));
    d.contract.emitRaw(['LIQ_SETL', 'auction'], nativeToScVal('raw'), auction);
    d.closeLedger();
    const { events } = await readAllEvents(server, [], 1);
    const payload = (name: string) => events.find((e) => e.name === name)!.payload;
    expect(payload('fee_accrd')).toEqual({
      borrower: who,
      fee_amount: 10n,
      treasury_amount: 7n,
      bounty_amount: 3n,
      new_treasury_balance: 70n,
      new_bounty_balance: 30n,
    });
    expect(payload('late_fee')).toEqual({ borrower: who, fee: 5n, installment_index: 2n });
    expect(payload('liq_setl')).toMatchObject({ settlement_id: 'auction_7', status: 3, close_factor_bps: 10_000 });
    expect(payload('col_lca')).toMatchObject({ kind: 0, token: null, ledger: 2 });
    expect(payload('drw_freeze')).toEqual({ frozen: true, reason: 2 });
    expect(events.find((e) => e.name === 'br_freeze')!.topics).toEqual(['br_freeze']);
    expect(Buffer.from(payload('upgraded').new_wasm_hash as Uint8Array).toString('hex')).toBe(hash32);
    expect(payload('paused')).toBe(true);
    expect(payload('oracle_quorum')).toEqual([3, 500, 600n]);
    const foreign = events.find((e) => e.name === 'auction')!;
    expect(foreign.topics).toEqual(['LIQ_SETL', 'auction']);
    const onlyAuction = await server.getEvents({ filters: [{ contractIds: [auction] }], startLedger: 1 });
    expect(onlyAuction.events.map((e) => e.contractId?.contractId())).toEqual([auction]);
  });

  it('rejects payloads that do not match the catalogue', async () => {
    d = await devnet();
    expect(() => d.contract.emit('drawn', { borrower: Keypair.random().publicKey(), amount: 1n })).toThrow(/missing field/);
    expect(() => d.contract.emitRaw(['x'], xdr.ScVal.scvVoid(), 'not-a-contract')).toThrow();
  });
});
