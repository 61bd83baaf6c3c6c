import { coerceArgs, fnSpec, type FnSpec } from './abi.js';
import { encodeEvent, type EmittedEvent, type EventName } from './events.js';
import { CREDIT_STATUS, encode, ValueTypeError } from './scval.js';
import type { xdr } from '@stellar/stellar-sdk';

/**
 * A model of the Creditra `Credit` contract (reference A.5/A.6), precise where an off-chain indexer or
 * reconciliation job can observe it: the check order and error codes of each entry point, lazy accrual with
 * capitalised interest, repay allocation, the stored CreditLineData, stable ids, TotalUtilized, and the
 * exact events in their in-transaction order. It deliberately leaves out token transfers, cooldowns, rate
 * formulas, schedules/penalties/grace and oracles (see docs/devnet.md).
 *
 * Every call runs against a draft copy of the state and only replaces the state when it succeeds, so a
 * failed call leaves no trace, as a trapped Soroban invocation does.
 */

// ── Errors ─────────────────────────────────────────────────────────────────────────────────────────────

export const CONTRACT_ERRORS = {
  Unauthorized: 1,
  NotAdmin: 2,
  CreditLineNotFound: 3,
  CreditLineClosed: 4,
  InvalidAmount: 5,
  OverLimit: 6,
  NegativeLimit: 7,
  RateTooHigh: 8,
  ScoreTooHigh: 9,
  UtilizationNotZero: 10,
  Overflow: 12,
  AlreadyInitialized: 14,
  DrawExceedsMaxAmount: 17,
  Paused: 18,
  DrawsFrozen: 19,
  CreditLineSuspended: 20,
  CreditLineDefaulted: 21,
  CollateralRatioBelowMinimum: 35,
  InsufficientCollateralBalance: 39,
  CreditLineFrozen: 46,
} as const;
export type ContractErrorName = keyof typeof CONTRACT_ERRORS;

/** A `ContractError` raised with `panic_with_error!`: surfaces as `Error(Contract, #code)`. */
export class ContractError extends Error {
  override name = 'ContractError';
  readonly code: number;
  constructor(readonly errorName: ContractErrorName) {
    super(`Error(Contract, #${CONTRACT_ERRORS[errorName]}) ${errorName}`);
    this.code = CONTRACT_ERRORS[errorName];
  }
}

/**
 * A failure outside the contract's error enum: a string `panic!`/`expect` (the host reports
 * `Error(WasmVm, InvalidAction)`), a missing function, a badly typed argument, or failed authorisation.
 */
export class HostError extends Error {
  override name = 'HostError';
  constructor(
    readonly errorType: 'WasmVm' | 'Value' | 'Auth' | 'Storage',
    readonly errorCode: 'InvalidAction' | 'MissingValue' | 'UnexpectedType' | 'InvalidInput',
    readonly detail: string,
  ) {
    super(`Error(${errorType}, ${errorCode}) ${detail}`);
  }

  /** The `Error(Type, Code)` part alone, as the host prints it. */
  get hostCode(): string {
    return `Error(${this.errorType}, ${this.errorCode})`;
  }
}

// ── State ──────────────────────────────────────────────────────────────────────────────────────────────

export interface CreditLine {
  borrower: string;
  credit_limit: bigint;
  utilized_amount: bigint;
  interest_rate_bps: number;
  risk_score: number;
  status: number;
  last_rate_update_ts: bigint;
  accrued_interest: bigint;
  last_accrual_ts: bigint;
  suspension_ts: bigint;
}

