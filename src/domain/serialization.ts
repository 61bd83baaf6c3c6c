import { availableCredit, type CreditLine } from './creditLine.js';
import { formatAmount } from './money.js';
import { maskAddress } from './stellarAddress.js';
import type { LedgerEntry } from './ledger.js';

/** The JSON shape of a credit line: used by the API, domain-event payloads and audit snapshots alike. */
export function creditLineToJson(line: CreditLine) {
  return {
    id: line.id,
    walletAddress: line.walletAddress,
    currency: line.currency,
    creditLimit: formatAmount(line.creditLimit),
    interestRateBps: line.interestRateBps,
    utilized: formatAmount(line.utilized),
    accruedInterest: formatAmount(line.accruedInterest),
    availableCredit: formatAmount(availableCredit(line)),
    status: line.status,
    contractId: line.contractId,
    riskScore: line.riskScore,
    lastAccrualAt: line.lastAccrualAt.toISOString(),
    createdAt: line.createdAt.toISOString(),
    updatedAt: line.updatedAt.toISOString(),
  };
}

export type CreditLineJson = ReturnType<typeof creditLineToJson>;

export function ledgerEntryToJson(entry: LedgerEntry) {
  return {
    id: entry.id,
    creditLineId: entry.creditLineId,
    type: entry.type,
    amount: formatAmount(entry.amount),
    interestAmount: formatAmount(entry.interestAmount),
    principalAmount: formatAmount(entry.principalAmount),
    utilizedAfter: formatAmount(entry.utilizedAfter),
    createdAt: entry.createdAt.toISOString(),
  };
}

/** Audit rows are read by people: they keep the state, but not the full wallet address. */
export function auditSnapshot(line: CreditLine): Record<string, unknown> {
  return { ...creditLineToJson(line), walletAddress: maskAddress(line.walletAddress) };
}
