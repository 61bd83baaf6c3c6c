import {
  executionPending,
  type AccountRiskState,
  type AssetParamsVersion,
  type CollateralAsset,
  type CollateralMovement,
  type CollateralPosition,
  type PriceObservation,
  type RiskExecution,
  type StopLossSettings,
  type VolatilityObservation,
} from '../../domain/collateral/records.js';
import { duplicateOpenLine, type CreditLine } from '../../domain/creditLine.js';
import { ConflictError } from '../../domain/errors.js';
import type { RiskEvaluation } from '../../domain/risk/evaluation.js';
import type { Repayment, SettlementFinding, SettlementRun } from '../../domain/repayment/records.js';
import { inProcessExclusive } from '../../lib/inProcessExclusive.js';
import {
  CHAIN_EVENT_STATUSES,
  type ChainCursor,
  type ChainEventRecord,
  type ChainEventStatus,
  type ChainGap,
  type Drift,
  type IncomingPayment,
  type ReconciliationRun,
} from '../repositories.js';
import type { ChainTransaction } from '../../domain/chainTransaction.js';
import type {
  Job,
  WebhookAttempt,
  WebhookEndpoint,
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
  CollateralAccount,
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
  fannedOut: Set<string>;
  jobs: Map<string, Job>;
  webhooks: Map<string, WebhookEndpoint>;
  attempts: WebhookAttempt[];
  chainEvents: Map<string, ChainEventRecord>;
  chainCursors: Map<string, ChainCursor>;
  chainGaps: ChainGap[];
  runs: Map<string, ReconciliationRun>;
  drifts: Drift[];
  incomingPayments: Map<string, IncomingPayment>;
  evaluations: Map<string, RiskEvaluation>;
  notices: Set<string>;
  repayments: Map<string, Repayment>;
  providerEvents: Set<string>;
  providerDeliveries: Map<string, Date>;
  settlementRuns: Map<string, SettlementRun>;
  settlementFindings: SettlementFinding[];
  /** By code. */
  collateralAssets: Map<string, CollateralAsset>;
  /** By `${code}\u0000${version}`. */
  assetParams: Map<string, AssetParamsVersion>;
  prices: PriceObservation[];
  volatility: VolatilityObservation[];
  positions: Map<string, CollateralPosition>;
  movements: CollateralMovement[];
  executions: Map<string, RiskExecution>;
  stopLoss: Map<string, StopLossSettings>;
  riskStates: Map<string, AccountRiskState>;
  chainTransactions: Map<string, ChainTransaction>;
  chainAccounts: Map<string, bigint | null>;
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
  fannedOut: new Set(),
  jobs: new Map(),
  webhooks: new Map(),
  attempts: [],
  chainEvents: new Map(),
  chainCursors: new Map(),
  chainGaps: [],
  runs: new Map(),
  drifts: [],
  incomingPayments: new Map(),
  evaluations: new Map(),
  notices: new Set(),
  repayments: new Map(),
  providerEvents: new Set(),
  providerDeliveries: new Map(),
  settlementRuns: new Map(),
  settlementFindings: [],
  collateralAssets: new Map(),
  assetParams: new Map(),
  prices: [],
  volatility: [],
  positions: new Map(),
  movements: [],
  executions: new Map(),
  stopLoss: new Map(),
  riskStates: new Map(),
  chainTransactions: new Map(),
  chainAccounts: new Map(),
  nextSeq: 1n,
});

const newestFirstLines = (a: CreditLine, b: CreditLine) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

const isBefore = (line: CreditLine, cursor: CreditLineCursor) =>
  line.createdAt.getTime() < cursor.createdAt.getTime() ||
  (line.createdAt.getTime() === cursor.createdAt.getTime() && line.id < cursor.id);

const newestEvaluations = (state: State, walletAddress: string, page: Page<bigint>): RiskEvaluation[] =>
  [...state.evaluations.values()]
    .filter((e) => e.walletAddress === walletAddress && (page.after === undefined || e.seq < page.after))
    .sort((a, b) => (a.seq < b.seq ? 1 : -1))
    .slice(0, page.limit);

const idempotencyId = (principal: string, key: string) => `${principal}\u0000${key}`;

const paramsId = (assetCode: string, version: number) => `${assetCode}\u0000${version}`;

/** Plain code-unit order: what PostgreSQL gives for uuids, and for our ASCII codes and addresses under a C collation. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Newest observation first: observedAt, then id (the insertion order) breaks ties. */
const newestPriceFirst = (a: PriceObservation, b: PriceObservation) => b.observedAt.getTime() - a.observedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** Newest first on (createdAt, id), as risk_executions is listed. */
const newestExecutionFirst = (a: { createdAt: Date; id: string }, b: { createdAt: Date; id: string }) =>
  b.createdAt.getTime() - a.createdAt.getTime() || byText(b.id, a.id);

const requireAsset = (state: State, code: string) => {
  if (!state.collateralAssets.has(code)) throw new Error(`foreign key: collateral asset ${code} does not exist`);
};

