import type { CreditLine, CreditLineStatus } from '../domain/creditLine.js';
import type { ChainTransaction } from '../domain/chainTransaction.js';
import type { LedgerEntry } from '../domain/ledger.js';
import type { LineHistory } from '../domain/risk/creditHistory.js';
import type { ProviderEvent, ProviderName, Repayment, RepaymentStatus, SettlementFinding, SettlementRun } from '../domain/repayment/records.js';
import type { EvaluationApplication, RiskEvaluation, RiskEvaluationSummary } from '../domain/risk/evaluation.js';
import type {
  AccountRiskState,
  AssetParamsVersion,
  CollateralAsset,
  CollateralMovement,
  CollateralPosition,
  ExecutionFill,
  ExecutionStatus,
  PriceObservation,
  RiskExecution,
  StopLossSettings,
  VolatilityObservation,
} from '../domain/collateral/records.js';

export type { LedgerEntry };

/**
 * Ports. Services see only these interfaces; PostgreSQL (also embedded PGlite) and in-memory
 * implementations pass one contract-test suite (tests/contract).
 */

export interface Page<Cursor> {
  limit: number;
  after?: Cursor;
}

export interface CreditLineCursor {
  createdAt: Date;
  id: string;
}

export interface CreditLineFilter {
  status?: CreditLineStatus;
  walletAddress?: string;
}

export interface CreditLineRepository {
  /** Throws ConflictError `duplicate_open_line` when the wallet already has a line that is not closed. */
  insert(line: CreditLine): Promise<void>;
  findById(id: string): Promise<CreditLine | null>;
  /** The wallet's line that is not closed (a wallet has at most one), if any. */
  findOpenByWallet(walletAddress: string): Promise<CreditLine | null>;
  /** Locks the row until the surrounding transaction ends; concurrent writers queue behind it. */
  findByIdForUpdate(id: string): Promise<CreditLine | null>;
  update(line: CreditLine): Promise<void>;
  /** Newest first, keyset-paginated on (createdAt, id). */
  list(filter: CreditLineFilter, page: Page<CreditLineCursor>): Promise<CreditLine[]>;
  /** The line bound to the contract for this borrower, locked for update. */
  findByChainIdentityForUpdate(contractId: string, walletAddress: string): Promise<CreditLine | null>;
  /** Lines that owe something (not closed), in id order after `afterId`: the schedule job walks them in batches. */
  listOwing(page: { limit: number; afterId?: string }): Promise<CreditLine[]>;
  /** Lines bound to a contract, in id order after `afterId` (for reconciliation in batches). */
  listBound(contractId: string, page: { limit: number; afterId?: string }): Promise<CreditLine[]>;
}

export interface LedgerRepository {
  append(entry: Omit<LedgerEntry, 'seq'>): Promise<LedgerEntry>;
  /** Several entries in one statement, in order (bulk projection of chain events). */
  appendMany(entries: Omit<LedgerEntry, 'seq'>[]): Promise<void>;
  /** Newest first; `after` is the seq of the last entry of the previous page. */
  listByLine(creditLineId: string, page: Page<bigint>): Promise<LedgerEntry[]>;
}