export interface ContractState {
  admin: string;
  lines: Map<string, CreditLine>;
  /** CreditLineIdByBorrower; the id is assigned on first persist and survives close and reopen. */
  idByBorrower: Map<string, number>;
  /** CreditLineBorrowerById, indexed by id; its length is CreditLineCount (the next id). */
  borrowerById: string[];
  /** Ledger sequence of each borrower's last write (lastModifiedLedgerSeq in getLedgerEntries). */
  lastModified: Map<string, number>;
  totalUtilized: bigint;
  totalCollateral: bigint;
  collateral: Map<string, bigint>;
  paused: boolean;
  drawsFrozen: boolean;
  drawsFreezeReason: number;
  frozenLines: Map<string, number>;
  maxDrawAmount: bigint | null;
  /** 0 = unsecured. The real `init` sets 15,000; the devnet starts unsecured so draws need no collateral. */
  minCollateralRatioBps: number;
  protocolFeeBps: number;
  treasuryFeeShareBps: number;
  treasuryBalance: bigint;
  bountyBalance: bigint;
  /** `("liq_seen", borrower, settlement_id)` replay markers. */
  settlements: Set<string>;
}

export function initialState(admin: string): ContractState {
  return {
    admin,
    lines: new Map(),
    idByBorrower: new Map(),
    borrowerById: [],
    lastModified: new Map(),
    totalUtilized: 0n,
    totalCollateral: 0n,
    collateral: new Map(),
    paused: false,
    drawsFrozen: false,
    drawsFreezeReason: 0,
    frozenLines: new Map(),
    maxDrawAmount: null,
    minCollateralRatioBps: 0,
    protocolFeeBps: 0,
    treasuryFeeShareBps: 10_000,
    treasuryBalance: 0n,
    bountyBalance: 0n,
    settlements: new Set(),
  };
}

/** Where a call runs: the ledger timestamp the contract sees and the sequence of the ledger being built. */
export interface CallContext {
  now: number;
  ledger: number;
}

export interface CallResult {
  fn: string;
  retval: xdr.ScVal;
  /** The return value as JS (bigints for i128/u64). */
  result: unknown;
  events: EmittedEvent[];
  /** Borrowers whose stored line this call wrote (the write footprint). */
  written: string[];
}

// ── Execution of one call ───────────────────────────────────────────────────────────────────────────────

const SECONDS_PER_YEAR = 31_557_600n;
const BPS = 10_000n;
const MAX_INTEREST_RATE_BPS = 10_000;
const MAX_RISK_SCORE = 100;
const MAX_BATCH = 50;
const MAX_PAGE = 100;
const { Active, Suspended, Defaulted, Closed, Restricted } = CREDIT_STATUS;

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

class Execution {
  readonly events: EmittedEvent[] = [];
  readonly written = new Set<string>();

  constructor(
    readonly state: ContractState,
    readonly contractId: string,
    readonly ctx: CallContext,
  ) {}

  get now(): bigint {
    return BigInt(this.ctx.now);
  }

  emit(name: EventName, payload: unknown): void {
    this.events.push(encodeEvent(this.contractId, name, payload));
  }

  fail(name: ContractErrorName): never {
    throw new ContractError(name);
  }

  notPaused(): void {
    if (this.state.paused) this.fail('Paused');
  }

  line(borrower: string): CreditLine | undefined {
    return this.state.lines.get(borrower);
  }

  requireLine(borrower: string): CreditLine {
    return this.line(borrower) ?? this.fail('CreditLineNotFound');
  }

  /**
   * A.6.3: ΔI = floor(u·r·Δt / (10,000·31,557,600)), capitalised into utilisation and accrued interest. The
   * checkpoint moves only when ΔI > 0 (or when there is no debt), so sub-unit dust keeps accumulating time.
   */
  accrue(line: CreditLine): void {
    if (this.now <= line.last_accrual_ts) return;
    if (line.utilized_amount <= 0n) {
      line.last_accrual_ts = this.now;
      return;
    }
    const dt = this.now - line.last_accrual_ts;
    const delta = (line.utilized_amount * BigInt(line.interest_rate_bps) * dt) / (BPS * SECONDS_PER_YEAR);
    if (delta <= 0n) return;
    line.utilized_amount += delta;
    line.accrued_interest += delta;
    line.last_accrual_ts = this.now;
    this.emit('accrue', { borrower: line.borrower, accrued_amount: delta, new_utilized_amount: line.utilized_amount });
  }

