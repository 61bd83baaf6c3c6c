import { Address, Keypair, nativeToScVal, StrKey, xdr } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ledgerOfCursor } from '../../../src/services/chainIndexer.js';
import {
  CHAIN_STATUS,
  decodeCreditEvent,
  DecodeError,
  RAW_EVENTS,
  SINGLE_TOPIC_EVENTS,
  STRUCT_EVENTS,
  toJsonSafe,
  topicSymbols,
  TUPLE_EVENTS,
} from '../../../src/stellar/creditEvents.js';

/**
 * The decoder against every event of the reference catalogue (creditra-contracts-and-vantis.md A.7). The wire
 * values are built here with the SDK's own xdr / nativeToScVal, independently of both the decoder and the
 * devnet's encoder, following the reference's wire rules: structs are ScMaps keyed by field-name symbols,
 * tuples are ScVecs, integer enums are U32, unit enums a one-symbol ScVec, Option::None is Void.
 */

// ------------------------------------------------------------------------------------------ wire builders

const sym = (s: string) => xdr.ScVal.scvSymbol(s);
const addr = (a: string) => new Address(a).toScVal();
const i128 = (n: bigint) => nativeToScVal(n, { type: 'i128' });
const u32 = (n: number) => xdr.ScVal.scvU32(n);
const u64 = (n: bigint) => nativeToScVal(n, { type: 'u64' });
const bool = (b: boolean) => xdr.ScVal.scvBool(b);
const bytes = (hex: string) => xdr.ScVal.scvBytes(Buffer.from(hex, 'hex'));
const unit = (variant: string) => xdr.ScVal.scvVec([sym(variant)]);
const none = () => xdr.ScVal.scvVoid();
const vec = (...items: xdr.ScVal[]) => xdr.ScVal.scvVec(items);
/** A struct as Soroban puts it on the wire: an ScMap keyed by field-name symbols, sorted by key. */
const struct = (fields: Record<string, xdr.ScVal>, order: 'sorted' | 'reversed' = 'sorted') => {
  const keys = Object.keys(fields).sort();
  if (order === 'reversed') keys.reverse();
  return xdr.ScVal.scvMap(keys.map((key) => new xdr.ScMapEntry({ key: sym(key), val: fields[key]! })));
};
const credit = (name: string) => [sym('credit'), sym(name)];

const borrower = Keypair.random().publicKey();
const other = Keypair.random().publicKey();
const token = StrKey.encodeContract(randomBytes(32));
const hashA = '00'.repeat(32);
const hashB = 'ab'.repeat(32);

const lineEvent = (status: number) => ({
  wire: struct({ borrower: addr(borrower), status: u32(status), credit_limit: i128(10_000_000_000n), interest_rate_bps: u32(1500), risk_score: u32(40) }),
  fields: { borrower, status: CHAIN_STATUS[status], credit_limit: 10_000_000_000n, interest_rate_bps: 1500, risk_score: 40 },
});

interface Case {
  name: string;
  topic: xdr.ScVal[];
  value: xdr.ScVal;
  fields: Record<string, unknown>;
}

