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
  challenges: Map<string, { account: string; expiresAt: Date; consumedAt: Date | null }>;
  revokedTokens: Map<string, { expiresAt: Date }>;
  controllers: Map<string, string>;
  nextSeq: bigint;
}

const emptyState = (): State => ({
  lines: new Map(),
  ledger: [],
  events: [],
  audit: [],
  idempotency: new Map(),
  challenges: new Map(),
  revokedTokens: new Map(),
  controllers: new Map(),
  nextSeq: 1n,
});

const newestFirstLines = (a: CreditLine, b: CreditLine) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

const isBefore = (line: CreditLine, cursor: CreditLineCursor) =>
  line.createdAt.getTime() < cursor.createdAt.getTime() ||
  (line.createdAt.getTime() === cursor.createdAt.getTime() && line.id < cursor.id);

const idempotencyId = (principal: string, key: string) => `${principal}\u0000${key}`;

/** Repositories read the state through `current` so that long-lived references always see the latest commit. */
function repositoriesOver(current: () => State): Repositories {
  const nextSeq = () => current().nextSeq++;
  return {
    creditLines: {
      async insert(line) {
        for (const other of current().lines.values()) {
          if (other.walletAddress === line.walletAddress && other.status !== 'closed') throw duplicateOpenLine();
        }
        current().lines.set(line.id, structuredClone(line));
      },
      findById: async (id) => structuredClone(current().lines.get(id) ?? null),
      findByIdForUpdate: async (id) => structuredClone(current().lines.get(id) ?? null),
      async update(line) {
        if (line.status !== 'closed') {
          for (const other of current().lines.values()) {
            if (other.id !== line.id && other.walletAddress === line.walletAddress && other.status !== 'closed') throw duplicateOpenLine();
          }
        }
        if (current().lines.has(line.id)) current().lines.set(line.id, structuredClone(line));
      },
      async list(filter: CreditLineFilter, page: Page<CreditLineCursor>) {
        return [...current().lines.values()]
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
        current().ledger.push(stored);
        return structuredClone(stored);
      },
      async listByLine(creditLineId, page) {
        return current().ledger
          .filter((entry) => entry.creditLineId === creditLineId && (page.after === undefined || entry.seq < page.after))
          .sort((a, b) => Number(b.seq - a.seq))
          .slice(0, page.limit)
          .map((entry) => structuredClone(entry));
      },
    },
    events: {
      async append(event) {
        const stored = { ...structuredClone(event), seq: nextSeq() };
        current().events.push(stored);
        return structuredClone(stored);
      },
      listByAggregate: async (aggregateType, aggregateId) =>
        structuredClone(current().events.filter((e) => e.aggregateType === aggregateType && e.aggregateId === aggregateId)),
    },
    audit: {
      async append(entry) {
        const stored = { ...structuredClone(entry), seq: nextSeq() };
        current().audit.push(stored);
        return structuredClone(stored);
      },
      async list(filter, page) {
        return current().audit
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
        const existing = current().idempotency.get(id);
        if (existing && existing.expiresAt.getTime() > now.getTime()) return { claimed: false, existing: structuredClone(existing) };
        current().idempotency.set(id, { ...record, status: 'in_flight', responseStatus: null, responseBody: null });
        return { claimed: true };
      },
      async complete(principal, key, responseStatus, responseBody) {
        const record = current().idempotency.get(idempotencyId(principal, key));
        if (record) Object.assign(record, { status: 'completed', responseStatus, responseBody: structuredClone(responseBody) });
      },
      async release(principal, key) {
        const id = idempotencyId(principal, key);
        if (current().idempotency.get(id)?.status === 'in_flight') current().idempotency.delete(id);
      },
      async purgeExpired(now) {
        let purged = 0;
        for (const [id, record] of current().idempotency) {
          if (record.expiresAt.getTime() <= now.getTime()) {
            current().idempotency.delete(id);
            purged++;
          }
        }
        return purged;
      },
    },
    walletAuth: {
      async saveChallenge(challenge) {
        current().challenges.set(challenge.nonce, { account: challenge.account, expiresAt: challenge.expiresAt, consumedAt: null });
      },
      async consumeChallenge(nonce, now) {
        const challenge = current().challenges.get(nonce);
        if (!challenge) return { outcome: 'unknown' };
        if (challenge.consumedAt) return { outcome: 'replayed' };
        if (challenge.expiresAt.getTime() <= now.getTime()) return { outcome: 'expired' };
        challenge.consumedAt = now;
        return { outcome: 'consumed', account: challenge.account };
      },
      async revokeToken(revocation) {
        if (!current().revokedTokens.has(revocation.jti)) current().revokedTokens.set(revocation.jti, { expiresAt: revocation.expiresAt });
      },
      isRevoked: async (jti) => current().revokedTokens.has(jti),
      async bindController(binding) {
        current().controllers.set(binding.contractAddress, binding.controllerAccount);
      },
      unbindController: async (contractAddress) => current().controllers.delete(contractAddress),
      controllerOf: async (contractAddress) => current().controllers.get(contractAddress) ?? null,
      async purgeExpired(now) {
        let purged = 0;
        for (const map of [current().challenges, current().revokedTokens]) {
          for (const [id, entry] of map) {
            if (entry.expiresAt.getTime() <= now.getTime()) {
              map.delete(id);
              purged++;
            }
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

  const transaction = <T>(work: (repos: Repositories) => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      const draft = structuredClone(state);
      const result = await work(repositoriesOver(() => draft));
      state = draft;
      return result;
    });
    queue = run.catch(() => undefined);
    return run;
  };

  // Calls outside a transaction run as one-call transactions on the same queue: a direct write to
  // `state` could otherwise be overwritten when an earlier transaction swaps in its draft.
  const queued = repositoriesOver(() => state);
  const repos = Object.fromEntries(
    Object.entries(queued).map(([name, repository]) => [
      name,
      Object.fromEntries(
        Object.keys(repository as object).map((method) => [
          method,
          (...args: unknown[]) =>
            transaction((r) => (r[name as keyof Repositories] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args)),
        ]),
      ),
    ]),
  ) as unknown as Repositories;

  return {
    kind: 'memory',
    repos,
    transaction,
    ping: async () => undefined,
    close: async () => undefined,
  };
}
