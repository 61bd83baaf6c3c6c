import type { Queryable } from '../../db/db.js';
import type { AuditEntry, AuditLogRepository, Page } from '../repositories.js';

interface AuditRow {
  id: string;
  seq: bigint;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
  created_at: Date;
}

const COLUMNS = 'id, seq, actor, action, target_type, target_id, before, after, request_id, created_at';

const toEntry = (row: AuditRow): AuditEntry => ({
  id: row.id,
  seq: BigInt(row.seq),
  actor: row.actor,
  action: row.action,
  targetType: row.target_type,
  targetId: row.target_id,
  before: row.before,
  after: row.after,
  requestId: row.request_id,
  createdAt: new Date(row.created_at),
});

export class PostgresAuditLogRepository implements AuditLogRepository {
  constructor(private readonly db: Queryable) {}

  async append(entry: Omit<AuditEntry, 'seq'>): Promise<AuditEntry> {
    const { rows } = await this.db.query<AuditRow>(
      `INSERT INTO audit_log (id, actor, action, target_type, target_id, before, after, request_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        entry.id,
        entry.actor,
        entry.action,
        entry.targetType,
        entry.targetId,
        entry.before === null ? null : JSON.stringify(entry.before),
        entry.after === null ? null : JSON.stringify(entry.after),
        entry.requestId,
        entry.createdAt,
      ],
    );
    return toEntry(rows[0]!);
  }

  async list(filter: { targetType?: string; targetId?: string }, page: Page<bigint>): Promise<AuditEntry[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.targetType) {
      params.push(filter.targetType);
      conditions.push(`target_type = $${params.length}`);
    }
    if (filter.targetId) {
      params.push(filter.targetId);
      conditions.push(`target_id = $${params.length}`);
    }
    if (page.after !== undefined) {
      params.push(page.after.toString());
      conditions.push(`seq < $${params.length}`);
    }
    params.push(page.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.db.query<AuditRow>(
      `SELECT ${COLUMNS} FROM audit_log ${where} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toEntry);
  }
}
