import { constraintName, pgErrorCode, PgErrorCode, type Queryable } from '../../db/db.js';
import type { HealthBand } from '../../domain/collateral/health.js';
import { fillFromJson, fillToJson, planFromJson, planToJson } from '../../domain/collateral/planJson.js';
import { executionPending, type AccountRiskState, type ExecutionFill, type ExecutionStatus, type RiskExecution, type StopLossSettings } from '../../domain/collateral/records.js';
import type { Page, RiskExecutionRepository } from '../repositories.js';

interface ExecutionRow {
  id: string;
  wallet_address: string;
  credit_line_id: string;
  kind: RiskExecution['kind'];
  trigger: RiskExecution['trigger'];
  status: ExecutionStatus;
  plan: unknown;
  fill: unknown;
  params_versions: Record<string, number>;
  created_by: string;
  created_at: Date;
  settled_at: Date | null;
  cancel_reason: string | null;
}

const COLUMNS = 'id, wallet_address, credit_line_id, kind, trigger, status, plan, fill, params_versions, created_by, created_at, settled_at, cancel_reason';

const toExecution = (row: ExecutionRow): RiskExecution => ({
  id: row.id,
  walletAddress: row.wallet_address,
  creditLineId: row.credit_line_id,
  kind: row.kind,
  trigger: row.trigger,
  status: row.status,
  plan: planFromJson(row.plan),
  fill: row.fill ? fillFromJson(row.fill) : null,
  paramsVersions: row.params_versions,
  createdBy: row.created_by,
  createdAt: new Date(row.created_at),
  settledAt: row.settled_at ? new Date(row.settled_at) : null,
  cancelReason: row.cancel_reason,
});

export class PostgresRiskExecutionRepository implements RiskExecutionRepository {
  constructor(private readonly db: Queryable) {}