  /** `persist_credit_line`: store the line, keep TotalUtilized equal to the sum of utilisations, assign the id. */
  persist(line: CreditLine, previousUtilized: bigint): void {
    const s = this.state;
    s.lines.set(line.borrower, line);
    s.totalUtilized += line.utilized_amount - previousUtilized;
    if (!s.idByBorrower.has(line.borrower)) {
      s.idByBorrower.set(line.borrower, s.borrowerById.length);
      s.borrowerById.push(line.borrower);
    }
    s.lastModified.set(line.borrower, this.ctx.ledger);
    this.written.add(line.borrower);
  }

  lineEvent(name: 'opened' | 'suspend' | 'closed' | 'defaulted' | 'reinstate', line: CreditLine, status = line.status): void {
    this.emit(name, {
      borrower: line.borrower,
      status,
      credit_limit: line.credit_limit,
      interest_rate_bps: line.interest_rate_bps,
      risk_score: line.risk_score,
    });
  }

  lifecycle(phase: 'Drawn' | 'Repaid' | 'DebtForgiven', line: CreditLine): void {
    this.emit('borrow_lc', {
      borrower: line.borrower,
      phase,
      status: line.status,
      utilized_amount: line.utilized_amount,
      credit_limit: line.credit_limit,
      interest_rate_bps: line.interest_rate_bps,
      timestamp: this.now,
    });
  }
}

type Impl = (ex: Execution, a: Record<string, unknown>) => unknown;

const str = (a: Record<string, unknown>, k: string): string => a[k] as string;
const int = (a: Record<string, unknown>, k: string): bigint => a[k] as bigint;
const num = (a: Record<string, unknown>, k: string): number => a[k] as number;

/** The encoded CreditLineData, as `get_credit_line` returns it and as it sits in persistent storage. */
export function creditLineView(line: CreditLine): Record<string, unknown> {
  return { ...line };
}