/** One case per catalogue row, with the payload shape and field types the reference gives (HEAD code). */
const CASES: Case[] = [
  { name: 'opened', topic: credit('opened'), value: lineEvent(0).wire, fields: lineEvent(0).fields },
  { name: 'suspend', topic: credit('suspend'), value: lineEvent(1).wire, fields: lineEvent(1).fields },
  { name: 'closed', topic: credit('closed'), value: lineEvent(3).wire, fields: lineEvent(3).fields },
  { name: 'defaulted', topic: credit('defaulted'), value: lineEvent(2).wire, fields: lineEvent(2).fields },
  { name: 'reinstate', topic: credit('reinstate'), value: lineEvent(4).wire, fields: lineEvent(4).fields },
  {
    name: 'drawn',
    topic: credit('drawn'),
    value: struct({ borrower: addr(borrower), amount: i128(5n), new_utilized_amount: i128(15n), timestamp: u64(1_750_000_000n) }),
    fields: { borrower, amount: 5n, new_utilized_amount: 15n, timestamp: 1_750_000_000n },
  },
  {
    name: 'repay',
    topic: credit('repay'),
    value: struct({ borrower: addr(borrower), amount: i128(7n), new_utilized_amount: i128(8n) }),
    fields: { borrower, amount: 7n, new_utilized_amount: 8n },
  },
  {
    name: 'accrue',
    topic: credit('accrue'),
    value: struct({ borrower: addr(borrower), accrued_amount: i128(0n), new_utilized_amount: i128(8n) }),
    fields: { borrower, accrued_amount: 0n, new_utilized_amount: 8n },
  },
  {
    name: 'borrow_lc',
    topic: credit('borrow_lc'),
    value: struct({
      borrower: addr(borrower),
      phase: unit('Drawn'),
      status: u32(0),
      utilized_amount: i128(15n),
      credit_limit: i128(100n),
      interest_rate_bps: u32(1500),
      timestamp: u64(1n),
    }),
    fields: { borrower, phase: 'Drawn', status: 'active', utilized_amount: 15n, credit_limit: 100n, interest_rate_bps: 1500, timestamp: 1n },
  },
  {
    name: 'debt_frgv',
    topic: credit('debt_frgv'),
    value: struct({ borrower: addr(borrower), amount_forgiven: i128(3n), remaining_accrued_interest: i128(1n), new_utilized_amount: i128(2n) }),
    fields: { borrower, amount_forgiven: 3n, remaining_accrued_interest: 1n, new_utilized_amount: 2n },
  },
  {
    name: 'risk_upd',
    topic: credit('risk_upd'),
    value: struct({ borrower: addr(borrower), credit_limit: i128(50n), interest_rate_bps: u32(1600), risk_score: u32(55) }),
    fields: { borrower, credit_limit: 50n, interest_rate_bps: 1600, risk_score: 55 },
  },
  {
    name: 'fee_accrd',
    topic: credit('fee_accrd'),
    value: struct({
      borrower: addr(borrower),
      fee_amount: i128(10n),
      treasury_amount: i128(6n),
      bounty_amount: i128(4n),
      new_treasury_balance: i128(60n),
      new_bounty_balance: i128(40n),
    }),
    fields: { borrower, fee_amount: 10n, treasury_amount: 6n, bounty_amount: 4n, new_treasury_balance: 60n, new_bounty_balance: 40n },
  },
  {
    name: 'late_fee',
    topic: credit('late_fee'),
    value: struct({ borrower: addr(borrower), fee: i128(2n), installment_index: u64(3n) }),
    fields: { borrower, fee: 2n, installment_index: 3n },
  },
  {
    name: 'pen_enter',
    topic: credit('pen_enter'),
    value: struct({ borrower: addr(borrower), base_rate_bps: u32(1500), penalty_surcharge_bps: u32(500), effective_rate_bps: u32(2000) }),
    fields: { borrower, base_rate_bps: 1500, penalty_surcharge_bps: 500, effective_rate_bps: 2000 },
  },
  {
    name: 'pen_exit',
    topic: credit('pen_exit'),
    value: struct({ borrower: addr(borrower), previous_rate_bps: u32(2000), new_rate_bps: u32(1500) }),
    fields: { borrower, previous_rate_bps: 2000, new_rate_bps: 1500 },
  },
  {
    name: 'grace_wv',
    topic: credit('grace_wv'),
    value: struct({ borrower: addr(borrower), waived_amount: i128(9n), mode: u32(1) }),
    fields: { borrower, waived_amount: 9n, mode: 1 },
  },
  {
    name: 'liq_req',
    topic: credit('liq_req'),
    value: vec(addr(borrower), i128(123n)),
    fields: { borrower, utilized_amount: 123n },
  },
  {
    name: 'liq_setl',
    topic: credit('liq_setl'),
    value: struct({
      borrower: addr(borrower),
      settlement_id: sym('auc1'),
      recovered_amount: i128(100n),
      remaining_utilized_amount: i128(0n),
      status: u32(3),
      close_factor_bps: u32(10_000),
    }),
    fields: { borrower, settlement_id: 'auc1', recovered_amount: 100n, remaining_utilized_amount: 0n, status: 'closed', close_factor_bps: 10_000 },
  },
  {
    name: 'col_dep',
    topic: credit('col_dep'),
    value: struct({ borrower: addr(borrower), amount: i128(50n), new_balance: i128(50n) }),
    fields: { borrower, amount: 50n, new_balance: 50n },
  },
  {
    name: 'col_wit',
    topic: credit('col_wit'),
    value: struct({ borrower: addr(borrower), amount: i128(20n), new_balance: i128(30n) }),
    fields: { borrower, amount: 20n, new_balance: 30n },
  },
  {
    name: 'col_part_rel',
    topic: credit('col_part_rel'),
    value: struct({ borrower: addr(borrower), amount_released: i128(5n), new_balance: i128(25n), health_factor_bps: u64(15_000n) }),
    fields: { borrower, amount_released: 5n, new_balance: 25n, health_factor_bps: 15_000n },
  },
  {
    name: 'col_lca',
    topic: credit('col_lca'),
    value: struct({
      borrower: addr(borrower),
      kind: u32(0),
      token: none(),
      amount: i128(50n),
      new_balance: i128(50n),
      ledger: u32(7),
      timestamp: u64(1_750_000_000n),
    }),
    fields: { borrower, kind: 0, token: null, amount: 50n, new_balance: 50n, ledger: 7, timestamp: 1_750_000_000n },
  },
  {
    name: 'drw_freeze',
    topic: credit('drw_freeze'),
    value: struct({ frozen: bool(true), reason: u32(1) }),
    fields: { frozen: true, reason: 1 },
  },
  {
    name: 'cl_freeze',
    topic: credit('cl_freeze'),
    value: struct({ borrower: addr(borrower), reason: u32(2), frozen: bool(false) }),
    fields: { borrower, reason: 2, frozen: false },
  },
  {
    name: 'br_freeze',
    topic: [sym('br_freeze')],
    value: struct({ borrower: addr(borrower), frozen_until: u64(1_750_864_000n), ledger: u32(9) }),
    fields: { borrower, frozen_until: 1_750_864_000n, ledger: 9 },
  },
  {
    name: 'blk_chg',
    topic: [sym('blk_chg')],
    value: struct({ borrower: addr(borrower), blocked: bool(true), ledger: u32(9) }),
    fields: { borrower, blocked: true, ledger: 9 },
  },
  {
    name: 'admin_prop',
    topic: credit('admin_prop'),
    value: struct({ proposed_admin: addr(other), accept_after: u64(1_750_086_400n) }),
    fields: { proposed_admin: other, accept_after: 1_750_086_400n },
  },
  { name: 'admin_acc', topic: credit('admin_acc'), value: struct({ new_admin: addr(other) }), fields: { new_admin: other } },
  {
    name: 'upgraded',
    topic: credit('upgraded'),
    value: struct({ old_wasm_hash: bytes(hashA), new_wasm_hash: bytes(hashB) }),
    fields: { old_wasm_hash: hashA, new_wasm_hash: hashB },
  },
  {
    name: 'atst_bat',
    topic: credit('atst_bat'),
    value: struct({ borrower: addr(borrower), merkle_root: bytes(hashB), count: u32(12) }),
    fields: { borrower, merkle_root: hashB, count: 12 },
  },
  { name: 'rad_cooldown', topic: credit('rad_cooldown'), value: struct({ cooldown_seconds: u64(3600n) }), fields: { cooldown_seconds: 3600n } },
  {
    name: 'draw_rev',
    topic: credit('draw_rev'),
    value: struct({
      borrower: addr(borrower),
      amount: i128(5n),
      original_ts: u64(1n),
      reason_code: u32(4),
      new_utilized_amount: i128(10n),
      timestamp: u64(2n),
      admin: addr(other),
      accounting_only: bool(true),
    }),
    fields: { borrower, amount: 5n, original_ts: 1n, reason_code: 4, new_utilized_amount: 10n, timestamp: 2n, admin: other, accounting_only: true },
  },
  { name: 'rate_form', topic: credit('rate_form'), value: bool(true), fields: { value: true } },
  { name: 'paused', topic: credit('paused'), value: bool(true), fields: { value: true } },
  { name: 'unpaused', topic: credit('unpaused'), value: bool(false), fields: { value: false } },
  { name: 'clsfctr', topic: credit('clsfctr'), value: u32(5000), fields: { value: 5000 } },
  { name: 'orc_cfg', topic: credit('orc_cfg'), value: vec(u32(200), u64(3600n)), fields: { max_deviation_bps: 200, max_age_seconds: 3600n } },
  { name: 'orc_price', topic: credit('orc_price'), value: vec(i128(12_345n), u64(99n)), fields: { price: 12_345n, timestamp: 99n } },
  {
    name: 'oracle_quorum',
    topic: credit('oracle_quorum'),
    value: vec(u32(3), u32(150), u64(600n)),
    fields: { min_quorum_k: 3, max_deviation_bps: 150, max_age_seconds: 600n },
  },
  {
    name: 'oracle_price',
    topic: credit('oracle_price'),
    value: vec(i128(12_300n), u32(3), u64(99n)),
    fields: { price: 12_300n, min_quorum_k: 3, timestamp: 99n },
  },
];