  async insert(e: RiskExecution): Promise<void> {
    try {
      await this.db.query(`INSERT INTO risk_executions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
        e.id,
        e.walletAddress,
        e.creditLineId,
        e.kind,
        e.trigger,
        e.status,
        JSON.stringify(planToJson(e.plan)),
        e.fill ? JSON.stringify(fillToJson(e.fill)) : null,
        JSON.stringify(e.paramsVersions),
        e.createdBy,
        e.createdAt,
        e.settledAt,
        e.cancelReason,
      ]);
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.uniqueViolation && constraintName(error) === 'risk_executions_one_pending_idx') throw executionPending();
      throw error;
    }
  }

  async findById(id: string): Promise<RiskExecution | null> {
    const { rows } = await this.db.query<ExecutionRow>(`SELECT ${COLUMNS} FROM risk_executions WHERE id = $1`, [id]);
    return rows[0] ? toExecution(rows[0]) : null;
  }

  async findByIdForUpdate(id: string): Promise<RiskExecution | null> {
    const { rows } = await this.db.query<ExecutionRow>(`SELECT ${COLUMNS} FROM risk_executions WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toExecution(rows[0]) : null;
  }

  async findPending(walletAddress: string): Promise<RiskExecution | null> {
    const { rows } = await this.db.query<ExecutionRow>(`SELECT ${COLUMNS} FROM risk_executions WHERE wallet_address = $1 AND status = 'pending'`, [walletAddress]);
    return rows[0] ? toExecution(rows[0]) : null;
  }

  async pendingFor(walletAddresses: string[]): Promise<Map<string, RiskExecution>> {
    if (walletAddresses.length === 0) return new Map();
    const { rows } = await this.db.query<ExecutionRow>(`SELECT ${COLUMNS} FROM risk_executions WHERE wallet_address = ANY($1) AND status = 'pending'`, [walletAddresses]);
    return new Map(rows.map((row) => [row.wallet_address, toExecution(row)]));
  }

  async insertMany(executions: RiskExecution[]): Promise<number> {
    if (executions.length === 0) return 0;
    const { rowCount } = await this.db.query(
      `INSERT INTO risk_executions (${COLUMNS})
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::text[])
       ON CONFLICT (wallet_address) WHERE status = 'pending' DO NOTHING`,
      [
        executions.map((e) => e.id),
        executions.map((e) => e.walletAddress),
        executions.map((e) => e.creditLineId),
        executions.map((e) => e.kind),
        executions.map((e) => e.trigger),
        executions.map((e) => e.status),
        executions.map((e) => JSON.stringify(planToJson(e.plan))),
        executions.map((e) => (e.fill ? JSON.stringify(fillToJson(e.fill)) : null)),
        executions.map((e) => JSON.stringify(e.paramsVersions)),
        executions.map((e) => e.createdBy),
        executions.map((e) => e.createdAt),
        executions.map((e) => e.settledAt),
        executions.map((e) => e.cancelReason),
      ],
    );
    return rowCount ?? 0;
  }

  async cancelMany(cancellations: Array<{ id: string; reason: string }>, at: Date): Promise<number> {
    if (cancellations.length === 0) return 0;
    const { rowCount } = await this.db.query(
      `UPDATE risk_executions e SET status = 'cancelled', cancel_reason = c.reason, settled_at = $3
         FROM unnest($1::uuid[], $2::text[]) AS c(id, reason)
        WHERE e.id = c.id AND e.status = 'pending'`,
      [cancellations.map((c) => c.id), cancellations.map((c) => c.reason), at],
    );
    return rowCount ?? 0;
  }

  async list(filter: { walletAddress?: string; status?: ExecutionStatus }, page: Page<{ createdAt: Date; id: string }>): Promise<RiskExecution[]> {
    const { rows } = await this.db.query<ExecutionRow>(
      `SELECT ${COLUMNS} FROM risk_executions
        WHERE ($1::text IS NULL OR wallet_address = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [filter.walletAddress ?? null, filter.status ?? null, page.after?.createdAt ?? null, page.after?.id ?? null, page.limit],
    );
    return rows.map(toExecution);
  }

  async settle(id: string, outcome: { status: 'filled' | 'cancelled'; fill: ExecutionFill | null; cancelReason: string | null; at: Date }): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE risk_executions SET status = $2, fill = $3, cancel_reason = $4, settled_at = $5 WHERE id = $1 AND status = 'pending'`,
      [id, outcome.status, outcome.fill ? JSON.stringify(fillToJson(outcome.fill)) : null, outcome.cancelReason, outcome.at],
    );
    return rowCount === 1;
  }

  async getStopLoss(walletAddress: string): Promise<StopLossSettings | null> {
    return (await this.stopLossFor([walletAddress])).get(walletAddress) ?? null;
  }

  async putStopLoss(s: StopLossSettings): Promise<void> {
    await this.db.query(
      `INSERT INTO stop_loss_settings (wallet_address, enabled, asset_priority, max_slippage_bps, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (wallet_address) DO UPDATE SET enabled = EXCLUDED.enabled, asset_priority = EXCLUDED.asset_priority,
         max_slippage_bps = EXCLUDED.max_slippage_bps, updated_at = EXCLUDED.updated_at`,
      [s.walletAddress, s.enabled, s.assetPriority, s.maxSlippageBps, s.updatedAt],
    );
  }

  async stopLossFor(walletAddresses: string[]): Promise<Map<string, StopLossSettings>> {
    if (walletAddresses.length === 0) return new Map();
    const { rows } = await this.db.query<{ wallet_address: string; enabled: boolean; asset_priority: string[]; max_slippage_bps: number | null; updated_at: Date }>(
      'SELECT wallet_address, enabled, asset_priority, max_slippage_bps, updated_at FROM stop_loss_settings WHERE wallet_address = ANY($1)',
      [walletAddresses],
    );
    return new Map(
      rows.map((r) => [
        r.wallet_address,
        { walletAddress: r.wallet_address, enabled: r.enabled, assetPriority: r.asset_priority, maxSlippageBps: r.max_slippage_bps, updatedAt: new Date(r.updated_at) },
      ]),
    );
  }

  async riskStates(walletAddresses: string[]): Promise<Map<string, AccountRiskState>> {
    if (walletAddresses.length === 0) return new Map();
    const { rows } = await this.db.query<{ wallet_address: string; band: HealthBand; health_factor_bps: number | null; updated_at: Date }>(
      // Placeholders (epoch) written by lockRiskStates are "no state yet".
      "SELECT wallet_address, band, health_factor_bps, updated_at FROM account_risk_states WHERE wallet_address = ANY($1) AND updated_at > 'epoch'",
      [walletAddresses],
    );
    return new Map(rows.map((r) => [r.wallet_address, { walletAddress: r.wallet_address, band: r.band, healthFactorBps: r.health_factor_bps, updatedAt: new Date(r.updated_at) }]));
  }

  async lockRiskStates(walletAddresses: string[]): Promise<Map<string, AccountRiskState>> {
    if (walletAddresses.length === 0) return new Map();
    const sorted = [...new Set(walletAddresses)].sort();
    // A placeholder (health unknown, epoch) gives a first-seen account a row to lock; it reads as "no state yet".
    await this.db.query(
      `INSERT INTO account_risk_states (wallet_address, band, health_factor_bps, updated_at)
       SELECT w, 'healthy', NULL, 'epoch' FROM unnest($1::text[]) AS w ON CONFLICT DO NOTHING`,
      [sorted],
    );
    const { rows } = await this.db.query<{ wallet_address: string; band: HealthBand; health_factor_bps: number | null; updated_at: Date }>(
      'SELECT wallet_address, band, health_factor_bps, updated_at FROM account_risk_states WHERE wallet_address = ANY($1) ORDER BY wallet_address FOR UPDATE',
      [sorted],
    );
    return new Map(
      rows
        .filter((r) => new Date(r.updated_at).getTime() !== 0)
        .map((r) => [r.wallet_address, { walletAddress: r.wallet_address, band: r.band, healthFactorBps: r.health_factor_bps, updatedAt: new Date(r.updated_at) }]),
    );
  }

  async putRiskStates(input: AccountRiskState[]): Promise<void> {
    if (input.length === 0) return;
    // One row per wallet, the last of the batch: ON CONFLICT DO UPDATE cannot touch a row twice in one statement.
    const states = [...new Map(input.map((s) => [s.walletAddress, s])).values()];
    await this.db.query(
      `INSERT INTO account_risk_states (wallet_address, band, health_factor_bps, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
       ON CONFLICT (wallet_address) DO UPDATE SET band = EXCLUDED.band, health_factor_bps = EXCLUDED.health_factor_bps, updated_at = EXCLUDED.updated_at`,
      [states.map((s) => s.walletAddress), states.map((s) => s.band), states.map((s) => s.healthFactorBps), states.map((s) => s.updatedAt)],
    );
  }
}
