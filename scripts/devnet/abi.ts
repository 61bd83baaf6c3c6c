import type { xdr } from '@stellar/stellar-sdk';
import { coerce, decode, encode, ValueTypeError, type Ty } from './scval.js';

/**
 * The subset of the Credit contract's ABI the devnet implements (reference A.5): argument names and types in
 * call order, the return type, and who must authorise the call. The same table decodes the ScVal arguments of
 * a real transaction and coerces the named JSON arguments of the control API, so both paths agree.
 */
export type AuthRule =
  /** `require_admin_auth`: the stored admin signs. */
  | 'admin'
  /** The `borrower` argument signs. */
  | 'borrower'
  /** The `closer` argument signs (close_credit_line). */
  | 'closer'
  | 'none';

export interface FnSpec {
  args: Array<[name: string, ty: Ty]>;
  returns: Ty;
  auth: AuthRule;
  /** A view: never writes, so simulation needs no write footprint and submitting it changes nothing. */
  read?: boolean;
}

export const CREDIT_LINE_DATA: Ty = {
  struct: {
    borrower: 'address',
    credit_limit: 'i128',
    utilized_amount: 'i128',
    interest_rate_bps: 'u32',
    risk_score: 'u32',
    status: 'status',
    last_rate_update_ts: 'u64',
    accrued_interest: 'i128',
    last_accrual_ts: 'u64',
    suspension_ts: 'u64',
  },
};

const PROTOCOL_SUMMARY: Ty = {
  struct: { count: 'u32', total_utilized: 'i128', total_collateral: 'i128', treasury_balance: 'i128', bounty_balance: 'i128' },
};

const borrowerOnly: Array<[string, Ty]> = [['borrower', 'address']];
const borrowerAmount: Array<[string, Ty]> = [
  ['borrower', 'address'],
  ['amount', 'i128'],
];
const riskArgs: Array<[string, Ty]> = [
  ['borrower', 'address'],
  ['credit_limit', 'i128'],
  ['interest_rate_bps', 'u32'],
  ['risk_score', 'u32'],
];