/** Every event name of the reference A.7 table for the Credit contract. */
const CATALOGUE = [
  'opened', 'suspend', 'closed', 'defaulted', 'reinstate', 'drawn', 'repay', 'accrue', 'borrow_lc', 'debt_frgv', 'risk_upd',
  'fee_accrd', 'late_fee', 'pen_enter', 'pen_exit', 'grace_wv', 'liq_req', 'liq_setl', 'col_dep', 'col_wit', 'col_part_rel',
  'col_lca', 'drw_freeze', 'cl_freeze', 'br_freeze', 'blk_chg', 'admin_prop', 'admin_acc', 'upgraded', 'atst_bat', 'rad_cooldown',
  'draw_rev', 'rate_form', 'paused', 'unpaused', 'clsfctr', 'orc_cfg', 'orc_price', 'oracle_quorum', 'oracle_price',
];

const expectDecodeError = (topic: xdr.ScVal[], value: xdr.ScVal, message?: RegExp) => {
  let thrown: unknown;
  try {
    decodeCreditEvent(topic, value);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DecodeError);
  if (message) expect((thrown as Error).message).toMatch(message);
};

/** A value of the wrong wire type for a field of the given scv type. */
function wrongFor(value: xdr.ScVal): xdr.ScVal {
  switch (value.switch().name) {
    case 'scvI128':
      return u64(1n); // an i128 is not a u64
    case 'scvU64':
      return u32(1);
    case 'scvU32':
      return i128(1n);
    case 'scvAddress':
      return sym('GABC');
    case 'scvBool':
      return u32(1);
    case 'scvSymbol':
      return xdr.ScVal.scvString('auc1');
    case 'scvBytes':
      return xdr.ScVal.scvString(hashA);
    case 'scvVec':
      return sym('Drawn');
    case 'scvVoid':
      return u32(0);
    default:
      throw new Error(`no wrong value for ${value.switch().name}`);
  }
}