const IMPLS: Record<string, Impl> = {
  open_credit_line(ex, a) {
    ex.notPaused();
    const borrower = str(a, 'borrower');
    const limit = int(a, 'credit_limit');
    const rate = num(a, 'interest_rate_bps');
    const score = num(a, 'risk_score');
    if (limit <= 0n) ex.fail('InvalidAmount');
    if (rate > MAX_INTEREST_RATE_BPS) ex.fail('RateTooHigh');
    if (score > MAX_RISK_SCORE) ex.fail('ScoreTooHigh');
    const existing = ex.line(borrower);
    // Any non-Active line (Suspended, Defaulted, Closed, Restricted) is reopened with utilisation reset.
    if (existing?.status === Active) ex.fail('AlreadyInitialized');
    const line: CreditLine = {
      borrower,
      credit_limit: limit,
      utilized_amount: 0n,
      interest_rate_bps: rate,
      risk_score: score,
      status: Active,
      last_rate_update_ts: 0n,
      accrued_interest: 0n,
      last_accrual_ts: ex.now,
      suspension_ts: 0n,
    };
    ex.persist(line, existing?.utilized_amount ?? 0n);
    ex.lineEvent('opened', line);
  },

  // A.6.1, in order; the steps the devnet does not model (reentrancy, cooldown, utilisation cap, exposure
  // cap, liquidity source) always pass.
  draw_credit(ex, a) {
    const s = ex.state;
    const borrower = str(a, 'borrower');
    const amount = int(a, 'amount');
    ex.notPaused();
    if (amount <= 0n) ex.fail('InvalidAmount');
    if (s.drawsFrozen) ex.fail('DrawsFrozen');
    if (s.frozenLines.has(borrower)) ex.fail('CreditLineFrozen');
    if (s.maxDrawAmount !== null && amount > s.maxDrawAmount) ex.fail('DrawExceedsMaxAmount');
    const line = ex.requireLine(borrower);
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (line.status === Suspended) ex.fail('CreditLineSuspended');
    if (line.status === Defaulted) ex.fail('CreditLineDefaulted');
    if (line.status === Closed) ex.fail('CreditLineClosed');
    if (line.utilized_amount + amount > line.credit_limit) ex.fail('OverLimit');
    const collateral = s.collateral.get(borrower) ?? 0n;
    if (collateral < ((line.utilized_amount + amount) * BigInt(s.minCollateralRatioBps)) / BPS) {
      ex.fail('CollateralRatioBelowMinimum');
    }
    line.utilized_amount += amount;
    ex.persist(line, previous);
    ex.emit('drawn', { borrower, amount, new_utilized_amount: line.utilized_amount, timestamp: ex.now });
    ex.lifecycle('Drawn', line);
  },

  // A.6.2. Not pause-gated. Status never changes on repay.
  repay_credit(ex, a) {
    const s = ex.state;
    const borrower = str(a, 'borrower');
    const amount = int(a, 'amount');
    if (amount <= 0n) ex.fail('InvalidAmount');
    const line = ex.requireLine(borrower);
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (line.status === Closed) ex.fail('CreditLineClosed');
    const effective = min(amount, line.utilized_amount);
    const interestPart = min(effective, line.accrued_interest);
    const fee = (interestPart * BigInt(s.protocolFeeBps)) / BPS;
    if (fee > 0n) {
      const treasury = (fee * BigInt(s.treasuryFeeShareBps)) / BPS;
      const bounty = fee - treasury;
      s.treasuryBalance += treasury;
      s.bountyBalance += bounty;
      ex.emit('fee_accrd', {
        borrower,
        fee_amount: fee,
        treasury_amount: treasury,
        bounty_amount: bounty,
        new_treasury_balance: s.treasuryBalance,
        new_bounty_balance: s.bountyBalance,
      });
    }
    line.accrued_interest -= interestPart;
    line.utilized_amount -= effective;
    ex.persist(line, previous);
    // The contract always publishes a zero accrue inside repay, carrying the post-repay utilisation.
    ex.emit('accrue', { borrower, accrued_amount: 0n, new_utilized_amount: line.utilized_amount });
    ex.emit('repay', { borrower, amount: effective, new_utilized_amount: line.utilized_amount });
    ex.lifecycle('Repaid', line);
  },

  update_risk_parameters(ex, a) {
    ex.notPaused();
    const borrower = str(a, 'borrower');
    const limit = int(a, 'credit_limit');
    const rate = num(a, 'interest_rate_bps');
    const score = num(a, 'risk_score');
    const line = ex.requireLine(borrower);
    if (limit < 0n) ex.fail('NegativeLimit');
    if (rate > MAX_INTEREST_RATE_BPS) ex.fail('RateTooHigh');
    if (score > MAX_RISK_SCORE) ex.fail('ScoreTooHigh');
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (rate !== line.interest_rate_bps) line.last_rate_update_ts = ex.now;
    line.credit_limit = limit;
    line.interest_rate_bps = rate;
    line.risk_score = score;
    // The only Restricted↔Active path, and it emits nothing but risk_upd: indexers must infer the status.
    if (line.status === Active && limit < line.utilized_amount) line.status = Restricted;
    else if (line.status === Restricted && limit >= line.utilized_amount) line.status = Active;
    ex.persist(line, previous);
    ex.emit('risk_upd', { borrower, credit_limit: limit, interest_rate_bps: rate, risk_score: score });
  },

  // The admin path skips accrual, leaves suspension_ts alone and fails with string panics (A.5).
  suspend_credit_line(ex, a) {
    ex.notPaused();
    const line = ex.line(str(a, 'borrower'));
    if (!line) throw new HostError('WasmVm', 'InvalidAction', 'Credit line not found');
    if (line.status !== Active) throw new HostError('WasmVm', 'InvalidAction', 'Only active credit lines can be suspended');
    line.status = Suspended;
    ex.persist(line, line.utilized_amount);
    ex.lineEvent('suspend', line);
  },

  self_suspend_credit_line(ex, a) {
    ex.notPaused();
    const line = ex.requireLine(str(a, 'borrower'));
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (line.status !== Active) ex.fail('CreditLineSuspended');
    line.status = Suspended;
    line.suspension_ts = ex.now;
    ex.persist(line, previous);
    ex.lineEvent('suspend', line);
  },

  close_credit_line(ex, a) {
    ex.notPaused();
    const borrower = str(a, 'borrower');
    const closer = str(a, 'closer');
    const line = ex.requireLine(borrower);
    if (line.status === Closed) return; // idempotent: no write, no event
    if (closer !== ex.state.admin) {
      if (closer !== borrower) ex.fail('Unauthorized');
      if (line.utilized_amount !== 0n) ex.fail('UtilizationNotZero');
    }
    line.status = Closed;
    ex.persist(line, line.utilized_amount);
    ex.lineEvent('closed', line);
  },

  default_credit_line(ex, a) {
    ex.notPaused();
    const line = ex.requireLine(str(a, 'borrower'));
    if (line.status === Closed) ex.fail('CreditLineClosed');
    if (line.status === Defaulted) return; // already defaulted: a no-op
    const previous = line.utilized_amount;
    ex.accrue(line);
    line.status = Defaulted;
    ex.persist(line, previous);
    ex.lineEvent('defaulted', line);
    ex.emit('liq_req', [line.borrower, line.utilized_amount]);
  },

  // Only from Defaulted, and only to Active or Restricted (else InvalidAmount). There is no Suspended→Active path.
  reinstate_credit_line(ex, a) {
    ex.notPaused();
    const target = num(a, 'target_status');
    if (target !== Active && target !== Restricted) ex.fail('InvalidAmount');
    const line = ex.requireLine(str(a, 'borrower'));
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (line.status !== Defaulted) ex.fail('CreditLineDefaulted');
    line.status = target;
    line.suspension_ts = 0n;
    ex.persist(line, previous);
    ex.lineEvent('reinstate', line, target);
  },

  forgive_debt(ex, a) {
    ex.notPaused();
    const amount = int(a, 'amount');
    if (amount <= 0n) ex.fail('InvalidAmount');
    const line = ex.requireLine(str(a, 'borrower'));
    if (line.status === Closed) ex.fail('CreditLineClosed');
    const previous = line.utilized_amount;
    ex.accrue(line);
    const forgiven = min(amount, line.utilized_amount);
    line.accrued_interest -= min(forgiven, line.accrued_interest);
    line.utilized_amount -= forgiven;
    ex.persist(line, previous);
    ex.emit('debt_frgv', {
      borrower: line.borrower,
      amount_forgiven: forgiven,
      remaining_accrued_interest: line.accrued_interest,
      new_utilized_amount: line.utilized_amount,
    });
    ex.lifecycle('DebtForgiven', line);
  },

  // A.6.7 accounting without the oracle breaker or the auction cross-call.
  settle_default_liquidation(ex, a) {
    const borrower = str(a, 'borrower');
    const recovered = int(a, 'recovered_amount');
    const settlementId = str(a, 'settlement_id');
    const closeFactor = num(a, 'close_factor_bps');
    if (recovered <= 0n) ex.fail('InvalidAmount');
    if (closeFactor < 1 || closeFactor > 10_000) ex.fail('OverLimit');
    const marker = `${borrower}/${settlementId}`;
    if (ex.state.settlements.has(marker)) ex.fail('AlreadyInitialized');
    const line = ex.requireLine(borrower);
    const previous = line.utilized_amount;
    ex.accrue(line);
    if (line.status !== Defaulted) ex.fail('CreditLineDefaulted');
    const actual = min(recovered, (line.utilized_amount * BigInt(closeFactor)) / BPS);
    line.utilized_amount -= actual;
    if (line.utilized_amount === 0n) line.status = Closed;
    ex.persist(line, previous);
    ex.state.settlements.add(marker);
    if (line.status === Closed) ex.lineEvent('closed', line);
    ex.emit('liq_setl', {
      borrower,
      settlement_id: settlementId,
      recovered_amount: actual,
      remaining_utilized_amount: line.utilized_amount,
      status: line.status,
      close_factor_bps: closeFactor,
    });
  },

  accrue_batch(ex, a) {
    ex.notPaused();
    const borrowers = a.borrowers as string[];
    if (borrowers.length > MAX_BATCH) ex.fail('InvalidAmount');
    for (const borrower of borrowers) {
      const line = ex.line(borrower);
      if (!line || line.status !== Active || line.utilized_amount <= 0n) continue;
      const previous = line.utilized_amount;
      ex.accrue(line);
      ex.persist(line, previous);
    }
  },

  set_protocol_paused(ex, a) {
    const paused = a.paused as boolean;
    ex.state.paused = paused;
    ex.emit(paused ? 'paused' : 'unpaused', paused);
  },

  freeze_draws(ex, a) {
    ex.state.drawsFrozen = true;
    ex.state.drawsFreezeReason = num(a, 'reason');
    ex.emit('drw_freeze', { frozen: true, reason: ex.state.drawsFreezeReason });
  },

  unfreeze_draws(ex) {
    ex.state.drawsFrozen = false;
    ex.emit('drw_freeze', { frozen: false, reason: ex.state.drawsFreezeReason });
  },

  freeze_credit_line(ex, a) {
    const borrower = str(a, 'borrower');
    ex.requireLine(borrower);
    ex.state.frozenLines.set(borrower, num(a, 'reason'));
    ex.emit('cl_freeze', { borrower, reason: num(a, 'reason'), frozen: true });
  },

  unfreeze_credit_line(ex, a) {
    const borrower = str(a, 'borrower');
    const reason = ex.state.frozenLines.get(borrower) ?? 0;
    ex.state.frozenLines.delete(borrower);
    ex.emit('cl_freeze', { borrower, reason, frozen: false });
  },

  set_protocol_fee_bps(ex, a) {
    if (num(a, 'fee_bps') > 1_000) ex.fail('Overflow');
    ex.state.protocolFeeBps = num(a, 'fee_bps');
  },

  set_treasury_fee_share_bps(ex, a) {
    if (num(a, 'share_bps') > 10_000) ex.fail('InvalidAmount');
    ex.state.treasuryFeeShareBps = num(a, 'share_bps');
  },

  set_max_draw_amount(ex, a) {
    ex.state.maxDrawAmount = int(a, 'amount') > 0n ? int(a, 'amount') : null;
  },

  set_min_collateral_ratio_bps(ex, a) {
    ex.state.minCollateralRatioBps = num(a, 'ratio_bps');
  },

  deposit_collateral(ex, a) {
    const borrower = str(a, 'borrower');
    const amount = int(a, 'amount');
    if (amount <= 0n) ex.fail('InvalidAmount');
    const balance = (ex.state.collateral.get(borrower) ?? 0n) + amount;
    ex.state.collateral.set(borrower, balance);
    ex.state.totalCollateral += amount;
    ex.emit('col_dep', { borrower, amount, new_balance: balance });
    ex.emit('col_lca', { borrower, kind: 0, token: null, amount, new_balance: balance, ledger: ex.ctx.ledger, timestamp: ex.now });
  },

  withdraw_collateral(ex, a) {
    const borrower = str(a, 'borrower');
    const amount = int(a, 'amount');
    if (amount <= 0n) ex.fail('InvalidAmount');
    const current = ex.state.collateral.get(borrower) ?? 0n;
    if (amount > current) ex.fail('InsufficientCollateralBalance');
    const balance = current - amount;
    const utilized = ex.line(borrower)?.utilized_amount ?? 0n;
    if (balance < (utilized * BigInt(ex.state.minCollateralRatioBps)) / BPS) ex.fail('CollateralRatioBelowMinimum');
    ex.state.collateral.set(borrower, balance);
    ex.state.totalCollateral -= amount;
    ex.emit('col_wit', { borrower, amount, new_balance: balance });
    ex.emit('col_lca', { borrower, kind: 1, token: null, amount, new_balance: balance, ledger: ex.ctx.ledger, timestamp: ex.now });
  },

  // Views: the stored state, never accrued to now (lazy accrual, A.10 point 5).
  get_credit_line(ex, a) {
    const line = ex.line(str(a, 'borrower'));
    return line ? creditLineView(line) : null;
  },

  // `cursor` is an inclusive id; the limit is capped at 100; the second element is the next cursor.
  enumerate_credit_lines(ex, a) {
    const ids = ex.state.borrowerById;
    const limit = Math.min(num(a, 'limit'), MAX_PAGE);
    const skipClosed = a.skip_closed as boolean;
    const lines: Record<string, unknown>[] = [];
    let id = num(a, 'cursor');
    for (; id < ids.length && lines.length < limit; id++) {
      const line = ex.state.lines.get(ids[id]!);
      if (!line || (skipClosed && line.status === Closed)) continue;
      lines.push(creditLineView(line));
    }
    return [lines, id < ids.length ? id : null];
  },

  get_credit_line_count: (ex) => ex.state.borrowerById.length,
  get_total_utilized: (ex) => ex.state.totalUtilized,
  get_protocol_summary: (ex) => ({
    count: ex.state.borrowerById.length,
    total_utilized: ex.state.totalUtilized,
    total_collateral: ex.state.totalCollateral,
    treasury_balance: ex.state.treasuryBalance,
    bounty_balance: ex.state.bountyBalance,
  }),
  get_collateral: (ex, a) => ex.state.collateral.get(str(a, 'borrower')) ?? 0n,
  is_protocol_paused: (ex) => ex.state.paused,
  is_draws_frozen: (ex) => ex.state.drawsFrozen,
  is_credit_line_frozen: (ex, a) => ex.state.frozenLines.has(str(a, 'borrower')),
  get_protocol_fee_bps: (ex) => ex.state.protocolFeeBps,
  get_min_collateral_ratio_bps: (ex) => ex.state.minCollateralRatioBps,
  get_contract_version: () => [1, 0, 0],
};

