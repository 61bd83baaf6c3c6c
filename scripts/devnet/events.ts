import { xdr } from '@stellar/stellar-sdk';
import { encode, type Ty } from './scval.js';

/**
 * The Credit contract's event catalogue as emitted by the contracts' HEAD code (reference A.7), not as its
 * docs describe it: topics are symbols ("credit", name) — two of them are one-segment — and payloads are
 * ScMaps keyed by field name (structs), ScVecs (tuples) or a bare value.
 */
export interface EventSpec {
  topics: string[];
  payload: Ty;
}

const CREDIT_LINE_EVENT: Ty = {
  struct: { borrower: 'address', status: 'status', credit_limit: 'i128', interest_rate_bps: 'u32', risk_score: 'u32' },
};
const COLLATERAL_MOVE: Ty = { struct: { borrower: 'address', amount: 'i128', new_balance: 'i128' } };

const credit = (name: string, payload: Ty): EventSpec => ({ topics: ['credit', name], payload });

export const EVENT_CATALOG = {
  opened: credit('opened', CREDIT_LINE_EVENT),
  suspend: credit('suspend', CREDIT_LINE_EVENT),
  closed: credit('closed', CREDIT_LINE_EVENT),
  defaulted: credit('defaulted', CREDIT_LINE_EVENT),
  reinstate: credit('reinstate', CREDIT_LINE_EVENT),
  drawn: credit('drawn', { struct: { borrower: 'address', amount: 'i128', new_utilized_amount: 'i128', timestamp: 'u64' } }),
  repay: credit('repay', { struct: { borrower: 'address', amount: 'i128', new_utilized_amount: 'i128' } }),
  accrue: credit('accrue', { struct: { borrower: 'address', accrued_amount: 'i128', new_utilized_amount: 'i128' } }),
  borrow_lc: credit('borrow_lc', {
    struct: {
      borrower: 'address',
      phase: 'unit',
      status: 'status',
      utilized_amount: 'i128',
      credit_limit: 'i128',
      interest_rate_bps: 'u32',
      timestamp: 'u64',
    },
  }),
  debt_frgv: credit('debt_frgv', {
    struct: { borrower: 'address', amount_forgiven: 'i128', remaining_accrued_interest: 'i128', new_utilized_amount: 'i128' },
  }),
  risk_upd: credit('risk_upd', { struct: { borrower: 'address', credit_limit: 'i128', interest_rate_bps: 'u32', risk_score: 'u32' } }),
  fee_accrd: credit('fee_accrd', {
    struct: {
      borrower: 'address',
      fee_amount: 'i128',
      treasury_amount: 'i128',
      bounty_amount: 'i128',
      new_treasury_balance: 'i128',
      new_bounty_balance: 'i128',
    },
  }),
  late_fee: credit('late_fee', { struct: { borrower: 'address', fee: 'i128', installment_index: 'u64' } }),
  pen_enter: credit('pen_enter', {
    struct: { borrower: 'address', base_rate_bps: 'u32', penalty_surcharge_bps: 'u32', effective_rate_bps: 'u32' },
  }),
  pen_exit: credit('pen_exit', { struct: { borrower: 'address', previous_rate_bps: 'u32', new_rate_bps: 'u32' } }),
  grace_wv: credit('grace_wv', { struct: { borrower: 'address', waived_amount: 'i128', mode: 'u32' } }),
  liq_req: credit('liq_req', { tuple: ['address', 'i128'] }),
  liq_setl: credit('liq_setl', {
    struct: {
      borrower: 'address',
      settlement_id: 'symbol',
      recovered_amount: 'i128',
      remaining_utilized_amount: 'i128',
      status: 'status',
      close_factor_bps: 'u32',
    },
  }),
  col_dep: credit('col_dep', COLLATERAL_MOVE),
  col_wit: credit('col_wit', COLLATERAL_MOVE),
  col_part_rel: credit('col_part_rel', {
    struct: { borrower: 'address', amount_released: 'i128', new_balance: 'i128', health_factor_bps: 'u64' },
  }),
  col_lca: credit('col_lca', {
    struct: {
      borrower: 'address',
      kind: 'u32',
      token: { option: 'address' },
      amount: 'i128',
      new_balance: 'i128',
      ledger: 'u32',
      timestamp: 'u64',
    },
  }),
  drw_freeze: credit('drw_freeze', { struct: { frozen: 'bool', reason: 'u32' } }),
  cl_freeze: credit('cl_freeze', { struct: { borrower: 'address', reason: 'u32', frozen: 'bool' } }),
  br_freeze: { topics: ['br_freeze'], payload: { struct: { borrower: 'address', frozen_until: 'u64', ledger: 'u32' } } },
  blk_chg: { topics: ['blk_chg'], payload: { struct: { borrower: 'address', blocked: 'bool', ledger: 'u32' } } },
  admin_prop: credit('admin_prop', { struct: { proposed_admin: 'address', accept_after: 'u64' } }),
  admin_acc: credit('admin_acc', { struct: { new_admin: 'address' } }),
  upgraded: credit('upgraded', { struct: { old_wasm_hash: 'bytes', new_wasm_hash: 'bytes' } }),
  atst_bat: credit('atst_bat', { struct: { borrower: 'address', merkle_root: 'bytes', count: 'u32' } }),
  rad_cooldown: credit('rad_cooldown', { struct: { cooldown_seconds: 'u64' } }),
  draw_rev: credit('draw_rev', {
    struct: {
      borrower: 'address',
      amount: 'i128',
      original_ts: 'u64',
      reason_code: 'u32',
      new_utilized_amount: 'i128',
      timestamp: 'u64',
      admin: 'address',
      accounting_only: 'bool',
    },
  }),
  rate_form: credit('rate_form', 'bool'),
  paused: credit('paused', 'bool'),
  unpaused: credit('unpaused', 'bool'),
  clsfctr: credit('clsfctr', 'u32'),
  orc_cfg: credit('orc_cfg', { tuple: ['u32', 'u64'] }),
  orc_price: credit('orc_price', { tuple: ['i128', 'u64'] }),
  oracle_quorum: credit('oracle_quorum', { tuple: ['u32', 'u32', 'u64'] }),
  oracle_price: credit('oracle_price', { tuple: ['i128', 'u32', 'u64'] }),
} satisfies Record<string, EventSpec>;

