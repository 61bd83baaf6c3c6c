import { formatAmount, subentryCount, type AccountRecord } from './accounts.js';
import type { DevnetCore } from './core.js';
import { assetKey, toAsset, type ClassicOp, type ClassicTx, type CreateAccountOp, type PaymentOp, type Trade } from './horizonData.js';

/**
 * Horizon's REST API in HAL JSON for the resources the backend uses: accounts (signers, thresholds,
 * balances), payments/operations and transactions with cursor paging, and trade aggregations. Links are
 * absolute and keep the mount prefix, because the SDK follows `_links.next.href` by path.
 */

export interface HorizonResponse {
  status: number;
  body: unknown;
  contentType: string;
}

const HAL = 'application/hal+json; charset=utf-8';
const PROBLEM = 'application/problem+json; charset=utf-8';

const ok = (body: unknown): HorizonResponse => ({ status: 200, body, contentType: HAL });

export function notFound(): HorizonResponse {
  return {
    status: 404,
    contentType: PROBLEM,
    body: {
      type: 'https://stellar.org/horizon-errors/not_found',
      title: 'Resource Missing',
      status: 404,
      detail:
        'The resource at the url requested was not found.  This usually occurs for one of two reasons:  The url requested is not valid, or no data in our database could be found with the parameters provided.',
    },
  };
}

export function badRequest(field: string, reason: string): HorizonResponse {
  return {
    status: 400,
    contentType: PROBLEM,
    body: {
      type: 'https://stellar.org/horizon-errors/bad_request',
      title: 'Bad Request',
      status: 400,
      detail: 'The request you sent was invalid in some way.',
      extras: { invalid_field: field, reason },
    },
  };
}

export function serviceUnavailable(): HorizonResponse {
  return {
    status: 503,
    contentType: PROBLEM,
    body: {
      type: 'https://stellar.org/horizon-errors/service_unavailable',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The server is currently unable to handle the request due to a temporary overloading or maintenance.',
    },
  };
}

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

class BadParam extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
  }
}

// ── Records ────────────────────────────────────────────────────────────────────────────────────────────

function accountRecord(base: string, a: AccountRecord) {
  const self = `${base}/accounts/${a.id}`;
  return {
    _links: {
      self: { href: self },
      transactions: { href: `${self}/transactions{?cursor,limit,order}`, templated: true },
      operations: { href: `${self}/operations{?cursor,limit,order}`, templated: true },
      payments: { href: `${self}/payments{?cursor,limit,order}`, templated: true },
      effects: { href: `${self}/effects{?cursor,limit,order}`, templated: true },
      offers: { href: `${self}/offers{?cursor,limit,order}`, templated: true },
      trades: { href: `${self}/trades{?cursor,limit,order}`, templated: true },
      data: { href: `${self}/data/{key}`, templated: true },
    },
    id: a.id,
    account_id: a.id,
    sequence: a.sequence.toString(),
    subentry_count: subentryCount(a),
    ...(a.homeDomain && { home_domain: a.homeDomain }),
    last_modified_ledger: a.lastModifiedLedger,
    last_modified_time: iso(a.lastModifiedTime),
    thresholds: { low_threshold: a.thresholds.low, med_threshold: a.thresholds.med, high_threshold: a.thresholds.high },
    flags: { auth_required: false, auth_revocable: false, auth_immutable: false, auth_clawback_enabled: false },
    balances: [
      ...a.balances
        .filter((b) => b.assetType !== 'native')
        .map((b) => ({
          balance: formatAmount(b.amount),
          limit: formatAmount(b.limit),
          buying_liabilities: '0.0000000',
          selling_liabilities: '0.0000000',
          last_modified_ledger: a.lastModifiedLedger,
          is_authorized: true,
          is_authorized_to_maintain_liabilities: true,
          is_clawback_enabled: false,
          asset_type: b.assetType,
          asset_code: b.code,
          asset_issuer: b.issuer,
        })),
      ...a.balances
        .filter((b) => b.assetType === 'native')
        .map((b) => ({ balance: formatAmount(b.amount), buying_liabilities: '0.0000000', selling_liabilities: '0.0000000', asset_type: 'native' })),
    ],
    signers: [
      ...a.signers.map((s) => ({ weight: s.weight, key: s.key, type: 'ed25519_public_key' })),
      { weight: a.masterWeight, key: a.id, type: 'ed25519_public_key' },
    ],
    data: a.data,
    num_sponsoring: 0,
    num_sponsored: 0,
    paging_token: a.id,
  };
}

