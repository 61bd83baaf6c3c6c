import { ConflictError, UnprocessableError } from '../errors.js';
import type { SignalContribution } from './model.js';
import type { RateConstraint } from './terms.js';

/** One scoring of one wallet, kept with everything needed to explain it and to see where it was applied. */
export interface RiskEvaluation {
  id: string;
  seq: bigint;
  walletAddress: string;
  provider: string;
  modelVersion: string;
  score: number;
  band: string;
  decision: 'approve' | 'decline';
  creditLimit: bigint;
  interestRateBps: number;
  signals: SignalContribution[];
  /** The raw facts the signals came from (amounts as decimal strings). */
  inputs: Record<string, unknown>;
  evaluatedAt: Date;
  expiresAt: Date;
  application: EvaluationApplication | null;
}

/** An evaluation without its explanation: what a history lists (the explanation is one GET away). */
export type RiskEvaluationSummary = Omit<RiskEvaluation, 'signals' | 'inputs'>;

export interface EvaluationApplication {
  at: Date;
  by: string;
  creditLineId: string;
  /** What the line actually got: the rate may stop short of the evaluation's under the rate-change guard. */
  creditLimit: bigint;
  interestRateBps: number;
  rateConstraint: RateConstraint;
}

export const isFresh = (evaluation: Pick<RiskEvaluation, 'expiresAt'>, now: Date): boolean => evaluation.expiresAt > now;

/** An evaluation may set a line's terms once, while it is the wallet's latest, unexpired, and approving. */
export function assertApplicable(evaluation: RiskEvaluation, latestId: string | undefined, now: Date): void {
  if (evaluation.application) {
    throw new ConflictError('evaluation_already_applied', 'This evaluation was already applied', {
      appliedAt: evaluation.application.at.toISOString(),
      creditLineId: evaluation.application.creditLineId,
    });
  }
  if (latestId !== evaluation.id) {
    throw new ConflictError('evaluation_superseded', 'A newer evaluation exists for this wallet; apply the latest one', { latestEvaluationId: latestId ?? null });
  }
  if (!isFresh(evaluation, now)) {
    throw new ConflictError('evaluation_expired', 'This evaluation has expired; evaluate the wallet again', { expiredAt: evaluation.expiresAt.toISOString() });
  }
  if (evaluation.decision === 'decline') {
    throw new UnprocessableError('evaluation_declined', `The evaluation declined credit (score ${evaluation.score}); suspend the line instead of lowering its limit to zero`, {
      score: evaluation.score,
    });
  }
}
