import { randomUUID } from 'node:crypto';
import type { rpc } from '@stellar/stellar-sdk';
import type { Logger } from '../lib/logger.js';
import type { ChainEventRecord, ChainGap, Repositories, Store } from '../repositories/repositories.js';
import type { CreditEvent } from '../stellar/creditEvents.js';
import { RpcRequestError, type SorobanRpcClient } from '../stellar/sorobanRpc.js';
import type { PageProjection } from './chainProjection.js';
import { decodeChainEvent, ingestChainEvents, ProjectionFailure, RECONCILIATION_QUEUE, type DecodedChainEvent } from './chainIngestion.js';

export { RECONCILIATION_QUEUE };

export interface IndexerSettings {
  contractIds: string[];
  /** Where to start when there is no cursor yet; unset means the oldest ledger the node still has. */
  startLedger?: number;
  pageSize: number;
  /** A page that failed to apply this many times has its failing event parked instead. */
  maxApplyAttempts: number;
}

export interface IndexerMetrics {
  ingested(status: string, count: number): void;
  gap(ledgers: number): void;
  position(lastLedger: number, latestLedger: number): void;
}

/** The ledger a getEvents id or cursor points at: its first part is a TOID, whose top 32 bits are the ledger. */
export function ledgerOfCursor(cursor: string): number {
  const toid = cursor.split('-')[0] ?? '';
  return /^\d+$/.test(toid) ? Number(BigInt(toid) >> 32n) : 0;
}

/**
 * The last ledger a cursor has read completely. A cursor at the end of a scanned range has every transaction
 * and operation bit set (ledger L fully read); an event id inside ledger L means L may have more events.
 */
export function lastCompleteLedger(cursor: string): number {
  const toid = cursor.split('-')[0] ?? '';
  if (!/^\d+$/.test(toid)) return 0;
  const value = BigInt(toid);
  const ledger = Number(value >> 32n);
  return (value & 0xffffffffn) === 0xffffffffn ? ledger : ledger - 1;
}

/**
 * Follows the Credit contract's events through Soroban RPC getEvents. Each page is one transaction: raw events
 * inserted once (ON CONFLICT DO NOTHING), the new ones projected onto bound lines with their ledger entries and
 * domain events, and the cursor advanced with a guarded update, so a page is applied exactly once even when pages
 * overlap, the process restarts, or two instances race. When the node no longer has the ledgers after our
 * cursor, the gap is recorded, alerted and handed to reconciliation instead of being skipped silently.
 */
export class ChainIndexer {
  readonly cursorName: string;
  private readonly failures = new Map<string, number>();
  private lastTick: { at: Date; events: number; latestLedger: number; oldestLedger: number } | undefined;
  /** Recent pages (time, events) for the events/s figure. */
  private readonly recent: Array<{ at: number; events: number }> = [];

  constructor(
    private readonly store: Store,
    private readonly rpcClient: SorobanRpcClient,
    private readonly settings: IndexerSettings,
    private readonly logger: Logger,
    private readonly metrics?: IndexerMetrics,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.cursorName = `rpc:events:${[...settings.contractIds].sort().join(',')}`;
  }

  /** Ingests one page; returns a positive number while there is more to read (the cursor advanced). */
  async tick(): Promise<number> {
    const health = await this.rpcClient.getHealth();
    const state = (await this.store.repos.chain.getCursor(this.cursorName)) ?? { cursor: null, lastLedger: null };
    const filters: rpc.Api.EventFilter[] = [{ type: 'contract', contractIds: this.settings.contractIds }];

    let request: rpc.Api.GetEventsRequest;
    // `lastLedger` is the last ledger read completely: anything between it and the node's oldest ledger is lost.
    if (state.lastLedger !== null && state.lastLedger < health.oldestLedger - 1) {
      await this.recordGap(state.lastLedger + 1, health.oldestLedger - 1, state.cursor);
      return 1;
    }
    const expected = state.cursor;
    if (state.cursor && ledgerOfCursor(state.cursor) >= health.oldestLedger) {
      request = { filters, cursor: state.cursor, limit: this.settings.pageSize };
    } else {
      // No cursor yet, or one the node can no longer resume from although nothing after it was lost (a node
      // reset, retention passing exactly at our position): start again right after what was fully read.
      const start = Math.max(this.settings.startLedger ?? health.oldestLedger, health.oldestLedger, (state.lastLedger ?? 0) + 1);
      request = { filters, startLedger: Math.min(start, health.latestLedger), limit: this.settings.pageSize };
    }

    let page: rpc.Api.GetEventsResponse;
    try {
      page = await this.rpcClient.getEvents(request);
    } catch (error) {
      // The node refused our position after all (pruned between getHealth and getEvents): a gap, not a stop.
      if (error instanceof RpcRequestError && state.cursor && state.lastLedger !== null) {
        await this.recordGap(state.lastLedger + 1, Math.max(health.oldestLedger - 1, state.lastLedger + 1), state.cursor);
        return 1;
      }
      throw error;
    }

    const now = this.clock();
    const decoded = page.events.map((event) => this.decode(event, now));
    const records = decoded.map((d) => d.record);
    const events = new Map(decoded.flatMap((d) => (d.event ? [[d.record.eventId, d.event] as const] : [])));
    const nextCursor = page.cursor || records.at(-1)?.eventId || state.cursor;
    const nextLedger = nextCursor ? Math.max(lastCompleteLedger(nextCursor), state.lastLedger ?? 0) : state.lastLedger;

    let applied: Record<string, number>;
    try {
      applied = await this.store.transaction(async (repos) => {
        const held = await repos.chain.lockCursor(this.cursorName, now);
        if (held.cursor !== expected) return { moved: 1 }; // another writer got here first: nothing to do.
        const counts = await this.ingest(repos, records, events);
        const advanced = await repos.chain.advanceCursor(this.cursorName, expected, { cursor: nextCursor ?? null, lastLedger: nextLedger }, now);
        if (!advanced) throw new Error('cursor moved during the page transaction');
        return counts;
      });
    } catch (error) {
      if (error instanceof ProjectionFailure) {
        this.failures.set(error.eventId, (this.failures.get(error.eventId) ?? 0) + 1);
        this.logger.warn({ eventId: error.eventId, attempts: this.failures.get(error.eventId), error: error.message }, 'chain event failed to apply; page will be retried');
      }
      throw error;
    }

    for (const [status, count] of Object.entries(applied)) if (status !== 'moved') this.metrics?.ingested(status, count);
    this.metrics?.position(nextLedger ?? 0, page.latestLedger);
    this.lastTick = { at: now, events: records.length, latestLedger: page.latestLedger, oldestLedger: page.oldestLedger };
    this.recent.push({ at: now.getTime(), events: records.length });
    while (this.recent.length > 0 && this.recent[0]!.at < now.getTime() - 60_000) this.recent.shift();
    const cursorMoved = (nextCursor ?? null) !== state.cursor;
    return records.length > 0 || cursorMoved ? Math.max(records.length, 1) : 0;
  }