function transactionRecord(base: string, t: ClassicTx) {
  const pt = t.toid.toString();
  const self = `${base}/transactions/${t.hash}`;
  return {
    _links: {
      self: { href: self },
      account: { href: `${base}/accounts/${t.source}` },
      ledger: { href: `${base}/ledgers/${t.ledger}` },
      operations: { href: `${self}/operations{?cursor,limit,order}`, templated: true },
      effects: { href: `${self}/effects{?cursor,limit,order}`, templated: true },
      precedes: { href: `${base}/transactions?order=asc&cursor=${pt}` },
      succeeds: { href: `${base}/transactions?order=desc&cursor=${pt}` },
      transaction: { href: self },
    },
    id: t.hash,
    paging_token: pt,
    successful: t.successful,
    hash: t.hash,
    ledger: t.ledger,
    created_at: iso(t.createdAt),
    source_account: t.source,
    source_account_sequence: t.sourceSequence.toString(),
    fee_account: t.source,
    fee_charged: t.fee.toString(),
    max_fee: t.fee.toString(),
    operation_count: t.operationCount,
    envelope_xdr: t.envelopeXdr,
    result_xdr: t.resultXdr,
    fee_meta_xdr: 'AAAAAA==',
    memo_type: t.memoType,
    ...(t.memo !== undefined && { memo: t.memo }),
    signatures: [],
    preconditions: { timebounds: { min_time: '0' } },
  };
}

/** The fields every operation record has, whatever its type. */
function operationBase(base: string, op: ClassicOp) {
  const pt = op.toid.toString();
  const self = `${base}/operations/${pt}`;
  return {
    _links: {
      self: { href: self },
      transaction: { href: `${base}/transactions/${op.tx.hash}` },
      effects: { href: `${self}/effects` },
      succeeds: { href: `${base}/effects?order=desc&cursor=${pt}` },
      precedes: { href: `${base}/effects?order=asc&cursor=${pt}` },
    },
    id: pt,
    paging_token: pt,
    transaction_successful: op.tx.successful,
    source_account: op.source,
    created_at: iso(op.tx.createdAt),
    transaction_hash: op.tx.hash,
  };
}

const paymentFields = (p: PaymentOp) => ({
  type: 'payment',
  type_i: 1,
  asset_type: p.asset.type,
  ...(p.asset.code && { asset_code: p.asset.code, asset_issuer: p.asset.issuer }),
  from: p.from,
  to: p.to,
  amount: formatAmount(p.amount),
});

const createAccountFields = (c: CreateAccountOp) => ({
  type: 'create_account',
  type_i: 0,
  starting_balance: formatAmount(c.startingBalance),
  funder: c.funder,
  account: c.account,
});

function operationRecord(base: string, op: ClassicOp) {
  return { ...operationBase(base, op), ...(op.type === 'payment' ? paymentFields(op) : createAccountFields(op)) };
}

/** The accounts an operation concerns: what Horizon's per-account operation and payment lists match on. */
function involves(op: ClassicOp, id: string): boolean {
  const parties = op.type === 'payment' ? [op.from, op.to] : [op.funder, op.account];
  return op.source === id || parties.includes(id);
}

// ── Paging ─────────────────────────────────────────────────────────────────────────────────────────────

interface PageParams {
  cursor?: string;
  limit: number;
  order: 'asc' | 'desc';
  includeFailed: boolean;
}

