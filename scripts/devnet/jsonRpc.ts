import { StrKey, xdr } from '@stellar/stellar-sdk';
import type { DevnetCore } from './core.js';
import {
  comparePositions,
  CursorError,
  endOfLedger,
  filterMatches,
  formatEventId,
  parseEventId,
  type EventFilter,
  type EventPosition,
} from './events.js';
import { contractEventXdr, type RawEvent } from './ledger.js';
import { resolveLedgerEntry } from './ledgerEntries.js';
import { simulateOracle } from './oracleContract.js';
import { MalformedTransaction, parseInvocation, simulate } from './transactions.js';

/**
 * Soroban RPC over JSON-RPC 2.0: the methods an indexer, a reconciliation job and a transaction submitter
 * call, with the real RPC's request validation, error codes and response shapes (numbers where the RPC
 * sends numbers, decimal strings where it sends `,string` int64s such as close times).
 */

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

const DEFAULT_EVENT_LIMIT = 100;
const MAX_EVENT_LIMIT = 10_000;
const LEDGER_SCAN_LIMIT = 10_000;
const MAX_LEDGER_KEYS = 200;

type Params = Record<string, unknown>;
type Method = (params: Params) => unknown;

const invalid = (message: string): RpcError => new RpcError(INVALID_PARAMS, message);

function retention(core: DevnetCore) {
  const { latest, oldest } = core.view();
  return {
    latestLedger: latest.sequence,
    latestLedgerCloseTime: String(latest.closeTime),
    oldestLedger: oldest.sequence,
    oldestLedgerCloseTime: String(oldest.closeTime),
  };
}

// ── getEvents ──────────────────────────────────────────────────────────────────────────────────────────

function validateFilters(raw: unknown): EventFilter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('filters must be an array');
  if (raw.length > 5) throw invalid('maximum 5 filters per request');
  return raw.map((f: unknown, i) => {
    const filter = (f ?? {}) as { type?: unknown; contractIds?: unknown; topics?: unknown };
    const where = `filter ${i + 1} invalid`;
    if (filter.type !== undefined && filter.type !== '') {
      if (typeof filter.type !== 'string' || filter.type.split(',').some((t) => t !== 'contract' && t !== 'system')) {
        throw invalid(`${where}: filter type invalid: if set, type must be either 'system' or 'contract'`);
      }
    }
    const contractIds = (filter.contractIds ?? []) as unknown[];
    if (!Array.isArray(contractIds)) throw invalid(`${where}: contractIds must be an array`);
    if (contractIds.length > 5) throw invalid(`${where}: maximum 5 contract IDs per filter`);
    contractIds.forEach((id, j) => {
      if (typeof id !== 'string' || !StrKey.isValidContract(id)) throw invalid(`${where}: contract ID ${j + 1} invalid`);
    });
    const topics = (filter.topics ?? []) as unknown[];
    if (!Array.isArray(topics)) throw invalid(`${where}: topics must be an array`);
    if (topics.length > 5) throw invalid(`${where}: maximum 5 topics per filter`);
    const canonical = topics.map((topic, j) => {
      const segments = topic as unknown[];
      const tWhere = `${where}: topic ${j + 1} invalid`;
      if (!Array.isArray(segments) || segments.length < 1) throw invalid(`${tWhere}: topic must have at least 1 segment`);
      const flexible = segments[segments.length - 1] === '**';
      const fixed = flexible ? segments.slice(0, -1) : segments;
      if (fixed.length > 4) throw invalid(`${tWhere}: topic cannot have more than 4 segments`);
      const out = fixed.map((segment, k) => {
        if (segment === '**') throw invalid(`${tWhere}: segment ${k + 1} invalid: wildcard '**' is only allowed as the last segment`);
        if (segment === '*') return '*';
        if (typeof segment !== 'string') throw invalid(`${tWhere}: segment ${k + 1} invalid`);
        try {
          return xdr.ScVal.fromXDR(segment, 'base64').toXDR('base64');
        } catch {
          throw invalid(`${tWhere}: segment ${k + 1} invalid: not a base64 ScVal`);
        }
      });
      return flexible ? [...out, '**'] : out;
    });
    return {
      type: typeof filter.type === 'string' && filter.type !== '' ? filter.type : undefined,
      contractIds: contractIds as string[],
      topics: canonical,
    };
  });
}

