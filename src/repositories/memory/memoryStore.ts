import type { CreditLine } from '../../domain/creditLine.js';
import { duplicateOpenLine } from '../postgres/creditLineRepository.js';
import type {
  AuditEntry,
  ClaimResult,
  CreditLineCursor,
  CreditLineFilter,
  DomainEvent,
  IdempotencyRecord,
  LedgerEntry,
  Page,
  Repositories,
  Store,
} from '../repositories.js';

/**
 * In-memory storage for unit tests and throwaway demos. A transaction works on a copy of the state
 * and swaps it in on success, so readers only ever see committed data and a failed unit of work
 * leaves nothing behind. Transactions run one at a time, which is what row locks give PostgreSQL here.
 */
interface State {
  lines: Map<string, CreditLine>;
  ledger: LedgerEntry[];
  events: DomainEvent[];
  audit: AuditEntry[];
  idempotency: Map<string, IdempotencyRecord>;
  nextSeq: bigint;
}

const emptyState = (): State => ({
  lines: new Map(),
  ledger: [],
  events: [],
  audit: [],
  idempotency: new Map(),
  nextSeq: 1n,
});

const newestFirstLines = (a: CreditLine, b: CreditLine) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

const isBefore = (line: CreditLine, cursor: CreditLineCursor) =>
  line.createdAt.getTime() < cursor.createdAt.getTime() ||
  (line.createdAt.getTime() === cursor.createdAt.getTime() && line.id < cursor.id);

const idempotencyId = (principal: string, key: string) => `${principal}\u0000${key}`;

function repositoriesOver(state: State): Repositories {
  const nextSeq = () => state.nextSeq++;
  return {
    creditLines: {
      async insert(line) {
        for (const other of state.lines.values()) {
          if (other.walletAddress === line.walletAddress && other.status !== 'closed') throw duplicateOpenLine();
        }
        state.lines.set(line.id, structuredClone(line));
      },
      findById: async (id) => structuredClone(state.lines.get(id) ?? null),
      findByIdForUpdate: async (id) => structuredClone(state.lines.get(id) ?? null),
      async update(line) {
        if (line.status !== 'closed') {
          for (const other of state.lines.values()) {
            if (other.id !== line.id && other.walletAddress === line.walletAddress && other.status !== 'closed') throw duplicateOpenLine();
          }
        }
        if (state.lines.has(line.id)) state.lines.set(line.id, structuredClone(line));
      },
      async list(filter: CreditLineFilter, page: Page<CreditLineCursor>) {
        return [...state.lines.values()]
          .filter((line) => !filter.status || line.status === filter.status)
          .filter((line) => !filter.walletAddress || line.walletAddress === filter.walletAddress)
          .filter((line) => !page.after || isBefore(line, page.after))
          .sort(newestFirstLines)
          .slice(0, page.limit)
          .map((line) => structuredClone(line));
      },
    },
    ledger: {
      async append(entry) {
        const stored = { ...entry, seq: nextSeq() };
        state.ledger.push(stored);
        return structuredClone(stored);
      },
      async listByLine(creditLineId, page) {
        return state.ledger
          .filter((entry) => entry.creditLineId === creditLineId && (page.after === undefined || entry.seq < page.after))
          .sort((a, b) => Number(b.seq - a.seq))
          .slice(0, page.limit)
          .map((entry) => structuredClone(entry));
      },
    },
    events: {
      async append(event) {
        const stored = { ...structuredClone(event), seq: nextSeq() };
        state.events.push(stored);
        return structuredClone(stored);
      },
      listByAggregate: async (aggregateType, aggregateId) =>
        structuredClone(state.events.filter((e) => e.aggregateType === aggregateType && e.aggregateId === aggregateId)),
    },
    audit: {
      async append(entry) {
        const stored = { ...structuredClone(entry), seq: nextSeq() };
        state.audit.push(stored);
        return structuredClone(stored);
      },
      async list(filter, page) {
        return state.audit
          .filter((e) => (!filter.targetType || e.targetType === filter.targetType) && (!filter.targetId || e.targetId === filter.targetId))
          .filter((e) => page.after === undefined || e.seq < page.after)
          .sort((a, b) => Number(b.seq - a.seq))
          .slice(0, page.limit)
          .map((e) => structuredClone(e));
      },
    },
    idempotency: {
      async claim(record, now): Promise<ClaimResult> {
        const id = idempotencyId(record.principal, record.key);
        const existing = state.idempotency.get(id);
        if (existing && existing.expiresAt.getTime() > now.getTime()) return { claimed: false, existing: structuredClone(existing) };
        state.idempotency.set(id, { ...record, status: 'in_flight', responseStatus: null, responseBody: null });
        return { claimed: true };
      },
      async complete(principal, key, responseStatus, responseBody) {
        const record = state.idempotency.get(idempotencyId(principal, key));
        if (record) Object.assign(record, { status: 'completed', responseStatus, responseBody: structuredClone(responseBody) });
      },
      async release(principal, key) {
        const id = idempotencyId(principal, key);
        if (state.idempotency.get(id)?.status === 'in_flight') state.idempotency.delete(id);
      },
      async purgeExpired(now) {
        let purged = 0;
        for (const [id, record] of state.idempotency) {
          if (record.expiresAt.getTime() <= now.getTime()) {
            state.idempotency.delete(id);
            purged++;
          }
        }
        return purged;
      },
    },
  };
}

export function createMemoryStore(): Store {
  let state = emptyState();
  let queue: Promise<unknown> = Promise.resolve();
  const committed = (): Repositories => repositoriesOver(state);

  return {
    kind: 'memory',
    // Writes outside a transaction (idempotency bookkeeping) apply directly to committed state.
    get repos() {
      return committed();
    },
    transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
      const run = queue.then(async () => {
        const draft = structuredClone(state);
        const result = await work(repositoriesOver(draft));
        state = draft;
        return result;
      });
      queue = run.catch(() => undefined);
      return run;
    },
    ping: async () => undefined,
    close: async () => undefined,
  };
}
