import type { Queryable } from '../../db/db.js';
import type { ClaimResult, IdempotencyRecord, IdempotencyRepository } from '../repositories.js';

interface IdempotencyRow {
  principal: string;
  key: string;
  request_hash: string;
  status: 'in_flight' | 'completed';
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
  expires_at: Date;
}

const toRecord = (row: IdempotencyRow): IdempotencyRecord => ({
  principal: row.principal,
  key: row.key,
  requestHash: row.request_hash,
  status: row.status,
  responseStatus: row.response_status,
  responseBody: row.response_body,
  createdAt: new Date(row.created_at),
  expiresAt: new Date(row.expires_at),
});

export class PostgresIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly db: Queryable) {}

  async claim(record: Omit<IdempotencyRecord, 'status' | 'responseStatus' | 'responseBody'>, now: Date): Promise<ClaimResult> {
    // One statement decides the race: the insert wins, or replaces an expired holder, or yields nothing.
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (principal, key, request_hash, status, created_at, expires_at)
       VALUES ($1, $2, $3, 'in_flight', $4, $5)
       ON CONFLICT (principal, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, status = 'in_flight', response_status = NULL,
             response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at <= $6
       RETURNING principal`,
      [record.principal, record.key, record.requestHash, record.createdAt, record.expiresAt, now],
    );
    if (inserted.rowCount > 0) return { claimed: true };
    const { rows } = await this.db.query<IdempotencyRow>('SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2', [
      record.principal,
      record.key,
    ]);
    // The holder was released between our insert and this read: claim again.
    if (!rows[0]) return this.claim(record, now);
    return { claimed: false, existing: toRecord(rows[0]) };
  }

  async complete(principal: string, key: string, responseStatus: number, responseBody: unknown): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys SET status = 'completed', response_status = $3, response_body = $4
        WHERE principal = $1 AND key = $2`,
      [principal, key, responseStatus, JSON.stringify(responseBody ?? null)],
    );
  }

  async release(principal: string, key: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status = 'in_flight'`, [principal, key]);
  }

  async purgeExpired(now: Date): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [now]);
    return rowCount;
  }
}