function specOrThrow(fn: string): FnSpec {
  const spec = fnSpec(fn);
  if (!spec || !IMPLS[fn]) throw new HostError('WasmVm', 'MissingValue', `trying to invoke non-existent contract function ${fn}`);
  return spec;
}

/** Runs one call on `state` (mutating it). Callers pass a draft and keep it only on success. */
function execute(state: ContractState, contractId: string, fn: string, args: Record<string, unknown>, ctx: CallContext): CallResult {
  const spec = specOrThrow(fn);
  const ex = new Execution(state, contractId, ctx);
  const result = IMPLS[fn]!(ex, args);
  return { fn, retval: encode(spec.returns, result ?? null, 'return value'), result: result ?? null, events: ex.events, written: [...ex.written] };
}

/** Fields to overwrite; amounts may be bigint, number or decimal string, the status a number or its name. */
export type CreditLinePatch = {
  [K in Exclude<keyof CreditLine, 'borrower'>]?: K extends 'status' ? number | keyof typeof CREDIT_STATUS : CreditLine[K] | number | string;
};

/**
 * The contract instance: `working` is the state being built in the open ledger (direct invokes and applied
 * transactions write here); `committed` is the state as of the last closed ledger, which is all RPC reads
 * (getLedgerEntries, simulateTransaction) can see — like a real node, which serves the last closed ledger.
 */