function getEvents(core: DevnetCore, params: Params) {
  const pagination = (params.pagination ?? {}) as { cursor?: unknown; limit?: unknown };
  const startLedger = params.startLedger as number | undefined;
  const endLedger = params.endLedger as number | undefined;
  const hasCursor = pagination.cursor !== undefined && pagination.cursor !== null && pagination.cursor !== '';
  if (hasCursor) {
    if (startLedger || endLedger) throw invalid('ledger ranges and cursor cannot both be set');
  } else if (!Number.isInteger(startLedger) || (startLedger as number) <= 0) {
    throw invalid('startLedger must be positive');
  }
  let limit = DEFAULT_EVENT_LIMIT;
  if (pagination.limit !== undefined && pagination.limit !== null && pagination.limit !== 0) {
    if (!Number.isInteger(pagination.limit) || (pagination.limit as number) < 0) throw invalid('limit must be a positive integer');
    if ((pagination.limit as number) > MAX_EVENT_LIMIT) throw invalid(`limit must not exceed ${MAX_EVENT_LIMIT}`);
    limit = pagination.limit as number;
  }
  const filters = validateFilters(params.filters);

  let start: EventPosition;
  if (hasCursor) {
    if (typeof pagination.cursor !== 'string') throw invalid('cursor must be a string');
    try {
      start = parseEventId(pagination.cursor);
    } catch (error) {
      throw invalid((error as CursorError).message);
    }
    start = { ...start, event: start.event + 1 }; // resume right after the cursor
  } else {
    start = { ledger: startLedger!, tx: 0, op: 0, event: 0 };
  }

  const { latest, oldest } = core.view();
  if (start.ledger < oldest.sequence || start.ledger > latest.sequence) {
    throw new RpcError(INVALID_REQUEST, `startLedger must be within the ledger range: ${oldest.sequence} - ${latest.sequence}`);
  }
  let end = Math.min(latest.sequence + 1, start.ledger + LEDGER_SCAN_LIMIT);
  if (endLedger) end = Math.min(end, endLedger);

  if (core.faults.emptyPages) {
    // A page with nothing in it and a cursor that has not moved: resending it resumes exactly here.
    const stay = hasCursor ? (pagination.cursor as string) : formatEventId({ ledger: start.ledger, tx: 0, op: 0, event: 0 });
    return { events: [], cursor: stay, ...retention(core) };
  }

  const events: RawEvent[] = [];
  scan: for (let sequence = start.ledger; sequence < end; sequence++) {
    const ledger = core.chain.ledger(sequence);
    if (!ledger) continue;
    for (const event of ledger.events) {
      if (comparePositions(event.position, start) < 0) continue;
      if (filters.length > 0 && !filters.some((f) => filterMatches(f, event.raw))) continue;
      events.push(event.raw);
      if (events.length >= limit) break scan;
    }
  }
  // A full page resumes after its last event; a short page resumes after the whole scanned window.
  const cursor = events.length >= limit ? events[events.length - 1]!.id : formatEventId(endOfLedger(end - 1));
  return { events, cursor, ...retention(core) };
}

// ── Ledger entries and transactions ────────────────────────────────────────────────────────────────────

function getLedgerEntries(core: DevnetCore, params: Params) {
  const keys = params.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw invalid('keys must be a non-empty array');
  if (keys.length > MAX_LEDGER_KEYS) throw invalid(`key count (${keys.length}) exceeds maximum supported (${MAX_LEDGER_KEYS})`);
  const entries = keys.flatMap((raw: unknown) => {
    let key: xdr.LedgerKey;
    try {
      key = xdr.LedgerKey.fromXDR(String(raw), 'base64');
    } catch {
      throw invalid(`cannot unmarshal key value ${String(raw)}`);
    }
    const found = resolveLedgerEntry(core, key);
    if (!found) return [];
    return [
      {
        key: key.toXDR('base64'),
        xdr: found.data.toXDR('base64'),
        lastModifiedLedgerSeq: found.lastModifiedLedgerSeq,
        ...(found.liveUntilLedgerSeq !== undefined && { liveUntilLedgerSeq: found.liveUntilLedgerSeq }),
      },
    ];
  });
  return { entries, latestLedger: core.view().latest.sequence };
}

function transactionParam(params: Params): string {
  const txXdr = params.transaction;
  if (typeof txXdr !== 'string' || txXdr === '') throw invalid('transaction is required (base64 envelope)');
  return txXdr;
}

function simulateTransaction(core: DevnetCore, params: Params) {
  const latestLedger = core.view().latest.sequence;
  try {
    const inv = parseInvocation(transactionParam(params), core.networkPassphrase);
    // Two contracts live on the devnet: the oracle is read-only, everything else goes to the Credit model.
    if (inv.contractId === core.oracle.contractId) return simulateOracle(inv, core.oracle, core.contractNow(), latestLedger);
    return simulate(inv, { contract: core.contract, context: core.openContext(), latestLedger });
  } catch (error) {
    if (error instanceof MalformedTransaction) return { error: error.message, events: [], latestLedger };
    throw error;
  }
}

function sendTransaction(core: DevnetCore, params: Params) {
  const envelope = transactionParam(params);
  const { latest } = core.view();
  const base = { latestLedger: latest.sequence, latestLedgerCloseTime: String(latest.closeTime) };
  if (core.faults.tryAgainLater) {
    let txHash = '';
    try {
      txHash = parseInvocation(envelope, core.networkPassphrase).hash;
    } catch {
      // the hash is best-effort on this path
    }
    return { status: 'TRY_AGAIN_LATER', hash: txHash, ...base };
  }
  const outcome = core.pool.submit(envelope, core.chain.openSequence, core.contractNow(), BigInt(core.faults.minInclusionFee));
  return { status: outcome.status, hash: outcome.hash, ...base, ...(outcome.errorResultXdr && { errorResultXdr: outcome.errorResultXdr }) };
}