describe('Credit event decoder: the reference catalogue', () => {
  it('has a case for every catalogue event, and the decoder knows exactly those names', () => {
    expect(CASES.map((c) => c.name).sort()).toEqual([...CATALOGUE].sort());
    const known = [...Object.keys(STRUCT_EVENTS), ...Object.keys(SINGLE_TOPIC_EVENTS), ...Object.keys(TUPLE_EVENTS), ...Object.keys(RAW_EVENTS)];
    expect(known.sort()).toEqual([...CATALOGUE].sort());
  });

  it.each(CASES.map((c) => [c.name, c] as const))('decodes %s', (_name, c) => {
    const decoded = decodeCreditEvent(c.topic, c.value);
    expect(decoded.kind).toBe('known');
    if (decoded.kind !== 'known') return;
    expect(decoded.topic).toEqual(topicSymbols(c.topic));
    expect(decoded.event.name).toBe(c.name);
    expect(decoded.event.fields).toEqual(c.fields);
  });

  it.each(CASES.filter((c) => c.value.switch().name === 'scvMap').map((c) => [c.name, c] as const))(
    'reads %s by field name, whatever the key order on the wire',
    (_name, c) => {
      const reordered = xdr.ScVal.scvMap([...(c.value.map() ?? [])].reverse());
      const decoded = decodeCreditEvent(c.topic, reordered);
      expect(decoded.kind === 'known' && decoded.event.fields).toEqual(c.fields);
    },
  );

  it('decodes a col_lca token given as Some(Address) (multi-token path)', () => {
    const c = CASES.find((x) => x.name === 'col_lca')!;
    const entries = (c.value.map() ?? []).map((e) => (e.key().sym().toString() === 'token' ? new xdr.ScMapEntry({ key: e.key(), val: addr(token) }) : e));
    const decoded = decodeCreditEvent(c.topic, xdr.ScVal.scvMap(entries));
    expect(decoded.kind === 'known' && decoded.event.fields).toMatchObject({ token });
  });

  it('reads every CreditStatus variant (integer enum as U32)', () => {
    for (const [i, status] of CHAIN_STATUS.entries()) {
      const decoded = decodeCreditEvent(credit('opened'), lineEvent(i).wire);
      expect(decoded.kind === 'known' && decoded.event.fields).toMatchObject({ status });
    }
  });

  it('ignores extra struct fields a later contract version may add', () => {
    const c = CASES.find((x) => x.name === 'repay')!;
    const value = xdr.ScVal.scvMap([...(c.value.map() ?? []), new xdr.ScMapEntry({ key: sym('zz_new'), val: u32(1) })]);
    const decoded = decodeCreditEvent(c.topic, value);
    expect(decoded.kind === 'known' && decoded.event.fields).toEqual(c.fields);
  });

  it('makes payloads JSON-safe for storage (bigints as decimal strings)', () => {
    const c = CASES.find((x) => x.name === 'drawn')!;
    const decoded = decodeCreditEvent(c.topic, c.value);
    if (decoded.kind !== 'known') throw new Error('expected a known event');
    const safe = toJsonSafe(decoded.event.fields);
    expect(safe).toEqual({ borrower, amount: '5', new_utilized_amount: '15', timestamp: '1750000000' });
    expect(JSON.parse(JSON.stringify(safe))).toEqual(safe);
  });
});