export interface DomainEvent {
  id: string;
  seq: bigint;
  type: string;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface DomainEventRepository {
  append(event: Omit<DomainEvent, 'seq'>): Promise<DomainEvent>;
  /** Several events in one statement, in order. */
  appendMany(events: Omit<DomainEvent, 'seq'>[]): Promise<void>;
  /** Oldest first. */
  listByAggregate(aggregateType: string, aggregateId: string): Promise<DomainEvent[]>;
  /** Oldest events not yet fanned out, locked (SKIP LOCKED) until the surrounding transaction ends. */
  claimForFanOut(limit: number): Promise<DomainEvent[]>;
  markFannedOut(ids: string[], at: Date): Promise<void>;
  findById(id: string): Promise<DomainEvent | null>;
}

export const JOB_STATUSES = ['queued', 'running', 'done', 'dead'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface Job {
  id: string;
  seq: bigint;
  queue: string;
  dedupeKey: string | null;
  subject: string | null;
  payload: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  lockedUntil: Date | null;
  lockedBy: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface NewJob {
  id: string;
  queue: string;
  dedupeKey?: string;
  subject?: string;
  payload: Record<string, unknown>;
  maxAttempts: number;
  runAt: Date;
  createdAt: Date;
}

export interface JobRepository {
  /** Inserts, skipping any whose (queue, dedupeKey) already exists; returns how many were new. */
  enqueue(jobs: NewJob[]): Promise<number>;
  /**
   * Leases up to `limit` due jobs (queued, or running with an expired lease) until `leaseUntil`. A subject
   * that has a job under a live lease is skipped, so one subject's jobs run one at a time, in order.
   */
  claim(queue: string, options: { limit: number; now: Date; leaseUntil: Date; worker: string }): Promise<Job[]>;
  /** The outcome of an attempt; applied only while `worker` still holds the lease. */
  complete(id: string, worker: string, now: Date): Promise<boolean>;
  retryLater(id: string, worker: string, outcome: { error: string; runAt: Date; now: Date }): Promise<boolean>;
  bury(id: string, worker: string, outcome: { error: string; now: Date }): Promise<boolean>;
  findById(id: string): Promise<Job | null>;
  /** Newest first. */
  list(filter: { queue?: string; status?: JobStatus; subject?: string }, page: Page<bigint>): Promise<Job[]>;
  /** A dead (or finished) job runs again from attempt zero. */
  requeue(id: string, now: Date): Promise<Job | null>;
  /** Extends the lease of the listed jobs this worker still holds; returns the ids it still holds. */
  extendLease(ids: string[], worker: string, leaseUntil: Date, now: Date): Promise<string[]>;
  /** Drops the jobs of a subject that have not finished (e.g. a deleted webhook endpoint). */
  cancelSubject(queue: string, subject: string, now: Date): Promise<number>;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** Empty means every event type. */
  eventTypes: string[];
  enabled: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookAttempt {
  id: string;
  jobId: string;
  endpointId: string;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  createdAt: Date;
}

export interface WebhookRepository {
  insert(endpoint: WebhookEndpoint): Promise<void>;
  update(endpoint: WebhookEndpoint): Promise<void>;
  delete(id: string): Promise<boolean>;
  findById(id: string): Promise<WebhookEndpoint | null>;
  /** Oldest first. */
  list(): Promise<WebhookEndpoint[]>;
  /** Enabled endpoints that asked for this event type (or for all). */
  listSubscribed(eventType: string): Promise<WebhookEndpoint[]>;
  /**
   * Records a delivery's effect on the endpoint's health, touching only those columns: an admin edit made while
   * the delivery was in flight (URL, secret, enabled) must survive it. Returns the endpoint as it now is.
   */
  updateHealth(id: string, health: { failingSince?: Date | null; enabled?: boolean; disabledReason?: string | null }, at: Date): Promise<WebhookEndpoint | null>;
  recordAttempt(attempt: WebhookAttempt): Promise<void>;
  /**
   * A successful delivery in one atomic step: its attempt recorded and its job done (while `worker` still holds
   * the lease). The common case of every dispatch, so it is one statement on PostgreSQL.
   */
  recordDelivered(attempt: WebhookAttempt, worker: string): Promise<void>;
  /** The most recent attempt of each job. */
  lastAttempts(jobIds: string[]): Promise<Map<string, WebhookAttempt>>;
}

export interface AuditEntry {
  id: string;
  seq: bigint;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
  createdAt: Date;
}

export interface AuditLogRepository {
  append(entry: Omit<AuditEntry, 'seq'>): Promise<AuditEntry>;
  /** Newest first; `after` is the seq of the last entry of the previous page. */
  list(filter: { targetType?: string; targetId?: string }, page: Page<bigint>): Promise<AuditEntry[]>;
}

export interface IdempotencyRecord {
  principal: string;
  key: string;
  requestHash: string;
  status: 'in_flight' | 'completed';
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
  expiresAt: Date;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: IdempotencyRecord };

export interface IdempotencyRepository {
  /** Claims the key, or returns the live record holding it. An expired record is replaced atomically. */
  claim(record: Omit<IdempotencyRecord, 'status' | 'responseStatus' | 'responseBody'>, now: Date): Promise<ClaimResult>;
  complete(principal: string, key: string, responseStatus: number, responseBody: unknown): Promise<void>;
  release(principal: string, key: string): Promise<void>;
  purgeExpired(now: Date): Promise<number>;
}

export type ChallengeConsumption = { outcome: 'consumed'; account: string } | { outcome: 'unknown' | 'replayed' | 'expired' };

export interface WalletAuthRepository {
  saveChallenge(challenge: { nonce: string; account: string; expiresAt: Date; createdAt: Date }): Promise<void>;
  /** Single use: marks the challenge consumed in one statement, so two racing exchanges cannot both win. */
  consumeChallenge(nonce: string, now: Date): Promise<ChallengeConsumption>;
  revokeToken(revocation: { jti: string; revokedBy: string; reason: string | null; expiresAt: Date; revokedAt: Date }): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  bindController(binding: { contractAddress: string; controllerAccount: string; boundBy: string; at: Date }): Promise<void>;
  unbindController(contractAddress: string): Promise<boolean>;
  controllerOf(contractAddress: string): Promise<string | null>;
  purgeExpired(now: Date): Promise<number>;
}

export const CHAIN_EVENT_STATUSES = ['applied', 'recorded', 'unknown', 'parked'] as const;
/** applied: projected onto our state; recorded: kept, nothing to project; unknown: topic we do not know; parked: failed to apply. */
export type ChainEventStatus = (typeof CHAIN_EVENT_STATUSES)[number];

export interface ChainEventRecord {
  eventId: string;
  contractId: string;
  ledger: number;
  ledgerClosedAt: Date;
  txHash: string;
  topic: string[];
  name: string;
  payload: Record<string, unknown> | null;
  rawValue: string;
  status: ChainEventStatus;
  error: string | null;
  ingestedAt: Date;
}

export interface ChainCursor {
  cursor: string | null;
  lastLedger: number | null;
}

export interface ChainGap {
  id: string;
  source: string;
  fromLedger: number;
  toLedger: number;
  detectedAt: Date;
  reconciliationRunId: string | null;
}

export interface ChainRepository {
  /** Inserts the events that are new (ON CONFLICT DO NOTHING) and returns their ids. */
  insertEvents(events: ChainEventRecord[]): Promise<Set<string>>;
  /** Which of these event ids are already stored. */
  existingEventIds(ids: string[]): Promise<Set<string>>;
  /** Reads the cursor and locks its row until the transaction ends (creating it if absent). */
  lockCursor(name: string, now: Date): Promise<ChainCursor>;
  getCursor(name: string): Promise<ChainCursor | null>;
  /** Guarded update: moves the cursor only while it still holds `expected`; false means another writer moved it. */
  advanceCursor(name: string, expected: string | null, next: ChainCursor, now: Date): Promise<boolean>;
  recordGap(gap: ChainGap): Promise<void>;
  listGaps(source: string, limit: number): Promise<ChainGap[]>;
  linkGapsToRun(source: string, runId: string): Promise<number>;
  countEventsByStatus(): Promise<Record<ChainEventStatus, number>>;
  /** Ledgers of parked events: their lines need a reconciliation. */
  parkedLedgers(limit: number): Promise<number[]>;
}

export interface ChainTransactionRepository {
  insert(tx: ChainTransaction): Promise<void>;
  findById(id: string): Promise<ChainTransaction | null>;
  /** Locks the row until the transaction ends: a submission and the tracker never act on it at once. */
  findByIdForUpdate(id: string): Promise<ChainTransaction | null>;
  update(tx: ChainTransaction): Promise<void>;
  /** A line's transactions, newest first, keyset-paginated on (createdAt, id). */
  listByLine(creditLineId: string, page: Page<{ createdAt: Date; id: string }>): Promise<ChainTransaction[]>;
  /** Pending transactions, longest pending first, for the tracker. */
  listPending(limit: number): Promise<ChainTransaction[]>;
  /**
   * Marks the pending transactions with these hashes confirmed (their events were applied) and links an `open` to
   * the line its event created; returns the ids it confirmed.
   */
  confirmByHashes(confirmations: Array<{ txHash: string; ledger: number }>, at: Date): Promise<string[]>;
  /** The account's stored sequence (null when never stored), its row locked until the transaction ends. */
  lockAccountSequence(publicKey: string, now: Date): Promise<bigint | null>;
  saveAccountSequence(publicKey: string, sequence: bigint, now: Date): Promise<void>;
}

export const RECONCILIATION_STATUSES = ['running', 'clean', 'drift_found', 'failed'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

export interface ReconciliationRun {
  id: string;
  trigger: string;
  status: ReconciliationStatus;
  contractId: string | null;
  linesChecked: number;
  driftCount: number;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface Drift {
  id: string;
  runId: string;
  creditLineId: string | null;
  walletAddress: string;
  field: string;
  dbValue: string | null;
  chainValue: string | null;
  severity: 'critical' | 'warning';
  createdAt: Date;
}

export interface ReconciliationRepository {
  insertRun(run: ReconciliationRun): Promise<void>;
  finishRun(run: ReconciliationRun): Promise<void>;
  addDrifts(drifts: Drift[]): Promise<void>;
  findRun(id: string): Promise<ReconciliationRun | null>;
  drifts(runId: string): Promise<Drift[]>;
  /** Newest first, keyset on (startedAt, id). */
  listRuns(page: Page<{ startedAt: Date; id: string }>): Promise<ReconciliationRun[]>;
}

export interface IncomingPayment {
  id: string;
  pagingToken: string;
  txHash: string;
  fromAccount: string;
  toAccount: string;
  assetCode: string;
  assetIssuer: string | null;
  amount: bigint;
  memo: string | null;
  memoType: string | null;
  createdAt: Date;
  status: 'received' | 'applied' | 'unmatched';
  recordedAt: Date;
}

export interface IncomingPaymentRepository {
  /** Inserts the payments not seen before; returns how many were new. */
  insert(payments: IncomingPayment[]): Promise<number>;
  list(filter: { status?: IncomingPayment['status']; memo?: string }, limit: number): Promise<IncomingPayment[]>;
  /** Moves a received payment on (applied to a repayment, or unmatched); false when it was no longer `received`. */
  markStatus(id: string, status: 'applied' | 'unmatched'): Promise<boolean>;
}

export interface RiskEvaluationRepository {
  insert(evaluation: Omit<RiskEvaluation, 'seq'>): Promise<RiskEvaluation>;
  findById(id: string): Promise<RiskEvaluation | null>;
  latestForWallet(walletAddress: string): Promise<RiskEvaluation | null>;
  /** Summaries (no explanation), newest first; `after` is the seq of the last evaluation of the previous page. */
  listByWallet(walletAddress: string, page: Page<bigint>): Promise<RiskEvaluationSummary[]>;
  /** Records the application once: false when the evaluation was already applied (a racing apply lost). */
  markApplied(id: string, application: EvaluationApplication): Promise<boolean>;
}

/** What the risk model reads of a wallet's past on our lines. */
export interface CreditHistoryRepository {
  /** Every line of the wallet with its ledger (oldest entry first), and how often its lines were defaulted or liquidated. */
  forWallet(walletAddress: string): Promise<{ lines: LineHistory[]; defaults: number; liquidations: number }>;
}

export interface CollateralAssetRepository {
  /** Throws ConflictError `asset_exists` when the code is taken. */
  insertAsset(asset: CollateralAsset): Promise<void>;
  findAsset(code: string): Promise<CollateralAsset | null>;
  listAssets(): Promise<CollateralAsset[]>;
  /** Throws ConflictError `params_version_conflict` when that version exists (a concurrent change won). */
  insertParams(version: AssetParamsVersion): Promise<void>;
  /** The latest version of each asset's parameters. */
  currentParams(codes: string[]): Promise<Map<string, AssetParamsVersion>>;
  /** Newest version first. */
  paramsHistory(code: string): Promise<AssetParamsVersion[]>;
  recordPrice(observation: Omit<PriceObservation, 'id'>): Promise<PriceObservation>;
  /** The most recent observation of each asset (by observedAt). */
  latestPrices(codes: string[]): Promise<Map<string, PriceObservation>>;
  /** The last observation of each UTC day since `since`, oldest first. */
  dailyCloses(code: string, since: Date): Promise<Array<{ day: string; price1e14: bigint }>>;
  recordVolatility(observations: VolatilityObservation[]): Promise<void>;
  /** The most recent figure per asset and window. */
  latestVolatility(codes: string[]): Promise<Map<string, Partial<Record<7 | 30, VolatilityObservation>>>>;
}

/** A wallet's positions and its card line's balance as stored (interest since `lastAccrualAt` not yet capitalised). */
export interface CollateralAccount {
  positions: CollateralPosition[];
  debt: bigint;
  lineId: string | null;
  interestRateBps: number | null;
  lastAccrualAt: Date | null;
}

export interface CollateralPositionRepository {
  /** The wallet's positions, locked until the transaction ends: a withdrawal and a draw cannot both spend the same collateral. */
  listByWalletForUpdate(walletAddress: string): Promise<CollateralPosition[]>;
  listByWallet(walletAddress: string): Promise<CollateralPosition[]>;
  findById(id: string): Promise<CollateralPosition | null>;
  insert(position: CollateralPosition): Promise<void>;
  update(position: CollateralPosition): Promise<void>;
  appendMovement(movement: Omit<CollateralMovement, 'seq'>): Promise<CollateralMovement>;
  /** Newest first. */
  movements(positionId: string, page: Page<bigint>): Promise<CollateralMovement[]>;
  /** Wallets with a non-zero position in the asset, in address order after `afterWallet`. */
  holdersOf(assetCode: string, page: { limit: number; afterWallet?: string }): Promise<string[]>;
  /** Every position of these wallets, and the debt of their open collateral-backed lines: one round trip for a batch. */
  /**
   * The wallets' accounts, positions and debt read together. `span`, when the caller knows it, is the first and last
   * of the wallets in the database's own order (a run of holdersOf): the reads are bounded to that key range.
   */
  accounts(walletAddresses: string[], span?: { first: string; last: string }): Promise<Map<string, CollateralAccount>>;
}

export interface RiskExecutionRepository {
  /** Throws ConflictError `execution_pending` when the account already has a pending order. */
  insert(execution: RiskExecution): Promise<void>;
  findById(id: string): Promise<RiskExecution | null>;
  findByIdForUpdate(id: string): Promise<RiskExecution | null>;
  findPending(walletAddress: string): Promise<RiskExecution | null>;
  /** The pending orders of these wallets: one statement for a monitor batch. */
  pendingFor(walletAddresses: string[]): Promise<Map<string, RiskExecution>>;
  /** Inserts pending orders in one statement, skipping any wallet that already has one; returns how many went in. */
  insertMany(executions: RiskExecution[]): Promise<number>;
  /** Cancels these pending orders (each with its reason) in one statement; returns how many were still pending. */
  cancelMany(cancellations: Array<{ id: string; reason: string }>, at: Date): Promise<number>;
  /** Newest first, keyset on (createdAt, id). */
  list(filter: { walletAddress?: string; status?: ExecutionStatus }, page: Page<{ createdAt: Date; id: string }>): Promise<RiskExecution[]>;
  /** Settles a pending order (filled or cancelled); false when it was no longer pending. */
  settle(id: string, outcome: { status: 'filled' | 'cancelled'; fill: ExecutionFill | null; cancelReason: string | null; at: Date }): Promise<boolean>;
  getStopLoss(walletAddress: string): Promise<StopLossSettings | null>;
  putStopLoss(settings: StopLossSettings): Promise<void>;
  stopLossFor(walletAddresses: string[]): Promise<Map<string, StopLossSettings>>;
  riskStates(walletAddresses: string[]): Promise<Map<string, AccountRiskState>>;
  /**
   * The same, locked until the transaction ends (wallets without a state get a placeholder row to lock, which is
   * not returned): two monitor runs over one account queue, so a band change is recorded and announced once.
   */
  lockRiskStates(walletAddresses: string[]): Promise<Map<string, AccountRiskState>>;
  putRiskStates(states: AccountRiskState[]): Promise<void>;
}

export interface StatementNoticeRepository {
  /** Records the notices not sent before and returns those (the ones to emit now). */
  record(notices: Array<{ creditLineId: string; statementDate: Date; kind: 'due_soon' | 'late'; sentAt: Date }>): Promise<Array<{ creditLineId: string; statementDate: Date; kind: 'due_soon' | 'late' }>>;
}

/** Which repayments to list: one line's, or (for review) every repayment in one status; both together narrow. */
export interface RepaymentFilter {
  creditLineId?: string;
  status?: RepaymentStatus;
}

export interface RepaymentRepository {
  /** Inserts the repayment, or returns the one already stored for its (provider, providerRef): a retried initiation. */
  insertOrGet(repayment: Repayment): Promise<{ repayment: Repayment; created: boolean }>;
  findById(id: string): Promise<Repayment | null>;
  /** Locked until the transaction ends: the events of one payment apply one after the other. */
  findByProviderRefForUpdate(provider: ProviderName, providerRef: string): Promise<Repayment | null>;
  findByProviderRefs(provider: ProviderName, providerRefs: string[]): Promise<Repayment[]>;
  update(repayment: Repayment): Promise<void>;
  /** Newest first, keyset on (createdAt, id). */
  list(filter: RepaymentFilter, page: Page<{ createdAt: Date; id: string }>): Promise<Repayment[]>;
  /** Succeeded (or since refunded) repayments of a provider last changed in [from, to): the settlement check's ledger side. */
  listSettled(provider: ProviderName, from: Date, to: Date): Promise<Repayment[]>;
  /**
   * Claims one signed webhook request: true the first time, false when the same signed request was received before
   * (a replay). Requests received before `forgetBefore` are forgotten (their signatures are too old to pass anyway).
   */
  claimDelivery(provider: ProviderName, deliveryId: string, receivedAt: Date, forgetBefore: Date): Promise<boolean>;
  /** Claims a provider event: true the first time, false for a duplicate delivery. */
  claimEvent(event: ProviderEvent & { payload: Record<string, unknown> }): Promise<boolean>;
  insertRun(run: SettlementRun): Promise<void>;
  finishRun(run: SettlementRun): Promise<void>;
  addFindings(findings: SettlementFinding[]): Promise<void>;
  /** Newest first, keyset on (startedAt, id). */
  listRuns(page: Page<{ startedAt: Date; id: string }>): Promise<SettlementRun[]>;
  /** The findings of these runs, each run's oldest first (one read for a whole page of runs). */
  findings(runIds: string[]): Promise<SettlementFinding[]>;
}

export interface Repositories {
  creditLines: CreditLineRepository;
  ledger: LedgerRepository;
  events: DomainEventRepository;
  audit: AuditLogRepository;
  idempotency: IdempotencyRepository;
  walletAuth: WalletAuthRepository;
  jobs: JobRepository;
  webhooks: WebhookRepository;
  chain: ChainRepository;
  reconciliation: ReconciliationRepository;
  incomingPayments: IncomingPaymentRepository;
  riskEvaluations: RiskEvaluationRepository;
  creditHistory: CreditHistoryRepository;
  collateralAssets: CollateralAssetRepository;
  collateralPositions: CollateralPositionRepository;
  riskExecutions: RiskExecutionRepository;
  statementNotices: StatementNoticeRepository;
  repayments: RepaymentRepository;
  chainTransactions: ChainTransactionRepository;
}

/** A step a caller asks a service to run as the last write of the service's own transaction. */
export type InTransaction<T> = (repos: Repositories, result: T) => Promise<void>;

/** A storage: committed reads, and a unit of work in which every write commits together or not at all. */
export interface Store {
  readonly kind: 'postgres' | 'pglite' | 'memory';
  readonly repos: Repositories;
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /** Runs `work` only if no other runner (in any instance) holds the named lock; see Db.tryExclusive. */
  tryExclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }>;
  /** Cheap liveness probe of the underlying database. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
