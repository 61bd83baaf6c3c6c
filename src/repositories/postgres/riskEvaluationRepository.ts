import type { Queryable } from '../../db/db.js';
import type { SignalContribution } from '../../domain/risk/model.js';
import type { EvaluationApplication, RiskEvaluation, RiskEvaluationSummary } from '../../domain/risk/evaluation.js';
import type { RateConstraint } from '../../domain/risk/terms.js';
import type { Page, RiskEvaluationRepository } from '../repositories.js';

interface EvaluationRow {
  id: string;
  seq: string;
  wallet_address: string;
  provider: string;
  model_version: string;
  score: number;
  band: string;
  decision: 'approve' | 'decline';
  credit_limit: string;
  interest_rate_bps: number;
  signals: SignalContribution[];
  inputs: Record<string, unknown>;
  evaluated_at: Date;
  expires_at: Date;
  applied_at: Date | null;
  applied_by: string | null;
  applied_to_line_id: string | null;
  applied_terms: { creditLimit: string; interestRateBps: number; rateConstraint: RateConstraint } | null;
}

const SUMMARY_COLUMNS =
  'id, seq, wallet_address, provider, model_version, score, band, decision, credit_limit, interest_rate_bps, evaluated_at, expires_at, applied_at, applied_by, applied_to_line_id, applied_terms';
const COLUMNS = `${SUMMARY_COLUMNS}, signals, inputs`;

const toEvaluation = (row: EvaluationRow): RiskEvaluation => ({ ...toSummary(row), signals: row.signals, inputs: row.inputs });

const toSummary = (row: Omit<EvaluationRow, 'signals' | 'inputs'>): RiskEvaluationSummary => ({
  id: row.id,
  seq: BigInt(row.seq),
  walletAddress: row.wallet_address,
  provider: row.provider,
  modelVersion: row.model_version,
  score: row.score,
  band: row.band,
  decision: row.decision,
  creditLimit: BigInt(row.credit_limit),
  interestRateBps: row.interest_rate_bps,
  evaluatedAt: new Date(row.evaluated_at),
  expiresAt: new Date(row.expires_at),
  application:
    row.applied_at && row.applied_by && row.applied_to_line_id && row.applied_terms
      ? {
          at: new Date(row.applied_at),
          by: row.applied_by,
          creditLineId: row.applied_to_line_id,
          creditLimit: BigInt(row.applied_terms.creditLimit),
          interestRateBps: row.applied_terms.interestRateBps,
          rateConstraint: row.applied_terms.rateConstraint,
        }
      : null,
});

export class PostgresRiskEvaluationRepository implements RiskEvaluationRepository {
  constructor(private readonly db: Queryable) {}

  async insert(e: Omit<RiskEvaluation, 'seq'>): Promise<RiskEvaluation> {
    const { rows } = await this.db.query<EvaluationRow>(
      `INSERT INTO risk_evaluations (id, wallet_address, provider, model_version, score, band, decision, credit_limit, interest_rate_bps, signals, inputs, evaluated_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
      [
        e.id,
        e.walletAddress,
        e.provider,
        e.modelVersion,
        e.score,
        e.band,
        e.decision,
        e.creditLimit.toString(),
        e.interestRateBps,
        JSON.stringify(e.signals),
        JSON.stringify(e.inputs),
        e.evaluatedAt,
        e.expiresAt,
      ],
    );
    return toEvaluation(rows[0]!);
  }

  async findById(id: string): Promise<RiskEvaluation | null> {
    const { rows } = await this.db.query<EvaluationRow>(`SELECT ${COLUMNS} FROM risk_evaluations WHERE id = $1`, [id]);
    return rows[0] ? toEvaluation(rows[0]) : null;
  }

  async latestForWallet(walletAddress: string): Promise<RiskEvaluation | null> {
    const { rows } = await this.db.query<EvaluationRow>(`SELECT ${COLUMNS} FROM risk_evaluations WHERE wallet_address = $1 ORDER BY seq DESC LIMIT 1`, [walletAddress]);
    return rows[0] ? toEvaluation(rows[0]) : null;
  }

  async listByWallet(walletAddress: string, page: Page<bigint>): Promise<RiskEvaluationSummary[]> {
    // The explanation (signals, inputs) stays on disk: a page of history is read and sent without it.
    const { rows } = await this.db.query<EvaluationRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM risk_evaluations
        WHERE wallet_address = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
        ORDER BY seq DESC LIMIT $3`,
      [walletAddress, page.after?.toString() ?? null, page.limit],
    );
    return rows.map(toSummary);
  }

  async markApplied(id: string, application: EvaluationApplication): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE risk_evaluations SET applied_at = $2, applied_by = $3, applied_to_line_id = $4, applied_terms = $5
        WHERE id = $1 AND applied_at IS NULL`,
      [
        id,
        application.at,
        application.by,
        application.creditLineId,
        JSON.stringify({ creditLimit: application.creditLimit.toString(), interestRateBps: application.interestRateBps, rateConstraint: application.rateConstraint }),
      ],
    );
    return rowCount === 1;
  }
}
