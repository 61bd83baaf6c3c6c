import { scValToNative, xdr } from '@stellar/stellar-sdk';

/**
 * Decoding of the Creditra `Credit` contract's events (reference: creditra-contracts-and-vantis.md A.7).
 * Struct payloads arrive as ScMaps keyed by field-name symbols, so fields are read by name and their wire
 * type is checked (an i128 is not a u64); tuple and raw payloads are read by position. Anything that does not
 * match is a DecodeError: the indexer keeps the raw event and parks it rather than guessing.
 */

/** The contract's CreditStatus, an integer enum on the wire. */
/** A contract event as the chain reports it, from getEvents (the indexer) or a transaction's result (the tracker). */
export interface RawChainEvent {
  /** getEvents' id: a TOID (ledger, application order, operation) and the event's index; a transaction's result yields the same. */
  id: string;
  contractId: string;
  ledger: number;
  ledgerClosedAt: Date;
  txHash: string;
  topic: xdr.ScVal[];
  value: xdr.ScVal;
}

export const CHAIN_STATUS = ['active', 'suspended', 'defaulted', 'closed', 'restricted'] as const;
export type ChainStatus = (typeof CHAIN_STATUS)[number];

type WireType = 'address' | 'i128' | 'u32' | 'u64' | 'bool' | 'symbol' | 'status' | 'bytes' | 'optionAddress' | 'unitEnum';

interface WireValue {
  address: string;
  i128: bigint;
  u32: number;
  u64: bigint;
  bool: boolean;
  symbol: string;
  status: ChainStatus;
  bytes: string;
  optionAddress: string | null;
  unitEnum: string;
}

const SCV: Record<WireType, string[]> = {
  address: ['scvAddress'],
  i128: ['scvI128'],
  u32: ['scvU32'],
  u64: ['scvU64'],
  bool: ['scvBool'],
  symbol: ['scvSymbol'],
  status: ['scvU32'],
  bytes: ['scvBytes'],
  optionAddress: ['scvAddress', 'scvVoid'],
  unitEnum: ['scvVec'],
};

const creditLineEvent = { borrower: 'address', status: 'status', credit_limit: 'i128', interest_rate_bps: 'u32', risk_score: 'u32' } as const;

/** Struct payloads, by the second topic symbol. Field order here is irrelevant: maps are read by name. */
export const STRUCT_EVENTS = {
  opened: creditLineEvent,
  suspend: creditLineEvent,
  closed: creditLineEvent,
  defaulted: creditLineEvent,
  reinstate: creditLineEvent,
  drawn: { borrower: 'address', amount: 'i128', new_utilized_amount: 'i128', timestamp: 'u64' },
  repay: { borrower: 'address', amount: 'i128', new_utilized_amount: 'i128' },
  accrue: { borrower: 'address', accrued_amount: 'i128', new_utilized_amount: 'i128' },
  borrow_lc: {
    borrower: 'address',
    phase: 'unitEnum',
    status: 'status',
    utilized_amount: 'i128',
    credit_limit: 'i128',
    interest_rate_bps: 'u32',
    timestamp: 'u64',
  },
  debt_frgv: { borrower: 'address', amount_forgiven: 'i128', remaining_accrued_interest: 'i128', new_utilized_amount: 'i128' },
  risk_upd: { borrower: 'address', credit_limit: 'i128', interest_rate_bps: 'u32', risk_score: 'u32' },
  fee_accrd: {
    borrower: 'address',
    fee_amount: 'i128',
    treasury_amount: 'i128',
    bounty_amount: 'i128',
    new_treasury_balance: 'i128',
    new_bounty_balance: 'i128',
  },
  late_fee: { borrower: 'address', fee: 'i128', installment_index: 'u64' },
  pen_enter: { borrower: 'address', base_rate_bps: 'u32', penalty_surcharge_bps: 'u32', effective_rate_bps: 'u32' },
  pen_exit: { borrower: 'address', previous_rate_bps: 'u32', new_rate_bps: 'u32' },
  grace_wv: { borrower: 'address', waived_amount: 'i128', mode: 'u32' },
  liq_setl: {
    borrower: 'address',
    settlement_id: 'symbol',
    recovered_amount: 'i128',
    remaining_utilized_amount: 'i128',
    status: 'status',
    close_factor_bps: 'u32',
  },
  col_dep: { borrower: 'address', amount: 'i128', new_balance: 'i128' },
  col_wit: { borrower: 'address', amount: 'i128', new_balance: 'i128' },
  col_part_rel: { borrower: 'address', amount_released: 'i128', new_balance: 'i128', health_factor_bps: 'u64' },
  col_lca: { borrower: 'address', kind: 'u32', token: 'optionAddress', amount: 'i128', new_balance: 'i128', ledger: 'u32', timestamp: 'u64' },
  drw_freeze: { frozen: 'bool', reason: 'u32' },
  cl_freeze: { borrower: 'address', reason: 'u32', frozen: 'bool' },
  admin_prop: { proposed_admin: 'address', accept_after: 'u64' },
  admin_acc: { new_admin: 'address' },
  upgraded: { old_wasm_hash: 'bytes', new_wasm_hash: 'bytes' },
  atst_bat: { borrower: 'address', merkle_root: 'bytes', count: 'u32' },
  rad_cooldown: { cooldown_seconds: 'u64' },
  draw_rev: {
    borrower: 'address',
    amount: 'i128',
    original_ts: 'u64',
    reason_code: 'u32',
    new_utilized_amount: 'i128',
    timestamp: 'u64',
    admin: 'address',
    accounting_only: 'bool',
  },
} as const satisfies Record<string, Record<string, WireType>>;

