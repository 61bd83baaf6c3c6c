import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { StrKey } from '@stellar/stellar-sdk';

/** A domain event the service itself wrote (through the API), used as the shape of the synthetic ones. */
export interface EventTemplate {
  type: string;
  payload: Record<string, unknown>;
}

export interface SyntheticEvent {
  id: string;
  type: string;
  aggregateId: string;
  /** The JSON text inserted into domain_events.payload. */
  payload: string;
}

const amount = (max: number) => `${Math.floor(Math.random() * max) + 1}.${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

/**
 * `count` events shaped exactly like the templates (the service's own `credit_line.drawn` / `credit_line.repaid`
 * payloads: the whole credit line after the change, the amount, the ledger entry id), spread over `lineCount`
 * lines: 60 % draws, 40 % repayments, with fresh ids, amounts and timestamps.
 */
export function synthesize(templates: readonly EventTemplate[], count: number, lineCount = 1_000): SyntheticEvent[] {
  const drawn = templates.find((t) => t.type === 'credit_line.drawn');
  const repaid = templates.find((t) => t.type === 'credit_line.repaid');
  if (!drawn || !repaid) throw new Error(`templates must include credit_line.drawn and credit_line.repaid, got ${templates.map((t) => t.type).join(', ')}`);
  const lines = Array.from({ length: lineCount }, () => ({ id: randomUUID(), wallet: StrKey.encodeEd25519PublicKey(randomBytes(32)) }));
  const events: SyntheticEvent[] = [];
  for (let i = 0; i < count; i++) {
    const template = i % 10 < 6 ? drawn : repaid;
    const line = lines[i % lines.length]!;
    const now = new Date().toISOString();
    const payload = structuredClone(template.payload) as Record<string, unknown> & { creditLine?: Record<string, unknown> };
    if (payload.creditLine) {
      payload.creditLine = { ...payload.creditLine, id: line.id, walletAddress: line.wallet, utilized: amount(900_000), availableCredit: amount(100_000), updatedAt: now, lastAccrualAt: now };
    }
    if ('amount' in payload) payload.amount = amount(1_000);
    if ('transactionId' in payload) payload.transactionId = randomUUID();
    if ('interestPaid' in payload) payload.interestPaid = amount(10);
    if ('principalPaid' in payload) payload.principalPaid = amount(1_000);
    events.push({ id: randomUUID(), type: template.type, aggregateId: line.id, payload: JSON.stringify(payload) });
  }
  return events;
}

/**
 * Inserts events into the outbox in one statement (so one transaction, committed when it returns), in array order,
 * with `created_at = clock_timestamp()`: the moment each row is written, a few microseconds before the commit.
 */
export async function insertEvents(client: pg.Client, events: readonly SyntheticEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO domain_events (id, type, aggregate_type, aggregate_id, payload, created_at)
     SELECT id, type, 'credit_line', aggregate_id, payload, clock_timestamp()
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS t(id, type, aggregate_id, payload, n)
      ORDER BY n`,
    [events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.aggregateId), events.map((e) => e.payload)],
  );
}

/** Commit time of every event in epoch milliseconds (microsecond precision). */
export async function commitTimes(client: pg.Client, ids: readonly string[]): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 5_000) {
    const { rows } = await client.query<{ id: string; ms: string }>(
      `SELECT id, (extract(epoch FROM created_at) * 1000)::float8::text AS ms FROM domain_events WHERE id = ANY($1::uuid[])`,
      [ids.slice(i, i + 5_000)],
    );
    for (const row of rows) times.set(row.id, Number(row.ms));
  }
  return times;
}