function pageParams(query: URLSearchParams): PageParams {
  const limitText = query.get('limit');
  const limit = limitText === null || limitText === '' ? 10 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadParam('limit', 'The limit must be between 1 and 200');
  const order = query.get('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw new BadParam('order', "order must be 'asc' or 'desc'");
  const cursor = query.get('cursor') ?? undefined;
  if (cursor !== undefined && cursor !== '' && cursor !== 'now' && !/^\d+$/.test(cursor)) {
    throw new BadParam('cursor', 'cursor must be a paging token or "now"');
  }
  return { cursor: cursor || undefined, limit, order, includeFailed: query.get('include_failed') === 'true' };
}

/** One HAL page of records ordered by TOID, with self/next/prev links that continue from its edges. */
function page<T extends { toid: bigint }>(
  base: string,
  path: string,
  all: T[],
  params: PageParams,
  render: (item: T) => { paging_token: string },
  nowToid: bigint,
) {
  const cursor = params.cursor === 'now' ? nowToid : params.cursor !== undefined ? BigInt(params.cursor) : undefined;
  const sorted = [...all].sort((a, b) => (a.toid < b.toid ? -1 : a.toid > b.toid ? 1 : 0));
  const ordered = params.order === 'asc' ? sorted : sorted.reverse();
  const after = cursor === undefined ? ordered : ordered.filter((r) => (params.order === 'asc' ? r.toid > cursor : r.toid < cursor));
  const records = after.slice(0, params.limit).map(render);
  const href = (c: string | undefined, order: string) =>
    `${base}${path}?${new URLSearchParams({ ...(c !== undefined && { cursor: c }), limit: String(params.limit), order }).toString()}`;
  const first = records[0]?.paging_token ?? params.cursor;
  const last = records[records.length - 1]?.paging_token ?? params.cursor;
  return {
    _links: {
      self: { href: href(params.cursor, params.order) },
      next: { href: href(last, params.order) },
      prev: { href: href(first, params.order === 'asc' ? 'desc' : 'asc') },
    },
    _embedded: { records },
  };
}

// ── Trade aggregations ─────────────────────────────────────────────────────────────────────────────────

const RESOLUTIONS = new Set([60_000, 300_000, 900_000, 3_600_000, 86_400_000, 604_800_000]);

function queryAsset(query: URLSearchParams, prefix: 'base' | 'counter'): string {
  const type = query.get(`${prefix}_asset_type`);
  if (type === 'native') return 'native';
  const code = query.get(`${prefix}_asset_code`);
  const issuer = query.get(`${prefix}_asset_issuer`);
  if ((type !== 'credit_alphanum4' && type !== 'credit_alphanum12') || !code || !issuer) {
    throw new BadParam(`${prefix}_asset_type`, 'a native asset, or a credit asset with code and issuer, is required');
  }
  return assetKey(toAsset({ code, issuer }));
}

function price(counter: bigint, base: bigint): { text: string; r: { N: number; D: number } } {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const g = gcd(counter, base);
  return { text: formatAmount((counter * 10_000_000n) / base), r: { N: Number(counter / g), D: Number(base / g) } };
}

function tradeAggregations(base: string, trades: Trade[], query: URLSearchParams) {
  const baseAsset = queryAsset(query, 'base');
  const counterAsset = queryAsset(query, 'counter');
  const resolution = Number(query.get('resolution'));
  if (!RESOLUTIONS.has(resolution)) throw new BadParam('resolution', 'resolution is not one of the allowed values');
  const offset = Number(query.get('offset') ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || offset % 3_600_000 !== 0 || offset >= Math.min(resolution, 86_400_000) || (offset > 0 && resolution <= 3_600_000)) {
    throw new BadParam('offset', 'offset must be whole hours, below the resolution and below 24 hours, and only for resolutions above one hour');
  }
  // Like Horizon, the window is cut to whole buckets: start rounded up, end rounded down, so the bucket
  // still in progress at end_time is never delivered half-filled.
  const align = (ms: number, up: boolean) => (up ? Math.ceil : Math.floor)((ms - offset) / resolution) * resolution + offset;
  const start = align(Math.max(offset, Number(query.get('start_time') ?? 0)), true);
  const end = query.get('end_time') === null ? Number.MAX_SAFE_INTEGER : align(Number(query.get('end_time')), false);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new BadParam('start_time', 'start_time and end_time must be ms since the epoch');
  if (end < start) throw new BadParam('end_time', 'end time is not allowed');
  const limit = Number(query.get('limit') ?? 200);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadParam('limit', 'The limit must be between 1 and 200');
  const order = query.get('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw new BadParam('order', "order must be 'asc' or 'desc'");

  const buckets = new Map<number, Trade[]>();
  for (const t of trades) {
    if (t.base !== baseAsset || t.counter !== counterAsset || t.timestampMs < start || t.timestampMs >= end) continue;
    const bucket = Math.floor((t.timestampMs - offset) / resolution) * resolution + offset;
    buckets.set(bucket, [...(buckets.get(bucket) ?? []), t]);
  }
  const keys = [...buckets.keys()].sort((a, b) => (order === 'asc' ? a - b : b - a)).slice(0, limit);
  const records = keys.map((timestamp) => {
    const group = buckets.get(timestamp)!;
    const baseVolume = group.reduce((s, t) => s + t.baseAmount, 0n);
    const counterVolume = group.reduce((s, t) => s + t.counterAmount, 0n);
    const prices = group.map((t) => ({ t, p: price(t.counterAmount, t.baseAmount) }));
    const cmp = (a: Trade, b: Trade) => a.counterAmount * b.baseAmount - b.counterAmount * a.baseAmount;
    const high = prices.reduce((m, x) => (cmp(x.t, m.t) > 0n ? x : m));
    const low = prices.reduce((m, x) => (cmp(x.t, m.t) < 0n ? x : m));
    const open = prices[0]!;
    const close = prices[prices.length - 1]!;
    return {
      timestamp: String(timestamp),
      trade_count: String(group.length),
      base_volume: formatAmount(baseVolume),
      counter_volume: formatAmount(counterVolume),
      avg: formatAmount((counterVolume * 10_000_000n) / baseVolume),
      high: high.p.text,
      high_r: high.p.r,
      low: low.p.text,
      low_r: low.p.r,
      open: open.p.text,
      open_r: open.p.r,
      close: close.p.text,
      close_r: close.p.r,
    };
  });
  const link = (startTime: number) => {
    const q = new URLSearchParams(query);
    q.set('start_time', String(startTime));
    return `${base}/trade_aggregations?${q.toString()}`;
  };
  const lastTs = keys.length > 0 ? keys[keys.length - 1]! : undefined;
  return {
    _links: {
      self: { href: `${base}/trade_aggregations?${query.toString()}` },
      next: { href: lastTs !== undefined && order === 'asc' ? link(lastTs + resolution) : `${base}/trade_aggregations?${query.toString()}` },
      prev: { href: '' },
    },
    _embedded: { records },
  };
}

// ── Router ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Answers one GET. `base` is the absolute URL of the Horizon mount (e.g. http://127.0.0.1:8000/horizon);
 * `path` is the request path below it.
 */
export function handleHorizon(core: DevnetCore, base: string, path: string, query: URLSearchParams): HorizonResponse {
  const store = core.horizon;
  const latest = core.chain.latest;
  const nowToid = (BigInt(latest.sequence + 1) << 32n) - 1n;
  const includeFailed = (params: PageParams, successful: boolean) => params.includeFailed || successful;
  try {
    let m: RegExpExecArray | null;
    if (path === '' || path === '/') {
      return ok({
        _links: {
          account: { href: `${base}/accounts/{account_id}`, templated: true },
          transactions: { href: `${base}/transactions{?cursor,limit,order}`, templated: true },
          self: { href: `${base}/` },
        },
        horizon_version: 'creditra-devnet',
        core_version: 'devnet (simulated)',
        ingest_latest_ledger: latest.sequence,
        history_latest_ledger: latest.sequence,
        history_latest_ledger_closed_at: iso(latest.closeTime),
        history_elder_ledger: core.chain.oldest.sequence,
        core_latest_ledger: latest.sequence,
        network_passphrase: core.networkPassphrase,
        current_protocol_version: core.chain.protocolVersion,
        supported_protocol_version: core.chain.protocolVersion,
        core_supported_protocol_version: core.chain.protocolVersion,
      });
    }
    if (path === '/fee_stats') {
      const dist = { max: '100', min: '100', mode: '100', p10: '100', p20: '100', p30: '100', p40: '100', p50: '100', p60: '100', p70: '100', p80: '100', p90: '100', p95: '100', p99: '100' };
      return ok({ last_ledger: String(latest.sequence), last_ledger_base_fee: '100', ledger_capacity_usage: '0.01', fee_charged: dist, max_fee: dist });
    }
    if ((m = /^\/accounts\/([A-Z0-9]{56})$/.exec(path))) {
      const account = core.accounts.get(m[1]!);
      return account ? ok(accountRecord(base, account)) : notFound();
    }
    // Every stored operation type (payment, create_account) is one Horizon also lists under payments, so the
    // payment and operation lists below serve the same records.
    if ((m = /^\/accounts\/([A-Z0-9]{56})\/(payments|operations)$/.exec(path))) {
      const id = m[1]!;
      const params = pageParams(query);
      const mine = store.operations.filter((op) => involves(op, id) && includeFailed(params, op.tx.successful));
      return ok(page(base, `/accounts/${id}/${m[2]}`, mine, params, (op) => operationRecord(base, op), nowToid));
    }
    if (path === '/payments' || path === '/operations') {
      const params = pageParams(query);
      const all = store.operations.filter((op) => includeFailed(params, op.tx.successful));
      return ok(page(base, path, all, params, (op) => operationRecord(base, op), nowToid));
    }
    if ((m = /^\/operations\/(\d+)$/.exec(path))) {
      const op = store.operations.find((o) => o.toid.toString() === m![1]);
      return op ? ok(operationRecord(base, op)) : notFound();
    }
    if ((m = /^\/accounts\/([A-Z0-9]{56})\/transactions$/.exec(path))) {
      const id = m[1]!;
      const params = pageParams(query);
      const mine = store.transactions.filter((t) => t.participants.has(id) && includeFailed(params, t.successful));
      return ok(page(base, `/accounts/${id}/transactions`, mine, params, (t) => transactionRecord(base, t), nowToid));
    }
    if (path === '/transactions') {
      const params = pageParams(query);
      const all = store.transactions.filter((t) => includeFailed(params, t.successful));
      return ok(page(base, path, all, params, (t) => transactionRecord(base, t), nowToid));
    }
    if ((m = /^\/transactions\/([0-9a-f]{64})$/.exec(path))) {
      const tx = store.findTransaction(m[1]!);
      return tx ? ok(transactionRecord(base, tx)) : notFound();
    }
    if ((m = /^\/transactions\/([0-9a-f]{64})\/(operations|payments)$/.exec(path))) {
      const txHash = m[1]!;
      const params = { ...pageParams(query), includeFailed: true }; // a transaction's own operations, even if it failed
      const ops = store.operations.filter((op) => op.tx.hash === txHash);
      return ok(page(base, path, ops, params, (op) => operationRecord(base, op), nowToid));
    }
    if (path === '/trade_aggregations') return ok(tradeAggregations(base, store.trades, query));
    return notFound();
  } catch (error) {
    if (error instanceof BadParam) return badRequest(error.field, error.message);
    throw error;
  }
}
