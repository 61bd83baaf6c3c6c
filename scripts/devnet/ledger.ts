import { hash, StrKey, xdr } from '@stellar/stellar-sdk';
import { formatEventId, type EmittedEvent, type EventPosition } from './events.js';
import { b64 } from './scval.js';

/**
 * Time and ledgers. The devnet keeps its own clock (wall clock by default, pinned once a test calls
 * `setTime`) so accrual is deterministic, and a chain of closed ledgers: each close seals the transactions
 * gathered in the open ledger, gives their events their final ids, and drops ledgers that fall out of the
 * retention window, like an RPC node's history window.
 */
export class Clock {
  private pinned: number | null = null;
  private offset = 0;

  now(): number {
    return this.pinned ?? Math.floor(Date.now() / 1000) + this.offset;
  }

  /** Pins the clock: from now on time only moves when a test moves it. */
  set(unixSeconds: number): void {
    if (!Number.isInteger(unixSeconds) || unixSeconds < 0) throw new RangeError('time must be whole unix seconds');
    this.pinned = unixSeconds;
  }

  advance(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0) throw new RangeError('time only moves forward, in whole seconds');
    if (this.pinned === null) this.offset += seconds;
    else this.pinned += seconds;
  }

  useWallClock(): void {
    this.pinned = null;
    this.offset = 0;
  }

  get isPinned(): boolean {
    return this.pinned !== null;
  }
}

/** A contract event as `getEvents` serves it. */
export interface RawEvent {
  type: 'contract';
  ledger: number;
  ledgerClosedAt: string;
  contractId: string;
  id: string;
  operationIndex: number;
  transactionIndex: number;
  txHash: string;
  inSuccessfulContractCall: boolean;
  topic: string[];
  value: string;
}

export interface ChainEvent {
  position: EventPosition;
  raw: RawEvent;
}

/** What getTransaction reports for a submitted transaction (direct control-API invokes have none). */
export interface TxReceipt {
  envelopeXdr: string;
  resultXdr: string;
  resultMetaXdr: string;
  feeBump: boolean;
}

/** A transaction gathered in the open ledger. Failed transactions keep their receipt but publish no events. */
export interface OpenTx {
  hash: string;
  successful: boolean;
  events: EmittedEvent[];
  receipt?: TxReceipt;
}

export interface SealedTx extends OpenTx {
  ledger: number;
  closeTime: number;
  applicationOrder: number;
}

export interface ClosedLedger {
  sequence: number;
  closeTime: number;
  hash: Buffer;
  header: xdr.LedgerHeader;
  events: ChainEvent[];
  txs: SealedTx[];
}

export interface ChainOptions {
  protocolVersion: number;
  retentionLedgers: number;
}

const ZERO_HASH = Buffer.alloc(32);