export class CreditContract {
  private working: ContractState;
  private committed: ContractState;

  constructor(
    readonly contractId: string,
    admin: string,
  ) {
    this.working = initialState(admin);
    this.committed = structuredClone(this.working);
  }

  get admin(): string {
    return this.working.admin;
  }

  /** Executes a call for real (on the working state). Throws ContractError / HostError / ValueTypeError. */
  call(fn: string, args: Record<string, unknown>, ctx: CallContext): CallResult {
    const draft = structuredClone(this.working);
    const result = execute(draft, this.contractId, fn, args, ctx);
    this.working = draft;
    return result;
  }

  /** Like `call`, but against the last closed ledger's state and without keeping anything. */
  simulate(fn: string, args: Record<string, unknown>, ctx: CallContext): CallResult {
    return execute(structuredClone(this.committed), this.contractId, fn, args, ctx);
  }

  /** Checks names and types of loose arguments (JSON numbers/strings for amounts, status names...). */
  normaliseArgs(fn: string, args: Record<string, unknown> | unknown[] | undefined): Record<string, unknown> {
    return coerceArgs(specOrThrow(fn), args);
  }

  /** The address whose authorisation the call needs, or undefined for unauthenticated calls. */
  requiredSigner(fn: string, args: Record<string, unknown>): string | undefined {
    const rule = specOrThrow(fn).auth;
    if (rule === 'admin') return this.working.admin;
    if (rule === 'borrower') return args.borrower as string;
    if (rule === 'closer') return args.closer as string;
    return undefined;
  }

