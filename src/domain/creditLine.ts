import { ConflictError, UnprocessableError } from './errors.js';
import { formatAmount, maxBigint, minBigint } from './money.js';

/** `restricted`: the limit was lowered below the balance (no draws until the limit covers it again), as on the contract. */
export const CREDIT_LINE_STATUSES = ['active', 'suspended', 'defaulted', 'closed', 'restricted'] as const;
export type CreditLineStatus = (typeof CREDIT_LINE_STATUSES)[number];

export const MAX_INTEREST_RATE_BPS = 10_000;

export interface CreditLine {
  id: string;
  walletAddress: string;
  currency: string;
  creditLimit: bigint;
  interestRateBps: number;
  /** Principal plus capitalised interest, as the contract's `utilized_amount`. */
  utilized: bigint;
  /** The interest part of `utilized` not yet repaid. */
  accruedInterest: bigint;
  status: CreditLineStatus;
  /** Accrual checkpoint; it only moves when interest of at least one unit is capitalised. */
  lastAccrualAt: Date;
  /** Set when the line is bound to the Credit contract: the chain is then its ledger of record. */
  contractId: string | null;
  /** The contract's risk score (0..100, higher is riskier) for bound lines. */
  riskScore: number | null;
  /** When the rate last changed (null: never since opening); the rate-change guard's minimum interval counts from it. */
  rateUpdatedAt: Date | null;
  /** The limit is also capped by the wallet's collateral (a "Buy & Keep" card line), at current prices. */
  collateralBacked: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const duplicateOpenLine = () =>
  new ConflictError('duplicate_open_line', 'This wallet already has an open credit line; close it before opening another');

export const availableCredit = (line: Pick<CreditLine, 'creditLimit' | 'utilized'>): bigint =>
  maxBigint(line.creditLimit - line.utilized, 0n);

// ---------------------------------------------------------------------------------------------
// State machine

export type CreditLineAction = 'suspend' | 'reinstate' | 'default' | 'close';

const TRANSITIONS: Record<CreditLineAction, { from: readonly CreditLineStatus[]; to: CreditLineStatus }> = {
  suspend: { from: ['active', 'restricted'], to: 'suspended' },
  reinstate: { from: ['suspended', 'defaulted'], to: 'active' },
  default: { from: ['active', 'suspended', 'restricted'], to: 'defaulted' },
  close: { from: ['active', 'suspended', 'defaulted', 'restricted'], to: 'closed' },
};

/** The status an action leads to, or a 409 naming the current status when the transition is illegal. */
export function nextStatus(current: CreditLineStatus, action: CreditLineAction): CreditLineStatus {
  const transition = TRANSITIONS[action];
  if (!transition.from.includes(current)) {
    throw new ConflictError('invalid_transition', `Cannot ${action} a credit line that is ${current}`, {
      currentStatus: current,
      action,
      allowedFrom: transition.from,
    });
  }
  return transition.to;
}

/**
 * The contract's rule when a limit changes: a limit below the balance restricts an active line (no draws), and a
 * limit that covers the balance again cures a restricted one. Other statuses are left alone.
 */
export function statusAfterLimitChange(status: CreditLineStatus, utilized: bigint, creditLimit: bigint): CreditLineStatus {
  if (status === 'active' && utilized > creditLimit) return 'restricted';
  if (status === 'restricted' && utilized <= creditLimit) return 'active';
  return status;
}

export function assertCanDraw(line: CreditLine): void {
  if (line.status !== 'active') {
    throw new ConflictError('invalid_status', `Cannot draw on a credit line that is ${line.status}`, {
      currentStatus: line.status,
    });
  }
}

export function assertCanRepay(line: CreditLine): void {
  if (line.status === 'closed') {
    throw new ConflictError('invalid_status', 'Cannot repay a closed credit line', { currentStatus: line.status });
  }
}

export function assertCanUpdate(line: CreditLine): void {
  if (line.status === 'closed') {
    throw new ConflictError('invalid_status', 'Cannot update a closed credit line', { currentStatus: line.status });
  }
}

// ---------------------------------------------------------------------------------------------
// Interest: mirrors the Credit contract's apply_accrual.

/** 10,000 bps x 31,557,600 s (a 365.25-day year). */
export const INTEREST_DENOMINATOR = 10_000n * 31_557_600n;

export function interestFor(utilized: bigint, rateBps: number, seconds: bigint): bigint {
  if (utilized <= 0n || seconds <= 0n || rateBps <= 0) return 0n;
  return (utilized * BigInt(rateBps) * seconds) / INTEREST_DENOMINATOR;
}

/**
 * Capitalises interest up to `now`. Like the contract, the checkpoint only advances when at least
 * one unit accrues, so sub-unit interest keeps accumulating time instead of being lost; with no
 * debt the checkpoint simply moves to now.
 */
export function accrue(line: CreditLine, now: Date): { line: CreditLine; interest: bigint } {
  const elapsedSeconds = BigInt(Math.floor((now.getTime() - line.lastAccrualAt.getTime()) / 1000));
  if (elapsedSeconds <= 0n) return { line, interest: 0n };
  if (line.utilized === 0n) return { line: { ...line, lastAccrualAt: now }, interest: 0n };
  const interest = interestFor(line.utilized, line.interestRateBps, elapsedSeconds);
  if (interest === 0n) return { line, interest };
  return {
    interest,
    line: {
      ...line,
      utilized: line.utilized + interest,
      accruedInterest: line.accruedInterest + interest,
      lastAccrualAt: new Date(line.lastAccrualAt.getTime() + Number(elapsedSeconds) * 1000),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Draw and repayment

/** `effectiveLimit`: a card line's limit at current prices (its own limit capped by its collateral's). */
export function applyDraw(line: CreditLine, amount: bigint, effectiveLimit: bigint = line.creditLimit): CreditLine {
  assertCanDraw(line);
  const available = availableCredit({ creditLimit: minBigint(line.creditLimit, effectiveLimit), utilized: line.utilized });
  if (amount > available) {
    throw new UnprocessableError('insufficient_credit', `Draw of ${formatAmount(amount)} exceeds the available credit ${formatAmount(available)}`, {
      requested: formatAmount(amount),
      available: formatAmount(available),
      ...(effectiveLimit < line.creditLimit && { collateralLimited: true }),
    });
  }
  return { ...line, utilized: line.utilized + amount };
}

export interface RepaymentSplit {
  interest: bigint;
  principal: bigint;
}

/** Repayments pay accrued interest first, then principal. Over-payment is refused, never absorbed. */
export function allocateRepayment(line: CreditLine, amount: bigint): { line: CreditLine; split: RepaymentSplit } {
  assertCanRepay(line);
  if (amount > line.utilized) {
    throw new UnprocessableError('over_repayment', `Repayment of ${formatAmount(amount)} exceeds the outstanding balance ${formatAmount(line.utilized)}`, {
      requested: formatAmount(amount),
      outstanding: formatAmount(line.utilized),
    });
  }
  const interest = minBigint(amount, line.accruedInterest);
  const principal = amount - interest;
  return {
    split: { interest, principal },
    line: { ...line, utilized: line.utilized - amount, accruedInterest: line.accruedInterest - interest },
  };
}
