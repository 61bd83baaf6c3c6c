import type { Queryable } from '../../db/db.js';
import { CHAIN_EVENT_STATUSES, type ChainCursor, type ChainEventRecord, type ChainEventStatus, type ChainGap, type ChainRepository } from '../repositories.js';

interface GapRow {
  id: string;
  source: string;
  from_ledger: number;
  to_ledger: number;
  detected_at: Date;
  reconciliation_run_id: string | null;
}

export class PostgresChainRepository implements ChainRepository {
  constructor(private readonly db: Queryable) {}

  async insertEvents(events: ChainEventRecord[]): Promise<Set<string>> {
    if (events.length === 0) return new Set();
    const { rows } = await this.db.query<{ event_id: string }>(
      `INSERT INTO chain_events (event_id, contract_id, ledger, ledger_closed_at, tx_hash, topic, name, payload, raw_value, status, error, ingested_at)
       SELECT e.event_id, e.contract_id, e.ledger, e.ledger_closed_at, e.tx_hash, ARRAY(SELECT jsonb_array_elements_text(e.topic)), e.name, e.payload,
              e.raw_value, e.status, e.error, e.ingested_at
         FROM jsonb_to_recordset($1::jsonb) AS e(event_id text, contract_id text, ledger int, ledger_closed_at timestamptz, tx_hash text, topic jsonb,
                                                name text, payload jsonb, raw_value text, status text, error text, ingested_at timestamptz)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        JSON.stringify(
          events.map((e) => ({
            event_id: e.eventId,
            contract_id: e.contractId,
            ledger: e.ledger,
            ledger_closed_at: e.ledgerClosedAt.toISOString(),
            tx_hash: e.txHash,
            topic: e.topic,
            name: e.name,
            payload: e.payload,
            raw_value: e.rawValue,
            status: e.status,
            error: e.error,
            ingested_at: e.ingestedAt.toISOString(),
          })),
        ),
      ],
    );
    return new Set(rows.map((row) => row.event_id));
  }

  async existingEventIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.db.query<{ event_id: string }>('SELECT event_id FROM chain_events WHERE event_id = ANY($1::text[])', [ids]);
    return new Set(rows.map((r) => r.event_id));
  }

  async lockCursor(name: string, now: Date): Promise<ChainCursor> {
    await this.db.query('INSERT INTO chain_cursors (name, cursor, last_ledger, updated_at) VALUES ($1, NULL, NULL, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
    const { rows } = await this.db.query<{ cursor: string | null; last_ledger: number | null }>(
      'SELECT cursor, last_ledger FROM chain_cursors WHERE name = $1 FOR UPDATE',
      [name],
    );
    return { cursor: rows[0]!.cursor, lastLedger: rows[0]!.last_ledger };
  }

  async getCursor(name: string): Promise<ChainCursor | null> {
    const { rows } = await this.db.query<{ cursor: string | null; last_ledger: number | null }>('SELECT cursor, last_ledger FROM chain_cursors WHERE name = $1', [name]);
    return rows[0] ? { cursor: rows[0].cursor, lastLedger: rows[0].last_ledger } : null;
  }

  async advanceCursor(name: string, expected: string | null, next: ChainCursor, now: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE chain_cursors SET cursor = $3, last_ledger = $4, updated_at = $5
        WHERE name = $1 AND cursor IS NOT DISTINCT FROM $2`,
      [name, expected, next.cursor, next.lastLedger, now],
    );
    return rowCount > 0;
  }

  async recordGap(gap: ChainGap): Promise<void> {
    await this.db.query(
      'INSERT INTO chain_gaps (id, source, from_ledger, to_ledger, detected_at, reconciliation_run_id) VALUES ($1, $2, $3, $4, $5, $6)',
      [gap.id, gap.source, gap.fromLedger, gap.toLedger, gap.detectedAt, gap.reconciliationRunId],
    );
  }

  async listGaps(source: string, limit: number): Promise<ChainGap[]> {
    const { rows } = await this.db.query<GapRow>('SELECT * FROM chain_gaps WHERE source = $1 ORDER BY detected_at DESC, id DESC LIMIT $2', [source, limit]);
    return rows.map((r) => ({
      id: r.id,
      source: r.source,
      fromLedger: r.from_ledger,
      toLedger: r.to_ledger,
      detectedAt: new Date(r.detected_at),
      reconciliationRunId: r.reconciliation_run_id,
    }));
  }

  async linkGapsToRun(source: string, runId: string): Promise<number> {
    const { rowCount } = await this.db.query('UPDATE chain_gaps SET reconciliation_run_id = $2 WHERE source = $1 AND reconciliation_run_id IS NULL', [source, runId]);
    return rowCount;
  }

  async countEventsByStatus(): Promise<Record<ChainEventStatus, number>> {
    const { rows } = await this.db.query<{ status: ChainEventStatus; count: bigint }>('SELECT status, count(*) AS count FROM chain_events GROUP BY status');
    const counts = Object.fromEntries(CHAIN_EVENT_STATUSES.map((s) => [s, 0])) as Record<ChainEventStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  async parkedLedgers(limit: number): Promise<number[]> {
    const { rows } = await this.db.query<{ ledger: number }>("SELECT DISTINCT ledger FROM chain_events WHERE status = 'parked' ORDER BY ledger LIMIT $1", [limit]);
    return rows.map((r) => r.ledger);
  }
}