  /** Seals the open ledger's writes: what RPC reads see from now on. */
  commit(): void {
    this.committed = structuredClone(this.working);
  }

  /** The state RPC readers see (`committed`) or the state including unclosed writes (`working`). */
  state(which: 'working' | 'committed' = 'working'): Readonly<ContractState> {
    return which === 'working' ? this.working : this.committed;
  }

  creditLine(borrower: string, which: 'working' | 'committed' = 'working'): CreditLine | undefined {
    const line = this.state(which).lines.get(borrower);
    return line ? { ...line } : undefined;
  }

  /**
   * Test hook: writes drift straight into storage, in both the working and the committed state, with no event
   * and no TotalUtilized adjustment — what a reconciliation job must detect. `null` deletes the entry.
   */
  tamper(borrower: string, patch: CreditLinePatch | null, lastModifiedLedger: number): CreditLine | undefined {
    if (!this.working.lines.has(borrower) && !this.committed.lines.has(borrower)) {
      throw new ValueTypeError(`no credit line for ${borrower} to tamper with`);
    }
    for (const state of [this.working, this.committed]) {
      if (patch === null) {
        state.lines.delete(borrower);
        continue;
      }
      const line = state.lines.get(borrower);
      if (!line) continue; // opened in the still-open ledger: only the working state has it
      const next: CreditLine = { ...line };
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        switch (key) {
          case 'credit_limit':
          case 'utilized_amount':
          case 'accrued_interest':
          case 'last_rate_update_ts':
          case 'last_accrual_ts':
          case 'suspension_ts':
            next[key] = BigInt(value as bigint | number | string);
            break;
          case 'interest_rate_bps':
          case 'risk_score':
            next[key] = Number(value);
            break;
          case 'status':
            next.status = typeof value === 'string' && value in CREDIT_STATUS ? CREDIT_STATUS[value as keyof typeof CREDIT_STATUS] : Number(value);
            break;
          default:
            throw new ValueTypeError(`unknown CreditLineData field ${key}`);
        }
      }
      state.lines.set(borrower, next);
      state.lastModified.set(borrower, lastModifiedLedger);
    }
    return this.creditLine(borrower);
  }
}