/** Repositories read the state through `current` so that long-lived references always see the latest commit. */
function repositoriesOver(current: () => State): Repositories {
  const nextSeq = () => current().nextSeq++;
  return {
    creditLines: {
      async insert(line) {
        if (current().lines.has(line.id)) throw new Error(`duplicate key: credit line ${line.id} exists`);
        for (const other of current().lines.values()) {
          if (line.contractId && other.contractId === line.contractId && other.walletAddress === line.walletAddress) throw duplicateOpenLine();
          if (other.walletAddress === line.walletAddress && other.status !== 'closed' && line.status !== 'closed') throw duplicateOpenLine();
        }
        current().lines.set(line.id, structuredClone(line));
      },
      findById: async (id) => structuredClone(current().lines.get(id) ?? null),
      findByIdForUpdate: async (id) => structuredClone(current().lines.get(id) ?? null),
      listOwing: async (page) =>
        structuredClone(
          [...current().lines.values()]
            .filter((l) => l.utilized > 0n && l.status !== 'closed' && (page.afterId === undefined || l.id > page.afterId))
            .sort((a, b) => (a.id < b.id ? -1 : 1))
            .slice(0, page.limit),
        ),
      findOpenByWallet: async (walletAddress) => structuredClone([...current().lines.values()].find((l) => l.walletAddress === walletAddress && l.status !== 'closed') ?? null),
      async update(line) {
        if (line.status !== 'closed') {
          for (const other of current().lines.values()) {
            if (other.id !== line.id && other.walletAddress === line.walletAddress && other.status !== 'closed') throw duplicateOpenLine();
          }
        }
        const stored = current().lines.get(line.id);
        // Like the SQL UPDATE: identity and creation fields never change (collateral backing is fixed at opening).
        if (stored) {
          current().lines.set(line.id, {
            ...structuredClone(line),
            walletAddress: stored.walletAddress,
            currency: stored.currency,
            collateralBacked: stored.collateralBacked,
            createdAt: stored.createdAt,
          });
        }
      },
      findByChainIdentityForUpdate: async (contractId, walletAddress) =>
        structuredClone([...current().lines.values()].find((l) => l.contractId === contractId && l.walletAddress === walletAddress) ?? null),
      listBound: async (contractId, page) =>
        structuredClone(
          [...current().lines.values()]
            .filter((l) => l.contractId === contractId && (page.afterId === undefined || l.id > page.afterId))
            .sort((a, b) => (a.id < b.id ? -1 : 1))
            .slice(0, page.limit),
        ),
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
        if (!current().lines.has(entry.creditLineId)) throw new Error(`foreign key: credit line ${entry.creditLineId} does not exist`);
        const stored = { ...entry, seq: nextSeq() };
        current().ledger.push(stored);
        return structuredClone(stored);
      },
      async appendMany(entries) {
        for (const entry of entries) {
          if (!current().lines.has(entry.creditLineId)) throw new Error(`foreign key: credit line ${entry.creditLineId} does not exist`);
          current().ledger.push({ ...structuredClone(entry), seq: nextSeq() });
        }
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
      async appendMany(events) {
        for (const event of events) current().events.push({ ...structuredClone(event), seq: nextSeq() });
      },
      claimForFanOut: async (limit) => structuredClone(current().events.filter((e) => !current().fannedOut.has(e.id)).slice(0, limit)),
      async markFannedOut(ids) {
        for (const id of ids) current().fannedOut.add(id);
      },
      findById: async (id) => structuredClone(current().events.find((e) => e.id === id) ?? null),
    },
    jobs: {
      async enqueue(jobs) {
        let inserted = 0;
        for (const job of jobs) {
          const taken = job.dedupeKey !== undefined && [...current().jobs.values()].some((j) => j.queue === job.queue && j.dedupeKey === job.dedupeKey);
          if (taken) continue;
          current().jobs.set(job.id, {
            id: job.id,
            seq: nextSeq(),
            queue: job.queue,
            dedupeKey: job.dedupeKey ?? null,
            subject: job.subject ?? null,
            payload: structuredClone(job.payload),
            status: 'queued',
            attempts: 0,
            maxAttempts: job.maxAttempts,
            runAt: job.runAt,
            lockedUntil: null,
            lockedBy: null,
            lastError: null,
            createdAt: job.createdAt,
            updatedAt: job.createdAt,
            finishedAt: null,
          });
          inserted++;
        }
        return inserted;
      },
      async claim(queue, { limit, now, leaseUntil, worker }) {
        const all = [...current().jobs.values()];
        const leased = (j: Job) => j.status === 'running' && j.lockedUntil !== null && j.lockedUntil.getTime() >= now.getTime();
        const busySubjects = new Set(all.filter((j) => j.queue === queue && j.subject !== null && leased(j)).map((j) => j.subject));
        const due = all
          .filter((j) => j.queue === queue && j.runAt.getTime() <= now.getTime() && (j.status === 'queued' || (j.status === 'running' && !leased(j))))
          .filter((j) => j.subject === null || !busySubjects.has(j.subject))
          .sort((a, b) => a.runAt.getTime() - b.runAt.getTime() || Number(a.seq - b.seq))
          .slice(0, limit);
        for (const job of due) Object.assign(job, { status: 'running', attempts: job.attempts + 1, lockedUntil: leaseUntil, lockedBy: worker, updatedAt: now });
        return structuredClone(due).sort((a, b) => Number(a.seq - b.seq));
      },
      async complete(id, worker, now) {
        const job = current().jobs.get(id);
        if (!job || job.status !== 'running' || job.lockedBy !== worker) return false;
        Object.assign(job, { status: 'done', lockedUntil: null, updatedAt: now, finishedAt: now, lastError: null });
        return true;
      },
      async retryLater(id, worker, outcome) {
        const job = current().jobs.get(id);
        if (!job || job.status !== 'running' || job.lockedBy !== worker) return false;
        Object.assign(job, { status: 'queued', lockedUntil: null, lastError: outcome.error, runAt: outcome.runAt, updatedAt: outcome.now });
        return true;
      },
      async bury(id, worker, outcome) {
        const job = current().jobs.get(id);
        if (!job || job.status !== 'running' || job.lockedBy !== worker) return false;
        Object.assign(job, { status: 'dead', lockedUntil: null, lastError: outcome.error, updatedAt: outcome.now, finishedAt: outcome.now });
        return true;
      },
      findById: async (id) => structuredClone(current().jobs.get(id) ?? null),
      async list(filter, page) {
        return structuredClone(
          [...current().jobs.values()]
            .filter((j) => (filter.queue === undefined || j.queue === filter.queue) && (filter.status === undefined || j.status === filter.status))
            .filter((j) => (filter.subject === undefined || j.subject === filter.subject) && (page.after === undefined || j.seq < page.after))
            .sort((a, b) => Number(b.seq - a.seq))
            .slice(0, page.limit),
        );
      },
      async requeue(id, now) {
        const job = current().jobs.get(id);
        if (!job || (job.status !== 'dead' && job.status !== 'done')) return null;
        Object.assign(job, { status: 'queued', attempts: 0, runAt: now, lockedUntil: null, lockedBy: null, finishedAt: null, updatedAt: now });
        return structuredClone(job);
      },
      async extendLease(ids, worker, leaseUntil, now) {
        const held: string[] = [];
        for (const id of ids) {
          const job = current().jobs.get(id);
          if (job && job.status === 'running' && job.lockedBy === worker) {
            Object.assign(job, { lockedUntil: leaseUntil, updatedAt: now });
            held.push(id);
          }
        }
        return held;
      },
      async cancelSubject(queue, subject, now) {
        let cancelled = 0;
        for (const job of current().jobs.values()) {
          if (job.queue === queue && job.subject === subject && (job.status === 'queued' || job.status === 'running')) {
            Object.assign(job, { status: 'dead', lastError: 'cancelled: subject removed', lockedUntil: null, updatedAt: now, finishedAt: now });
            cancelled++;
          }
        }
        return cancelled;
      },
    },
    chain: {
      async insertEvents(events) {
        const inserted = new Set<string>();
        for (const event of events) {
          if (current().chainEvents.has(event.eventId)) continue;
          current().chainEvents.set(event.eventId, structuredClone(event));
          inserted.add(event.eventId);
        }
        return inserted;
      },
      existingEventIds: async (ids) => new Set(ids.filter((id) => current().chainEvents.has(id))),
      async lockCursor(name) {
        if (!current().chainCursors.has(name)) current().chainCursors.set(name, { cursor: null, lastLedger: null });
        return { ...current().chainCursors.get(name)! };
      },
      getCursor: async (name) => (current().chainCursors.has(name) ? { ...current().chainCursors.get(name)! } : null),
      async advanceCursor(name, expected, next) {
        const cursor = current().chainCursors.get(name);
        if (!cursor || cursor.cursor !== expected) return false;
        current().chainCursors.set(name, { ...next });
        return true;
      },
      async recordGap(gap) {
        current().chainGaps.push(structuredClone(gap));
      },
      listGaps: async (source, limit) =>
        structuredClone(
          current()
            .chainGaps.filter((g) => g.source === source)
            .sort((a, b) => b.detectedAt.getTime() - a.detectedAt.getTime() || (a.id < b.id ? 1 : -1))
            .slice(0, limit),
        ),
      async linkGapsToRun(source, runId) {
        let linked = 0;
        for (const gap of current().chainGaps) {
          if (gap.source === source && gap.reconciliationRunId === null) {
            gap.reconciliationRunId = runId;
            linked++;
          }
        }
        return linked;
      },
      async countEventsByStatus() {
        const counts = Object.fromEntries(CHAIN_EVENT_STATUSES.map((s) => [s, 0])) as Record<ChainEventStatus, number>;
        for (const event of current().chainEvents.values()) counts[event.status]++;
        return counts;
      },
      parkedLedgers: async (limit) =>
        [...new Set([...current().chainEvents.values()].filter((e) => e.status === 'parked').map((e) => e.ledger))].sort((a, b) => a - b).slice(0, limit),
    },
    reconciliation: {
      async insertRun(run) {
        current().runs.set(run.id, structuredClone(run));
      },
      async finishRun(run) {
        current().runs.set(run.id, structuredClone(run));
      },
      async addDrifts(drifts) {
        current().drifts.push(...structuredClone(drifts));
      },
      findRun: async (id) => structuredClone(current().runs.get(id) ?? null),
      // Critical first, then by wallet and field: the order PostgreSQL gives.
      drifts: async (runId) =>
        structuredClone(
          current()
            .drifts.filter((d) => d.runId === runId)
            .sort((a, b) => a.severity.localeCompare(b.severity) || a.walletAddress.localeCompare(b.walletAddress) || a.field.localeCompare(b.field)),
        ),
      listRuns: async (page) =>
        structuredClone(
          [...current().runs.values()]
            .filter(
              (r) =>
                !page.after ||
                r.startedAt.getTime() < page.after.startedAt.getTime() ||
                (r.startedAt.getTime() === page.after.startedAt.getTime() && r.id < page.after.id),
            )
            .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : -1))
            .slice(0, page.limit),
        ),
    },
    incomingPayments: {
      async insert(payments) {
        let inserted = 0;
        for (const payment of payments) {
          if (current().incomingPayments.has(payment.id)) continue;
          current().incomingPayments.set(payment.id, structuredClone(payment));
          inserted++;
        }
        return inserted;
      },
      async markStatus(id, status) {
        const payment = current().incomingPayments.get(id);
        if (!payment || payment.status !== 'received') return false;
        payment.status = status;
        return true;
      },
      list: async (filter, limit) =>
        structuredClone(
          [...current().incomingPayments.values()]
            .filter((p) => (!filter.status || p.status === filter.status) && (!filter.memo || p.memo === filter.memo))
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
            .slice(0, limit),
        ),
    },
    riskEvaluations: {
      async insert(evaluation) {
        if (current().evaluations.has(evaluation.id)) throw new Error(`duplicate key: risk evaluation ${evaluation.id} exists`);
        const stored: RiskEvaluation = { ...structuredClone(evaluation), seq: nextSeq() };
        current().evaluations.set(stored.id, stored);
        return structuredClone(stored);
      },
      findById: async (id) => structuredClone(current().evaluations.get(id) ?? null),
      latestForWallet: async (walletAddress) => structuredClone(newestEvaluations(current(), walletAddress, { limit: 1 })[0] ?? null),
      listByWallet: async (walletAddress, page) => structuredClone(newestEvaluations(current(), walletAddress, page).map(({ signals: _s, inputs: _i, ...summary }) => summary)),
      async markApplied(id, application) {
        const stored = current().evaluations.get(id);
        if (!stored || stored.application) return false;
        if (!current().lines.has(application.creditLineId)) throw new Error(`foreign key: credit line ${application.creditLineId} does not exist`);
        stored.application = structuredClone(application);
        return true;
      },
    },
    chainTransactions: {
      async insert(tx) {
        if (current().chainTransactions.has(tx.id)) throw new Error(`duplicate key: chain transaction ${tx.id} exists`);
        if (tx.creditLineId && !current().lines.has(tx.creditLineId)) throw new Error(`foreign key: credit line ${tx.creditLineId} does not exist`);
        current().chainTransactions.set(tx.id, structuredClone(tx));
      },
      findById: async (id) => structuredClone(current().chainTransactions.get(id) ?? null),
      findByIdForUpdate: async (id) => structuredClone(current().chainTransactions.get(id) ?? null),
      async update(tx) {
        if (current().chainTransactions.has(tx.id)) current().chainTransactions.set(tx.id, structuredClone(tx));
      },
      listByLine: async (creditLineId, page) =>
        structuredClone(
          [...current().chainTransactions.values()]
            .filter((t) => t.creditLineId === creditLineId && (!page.after || t.createdAt < page.after.createdAt || (t.createdAt.getTime() === page.after.createdAt.getTime() && t.id < page.after.id)))
            .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
            .slice(0, page.limit),
        ),
      listPending: async (limit) =>
        structuredClone(
          [...current().chainTransactions.values()]
            .filter((t) => t.status === 'pending')
            .sort((a, b) => (a.submittedAt?.getTime() ?? 0) - (b.submittedAt?.getTime() ?? 0) || (a.id < b.id ? -1 : 1))
            .slice(0, limit),
        ),
      async confirmByHashes(confirmations, at) {
        const confirmed: string[] = [];
        for (const { txHash, ledger } of confirmations) {
          for (const tx of current().chainTransactions.values()) {
            if (tx.txHash !== txHash || tx.status !== 'pending') continue;
            const line = [...current().lines.values()].find((l) => l.contractId === tx.contractId && l.walletAddress === tx.walletAddress);
            Object.assign(tx, { status: 'confirmed', ledger, settledAt: at, updatedAt: at, creditLineId: tx.creditLineId ?? line?.id ?? null });
            confirmed.push(tx.id);
          }
        }
        return confirmed;
      },
      async lockAccountSequence(publicKey) {
        if (!current().chainAccounts.has(publicKey)) current().chainAccounts.set(publicKey, null);
        return current().chainAccounts.get(publicKey) ?? null;
      },
      async saveAccountSequence(publicKey, sequence) {
        current().chainAccounts.set(publicKey, sequence);
      },
    },
    repayments: {
      async insertOrGet(repayment) {
        const existing = [...current().repayments.values()].find((r) => r.provider === repayment.provider && r.providerRef === repayment.providerRef);
        if (existing) return { repayment: structuredClone(existing), created: false };
        if (current().repayments.has(repayment.id)) throw new Error(`duplicate key: repayment ${repayment.id} exists`);
        if (!current().lines.has(repayment.creditLineId)) throw new Error(`foreign key: credit line ${repayment.creditLineId} does not exist`);
        current().repayments.set(repayment.id, structuredClone(repayment));
        return { repayment: structuredClone(repayment), created: true };
      },
      findById: async (id) => structuredClone(current().repayments.get(id) ?? null),
      findByProviderRefForUpdate: async (provider, ref) =>
        structuredClone([...current().repayments.values()].find((r) => r.provider === provider && r.providerRef === ref) ?? null),
      findByProviderRefs: async (provider, refs) => structuredClone([...current().repayments.values()].filter((r) => r.provider === provider && refs.includes(r.providerRef))),
      async update(repayment) {
        const stored = current().repayments.get(repayment.id);
        // Like the SQL UPDATE: only the outcome changes; who pays what, where and at which rate is fixed at initiation.
        if (stored) {
          Object.assign(stored, {
            status: repayment.status,
            amount: repayment.amount,
            appliedAmount: repayment.appliedAmount,
            creditedAmount: repayment.creditedAmount,
            reversedAmount: repayment.reversedAmount,
            failureReason: repayment.failureReason,
            parkedReason: repayment.parkedReason,
            updatedAt: new Date(repayment.updatedAt),
          });
        }
      },
      list: async (filter, page) =>
        structuredClone(
          [...current().repayments.values()]
            .filter((r) => (filter.creditLineId === undefined || r.creditLineId === filter.creditLineId) && (filter.status === undefined || r.status === filter.status))
            .filter((r) => !page.after || r.createdAt < page.after.createdAt || (r.createdAt.getTime() === page.after.createdAt.getTime() && r.id < page.after.id))
            .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
            .slice(0, page.limit),
        ),
      listSettled: async (provider, from, to) =>
        structuredClone([...current().repayments.values()].filter((r) => r.provider === provider && (r.status === 'succeeded' || r.status === 'refunded') && r.updatedAt >= from && r.updatedAt < to)),
      async claimDelivery(provider, deliveryId, receivedAt, forgetBefore) {
        const deliveries = current().providerDeliveries;
        for (const [key, at] of deliveries) if (at < forgetBefore) deliveries.delete(key);
        const key = `${provider}|${deliveryId}`;
        if (deliveries.has(key)) return false;
        deliveries.set(key, receivedAt);
        return true;
      },
      async claimEvent(event) {
        const key = `${event.provider}|${event.eventId}`;
        if (current().providerEvents.has(key)) return false;
        current().providerEvents.add(key);
        return true;
      },
      async insertRun(run) {
        current().settlementRuns.set(run.id, structuredClone(run));
      },
      async finishRun(run) {
        const stored = current().settlementRuns.get(run.id);
        // Like the SQL UPDATE: the outcome only (window and start are fixed); an unknown run is left alone.
        if (stored) {
          Object.assign(stored, {
            status: run.status,
            chargesChecked: run.chargesChecked,
            payoutsChecked: run.payoutsChecked,
            findingCount: run.findingCount,
            error: run.error,
            finishedAt: run.finishedAt && new Date(run.finishedAt),
          });
        }
      },
      async addFindings(findings) {
        // One statement in PostgreSQL: a finding of an unknown run fails all of it.
        for (const f of findings) if (!current().settlementRuns.has(f.runId)) throw new Error(`foreign key: settlement run ${f.runId} does not exist`);
        current().settlementFindings.push(...structuredClone(findings));
      },
      listRuns: async (page) =>
        structuredClone(
          [...current().settlementRuns.values()]
            .filter((r) => !page.after || r.startedAt < page.after.startedAt || (r.startedAt.getTime() === page.after.startedAt.getTime() && r.id < page.after.id))
            .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : -1))
            .slice(0, page.limit),
        ),
      findings: async (runIds) =>
        structuredClone(current().settlementFindings.filter((f) => runIds.includes(f.runId)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))),
    },
    statementNotices: {
      async record(notices) {
        const recorded = [];
        for (const n of notices) {
          const key = `${n.creditLineId}|${n.statementDate.toISOString()}|${n.kind}`;
          if (current().notices.has(key)) continue;
          if (!current().lines.has(n.creditLineId)) throw new Error(`foreign key: credit line ${n.creditLineId} does not exist`);
          current().notices.add(key);
          recorded.push({ creditLineId: n.creditLineId, statementDate: n.statementDate, kind: n.kind });
        }
        return structuredClone(recorded);
      },
    },
    creditHistory: {
      async forWallet(walletAddress) {
        const lines = [...current().lines.values()]
          .filter((l) => l.walletAddress === walletAddress)
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
        const ids = new Set(lines.map((l) => l.id));
        const events = current().events.filter((e) => e.aggregateType === 'credit_line' && ids.has(e.aggregateId));
        return structuredClone({
          lines: lines.map((line) => ({
            line: { id: line.id, createdAt: line.createdAt, status: line.status, creditLimit: line.creditLimit, utilized: line.utilized },
            entries: current()
              .ledger.filter((e) => e.creditLineId === line.id)
              .sort((a, b) => (a.seq < b.seq ? -1 : 1))
              .map((e) => ({ type: e.type, amount: e.amount, utilizedAfter: e.utilizedAfter, createdAt: e.createdAt })),
          })),
          defaults: events.filter((e) => e.type === 'credit_line.defaulted').length,
          liquidations: events.filter((e) => e.type === 'liquidation.executed').length,
        });
      },
    },
    collateralAssets: {
      async insertAsset(asset) {
        if (current().collateralAssets.has(asset.code)) throw new ConflictError('asset_exists', `Collateral asset ${asset.code} already exists`);
        current().collateralAssets.set(asset.code, structuredClone(asset));
      },
      findAsset: async (code) => structuredClone(current().collateralAssets.get(code) ?? null),
      listAssets: async () => structuredClone([...current().collateralAssets.values()].sort((a, b) => byText(a.code, b.code))),
      async insertParams(version) {
        const id = paramsId(version.assetCode, version.version);
        requireAsset(current(), version.assetCode);
        if (current().assetParams.has(id)) {
          throw new ConflictError(
            'params_version_conflict',
            `Version ${version.version} of ${version.assetCode}'s parameters already exists; read the current version and retry`,
          );
        }
        current().assetParams.set(id, structuredClone(version));
      },
      async currentParams(codes) {
        const result = new Map<string, AssetParamsVersion>();
        for (const version of current().assetParams.values()) {
          if (!codes.includes(version.assetCode)) continue;
          const best = result.get(version.assetCode);
          if (!best || version.version > best.version) result.set(version.assetCode, version);
        }
        return structuredClone(result);
      },
      paramsHistory: async (code) =>
        structuredClone([...current().assetParams.values()].filter((v) => v.assetCode === code).sort((a, b) => b.version - a.version)),
      async recordPrice(observation) {
        requireAsset(current(), observation.assetCode);
        const stored: PriceObservation = { ...structuredClone(observation), id: nextSeq() };
        current().prices.push(stored);
        return structuredClone(stored);
      },
      async latestPrices(codes) {
        const result = new Map<string, PriceObservation>();
        for (const observation of current().prices) {
          if (!codes.includes(observation.assetCode)) continue;
          const best = result.get(observation.assetCode);
          if (!best || newestPriceFirst(observation, best) < 0) result.set(observation.assetCode, observation);
        }
        return structuredClone(result);
      },
      async dailyCloses(code, since) {
        // The first observation of each day in newest-first order is that day's close.
        const closes = new Map<string, bigint>();
        const observations = current()
          .prices.filter((o) => o.assetCode === code && o.observedAt.getTime() >= since.getTime())
          .sort(newestPriceFirst);
        for (const o of observations) {
          const day = o.observedAt.toISOString().slice(0, 10);
          if (!closes.has(day)) closes.set(day, o.price1e14);
        }
        return [...closes].sort(([a], [b]) => byText(a, b)).map(([day, price1e14]) => ({ day, price1e14 }));
      },
      async recordVolatility(observations) {
        // One statement in PostgreSQL: a missing asset fails all of it; a repeat of (asset, window, computedAt) is skipped.
        for (const o of observations) requireAsset(current(), o.assetCode);
        for (const o of observations) {
          const exists = current().volatility.some(
            (v) => v.assetCode === o.assetCode && v.windowDays === o.windowDays && v.computedAt.getTime() === o.computedAt.getTime(),
          );
          if (!exists) current().volatility.push(structuredClone(o));
        }
      },
      async latestVolatility(codes) {
        const result = new Map<string, Partial<Record<7 | 30, VolatilityObservation>>>();
        for (const o of current().volatility) {
          if (!codes.includes(o.assetCode)) continue;
          const entry = result.get(o.assetCode) ?? {};
          const best = entry[o.windowDays];
          if (!best || o.computedAt.getTime() > best.computedAt.getTime()) entry[o.windowDays] = o;
          result.set(o.assetCode, entry);
        }
        return structuredClone(result);
      },
    },
    collateralPositions: {
      listByWalletForUpdate: async (walletAddress) =>
        structuredClone([...current().positions.values()].filter((p) => p.walletAddress === walletAddress).sort((a, b) => byText(a.assetCode, b.assetCode))),
      listByWallet: async (walletAddress) =>
        structuredClone([...current().positions.values()].filter((p) => p.walletAddress === walletAddress).sort((a, b) => byText(a.assetCode, b.assetCode))),
      findById: async (id) => structuredClone(current().positions.get(id) ?? null),
      async insert(position) {
        if (current().positions.has(position.id)) throw new Error(`duplicate key: collateral position ${position.id} exists`);
        requireAsset(current(), position.assetCode);
        for (const other of current().positions.values()) {
          if (other.walletAddress === position.walletAddress && other.assetCode === position.assetCode) {
            throw new Error(`duplicate key: ${position.walletAddress} already has a ${position.assetCode} position`);
          }
        }
        current().positions.set(position.id, structuredClone(position));
      },
      async update(position) {
        const stored = current().positions.get(position.id);
        // Like the SQL UPDATE: only the balances and their timestamps change.
        if (stored) {
          Object.assign(stored, {
            quantity: position.quantity,
            yieldEarned: position.yieldEarned,
            yieldCheckpointAt: new Date(position.yieldCheckpointAt),
            updatedAt: new Date(position.updatedAt),
          });
        }
      },
      async appendMovement(movement) {
        if (!current().positions.has(movement.positionId)) throw new Error(`foreign key: collateral position ${movement.positionId} does not exist`);
        if (current().movements.some((m) => m.id === movement.id)) throw new Error(`duplicate key: collateral movement ${movement.id} exists`);
        const stored: CollateralMovement = { ...structuredClone(movement), seq: nextSeq() };
        current().movements.push(stored);
        return structuredClone(stored);
      },
      movements: async (positionId, page) =>
        structuredClone(
          current()
            .movements.filter((m) => m.positionId === positionId && (page.after === undefined || m.seq < page.after))
            .sort((a, b) => (a.seq < b.seq ? 1 : -1))
            .slice(0, page.limit),
        ),
      holdersOf: async (assetCode, page) =>
        [...current().positions.values()]
          .filter((p) => p.assetCode === assetCode && p.quantity > 0n && (page.afterWallet === undefined || p.walletAddress > page.afterWallet))
          .map((p) => p.walletAddress)
          .sort(byText)
          .slice(0, page.limit),
      async accounts(walletAddresses) {
        const result = new Map<string, CollateralAccount>();
        for (const wallet of walletAddresses) result.set(wallet, { positions: [], debt: 0n, lineId: null, interestRateBps: null, lastAccrualAt: null });
        const positions = [...current().positions.values()].filter((p) => result.has(p.walletAddress)).sort((a, b) => byText(a.assetCode, b.assetCode));
        for (const position of positions) result.get(position.walletAddress)!.positions.push(structuredClone(position));
        for (const line of current().lines.values()) {
          const account = result.get(line.walletAddress);
          if (!account || !line.collateralBacked || line.status === 'closed') continue;
          Object.assign(account, { debt: line.utilized, lineId: line.id, interestRateBps: line.interestRateBps, lastAccrualAt: structuredClone(line.lastAccrualAt) });
        }
        return result;
      },
    },
    riskExecutions: {
      async insert(execution) {
        if (current().executions.has(execution.id)) throw new Error(`duplicate key: risk execution ${execution.id} exists`);
        if (!current().lines.has(execution.creditLineId)) throw new Error(`foreign key: credit line ${execution.creditLineId} does not exist`);
        if (execution.status === 'pending') {
          for (const other of current().executions.values()) {
            if (other.walletAddress === execution.walletAddress && other.status === 'pending') throw executionPending();
          }
        }
        current().executions.set(execution.id, structuredClone(execution));
      },
      async pendingFor(walletAddresses) {
        const wanted = new Set(walletAddresses);
        return new Map(
          [...current().executions.values()].filter((e) => e.status === 'pending' && wanted.has(e.walletAddress)).map((e) => [e.walletAddress, structuredClone(e)] as const),
        );
      },
      async insertMany(executions) {
        let inserted = 0;
        for (const execution of executions) {
          const clash = [...current().executions.values()].some((o) => o.walletAddress === execution.walletAddress && o.status === 'pending');
          if (clash && execution.status === 'pending') continue; // ON CONFLICT DO NOTHING
          if (!current().lines.has(execution.creditLineId)) throw new Error(`foreign key: credit line ${execution.creditLineId} does not exist`);
          current().executions.set(execution.id, structuredClone(execution));
          inserted++;
        }
        return inserted;
      },
      async cancelMany(cancellations, at) {
        let cancelled = 0;
        for (const { id, reason } of cancellations) {
          const stored = current().executions.get(id);
          if (!stored || stored.status !== 'pending') continue;
          Object.assign(stored, { status: 'cancelled', cancelReason: reason, settledAt: new Date(at) });
          cancelled++;
        }
        return cancelled;
      },
      findById: async (id) => structuredClone(current().executions.get(id) ?? null),
      findByIdForUpdate: async (id) => structuredClone(current().executions.get(id) ?? null),
      findPending: async (walletAddress) =>
        structuredClone([...current().executions.values()].find((e) => e.walletAddress === walletAddress && e.status === 'pending') ?? null),
      list: async (filter, page) =>
        structuredClone(
          [...current().executions.values()]
            .filter((e) => (filter.walletAddress === undefined || e.walletAddress === filter.walletAddress) && (filter.status === undefined || e.status === filter.status))
            .filter((e) => !page.after || newestExecutionFirst(e, page.after) > 0)
            .sort(newestExecutionFirst)
            .slice(0, page.limit),
        ),
      async settle(id, outcome) {
        const stored = current().executions.get(id);
        if (!stored || stored.status !== 'pending') return false;
        Object.assign(stored, { status: outcome.status, fill: structuredClone(outcome.fill), cancelReason: outcome.cancelReason, settledAt: new Date(outcome.at) });
        return true;
      },
      getStopLoss: async (walletAddress) => structuredClone(current().stopLoss.get(walletAddress) ?? null),
      async putStopLoss(settings) {
        current().stopLoss.set(settings.walletAddress, structuredClone(settings));
      },
      async stopLossFor(walletAddresses) {
        const result = new Map<string, StopLossSettings>();
        for (const wallet of walletAddresses) {
          const settings = current().stopLoss.get(wallet);
          if (settings) result.set(wallet, structuredClone(settings));
        }
        return result;
      },
      async riskStates(walletAddresses) {
        const result = new Map<string, AccountRiskState>();
        for (const wallet of walletAddresses) {
          const state = current().riskStates.get(wallet);
          if (state) result.set(wallet, structuredClone(state));
        }
        return result;
      },
      // Transactions here run one at a time: reading is locking.
      lockRiskStates: async (walletAddresses) =>
        new Map(
          walletAddresses.flatMap((w) => {
            const state = current().riskStates.get(w);
            return state ? [[w, structuredClone(state)] as const] : [];
          }),
        ),
      async putRiskStates(states) {
        // The last state of a wallet wins when a batch names it twice.
        for (const state of states) current().riskStates.set(state.walletAddress, structuredClone(state));
      },
    },
    webhooks: {
      async insert(endpoint) {
        current().webhooks.set(endpoint.id, structuredClone(endpoint));
      },
      async update(endpoint) {
        if (current().webhooks.has(endpoint.id)) current().webhooks.set(endpoint.id, structuredClone(endpoint));
      },
      delete: async (id) => current().webhooks.delete(id),
      findById: async (id) => structuredClone(current().webhooks.get(id) ?? null),
      list: async () => structuredClone([...current().webhooks.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))),
      listSubscribed: async (eventType) =>
        structuredClone(
          [...current().webhooks.values()]
            .filter((e) => e.enabled && (e.eventTypes.length === 0 || e.eventTypes.includes(eventType)))
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)),
        ),
      async updateHealth(id, health, at) {
        const endpoint = current().webhooks.get(id);
        if (!endpoint) return null;
        if ('failingSince' in health) endpoint.failingSince = health.failingSince ?? null;
        if (health.enabled !== undefined) endpoint.enabled = health.enabled;
        if ('disabledReason' in health) endpoint.disabledReason = health.disabledReason ?? null;
        endpoint.updatedAt = at;
        return structuredClone(endpoint);
      },
      async recordAttempt(attempt) {
        current().attempts.push(structuredClone(attempt));
      },
      async recordDelivered(attempt, worker) {
        current().attempts.push(structuredClone(attempt));
        const job = current().jobs.get(attempt.jobId);
        if (job && job.status === 'running' && job.lockedBy === worker) {
          Object.assign(job, { status: 'done', lockedUntil: null, updatedAt: attempt.createdAt, finishedAt: attempt.createdAt, lastError: null });
        }
      },
      async lastAttempts(jobIds) {
        const latest = new Map<string, WebhookAttempt>();
        for (const attempt of current().attempts) {
          if (jobIds.includes(attempt.jobId)) latest.set(attempt.jobId, structuredClone(attempt));
        }
        return latest;
      },
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
        if (record) Object.assign(record, { status: 'completed', responseStatus, responseBody: structuredClone(responseBody ?? null) });
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
    // Lives inside this one process, so an in-process guard is the whole of "one runner per name".
    tryExclusive: inProcessExclusive(),
    ping: async () => undefined,
    close: async () => undefined,
  };
}
