/**
 * Fiat repayments: a card user pays the bill through a payment provider (or in USDC through an anchor), and the
 * provider's confirmation applies it to the line. Fiat amounts are integers in the currency's minor units (cents),
 * line amounts bigint base units (7 decimals); the rate used between them is recorded on the repayment.
 */

export const REPAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'refunded', 'parked'] as const;
export type RepaymentStatus = (typeof REPAYMENT_STATUSES)[number];

export const PROVIDERS = ['stripe', 'anchor'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface Repayment {
  id: string;
  creditLineId: string;
  walletAddress: string;
  provider: ProviderName;
  /** The provider's id for it: a PaymentIntent id, or the memo an anchor payment must carry. */
  providerRef: string;
  status: RepaymentStatus;
  /** Lower-case ISO 4217 code of what the user pays in (`usd`), or the asset code for anchor repayments. */
  currency: string;
  /** What the user was asked to pay, in the currency's minor units. */
  fiatAmount: bigint;
  /** Line-asset units per one major unit of the currency, 1e14-scaled (1 USD = 1 USDC is 1e14). */
  fxRate1e14: bigint;
  /** What the payment is worth on the line at that rate (base units). */
  amount: bigint;
  /** What was applied to the line when it succeeded, and what was held as credit balance (over-payment). */
  appliedAmount: bigint;
  creditedAmount: bigint;
  /** Taken back by refunds and disputes. */
  reversedAmount: bigint;
  failureReason: string | null;
  parkedReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProviderEvent {
  provider: ProviderName;
  eventId: string;
  type: string;
  receivedAt: Date;
  outcome: string;
  repaymentId: string | null;
}

export const FINDING_KINDS = ['missing_in_ledger', 'missing_at_provider', 'amount_mismatch', 'currency_mismatch'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** What a settlement check found wrong about one payment. */
export interface Mismatch {
  kind: FindingKind;
  severity: 'critical' | 'warning';
  providerRef: string | null;
  repaymentId: string | null;
  expected: string | null;
  actual: string | null;
}

export interface SettlementFinding extends Mismatch {
  id: string;
  runId: string;
  createdAt: Date;
}

export interface SettlementRun {
  id: string;
  windowFrom: Date;
  windowTo: Date;
  status: 'running' | 'clean' | 'mismatch_found' | 'failed';
  chargesChecked: number;
  payoutsChecked: number;
  findingCount: number;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}
