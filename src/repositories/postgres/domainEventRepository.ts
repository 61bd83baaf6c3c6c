import type { Queryable } from '../../db/db.js';
import type { DomainEvent, DomainEventRepository } from '../repositories.js';

interface EventRow {
  id: string;
  seq: bigint;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = 'id, seq, type, aggregate_type, aggregate_id, payload, created_at';

const toEvent = (row: EventRow): DomainEvent => ({
  id: row.id,
  seq: BigInt(row.seq),
  type: row.type,
  aggregateType: row.aggregate_type,
  aggregateId: row.aggregate_id,
  payload: row.payload,
  createdAt: new Date(row.created_at),
});

export class PostgresDomainEventRepository implements DomainEventRepository {
  constructor(private readonly db: Queryable) {}

  async append(event: Omit<DomainEvent, 'seq'>): Promise<DomainEvent> {
    const { rows } = await this.db.query<EventRow>(
      `INSERT INTO domain_events (id, type, aggregate_type, aggregate_id, payload, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [event.id, event.type, event.aggregateType, event.aggregateId, JSON.stringify(event.payload), event.createdAt],
    );
    return toEvent(rows[0]!);
  }

  async appendMany(events: Omit<DomainEvent, 'seq'>[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.query(
      `INSERT INTO domain_events (id, type, aggregate_type, aggregate_id, payload, created_at)
       SELECT id, type, aggregate_type, aggregate_id, payload, created_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
              WITH ORDINALITY AS t(id, type, aggregate_type, aggregate_id, payload, created_at, n)
        ORDER BY n`,
      [
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.aggregateType),
        events.map((e) => e.aggregateId),
        events.map((e) => JSON.stringify(e.payload)),
        events.map((e) => e.createdAt),
      ],
    );
  }

  async claimForFanOut(limit: number): Promise<DomainEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM domain_events WHERE fanned_out_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toEvent);
  }

  async markFannedOut(ids: string[], at: Date): Promise<void> {
    if (ids.length > 0) await this.db.query('UPDATE domain_events SET fanned_out_at = $2 WHERE id = ANY($1::uuid[])', [ids, at]);
  }

  async findById(id: string): Promise<DomainEvent | null> {
    const { rows } = await this.db.query<EventRow>(`SELECT ${COLUMNS} FROM domain_events WHERE id = $1`, [id]);
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async listByAggregate(aggregateType: string, aggregateId: string): Promise<DomainEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${COLUMNS} FROM domain_events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY seq`,
      [aggregateType, aggregateId],
    );
    return rows.map(toEvent);
  }
}
