/** One row of a credit line's ledger: every change of the balance leaves one. */
/**
 * `collateral_repay`: debt repaid from the borrower's collateral (a stop-loss sale or a liquidation);
 * `repay_reversal`: a repayment given back by the payment provider (a refund or a lost dispute).
 */
export const LEDGER_ENTRY_TYPES = ['draw', 'repay', 'interest', 'write_off', 'collateral_repay', 'repay_reversal'] as const;
export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];

export interface LedgerEntry {
  id: string;
  /** Assigned by the store on append; orders a line's entries. */
  seq: bigint;
  creditLineId: string;
  type: LedgerEntryType;
  amount: bigint;
  /** For repayments: the part that paid accrued interest. */
  interestAmount: bigint;
  /** For repayments: the part that paid principal. */
  principalAmount: bigint;
  utilizedAfter: bigint;
  createdAt: Date;
}