/** RFC 3339 in whole seconds, as the RPC prints `ledgerClosedAt`. */
export const rfc3339 = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class Chain {
  private ledgers: ClosedLedger[] = [];
  private open: OpenTx[] = [];
  private readonly byHash = new Map<string, SealedTx>();
  private readonly metaCache = new WeakMap<ClosedLedger, string>();

  constructor(private readonly opts: ChainOptions) {}

  /** Closes ledger 1 so the chain is never empty. */
  genesis(closeTime: number): ClosedLedger {
    if (this.ledgers.length > 0) throw new Error('genesis already closed');
    return this.seal(1, closeTime, ZERO_HASH, []);
  }

  get latest(): ClosedLedger {
    const last = this.ledgers[this.ledgers.length - 1];
    if (!last) throw new Error('chain has no ledgers');
    return last;
  }

  get oldest(): ClosedLedger {
    return this.ledgers[0]!;
  }

  /** The sequence of the ledger being built. */
  get openSequence(): number {
    return this.latest.sequence + 1;
  }

  get pendingCount(): number {
    return this.open.length;
  }

  get retentionLedgers(): number {
    return this.opts.retentionLedgers;
  }

  get protocolVersion(): number {
    return this.opts.protocolVersion;
  }

  ledger(sequence: number): ClosedLedger | undefined {
    const first = this.ledgers[0];
    return first ? this.ledgers[sequence - first.sequence] : undefined;
  }

  /** Adds a transaction to the open ledger; returns its application order (1-based). */
  addTx(tx: OpenTx): number {
    this.open.push(tx);
    return this.open.length;
  }

  /** Seals the open ledger at `closeTime` (never before the previous close) and trims history to the window. */
  close(closeTime: number): ClosedLedger {
    const previous = this.latest;
    const sealed = this.seal(previous.sequence + 1, Math.max(closeTime, previous.closeTime), previous.hash, this.open);
    this.open = [];
    const keepFrom = sealed.sequence - this.opts.retentionLedgers + 1;
    while (this.ledgers.length > 1 && this.ledgers[0]!.sequence < keepFrom) this.drop();
    return sealed;
  }

  /** A node reset: history before the latest ledger is gone, so oldestLedger jumps to latestLedger. */
  reset(): void {
    while (this.ledgers.length > 1) this.drop();
  }

  findTx(txHash: string): SealedTx | undefined {
    return this.byHash.get(txHash);
  }

  /** A LedgerCloseMeta v0 for the ledger: its header plus (for brevity) an empty transaction set. */
  metadataXdr(ledger: ClosedLedger): string {
    let cached = this.metaCache.get(ledger);
    if (!cached) {
      cached = new xdr.LedgerCloseMeta(
        0,
        new xdr.LedgerCloseMetaV0({
          ledgerHeader: new xdr.LedgerHeaderHistoryEntry({ hash: ledger.hash, header: ledger.header, ext: new xdr.LedgerHeaderHistoryEntryExt(0) }),
          txSet: new xdr.TransactionSet({ previousLedgerHash: ledger.header.previousLedgerHash(), txes: [] }),
          txProcessing: [],
          upgradesProcessing: [],
          scpInfo: [],
        }),
      ).toXDR('base64');
      this.metaCache.set(ledger, cached);
    }
    return cached;
  }

  private drop(): void {
    const gone = this.ledgers.shift()!;
    for (const tx of gone.txs) this.byHash.delete(tx.hash);
  }

  private seal(sequence: number, closeTime: number, previousHash: Buffer, txs: OpenTx[]): ClosedLedger {
    const header = new xdr.LedgerHeader({
      ledgerVersion: this.opts.protocolVersion,
      previousLedgerHash: previousHash,
      scpValue: new xdr.StellarValue({
        txSetHash: hash(Buffer.from(`txset:${sequence}:${txs.map((t) => t.hash).join(',')}`)),
        closeTime: xdr.Uint64.fromString(String(closeTime)),
        upgrades: [],
        ext: xdr.StellarValueExt.stellarValueBasic(),
      }),
      txSetResultHash: ZERO_HASH,
      bucketListHash: hash(Buffer.from(`buckets:${sequence}`)),
      ledgerSeq: sequence,
      totalCoins: xdr.Int64.fromString('1000000000000000000'),
      feePool: xdr.Int64.fromString('0'),
      inflationSeq: 0,
      idPool: xdr.Uint64.fromString('0'),
      baseFee: 100,
      baseReserve: 5_000_000,
      maxTxSetSize: 1000,
      skipList: [ZERO_HASH, ZERO_HASH, ZERO_HASH, ZERO_HASH],
      ext: new xdr.LedgerHeaderExt(0),
    });
    const ledgerHash = hash(header.toXDR());
    const closedAt = rfc3339(closeTime);
    const sealedTxs: SealedTx[] = txs.map((tx, i) => ({ ...tx, ledger: sequence, closeTime, applicationOrder: i + 1 }));
    const events: ChainEvent[] = [];
    for (const tx of sealedTxs) {
      if (!tx.successful) continue; // failed transactions publish no contract events
      tx.events.forEach((event, index) => {
        const position: EventPosition = { ledger: sequence, tx: tx.applicationOrder, op: 0, event: index };
        events.push({
          position,
          raw: {
            type: 'contract',
            ledger: sequence,
            ledgerClosedAt: closedAt,
            contractId: event.contractId,
            id: formatEventId(position),
            operationIndex: 0,
            transactionIndex: tx.applicationOrder,
            txHash: tx.hash,
            inSuccessfulContractCall: true,
            topic: event.topics.map(b64),
            value: b64(event.value),
          },
        });
      });
    }
    const ledger: ClosedLedger = { sequence, closeTime, hash: ledgerHash, header, events, txs: sealedTxs };
    this.ledgers.push(ledger);
    for (const tx of sealedTxs) this.byHash.set(tx.hash, tx);
    return ledger;
  }
}

/** The XDR form of an emitted event, as it appears in transaction meta and getTransaction's events. */
export function contractEventXdr(event: EmittedEvent): xdr.ContractEvent {
  return new xdr.ContractEvent({
    ext: new xdr.ExtensionPoint(0),
    contractId: StrKey.decodeContract(event.contractId) as unknown as xdr.ContractId,
    type: xdr.ContractEventType.contract(),
    body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics: event.topics, data: event.value })),
  });
}
