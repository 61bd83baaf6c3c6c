import type { Queryable } from '../../db/db.js';
import type { StatementNoticeRepository } from '../repositories.js';

export class PostgresStatementNoticeRepository implements StatementNoticeRepository {
  constructor(private readonly db: Queryable) {}

  async record(notices: Array<{ creditLineId: string; statementDate: Date; kind: 'due_soon' | 'late'; sentAt: Date }>) {
    if (notices.length === 0) return [];
    // ON CONFLICT DO NOTHING RETURNING: only the notices this call recorded come back, so two runners never both send one.
    const { rows } = await this.db.query<{ credit_line_id: string; statement_date: Date; kind: 'due_soon' | 'late' }>(
      `INSERT INTO statement_notices (credit_line_id, statement_date, kind, sent_at)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::timestamptz[])
       ON CONFLICT DO NOTHING
       RETURNING credit_line_id, statement_date, kind`,
      [notices.map((n) => n.creditLineId), notices.map((n) => n.statementDate), notices.map((n) => n.kind), notices.map((n) => n.sentAt)],
    );
    return rows.map((r) => ({ creditLineId: r.credit_line_id, statementDate: new Date(r.statement_date), kind: r.kind }));
  }
}
