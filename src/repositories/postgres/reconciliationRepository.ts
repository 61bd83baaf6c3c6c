import type { Queryable } from '../../db/db.js';
import type { Drift, Page, ReconciliationRepository, ReconciliationRun, ReconciliationStatus } from '../repositories.js';

interface RunRow {
  id: string;
  trigger: string;
  status: ReconciliationStatus;
  contract_id: string | null;
  lines_checked: number;
  drift_count: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

interface DriftRow {
  id: string;
  run_id: string;
  credit_line_id: string | null;
  wallet_address: string;
  field: string;
  db_value: string | null;
  chain_value: string | null;
  severity: 'critical' | 'warning';
  created_at: Date;
}

const toRun = (r: RunRow): ReconciliationRun => ({
  id: r.id,
  trigger: r.trigger,
  status: r.status,
  contractId: r.contract_id,
  linesChecked: r.lines_checked,
  driftCount: r.drift_count,
  error: r.error,
  startedAt: new Date(r.started_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : null,
});

export class PostgresReconciliationRepository implements ReconciliationRepository {
  constructor(private readonly db: Queryable) {}

  async insertRun(run: ReconciliationRun): Promise<void> {
    await this.db.query(
      `INSERT INTO reconciliation_runs (id, trigger, status, contract_id, lines_checked, drift_count, error, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [run.id, run.trigger, run.status, run.contractId, run.linesChecked, run.driftCount, run.error, run.startedAt, run.finishedAt],
    );
  }

  async finishRun(run: ReconciliationRun): Promise<void> {
    await this.db.query(
      'UPDATE reconciliation_runs SET status = $2, lines_checked = $3, drift_count = $4, error = $5, finished_at = $6 WHERE id = $1',
      [run.id, run.status, run.linesChecked, run.driftCount, run.error, run.finishedAt],
    );
  }

  async addDrifts(drifts: Drift[]): Promise<void> {
    if (drifts.length === 0) return;
    await this.db.query(
      `INSERT INTO reconciliation_drifts (id, run_id, credit_line_id, wallet_address, field, db_value, chain_value, severity, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])`,
      [
        drifts.map((d) => d.id),
        drifts.map((d) => d.runId),
        drifts.map((d) => d.creditLineId),
        drifts.map((d) => d.walletAddress),
        drifts.map((d) => d.field),
        drifts.map((d) => d.dbValue),
        drifts.map((d) => d.chainValue),
        drifts.map((d) => d.severity),
        drifts.map((d) => d.createdAt),
      ],
    );
  }

  async findRun(id: string): Promise<ReconciliationRun | null> {
    const { rows } = await this.db.query<RunRow>('SELECT * FROM reconciliation_runs WHERE id = $1', [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async drifts(runId: string): Promise<Drift[]> {
    const { rows } = await this.db.query<DriftRow>('SELECT * FROM reconciliation_drifts WHERE run_id = $1 ORDER BY severity, wallet_address, field', [runId]);
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      creditLineId: r.credit_line_id,
      walletAddress: r.wallet_address,
      field: r.field,
      dbValue: r.db_value,
      chainValue: r.chain_value,
      severity: r.severity,
      createdAt: new Date(r.created_at),
    }));
  }

  async listRuns(page: Page<{ startedAt: Date; id: string }>): Promise<ReconciliationRun[]> {
    const { rows } = await this.db.query<RunRow>(
      `SELECT * FROM reconciliation_runs
        WHERE ($1::timestamptz IS NULL OR (started_at, id) < ($1::timestamptz, $2::uuid))
        ORDER BY started_at DESC, id DESC LIMIT $3`,
      [page.after?.startedAt ?? null, page.after?.id ?? null, page.limit],
    );
    return rows.map(toRun);
  }
}