describe('Credit event decoder: malformed payloads are DecodeErrors', () => {
  const structCases = CASES.filter((c) => c.value.switch().name === 'scvMap');

  it.each(structCases.map((c) => [c.name, c] as const))('%s: every field with a wrong wire type, and every missing field', (_name, c) => {
    const entries = c.value.map() ?? [];
    for (const [i, entry] of entries.entries()) {
      const field = entry.key().sym().toString();
      const wrong = entries.map((e, j) => (j === i ? new xdr.ScMapEntry({ key: e.key(), val: wrongFor(e.val()) }) : e));
      expectDecodeError(c.topic, xdr.ScVal.scvMap(wrong), new RegExp(`field ${field}`));
      const missing = entries.filter((_, j) => j !== i);
      expectDecodeError(c.topic, xdr.ScVal.scvMap(missing), new RegExp(`missing field ${field}`));
    }
  });

  it.each(structCases.map((c) => [c.name, c] as const))('%s: a payload that is not an ScMap', (_name, c) => {
    expectDecodeError(c.topic, vec(...(c.value.map() ?? []).map((e) => e.val())), /expected a struct/);
    expectDecodeError(c.topic, u32(1), /expected a struct/);
  });

  it('a struct whose keys are not symbols', () => {
    const value = xdr.ScVal.scvMap([new xdr.ScMapEntry({ key: xdr.ScVal.scvString('borrower'), val: addr(borrower) })]);
    expectDecodeError(credit('admin_acc'), value, /keys must be symbols/);
  });

  it('an i128 sent where the contract sends a u64 (and the reverse) is refused, not coerced', () => {
    const drawn = struct({ borrower: addr(borrower), amount: u64(5n), new_utilized_amount: i128(15n), timestamp: u64(1n) });
    expectDecodeError(credit('drawn'), drawn, /field amount: expected i128, got scvU64/);
    const partial = struct({ borrower: addr(borrower), amount_released: i128(5n), new_balance: i128(25n), health_factor_bps: u32(15_000) });
    expectDecodeError(credit('col_part_rel'), partial, /field health_factor_bps: expected u64, got scvU32/);
  });

  it('a status outside CreditStatus', () => {
    const value = struct({ borrower: addr(borrower), status: u32(9), credit_limit: i128(1n), interest_rate_bps: u32(1), risk_score: u32(1) });
    expectDecodeError(credit('suspend'), value, /unknown status 9/);
  });

  it('a unit enum that is not a one-symbol vec', () => {
    const c = CASES.find((x) => x.name === 'borrow_lc')!;
    for (const phase of [vec(sym('Drawn'), sym('Repaid')), vec(u32(0)), vec()]) {
      const entries = (c.value.map() ?? []).map((e) => (e.key().sym().toString() === 'phase' ? new xdr.ScMapEntry({ key: e.key(), val: phase }) : e));
      expectDecodeError(c.topic, xdr.ScVal.scvMap(entries), /field phase/);
    }
  });

  it.each(CASES.filter((c) => c.value.switch().name === 'scvVec').map((c) => [c.name, c] as const))('%s: tuples of the wrong length, order or shape', (_name, c) => {
    const items = c.value.vec() ?? [];
    expectDecodeError(c.topic, vec(...items.slice(0, -1)), /tuple items/);
    expectDecodeError(c.topic, vec(...items, u32(1)), /tuple items/);
    expectDecodeError(c.topic, vec(...[...items].reverse()), /expected/);
    expectDecodeError(c.topic, struct({ a: items[0]! }), /expected a tuple/);
  });

  it.each(Object.keys(RAW_EVENTS).map((name) => [name] as const))('%s: a raw value of the wrong type', (name) => {
    const right = CASES.find((x) => x.name === name)!.value;
    expectDecodeError(credit(name), wrongFor(right), /field value/);
    expectDecodeError(credit(name), vec(right), /field value/);
  });
});

