/**
 * A call to the Credit contract for a bound line, from the moment we build it to its outcome on chain.
 *
 * awaiting_signature: a borrower's call, simulated and handed to the wallet to sign;
 * pending: submitted and accepted into the network's queue; confirmed: it succeeded in a ledger and its events are
 * applied (by whichever sees them first: the transaction's tracker or the indexer); failed: the network refused it
 * or it failed when applied; expired: its time bounds passed without it being included, so it can never land.
 */
export const CHAIN_TRANSACTION_STATUSES = ['awaiting_signature', 'pending', 'confirmed', 'failed', 'expired'] as const;
export type ChainTransactionStatus = (typeof CHAIN_TRANSACTION_STATUSES)[number];

export const CHAIN_ACTIONS = ['open', 'draw', 'repay', 'update_terms', 'suspend', 'reinstate', 'close', 'default', 'liquidate'] as const;
export type ChainAction = (typeof CHAIN_ACTIONS)[number];

/** Operator: signed with STELLAR_OPERATOR_SECRET (the contract's admin); borrower: signed by the wallet. */
export type ChainSigner = 'operator' | 'borrower';

export interface ChainTransactionError {
  /** A transaction result code (txBadAuth, txInsufficientFee ...), `contract` or `host` for failures when applied. */
  code: string;
  /** The contract's error name (OverLimit, CreditLineFrozen ...) when the contract refused it. */
  name: string | null;
  message: string;
}

export interface ChainTransaction {
  id: string;
  /** Null for an `open` until its line appears from the `opened` event. */
  creditLineId: string | null;
  contractId: string;
  walletAddress: string;
  action: ChainAction;
  functionName: string;
  /** The call's arguments in readable form (amounts as decimal strings of base units). */
  arguments: Record<string, string | number | boolean | null>;
  signer: ChainSigner;
  sourceAccount: string;
  status: ChainTransactionStatus;
  /** The envelope as prepared (a borrower's: unsigned) and then as last submitted. */
  envelopeXdr: string;
  /** The hash of the envelope last submitted; a fee bump's outer hash. */
  txHash: string;
  sequence: bigint;
  /** The most the envelope may charge, in stroops. */
  fee: bigint;
  /** The end of the transaction's time bounds: after it (by ledger close time) it can never be included. */
  validUntil: Date;
  /** Sends of its envelopes: resends after TRY_AGAIN_LATER and fee bumps count. */
  submitAttempts: number;
  /** Times an operator transaction that expired unincluded was built and submitted again. */
  resubmissions: number;
  error: ChainTransactionError | null;
  ledger: number | null;
  requestedBy: string;
  requestId: string | null;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date | null;
  settledAt: Date | null;
}

export const isSettled = (tx: Pick<ChainTransaction, 'status'>) => tx.status === 'confirmed' || tx.status === 'failed' || tx.status === 'expired';

export function chainTransactionToJson(tx: ChainTransaction, networkPassphrase: string) {
  return {
    id: tx.id,
    creditLineId: tx.creditLineId,
    contractId: tx.contractId,
    walletAddress: tx.walletAddress,
    action: tx.action,
    functionName: tx.functionName,
    arguments: tx.arguments,
    signer: tx.signer,
    status: tx.status,
    // What a wallet signs: only while the transaction waits for its signature.
    transactionXdr: tx.status === 'awaiting_signature' ? tx.envelopeXdr : null,
    networkPassphrase,
    txHash: tx.txHash,
    sequence: tx.sequence.toString(),
    feeStroops: tx.fee.toString(),
    validUntil: tx.validUntil.toISOString(),
    submitAttempts: tx.submitAttempts,
    resubmissions: tx.resubmissions,
    error: tx.error,
    ledger: tx.ledger,
    createdAt: tx.createdAt.toISOString(),
    updatedAt: tx.updatedAt.toISOString(),
    submittedAt: tx.submittedAt?.toISOString() ?? null,
    settledAt: tx.settledAt?.toISOString() ?? null,
  };
}