function getTransaction(core: DevnetCore, params: Params) {
  const txHash = params.hash;
  if (typeof txHash !== 'string' || !/^[0-9a-f]{64}$/i.test(txHash)) throw invalid('unexpected hash length; expected 64 hex characters');
  const range = retention(core);
  const sealed = core.chain.findTx(txHash.toLowerCase());
  if (!sealed || !sealed.receipt || sealed.ledger > range.latestLedger || sealed.ledger < range.oldestLedger) {
    return { status: 'NOT_FOUND', txHash, ...range };
  }
  return {
    status: sealed.successful ? 'SUCCESS' : 'FAILED',
    txHash,
    ...range,
    applicationOrder: sealed.applicationOrder,
    feeBump: sealed.receipt.feeBump,
    envelopeXdr: sealed.receipt.envelopeXdr,
    resultXdr: sealed.receipt.resultXdr,
    resultMetaXdr: sealed.receipt.resultMetaXdr,
    ledger: sealed.ledger,
    createdAt: String(sealed.closeTime),
    events: {
      transactionEventsXdr: [],
      contractEventsXdr: [sealed.successful ? sealed.events.map((e) => contractEventXdr(e).toXDR('base64')) : []],
    },
  };
}

// ── Dispatcher ─────────────────────────────────────────────────────────────────────────────────────────

function methods(core: DevnetCore): Record<string, Method> {
  return {
    getHealth: () => {
      const { latest, oldest } = core.view();
      return { status: 'healthy', latestLedger: latest.sequence, oldestLedger: oldest.sequence, ledgerRetentionWindow: core.chain.retentionLedgers };
    },
    getNetwork: () => ({ passphrase: core.networkPassphrase, protocolVersion: core.chain.protocolVersion }),
    getVersionInfo: () => ({
      version: 'creditra-devnet',
      commitHash: '0000000000000000000000000000000000000000',
      buildTimestamp: '2026-01-01T00:00:00Z',
      captiveCoreVersion: 'devnet (simulated)',
      protocolVersion: core.chain.protocolVersion,
    }),
    getLatestLedger: () => {
      const { latest } = core.view();
      return {
        id: latest.hash.toString('hex'),
        sequence: latest.sequence,
        protocolVersion: core.chain.protocolVersion,
        closeTime: String(latest.closeTime),
        headerXdr: latest.header.toXDR('base64'),
        metadataXdr: core.chain.metadataXdr(latest),
      };
    },
    getFeeStats: () => {
      const dist = (fee: string) => ({
        max: fee,
        min: fee,
        mode: fee,
        p10: fee,
        p20: fee,
        p30: fee,
        p40: fee,
        p50: fee,
        p60: fee,
        p70: fee,
        p80: fee,
        p90: fee,
        p95: fee,
        p99: fee,
        transactionCount: '0',
        ledgerCount: 10,
      });
      // Under surge pricing (the minInclusionFee fault) every percentile is the floor, so a client that
      // prices from fee stats gets in; classic transactions are not surging.
      const soroban = String(Math.max(100, core.faults.minInclusionFee));
      return { sorobanInclusionFee: dist(soroban), inclusionFee: dist('100'), latestLedger: core.view().latest.sequence };
    },
    getEvents: (p) => getEvents(core, p),
    getLedgerEntries: (p) => getLedgerEntries(core, p),
    simulateTransaction: (p) => simulateTransaction(core, p),
    sendTransaction: (p) => sendTransaction(core, p),
    getTransaction: (p) => getTransaction(core, p),
  };
}

interface JsonRpcRequest {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

/** Builds the handler for one HTTP body: a single request or a batch; returns the response body. */
export function createRpcDispatcher(core: DevnetCore): (body: string) => unknown {
  const table = methods(core);
  const one = (request: JsonRpcRequest): unknown => {
    const id = request?.id ?? null;
    const error = (code: number, message: string) => ({ jsonrpc: '2.0', id, error: { code, message } });
    if (!request || typeof request !== 'object' || request.jsonrpc !== '2.0' || typeof request.method !== 'string') {
      return error(INVALID_REQUEST, 'invalid JSON-RPC 2.0 request');
    }
    const method = Object.prototype.hasOwnProperty.call(table, request.method) ? table[request.method] : undefined;
    if (!method) return error(METHOD_NOT_FOUND, `method not found: ${request.method}`);
    const params = request.params ?? {};
    if (typeof params !== 'object' || Array.isArray(params)) return error(INVALID_PARAMS, 'params must be an object');
    try {
      return { jsonrpc: '2.0', id, result: method(params as Params) };
    } catch (e) {
      if (e instanceof RpcError) return error(e.code, e.message);
      return error(INTERNAL_ERROR, (e as Error).message ?? String(e));
    }
  };
  return (body: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { jsonrpc: '2.0', id: null, error: { code: PARSE_ERROR, message: 'parse error' } };
    }
    if (Array.isArray(parsed)) return parsed.map((r) => one(r as JsonRpcRequest));
    return one(parsed as JsonRpcRequest);
  };
}
