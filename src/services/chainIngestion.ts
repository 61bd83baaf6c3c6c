import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import type { ChainEventRecord, ChainEventStatus, Repositories } from '../repositories/repositories.js';
import { decodeCreditEvent, DecodeError, toJsonSafe, type CreditEvent, type RawChainEvent } from '../stellar/creditEvents.js';
import { FlushFailure, PageProjection, type ProjectionOutcome } from './chainProjection.js';

/**
 * The one way a contract event reaches our state, whoever saw it first: the indexer reading getEvents, or the
 * tracker of a transaction we submitted reading its result. Events are keyed by the RPC's event id, and a caller
 * holds the indexer's cursor lock while ingesting, so an event is applied once however many times it is seen.
 */

export const RECONCILIATION_QUEUE = 'reconciliation';

export interface DecodedChainEvent {
  record: ChainEventRecord;
  event?: CreditEvent;
}

export function decodeChainEvent(raw: RawChainEvent, now: Date): DecodedChainEvent {
  const base = {
    eventId: raw.id,
    contractId: raw.contractId,
    ledger: raw.ledger,
    ledgerClosedAt: raw.ledgerClosedAt,
    txHash: raw.txHash,
    rawValue: raw.value.toXDR('base64'),
    error: null,
    ingestedAt: now,
  };
  try {
    const decoded = decodeCreditEvent(raw.topic, raw.value);
    if (decoded.kind === 'unknown') return { record: { ...base, topic: decoded.topic, name: decoded.topic.join('.'), payload: null, status: 'unknown' } };
    return {
      record: { ...base, topic: decoded.topic, name: decoded.event.name, payload: toJsonSafe(decoded.event.fields), status: 'recorded' },
      event: decoded.event,
    };
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return { record: { ...base, topic: [], name: 'undecodable', payload: null, status: 'parked', error: error.message } };
  }
}

/** Thrown when projecting an event failed; the whole page (or transaction outcome) is retried. */
export class ProjectionFailure extends Error {
  constructor(
    readonly eventId: string,
    cause: unknown,
  ) {
    super(`applying chain event ${eventId} failed: ${(cause as Error).message}`);
  }
}

export interface IngestionDeps {
  /** Projects one event; the indexer wraps it to park an event that keeps failing. */
  apply?: (projection: PageProjection, record: ChainEventRecord, event: CreditEvent) => Promise<ProjectionOutcome>;
  logger: Logger;
  clock: () => Date;
}

/**
 * Projects the events not stored yet (an overlapping page or a transaction already indexed repeats events: those
 * are skipped), stores every new raw event once with its final status, and confirms the pending transactions of
 * ours that produced them. Runs inside the caller's transaction.
 */
export async function ingestChainEvents(repos: Repositories, records: ChainEventRecord[], events: Map<string, CreditEvent>, deps: IngestionDeps): Promise<Record<ChainEventStatus, number>> {
  const apply =
    deps.apply ??
    (async (projection: PageProjection, record: ChainEventRecord, event: CreditEvent) => {
      try {
        return await projection.apply(record, event);
      } catch (error) {
        throw new ProjectionFailure(record.eventId, error);
      }
    });
  const known = await repos.chain.existingEventIds(records.map((r) => r.eventId));
  const fresh = records.filter((r) => !known.has(r.eventId));
  const projection = new PageProjection(repos);
  const counts = {} as Record<ChainEventStatus, number>;
  const stored: ChainEventRecord[] = [];
  for (const record of fresh) {
    const event = events.get(record.eventId);
    const outcome = event ? await apply(projection, record, event) : { status: record.status, error: record.error ?? undefined };
    if (outcome.status === 'parked') deps.logger.warn({ eventId: record.eventId, ledger: record.ledger, reason: outcome.error }, 'chain event parked for reconciliation');
    stored.push({ ...record, status: outcome.status, error: outcome.error ?? record.error });
    counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
  }
  try {
    await projection.flush();
  } catch (error) {
    throw error instanceof FlushFailure ? new ProjectionFailure(error.eventId, error) : error;
  }
  await repos.chain.insertEvents(stored);
  const now = deps.clock();
  await confirmSubmitted(repos, [...new Map(fresh.map((r) => [r.txHash, r.ledger]))].map(([txHash, ledger]) => ({ txHash, ledger })), now);
  const parkedLedgers = [...new Set(stored.filter((r) => r.status === 'parked').map((r) => r.ledger))];
  if (parkedLedgers.length > 0) {
    // What a parked event would have changed is found by reconciling against the chain's state.
    await repos.jobs.enqueue([
      {
        id: randomUUID(),
        queue: RECONCILIATION_QUEUE,
        dedupeKey: `parked:${parkedLedgers.join(',')}`,
        payload: { trigger: 'parked', ledgers: parkedLedgers },
        maxAttempts: 5,
        runAt: now,
        createdAt: now,
      },
    ]);
  }
  return counts;
}

/** Our pending transactions whose events just arrived are confirmed by them (the tracker may not have looked yet). */
export async function confirmSubmitted(repos: Repositories, confirmations: Array<{ txHash: string; ledger: number }>, now: Date): Promise<void> {
  if (confirmations.length === 0) return;
  const confirmed = await repos.chainTransactions.confirmByHashes(confirmations, now);
  for (const id of confirmed) {
    const tx = await repos.chainTransactions.findById(id);
    if (!tx) continue;
    await repos.events.append({
      id: randomUUID(),
      type: 'chain_transaction.confirmed',
      aggregateType: 'chain_transaction',
      aggregateId: tx.id,
      payload: { chainTransactionId: tx.id, creditLineId: tx.creditLineId, action: tx.action, status: tx.status, txHash: tx.txHash, ledger: tx.ledger, error: null },
      createdAt: now,
    });
  }
}