export type EventName = keyof typeof EVENT_CATALOG;
export const EVENT_NAMES = Object.keys(EVENT_CATALOG) as EventName[];

/** One contract event as the contract emits it, before a ledger gives it a position. */
export interface EmittedEvent {
  contractId: string;
  topics: xdr.ScVal[];
  value: xdr.ScVal;
}

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOG, name);
}

/** Encodes a catalogue event; the payload is checked against the catalogue's field names and types. */
export function encodeEvent(contractId: string, name: EventName, payload: unknown): EmittedEvent {
  const spec: EventSpec = EVENT_CATALOG[name];
  return {
    contractId,
    topics: spec.topics.map((t) => xdr.ScVal.scvSymbol(t)),
    value: encode(spec.payload, payload, name),
  };
}

// ── Event ids and cursors ──────────────────────────────────────────────────────────────────────────────
//
// The RPC's event id is a TOID (32-bit ledger, 20-bit transaction order (1-based), 12-bit operation index)
// printed as 19 zero-padded digits, a dash, and the event's index within its operation as 10 digits. The
// same string is the pagination cursor, so positions compare as (toid, event index).

export interface EventPosition {
  ledger: number;
  tx: number;
  op: number;
  event: number;
}

const TX_MASK = 0xfffff;
const OP_MASK = 0xfff;
const EVENT_MAX = 0xffff_ffff;

export function toid(ledger: number, tx: number, op: number): bigint {
  return (BigInt(ledger) << 32n) | (BigInt(tx & TX_MASK) << 12n) | BigInt(op & OP_MASK);
}

export function formatEventId(p: EventPosition): string {
  return `${toid(p.ledger, p.tx, p.op).toString().padStart(19, '0')}-${String(p.event).padStart(10, '0')}`;
}

export class CursorError extends Error {
  override name = 'CursorError';
}

export function parseEventId(id: string): EventPosition {
  const match = /^(\d{1,20})-(\d{1,10})$/.exec(id);
  if (!match) throw new CursorError(`invalid cursor: ${JSON.stringify(id)}`);
  const t = BigInt(match[1]!);
  const event = Number(match[2]!);
  if (t >> 32n > 0xffff_ffffn || event > EVENT_MAX) throw new CursorError(`invalid cursor: ${JSON.stringify(id)}`);
  return {
    ledger: Number(t >> 32n),
    tx: Number((t >> 12n) & BigInt(TX_MASK)),
    op: Number(t & BigInt(OP_MASK)),
    event,
  };
}

/** The largest position inside a ledger: where an incomplete page leaves the cursor (end of the scanned window). */
export function endOfLedger(ledger: number): EventPosition {
  return { ledger, tx: TX_MASK, op: OP_MASK, event: EVENT_MAX };
}

export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.ledger - b.ledger || a.tx - b.tx || a.op - b.op || a.event - b.event;
}

// ── Filters ────────────────────────────────────────────────────────────────────────────────────────────

/** A topic filter: 1–4 segment matchers, each '*', a base64 ScVal (canonicalised), with an optional trailing '**'. */
export type TopicFilter = string[];

export interface EventFilter {
  type?: string;
  contractIds?: string[];
  topics?: TopicFilter[];
}

/** Matches one topic filter against an event's base64 topics, with the RPC's '*' and trailing '**' rules. */
export function topicMatches(filter: TopicFilter, topics: string[]): boolean {
  const flexible = filter.length > 0 && filter[filter.length - 1] === '**';
  const fixed = flexible ? filter.slice(0, -1) : filter;
  if (flexible ? topics.length < fixed.length : topics.length !== fixed.length) return false;
  return fixed.every((segment, i) => segment === '*' || segment === topics[i]);
}

export function filterMatches(filter: EventFilter, event: { type: string; contractId: string; topic: string[] }): boolean {
  if (filter.type && !filter.type.split(',').includes(event.type)) return false;
  if (filter.contractIds && filter.contractIds.length > 0 && !filter.contractIds.includes(event.contractId)) return false;
  if (filter.topics && filter.topics.length > 0 && !filter.topics.some((t) => topicMatches(t, event.topic))) return false;
  return true;
}