describe('Credit event decoder: topics', () => {
  const anyValue = u32(1);

  it.each([
    ['a defined-but-never-emitted v2 topic', credit('opened_v2')],
    ['tok_resc', credit('tok_resc')],
    ['the documented-but-wrong line_frz', credit('line_frz')],
    ['the standalone collateral contract', [sym('collat'), sym('deposit')]],
    ['the auction contract', [sym('LIQ_SETL'), sym('auction')]],
    ['a lone "credit"', [sym('credit')]],
    ['three segments', [sym('credit'), sym('drawn'), sym('extra')]],
    ['a one-segment name under two segments', [sym('br_freeze'), sym('x')]],
    ['a two-segment name as one segment', [sym('drawn')]],
    ['no topic at all', []],
  ])('%s is unknown, never an error', (_what, topic) => {
    const decoded = decodeCreditEvent(topic as xdr.ScVal[], anyValue);
    expect(decoded).toEqual({ kind: 'unknown', topic: topicSymbols(topic as xdr.ScVal[]) });
  });

  it('non-symbol topic segments are named by their ScVal type and are unknown', () => {
    const topic = [xdr.ScVal.scvString('credit'), sym('drawn')];
    expect(decodeCreditEvent(topic, anyValue)).toEqual({ kind: 'unknown', topic: ['<scvString>', 'drawn'] });
    expect(topicSymbols([u32(7), sym('x')])).toEqual(['<scvU32>', 'x']);
  });
});

describe('ledgerOfCursor', () => {
  const toid = (ledger: number, tx: number, op: number) => ((BigInt(ledger) << 32n) | (BigInt(tx) << 12n) | BigInt(op)).toString().padStart(19, '0');

  it('reads the ledger from the TOID of an event id or cursor', () => {
    expect(ledgerOfCursor(`${toid(2, 1, 0)}-0000000000`)).toBe(2);
    expect(ledgerOfCursor(`${toid(123_456, 17, 3)}-0000000004`)).toBe(123_456);
    // the end-of-window cursor of a short page: maximal tx/op/event indices still belong to its ledger
    expect(ledgerOfCursor(`${toid(99, 0xfffff, 0xfff)}-4294967295`)).toBe(99);
    // the largest ledger a u32 holds
    expect(ledgerOfCursor(`${toid(0xffff_ffff, 1, 0)}-0000000000`)).toBe(0xffff_ffff);
    expect(ledgerOfCursor(toid(8, 1, 0))).toBe(8);
  });

  it('gives 0 for anything that is not a cursor', () => {
    for (const junk of ['', '-', 'abc-0000000001', '12a-1', ' 1-1']) expect(ledgerOfCursor(junk)).toBe(0);
  });
});
