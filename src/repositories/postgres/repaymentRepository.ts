import type { Queryable } from '../../db/db.js';
import type { ProviderEvent, ProviderName, Repayment, RepaymentStatus, SettlementFinding, SettlementRun } from '../../domain/repayment/records.js';
import type { Page, RepaymentFilter, RepaymentRepository } from '../repositories.js';

interface RepaymentRow {
  id: string;
  credit_line_id: string;
  wallet_address: string;
  provider: ProviderName;
  provider_ref: string;
  status: RepaymentStatus;
  currency: string;
  fiat_amount: string;
  fx_rate: string;
  amount: string;
  applied_amount: string;
  credited_amount: string;
  reversed_amount: string;
  failure_reason: string | null;
  parked_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, credit_line_id, wallet_address, provider, provider_ref, status, currency, fiat_amount, fx_rate, amount, applied_amount, credited_amount, reversed_amount, failure_reason, parked_reason, created_at, updated_at';

const toRepayment = (r: RepaymentRow): Repayment => ({
  id: r.id,
  creditLineId: r.credit_line_id,
  walletAddress: r.wallet_address,
  provider: r.provider,
  providerRef: r.provider_ref,
  status: r.status,
  currency: r.currency,
  fiatAmount: BigInt(r.fiat_amount),
  fxRate1e14: BigInt(r.fx_rate),
  amount: BigInt(r.amount),
  appliedAmount: BigInt(r.applied_amount),
  creditedAmount: BigInt(r.credited_amount),
  reversedAmount: BigInt(r.reversed_amount),
  failureReason: r.failure_reason,
  parkedReason: r.parked_reason,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const values = (r: Repayment) => [
  r.id,
  r.creditLineId,
  r.walletAddress,
  r.provider,
  r.providerRef,
  r.status,
  r.currency,
  r.fiatAmount.toString(),
  r.fxRate1e14.toString(),
  r.amount.toString(),
  r.appliedAmount.toString(),
  r.creditedAmount.toString(),
  r.reversedAmount.toString(),
  r.failureReason,
  r.parkedReason,
  r.createdAt,
  r.updatedAt,
];

interface RunRow {
  id: string;
  window_from: Date;
  window_to: Date;
  status: SettlementRun['status'];
  charges_checked: number;
  payouts_checked: number;
  finding_count: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const toRun = (r: RunRow): SettlementRun => ({
  id: r.id,
  windowFrom: new Date(r.window_from),
  windowTo: new Date(r.window_to),
  status: r.status,
  chargesChecked: r.charges_checked,
  payoutsChecked: r.payouts_checked,
  findingCount: r.finding_count,
  error: r.error,
  startedAt: new Date(r.started_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : null,
});

export class PostgresRepaymentRepository implements RepaymentRepository {
  constructor(private readonly db: Queryable) {}

  async insertOrGet(repayment: Repayment): Promise<{ repayment: Repayment; created: boolean }> {
    const { rows } = await this.db.query<RepaymentRow>(
      `INSERT INTO repayments (${COLUMNS}) VALUES (${COLUMNS.split(', ').map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (provider, provider_ref) DO NOTHING RETURNING ${COLUMNS}`,
      values(repayment),
    );
    if (rows[0]) return { repayment: toRepayment(rows[0]), created: true };
    const existing = await this.db.query<RepaymentRow>(`SELECT ${COLUMNS} FROM repayments WHERE provider = $1 AND provider_ref = $2`, [repayment.provider, repayment.providerRef]);
    return { repayment: toRepayment(existing.rows[0]!), created: false };
  }

  async findById(id: string): Promise<Repayment | null> {
    const { rows } = await this.db.query<RepaymentRow>(`SELECT ${COLUMNS} FROM repayments WHERE id = $1`, [id]);
    return rows[0] ? toRepayment(rows[0]) : null;
  }

  async findByProviderRefForUpdate(provider: ProviderName, providerRef: string): Promise<Repayment | null> {
    const { rows } = await this.db.query<RepaymentRow>(`SELECT ${COLUMNS} FROM repayments WHERE provider = $1 AND provider_ref = $2 FOR UPDATE`, [provider, providerRef]);
    return rows[0] ? toRepayment(rows[0]) : null;
  }

  async findByProviderRefs(provider: ProviderName, providerRefs: string[]): Promise<Repayment[]> {
    if (providerRefs.length === 0) return [];
    const { rows } = await this.db.query<RepaymentRow>(`SELECT ${COLUMNS} FROM repayments WHERE provider = $1 AND provider_ref = ANY($2)`, [provider, providerRefs]);
    return rows.map(toRepayment);
  }

  async update(r: Repayment): Promise<void> {
    await this.db.query(
      `UPDATE repayments SET status = $2, amount = $3, applied_amount = $4, credited_amount = $5, reversed_amount = $6,
              failure_reason = $7, parked_reason = $8, updated_at = $9 WHERE id = $1`,
      [r.id, r.status, r.amount.toString(), r.appliedAmount.toString(), r.creditedAmount.toString(), r.reversedAmount.toString(), r.failureReason, r.parkedReason, r.updatedAt],
    );
  }

  async list(filter: RepaymentFilter, page: Page<{ createdAt: Date; id: string }>): Promise<Repayment[]> {
    const { rows } = await this.db.query<RepaymentRow>(
      `SELECT ${COLUMNS} FROM repayments
        WHERE ($1::uuid IS NULL OR credit_line_id = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [filter.creditLineId ?? null, filter.status ?? null, page.after?.createdAt ?? null, page.after?.id ?? null, page.limit],
    );
    return rows.map(toRepayment);
  }

  async listSettled(provider: ProviderName, from: Date, to: Date): Promise<Repayment[]> {
    const { rows } = await this.db.query<RepaymentRow>(
      `SELECT ${COLUMNS} FROM repayments WHERE provider = $1 AND status IN ('succeeded', 'refunded') AND updated_at >= $2 AND updated_at < $3`,
      [provider, from, to],
    );
    return rows.map(toRepayment);
  }

  async claimDelivery(provider: ProviderName, deliveryId: string, receivedAt: Date, forgetBefore: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `WITH forgotten AS (DELETE FROM provider_deliveries WHERE received_at < $4)
       INSERT INTO provider_deliveries (provider, delivery_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [provider, deliveryId, receivedAt, forgetBefore],
    );
    return rowCount === 1;
  }

  async claimEvent(e: ProviderEvent & { payload: Record<string, unknown> }): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO provider_events (provider, event_id, type, outcome, repayment_id, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING`,
      [e.provider, e.eventId, e.type, e.outcome, e.repaymentId, JSON.stringify(e.payload), e.receivedAt],
    );
    return rowCount === 1;
  }

  async insertRun(run: SettlementRun): Promise<void> {
    await this.db.query(
      `INSERT INTO settlement_runs (id, window_from, window_to, status, charges_checked, payouts_checked, finding_count, error, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [run.id, run.windowFrom, run.windowTo, run.status, run.chargesChecked, run.payoutsChecked, run.findingCount, run.error, run.startedAt, run.finishedAt],
    );
  }

  async finishRun(run: SettlementRun): Promise<void> {
    await this.db.query(
      'UPDATE settlement_runs SET status = $2, charges_checked = $3, payouts_checked = $4, finding_count = $5, error = $6, finished_at = $7 WHERE id = $1',
      [run.id, run.status, run.chargesChecked, run.payoutsChecked, run.findingCount, run.error, run.finishedAt],
    );
  }

  async addFindings(findings: SettlementFinding[]): Promise<void> {
    if (findings.length === 0) return;
    await this.db.query(
      `INSERT INTO settlement_findings (id, run_id, kind, severity, provider_ref, repayment_id, expected, actual, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::timestamptz[])`,
      [
        findings.map((f) => f.id),
        findings.map((f) => f.runId),
        findings.map((f) => f.kind),
        findings.map((f) => f.severity),
        findings.map((f) => f.providerRef),
        findings.map((f) => f.repaymentId),
        findings.map((f) => f.expected),
        findings.map((f) => f.actual),
        findings.map((f) => f.createdAt),
      ],
    );
  }

  async listRuns(page: Page<{ startedAt: Date; id: string }>): Promise<SettlementRun[]> {
    const { rows } = await this.db.query<RunRow>(
      `SELECT * FROM settlement_runs WHERE ($1::timestamptz IS NULL OR (started_at, id) < ($1, $2::uuid)) ORDER BY started_at DESC, id DESC LIMIT $3`,
      [page.after?.startedAt ?? null, page.after?.id ?? null, page.limit],
    );
    return rows.map(toRun);
  }

  async findings(runIds: string[]): Promise<SettlementFinding[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.db.query<{
      id: string;
      run_id: string;
      kind: SettlementFinding['kind'];
      severity: SettlementFinding['severity'];
      provider_ref: string | null;
      repayment_id: string | null;
      expected: string | null;
      actual: string | null;
      created_at: Date;
    }>('SELECT * FROM settlement_findings WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, created_at, id', [runIds]);
    return rows.map((f) => ({
      id: f.id,
      runId: f.run_id,
      kind: f.kind,
      severity: f.severity,
      providerRef: f.provider_ref,
      repaymentId: f.repayment_id,
      expected: f.expected,
      actual: f.actual,
      createdAt: new Date(f.created_at),
    }));
  }
}
