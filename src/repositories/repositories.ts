import type { CreditLine, CreditLineStatus } from '../domain/creditLine.js';
import type { LedgerEntry } from '../domain/ledger.js';

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
  /** Locks the row until the surrounding transaction ends; concurrent writers queue behind it. */
  findByIdForUpdate(id: string): Promise<CreditLine | null>;
  update(line: CreditLine): Promise<void>;
  /** Newest first, keyset-paginated on (createdAt, id). */
  list(filter: CreditLineFilter, page: Page<CreditLineCursor>): Promise<CreditLine[]>;
}

export interface LedgerRepository {
  append(entry: Omit<LedgerEntry, 'seq'>): Promise<LedgerEntry>;
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
  /** Oldest first. */
  listByAggregate(aggregateType: string, aggregateId: string): Promise<DomainEvent[]>;
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

export interface Repositories {
  creditLines: CreditLineRepository;
  ledger: LedgerRepository;
  events: DomainEventRepository;
  audit: AuditLogRepository;
  idempotency: IdempotencyRepository;
  walletAuth: WalletAuthRepository;
}

/** A storage: committed reads, and a unit of work in which every write commits together or not at all. */
export interface Store {
  readonly kind: 'postgres' | 'pglite' | 'memory';
  readonly repos: Repositories;
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /** Cheap liveness probe of the underlying database. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