export const CREDIT_ABI: Record<string, FnSpec> = {
  // Lifecycle
  open_credit_line: { args: riskArgs, returns: 'void', auth: 'admin' },
  draw_credit: { args: borrowerAmount, returns: 'void', auth: 'borrower' },
  repay_credit: { args: borrowerAmount, returns: 'void', auth: 'borrower' },
  update_risk_parameters: { args: riskArgs, returns: 'void', auth: 'admin' },
  suspend_credit_line: { args: borrowerOnly, returns: 'void', auth: 'admin' },
  self_suspend_credit_line: { args: borrowerOnly, returns: 'void', auth: 'borrower' },
  close_credit_line: {
    args: [
      ['borrower', 'address'],
      ['closer', 'address'],
    ],
    returns: 'void',
    auth: 'closer',
  },
  default_credit_line: { args: borrowerOnly, returns: 'void', auth: 'admin' },
  reinstate_credit_line: {
    args: [
      ['borrower', 'address'],
      ['target_status', 'status'],
    ],
    returns: 'void',
    auth: 'admin',
  },
  forgive_debt: { args: borrowerAmount, returns: 'void', auth: 'admin' },
  settle_default_liquidation: {
    args: [
      ['borrower', 'address'],
      ['recovered_amount', 'i128'],
      ['settlement_id', 'symbol'],
      ['close_factor_bps', 'u32'],
      ['oracle_price', { option: 'i128' }],
    ],
    returns: 'void',
    auth: 'admin',
  },
  accrue_batch: { args: [['borrowers', { vec: 'address' }]], returns: 'void', auth: 'none' },

  // Configuration
  set_protocol_paused: { args: [['paused', 'bool']], returns: 'void', auth: 'admin' },
  freeze_draws: { args: [['reason', 'u32']], returns: 'void', auth: 'admin' },
  unfreeze_draws: { args: [], returns: 'void', auth: 'admin' },
  freeze_credit_line: {
    args: [
      ['borrower', 'address'],
      ['reason', 'u32'],
    ],
    returns: 'void',
    auth: 'admin',
  },
  unfreeze_credit_line: { args: borrowerOnly, returns: 'void', auth: 'admin' },
  set_protocol_fee_bps: { args: [['fee_bps', 'u32']], returns: 'void', auth: 'admin' },
  set_treasury_fee_share_bps: { args: [['share_bps', 'u32']], returns: 'void', auth: 'admin' },
  set_max_draw_amount: { args: [['amount', 'i128']], returns: 'void', auth: 'admin' },
  set_min_collateral_ratio_bps: { args: [['ratio_bps', 'u32']], returns: 'void', auth: 'admin' },

  // Collateral (single-token path)
  deposit_collateral: { args: borrowerAmount, returns: 'void', auth: 'borrower' },
  withdraw_collateral: { args: borrowerAmount, returns: 'void', auth: 'borrower' },

  // Views (read through simulateTransaction)
  get_credit_line: { args: borrowerOnly, returns: { option: CREDIT_LINE_DATA }, auth: 'none', read: true },
  enumerate_credit_lines: {
    args: [
      ['cursor', 'u32'],
      ['limit', 'u32'],
      ['skip_closed', 'bool'],
    ],
    returns: { tuple: [{ vec: CREDIT_LINE_DATA }, { option: 'u32' }] },
    auth: 'none',
    read: true,
  },
  get_credit_line_count: { args: [], returns: 'u32', auth: 'none', read: true },
  get_total_utilized: { args: [], returns: 'i128', auth: 'none', read: true },
  get_protocol_summary: { args: [], returns: PROTOCOL_SUMMARY, auth: 'none', read: true },
  get_collateral: { args: borrowerOnly, returns: 'i128', auth: 'none', read: true },
  is_protocol_paused: { args: [], returns: 'bool', auth: 'none', read: true },
  is_draws_frozen: { args: [], returns: 'bool', auth: 'none', read: true },
  is_credit_line_frozen: { args: borrowerOnly, returns: 'bool', auth: 'none', read: true },
  get_protocol_fee_bps: { args: [], returns: 'u32', auth: 'none', read: true },
  get_min_collateral_ratio_bps: { args: [], returns: 'u32', auth: 'none', read: true },
  get_contract_version: { args: [], returns: { tuple: ['u32', 'u32', 'u32'] }, auth: 'none', read: true },
};

export type CreditFunction = keyof typeof CREDIT_ABI;

export function fnSpec(name: string): FnSpec | undefined {
  return Object.prototype.hasOwnProperty.call(CREDIT_ABI, name) ? CREDIT_ABI[name] : undefined;
}

/** Positional ScVal arguments of a transaction's invokeContract → named, typed values (host-side type checks). */
export function decodeArgs(spec: FnSpec, args: xdr.ScVal[]): Record<string, unknown> {
  if (args.length !== spec.args.length) {
    throw new ValueTypeError(`expected ${spec.args.length} arguments, got ${args.length}`);
  }
  return Object.fromEntries(spec.args.map(([name, ty], i) => [name, decode(ty, args[i]!, name)]));
}

/** Named (or positional) loosely typed arguments from tests or the control API → named, typed values. */
export function coerceArgs(spec: FnSpec, input: Record<string, unknown> | unknown[] | undefined): Record<string, unknown> {
  const source = input ?? {};
  return Object.fromEntries(
    spec.args.map(([name, ty], i) => {
      const value = Array.isArray(source) ? source[i] : source[name];
      if (value === undefined && !(typeof ty === 'object' && 'option' in ty)) {
        throw new ValueTypeError(`missing argument ${name}`);
      }
      return [name, coerce(ty, value ?? null, name)];
    }),
  );
}

/** Named typed values → the positional ScVal arguments a transaction carries. */
export function encodeArgs(spec: FnSpec, args: Record<string, unknown>): xdr.ScVal[] {
  return spec.args.map(([name, ty]) => encode(ty, args[name] ?? null, name));
}