  private decode(event: rpc.Api.EventResponse, now: Date): DecodedChainEvent {
    return decodeChainEvent(
      { id: event.id, contractId: event.contractId?.contractId() ?? '', ledger: event.ledger, ledgerClosedAt: new Date(event.ledgerClosedAt), txHash: event.txHash, topic: event.topic, value: event.value },
      now,
    );
  }

  private ingest(repos: Repositories, records: ChainEventRecord[], events: Map<string, CreditEvent>): Promise<Record<string, number>> {
    return ingestChainEvents(repos, records, events, { apply: (projection, record, event) => this.apply(projection, record, event), logger: this.logger, clock: this.clock });
  }

  private async apply(projection: PageProjection, record: ChainEventRecord, event: CreditEvent): Promise<{ status: ChainEventRecord['status']; error?: string }> {
    if ((this.failures.get(record.eventId) ?? 0) >= this.settings.maxApplyAttempts) {
      this.failures.delete(record.eventId);
      return { status: 'parked', error: `failed to apply ${this.settings.maxApplyAttempts} times` };
    }
    try {
      return await projection.apply(record, event);
    } catch (error) {
      throw new ProjectionFailure(record.eventId, error);
    }
  }

  private async recordGap(fromLedger: number, toLedger: number, expected: string | null): Promise<void> {
    const now = this.clock();
    const gap: ChainGap = { id: randomUUID(), source: this.cursorName, fromLedger, toLedger: Math.max(toLedger, fromLedger), detectedAt: now, reconciliationRunId: null };
    await this.store.transaction(async (repos) => {
      await repos.chain.lockCursor(this.cursorName, now);
      // Restart from the oldest ledger the node has: the cursor is dropped, the lost range is reconciled.
      if (!(await repos.chain.advanceCursor(this.cursorName, expected, { cursor: null, lastLedger: null }, now))) return;
      await repos.chain.recordGap(gap);
      await repos.events.append({
        id: randomUUID(),
        type: 'indexer.gap_detected',
        aggregateType: 'chain_indexer',
        aggregateId: this.cursorName,
        payload: { fromLedger: gap.fromLedger, toLedger: gap.toLedger, contractIds: this.settings.contractIds },
        createdAt: now,
      });
      await repos.jobs.enqueue([
        {
          id: randomUUID(),
          queue: RECONCILIATION_QUEUE,
          dedupeKey: `gap:${gap.id}`,
          payload: { trigger: 'gap', gapId: gap.id },
          maxAttempts: 5,
          runAt: now,
          createdAt: now,
        },
      ]);
    });
    this.metrics?.gap(gap.toLedger - gap.fromLedger + 1);
    this.logger.error({ fromLedger: gap.fromLedger, toLedger: gap.toLedger }, 'chain history gap: the node no longer has these ledgers; reconciliation scheduled');
  }

  /** What operators see at GET /api/indexer/status. */
  async status() {
    const [cursor, counts, gaps] = await Promise.all([
      this.store.repos.chain.getCursor(this.cursorName),
      this.store.repos.chain.countEventsByStatus(),
      this.store.repos.chain.listGaps(this.cursorName, 20),
    ]);
    let node: { latestLedger: number; oldestLedger: number } | { error: string };
    try {
      const health = await this.rpcClient.getHealth();
      node = { latestLedger: health.latestLedger, oldestLedger: health.oldestLedger };
    } catch (error) {
      node = { error: (error as Error).message };
    }
    const latest = 'latestLedger' in node ? node.latestLedger : (this.lastTick?.latestLedger ?? null);
    return {
      contractIds: this.settings.contractIds,
      cursor: cursor?.cursor ?? null,
      lastLedger: cursor?.lastLedger ?? null,
      node,
      lagLedgers: latest !== null && cursor?.lastLedger != null ? Math.max(latest - cursor.lastLedger, 0) : null,
      events: counts,
      gaps,
      lastTick: this.lastTick ? { at: this.lastTick.at.toISOString(), events: this.lastTick.events } : null,
      eventsPerSecond: Math.round((this.recent.reduce((sum, r) => sum + r.events, 0) / 60) * 100) / 100,
    };
  }
}
