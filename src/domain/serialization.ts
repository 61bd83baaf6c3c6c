import { availableCredit, type CreditLine } from './creditLine.js';
import { formatAmount } from './money.js';
import { maskAddress } from './stellarAddress.js';
import type { LedgerEntry } from './ledger.js';
import type { RiskEvaluation, RiskEvaluationSummary } from './risk/evaluation.js';
import { contractRiskScore } from './risk/terms.js';

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
    rateUpdatedAt: line.rateUpdatedAt?.toISOString() ?? null,
    collateralBacked: line.collateralBacked,
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

export function riskEvaluationToJson(evaluation: RiskEvaluation) {
  const { signals, inputs, ...summary } = evaluation;
  return { ...riskEvaluationSummaryToJson(summary), signals, inputs };
}

export function riskEvaluationSummaryToJson(evaluation: RiskEvaluationSummary) {
  const { application } = evaluation;
  return {
    id: evaluation.id,
    walletAddress: evaluation.walletAddress,
    provider: evaluation.provider,
    modelVersion: evaluation.modelVersion,
    score: evaluation.score,
    contractRiskScore: contractRiskScore(evaluation.score),
    band: evaluation.band,
    decision: evaluation.decision,
    creditLimit: formatAmount(evaluation.creditLimit),
    interestRateBps: evaluation.interestRateBps,
    evaluatedAt: evaluation.evaluatedAt.toISOString(),
    expiresAt: evaluation.expiresAt.toISOString(),
    application: application && {
      appliedAt: application.at.toISOString(),
      appliedBy: application.by,
      creditLineId: application.creditLineId,
      creditLimit: formatAmount(application.creditLimit),
      interestRateBps: application.interestRateBps,
      rateConstraint: application.rateConstraint,
    },
  };
}