/** One-segment topics (`("br_freeze",)`, `("blk_chg",)`) also carry structs. */
export const SINGLE_TOPIC_EVENTS = {
  br_freeze: { borrower: 'address', frozen_until: 'u64', ledger: 'u32' },
  blk_chg: { borrower: 'address', blocked: 'bool', ledger: 'u32' },
} as const satisfies Record<string, Record<string, WireType>>;

/** Tuple payloads (ScVec by position) and raw values. */
export const TUPLE_EVENTS = {
  liq_req: [
    ['borrower', 'address'],
    ['utilized_amount', 'i128'],
  ],
  orc_cfg: [
    ['max_deviation_bps', 'u32'],
    ['max_age_seconds', 'u64'],
  ],
  orc_price: [
    ['price', 'i128'],
    ['timestamp', 'u64'],
  ],
  oracle_quorum: [
    ['min_quorum_k', 'u32'],
    ['max_deviation_bps', 'u32'],
    ['max_age_seconds', 'u64'],
  ],
  oracle_price: [
    ['price', 'i128'],
    ['min_quorum_k', 'u32'],
    ['timestamp', 'u64'],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [string, WireType]>>;

export const RAW_EVENTS = { rate_form: 'bool', paused: 'bool', unpaused: 'bool', clsfctr: 'u32' } as const satisfies Record<string, WireType>;

type StructOf<Spec extends Record<string, WireType>> = { -readonly [K in keyof Spec]: WireValue[Spec[K]] };
type TupleOf<Spec extends ReadonlyArray<readonly [string, WireType]>> = { [E in Spec[number] as E[0]]: WireValue[E[1]] };

export type CreditEvent =
  | { [N in keyof typeof STRUCT_EVENTS]: { name: N; fields: StructOf<(typeof STRUCT_EVENTS)[N]> } }[keyof typeof STRUCT_EVENTS]
  | { [N in keyof typeof SINGLE_TOPIC_EVENTS]: { name: N; fields: StructOf<(typeof SINGLE_TOPIC_EVENTS)[N]> } }[keyof typeof SINGLE_TOPIC_EVENTS]
  | { [N in keyof typeof TUPLE_EVENTS]: { name: N; fields: TupleOf<(typeof TUPLE_EVENTS)[N]> } }[keyof typeof TUPLE_EVENTS]
  | { [N in keyof typeof RAW_EVENTS]: { name: N; fields: { value: WireValue[(typeof RAW_EVENTS)[N]] } } }[keyof typeof RAW_EVENTS];

export type CreditEventName = CreditEvent['name'];

export class DecodeError extends Error {
  override name = 'DecodeError';
}

/** The outcome for one raw event: a known Credit event, or a topic this decoder does not know. */
export type Decoded = { kind: 'known'; topic: string[]; event: CreditEvent } | { kind: 'unknown'; topic: string[] };

function decodeValue(value: xdr.ScVal, type: WireType, field: string): unknown {
  const wire = value.switch().name;
  if (!SCV[type].includes(wire)) throw new DecodeError(`field ${field}: expected ${type}, got ${wire}`);
  if (type === 'optionAddress' && wire === 'scvVoid') return null;
  const native: unknown = scValToNative(value);
  switch (type) {
    case 'status': {
      const status = CHAIN_STATUS[native as number];
      if (!status) throw new DecodeError(`field ${field}: unknown status ${String(native)}`);
      return status;
    }
    case 'bytes':
      return Buffer.from(native as Uint8Array).toString('hex');
    case 'unitEnum': {
      const variant = (native as unknown[])[0];
      if ((native as unknown[]).length !== 1 || typeof variant !== 'string') throw new DecodeError(`field ${field}: expected a unit enum`);
      return variant;
    }
    default:
      return native;
  }
}

function decodeStruct(value: xdr.ScVal, spec: Record<string, WireType>): Record<string, unknown> {
  if (value.switch().name !== 'scvMap') throw new DecodeError(`expected a struct (ScMap), got ${value.switch().name}`);
  const entries = new Map<string, xdr.ScVal>();
  for (const entry of value.map() ?? []) {
    if (entry.key().switch().name !== 'scvSymbol') throw new DecodeError('struct keys must be symbols');
    entries.set(entry.key().sym().toString(), entry.val());
  }
  const fields: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(spec)) {
    const item = entries.get(field);
    if (!item) throw new DecodeError(`missing field ${field}`);
    fields[field] = decodeValue(item, type, field);
  }
  return fields;
}

function decodeTuple(value: xdr.ScVal, spec: ReadonlyArray<readonly [string, WireType]>): Record<string, unknown> {
  if (value.switch().name !== 'scvVec') throw new DecodeError(`expected a tuple (ScVec), got ${value.switch().name}`);
  const items = value.vec() ?? [];
  if (items.length !== spec.length) throw new DecodeError(`expected ${spec.length} tuple items, got ${items.length}`);
  return Object.fromEntries(spec.map(([field, type], i) => [field, decodeValue(items[i]!, type, field)]));
}

export function topicSymbols(topic: xdr.ScVal[]): string[] {
  return topic.map((segment) => (segment.switch().name === 'scvSymbol' ? segment.sym().toString() : `<${segment.switch().name}>`));
}

/** Decodes one event's topic and value; throws DecodeError when a known topic carries a malformed payload. */
export function decodeCreditEvent(topic: xdr.ScVal[], value: xdr.ScVal): Decoded {
  const symbols = topicSymbols(topic);
  const [first, second] = symbols;
  if (symbols.length === 1 && first && first in SINGLE_TOPIC_EVENTS) {
    const name = first as keyof typeof SINGLE_TOPIC_EVENTS;
    return { kind: 'known', topic: symbols, event: { name, fields: decodeStruct(value, SINGLE_TOPIC_EVENTS[name]) } as CreditEvent };
  }
  if (symbols.length !== 2 || first !== 'credit' || !second) return { kind: 'unknown', topic: symbols };
  if (second in STRUCT_EVENTS) {
    const name = second as keyof typeof STRUCT_EVENTS;
    return { kind: 'known', topic: symbols, event: { name, fields: decodeStruct(value, STRUCT_EVENTS[name]) } as CreditEvent };
  }
  if (second in TUPLE_EVENTS) {
    const name = second as keyof typeof TUPLE_EVENTS;
    return { kind: 'known', topic: symbols, event: { name, fields: decodeTuple(value, TUPLE_EVENTS[name]) } as CreditEvent };
  }
  if (second in RAW_EVENTS) {
    const name = second as keyof typeof RAW_EVENTS;
    return { kind: 'known', topic: symbols, event: { name, fields: { value: decodeValue(value, RAW_EVENTS[name], 'value') } } as CreditEvent };
  }
  return { kind: 'unknown', topic: symbols };
}

/** bigint-free JSON for storage (amounts as decimal strings of base units). */
export function toJsonSafe(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
