import { Keypair, rpc, scValToNative } from '@stellar/stellar-sdk';
import request from 'supertest';
import { startDevnet, type Devnet, type DevnetOptions } from '../../../scripts/devnet/index.js';
import type { Env } from '../../../src/config.js';
import type { ChainIndexer } from '../../../src/services/chainIndexer.js';
import type { ChainEventStatus, DomainEvent, LedgerEntry } from '../../../src/repositories/repositories.js';
import type { CreditLine } from '../../../src/domain/creditLine.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { admin, createTestApp, type TestApp } from '../../support/app.js';
import { openTestDatabase, type StorageKind, type TestDatabase } from '../../support/databases.js';

/**
 * Shared setup of the chain-following suites: the devnet (a loopback Soroban RPC + Horizon speaking the real
 * wire formats) in process, the real app over a real storage pointed at it, and the services driven by hand.
 * Every loop here is bounded; nothing asserts a duration.
 */

/** A fixed start so accrual and event timestamps are deterministic. */
export const T0 = 1_750_000_000;
export const DAY = 86_400;
/** 1 USDC in base units (7 decimals). */
export const USDC = 10_000_000n;

export const newBorrower = (): string => Keypair.random().publicKey();

export function startChainDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  return startDevnet({ startTime: T0, ...options });
}

/** The backend's clock follows the devnet's, so accrual on both sides is computed at the same instant. */
export const devnetClock = (devnet: Devnet) => () => new Date(devnet.contract.now() * 1000);

/** Environment that turns chain following on against the devnet; RPC_RETRIES=0 so a fault fails the tick at once. */
export function chainEnv(devnet: Devnet, extra: Env = {}): Env {
  return {
    STELLAR_RPC_URL: devnet.rpcUrl,
    CREDIT_CONTRACT_IDS: devnet.contractId,
    RPC_RETRIES: '1',
    RPC_TIMEOUT_MS: '3000',
    WORKERS: 'none',
    // wallet tokens are proven in walletAuth.test.ts; these suites open database-ledger lines with the client key
    WALLET_AUTH: 'optional',
    ...extra,
  };
}

export function createChainApp(kind: StorageKind, devnet: Devnet, extra: Env = {}, database?: TestDatabase): Promise<TestApp> {
  return createTestApp(kind, chainEnv(devnet, extra), { clock: devnetClock(devnet), database });
}

/**
 * Per-describe fixture: one database per storage kind for the whole file (emptied before each test), and
 * the devnets and apps a test starts, stopped after it.
 */
export function chainFixture(kind: StorageKind) {
  let database: TestDatabase | undefined;
  const apps: TestApp[] = [];
  const devnets: Devnet[] = [];
  beforeAll(async () => {
    if (kind !== 'memory') database = await openTestDatabase(kind);
  });
  beforeEach(async () => {
    await database?.truncate();
  });
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
    for (const d of devnets.splice(0)) await d.stop();
  });
  afterAll(async () => {
    await database?.close();
  });
  return {
    get database(): TestDatabase | undefined {
      return database;
    },
    async devnet(options: DevnetOptions = {}): Promise<Devnet> {
      const d = await startChainDevnet(options);
      devnets.push(d);
      return d;
    },
    /** The app over this file's database (so a second app on the same test is a restart on the same data). */
    async app(devnet: Devnet, extra: Env = {}): Promise<TestApp> {
      const t = await createChainApp(kind, devnet, extra, database);
      apps.push(t);
      return t;
    },
  };
}

export function indexerOf(t: TestApp): ChainIndexer {
  const indexer = t.container.services.indexer;
  if (!indexer) throw new Error('the indexer is not configured');
  return indexer;
}

/** Ticks until the indexer reports nothing more to read; bounded. Returns the number of ticks. */
export async function drain(t: TestApp, maxTicks = 2_000): Promise<number> {
  const indexer = indexerOf(t);
  for (let ticks = 1; ticks <= maxTicks; ticks++) {
    if ((await indexer.tick()) === 0) return ticks;
  }
  throw new Error(`the indexer did not catch up within ${maxTicks} ticks`);
}

export interface ChainEventRow {
  event_id: string;
  contract_id: string;
  ledger: number;
  name: string;
  topic: string[];
  status: ChainEventStatus;
  error: string | null;
  payload: Record<string, unknown> | null;
  tx_hash: string;
}

/** The stored raw events in id order (SQL storages only: the repository has no listing). */
export async function chainEventRows(t: TestApp): Promise<ChainEventRow[]> {
  if (!t.database) throw new Error('chainEventRows needs a SQL storage');
  const { rows } = await t.database.db.query<ChainEventRow>(
    'SELECT event_id, contract_id, ledger, name, topic, status, error, payload, tx_hash FROM chain_events ORDER BY event_id',
  );
  return rows;
}

export interface LineSnapshot {
  line: CreditLine;
  ledger: LedgerEntry[];
  events: DomainEvent[];
}

/** Every bound line with its ledger entries and domain events: what "applied exactly once" is checked against. */
export async function snapshot(t: TestApp, contractId: string): Promise<Map<string, LineSnapshot>> {
  const repos = t.container.store.repos;
  const lines = await repos.creditLines.listBound(contractId, { limit: 10_000 });
  const out = new Map<string, LineSnapshot>();
  for (const line of lines) {
    const ledger = await repos.ledger.listByLine(line.id, { limit: 10_000 });
    const events = await repos.events.listByAggregate('credit_line', line.id);
    out.set(line.walletAddress, { line, ledger, events });
  }
  return out;
}

/** A comparable digest of a snapshot: ids and timestamps of rows are left out, amounts and order kept. */
export function digest(snap: Map<string, LineSnapshot>) {
  return [...snap.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([wallet, s]) => ({
      wallet,
      line: { ...s.line, updatedAt: s.line.updatedAt.toISOString(), createdAt: s.line.createdAt.toISOString(), lastAccrualAt: s.line.lastAccrualAt.toISOString() },
      ledger: s.ledger.map((e) => `${e.type}:${e.amount}:${e.interestAmount}:${e.principalAmount}:${e.utilizedAfter}`),
      events: s.events.map((e) => `${e.type}:${String(e.payload.chainEventId)}`),
    }));
}

export async function getStatus(t: TestApp) {
  const res = await request(t.app).get('/api/indexer/status').set(admin);
  if (res.status !== 200) throw new Error(`GET /api/indexer/status answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data as {
    contractIds: string[];
    cursor: string | null;
    lastLedger: number | null;
    node: { latestLedger: number; oldestLedger: number } | { error: string };
    lagLedgers: number | null;
    events: Record<ChainEventStatus, number>;
    gaps: Array<{ id: string; fromLedger: number; toLedger: number; reconciliationRunId: string | null }>;
    lastTick: { at: string; events: number } | null;
    eventsPerSecond: number;
  };
}

/** Moves the indexer's stored cursor back (or anywhere), as an operator's UPDATE would. */
export async function setCursor(t: TestApp, cursor: string | null, lastLedger: number | null): Promise<void> {
  const indexer = indexerOf(t);
  const chain = t.container.store.repos.chain;
  const current = await chain.getCursor(indexer.cursorName);
  const moved = await chain.advanceCursor(indexer.cursorName, current?.cursor ?? null, { cursor, lastLedger }, new Date());
  if (!moved) throw new Error('could not move the cursor');
}

/** Prometheus text → the value of one sample (labels as written, e.g. `{status="applied"}`), 0 when absent. */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

export async function scrapeMetrics(t: TestApp): Promise<string> {
  const res = await request(t.app).get('/metrics');
  return res.text;
}

// ------------------------------------------------------------------------------------------ scenario

/** The reference A.7 catalogue: every event name the Credit contract emits. */
export const CATALOGUE = [
  'opened', 'suspend', 'closed', 'defaulted', 'reinstate', 'drawn', 'repay', 'accrue', 'borrow_lc', 'debt_frgv', 'risk_upd',
  'fee_accrd', 'late_fee', 'pen_enter', 'pen_exit', 'grace_wv', 'liq_req', 'liq_setl', 'col_dep', 'col_wit', 'col_part_rel',
  'col_lca', 'drw_freeze', 'cl_freeze', 'br_freeze', 'blk_chg', 'admin_prop', 'admin_acc', 'upgraded', 'atst_bat', 'rad_cooldown',
  'draw_rev', 'rate_form', 'paused', 'unpaused', 'clsfctr', 'orc_cfg', 'orc_price', 'oracle_quorum', 'oracle_price',
] as const;

/** Events that move a bound line (ledger entry and/or domain event); the rest are recorded for audit. */
export const PROJECTED = new Set(['opened', 'suspend', 'closed', 'defaulted', 'reinstate', 'drawn', 'repay', 'accrue', 'debt_frgv', 'risk_upd', 'liq_setl']);

/** The status the indexer should give an event of a line it knows: applied when it moves the line, else recorded. */
export function expectedStatus(event: DevnetEvent): 'applied' | 'recorded' {
  if (!PROJECTED.has(event.name)) return 'recorded';
  // the zero accrue inside every repay moves nothing
  if (event.name === 'accrue' && BigInt(event.value.accrued_amount) === 0n) return 'recorded';
  return 'applied';
}

/** Which applied events write a ledger entry (a balance movement) and which a credit_line domain event. */
export const writesLedgerEntry = (event: DevnetEvent): boolean => {
  if (expectedStatus(event) !== 'applied') return false;
  const v = event.value;
  // a zero movement (e.g. a repay of a line with nothing drawn: the contract repays 0) writes no entry
  const amount = { drawn: v.amount, repay: v.amount, accrue: v.accrued_amount, debt_frgv: v.amount_forgiven, liq_setl: v.recovered_amount }[event.name as string];
  return amount !== undefined && BigInt(amount) > 0n;
};
/** The ledger entry an applied event writes, as `type:amount` (undefined when it writes none). */
export function expectedLedgerEntry(event: DevnetEvent): string | undefined {
  if (!writesLedgerEntry(event)) return undefined;
  const v = event.value;
  switch (event.name) {
    case 'drawn':
      return `draw:${v.amount}`;
    case 'repay':
      return `repay:${v.amount}`;
    case 'accrue':
      return `interest:${v.accrued_amount}`;
    case 'debt_frgv':
      return `write_off:${v.amount_forgiven}`;
    default:
      return `repay:${v.recovered_amount}`;
  }
}

export const borrowerOf = (e: DevnetEvent): string | undefined => e.value?.borrower ?? (Array.isArray(e.value) ? e.value[0] : undefined);

export const writesDomainEvent = (event: DevnetEvent) => expectedStatus(event) === 'applied' && event.name !== 'accrue';

export interface CatalogueRun {
  /** Lines driven through the contract's functions: A through its whole lifecycle, B through collateral and freezes. */
  a: string;
  b: string;
  /** Every event emitted, in order, as the node serves them. */
  events: DevnetEvent[];
  ledgers: number[];
}

/** What the node serves, read independently of the backend with the SDK: (id, name) in order. */
export interface DevnetEvent {
  id: string;
  name: string;
  ledger: number;
  value: any; // the decoded payload: its shape depends on the event
}

export async function readDevnetEvents(devnet: Devnet, startLedger = devnet.oldestLedger): Promise<DevnetEvent[]> {
  const server = new rpc.Server(devnet.rpcUrl, { allowHttp: true });
  const filters: rpc.Api.EventFilter[] = [{ type: 'contract', contractIds: [devnet.contractId] }];
  const out: DevnetEvent[] = [];
  let page = await server.getEvents({ filters, startLedger, limit: 1000 });
  for (let i = 0; i < 10_000 && page.events.length > 0; i++) {
    for (const e of page.events) out.push({ id: e.id, ledger: e.ledger, name: String(scValToNative(e.topic.at(-1)!)), value: scValToNative(e.value) });
    page = await server.getEvents({ filters, cursor: page.cursor, limit: 1000 });
  }
  return out;
}

const hex32 = (byte: number) => byte.toString(16).padStart(2, '0').repeat(32);

/**
 * Drives the devnet through every event of the catalogue: contract functions where the devnet implements
 * them, `contract.emit` for the rest. Ledgers are closed along the way so events span many ledgers.
 */
export async function playCatalogue(devnet: Devnet): Promise<CatalogueRun> {
  const from = devnet.latestLedger + 1;
  const c = devnet.contract;
  const a = newBorrower();
  const b = newBorrower();
  const admin = devnet.adminKeypair.publicKey();
  const ledgers: number[] = [];
  const close = () => ledgers.push(devnet.closeLedger());

  c.invoke('set_protocol_fee_bps', { fee_bps: 1000 });
  c.invoke('open_credit_line', { borrower: a, credit_limit: 10_000n * USDC, interest_rate_bps: 1500, risk_score: 40 });
  c.invoke('open_credit_line', { borrower: b, credit_limit: 5_000n * USDC, interest_rate_bps: 900, risk_score: 20 });
  close();
  c.advanceTime(DAY);
  c.invoke('draw_credit', { borrower: a, amount: 1_000n * USDC });
  close();
  c.advanceTime(30 * DAY);
  c.invoke('repay_credit', { borrower: a, amount: 100n * USDC }); // accrue, fee_accrd, accrue(0), repay, borrow_lc
  close();
  c.invoke('update_risk_parameters', { borrower: a, credit_limit: 500n * USDC, interest_rate_bps: 1600, risk_score: 55 }); // → Restricted
  c.invoke('update_risk_parameters', { borrower: a, credit_limit: 10_000n * USDC, interest_rate_bps: 1500, risk_score: 40 }); // → Active
  close();
  c.invoke('suspend_credit_line', { borrower: a });
  c.advanceTime(DAY);
  c.invoke('default_credit_line', { borrower: a });
  close();
  c.invoke('reinstate_credit_line', { borrower: a, target_status: 'Active' });
  c.invoke('forgive_debt', { borrower: a, amount: 10n * USDC });
  close();
  c.advanceTime(DAY);
  c.invoke('default_credit_line', { borrower: a });
  c.invoke('settle_default_liquidation', { borrower: a, recovered_amount: 300n * USDC, settlement_id: 'auc1', close_factor_bps: 10_000 });
  close();
  // B: collateral, freezes, pause, and a clean close
  c.invoke('deposit_collateral', { borrower: b, amount: 50n * USDC });
  c.invoke('withdraw_collateral', { borrower: b, amount: 20n * USDC });
  c.invoke('freeze_draws', { reason: 1 });
  c.invoke('unfreeze_draws');
  c.invoke('freeze_credit_line', { borrower: b, reason: 2 });
  c.invoke('unfreeze_credit_line', { borrower: b });
  close();
  c.invoke('set_protocol_paused', { paused: true });
  c.invoke('set_protocol_paused', { paused: false });
  c.invoke('close_credit_line', { borrower: b, closer: b });
  close();
  // The events the devnet's contract model does not produce itself.
  c.emit('late_fee', { borrower: a, fee: 2n * USDC, installment_index: 3n });
  c.emit('pen_enter', { borrower: a, base_rate_bps: 1500, penalty_surcharge_bps: 500, effective_rate_bps: 2000 });
  c.emit('pen_exit', { borrower: a, previous_rate_bps: 2000, new_rate_bps: 1500 });
  c.emit('grace_wv', { borrower: a, waived_amount: 1n * USDC, mode: 1 });
  c.emit('col_part_rel', { borrower: b, amount_released: 5n * USDC, new_balance: 25n * USDC, health_factor_bps: 15_000n });
  c.emit('br_freeze', { borrower: b, frozen_until: BigInt(T0 + 10 * DAY), ledger: 7 });
  c.emit('blk_chg', { borrower: b, blocked: true, ledger: 7 });
  close();
  c.emit('admin_prop', { proposed_admin: b, accept_after: BigInt(T0 + DAY) });
  c.emit('admin_acc', { new_admin: admin });
  c.emit('upgraded', { old_wasm_hash: hex32(0), new_wasm_hash: hex32(0xab) });
  c.emit('atst_bat', { borrower: a, merkle_root: hex32(0x11), count: 12 });
  c.emit('rad_cooldown', { cooldown_seconds: 3600n });
  c.emit('draw_rev', {
    borrower: a,
    amount: 1n * USDC,
    original_ts: BigInt(T0),
    reason_code: 4,
    new_utilized_amount: 0n,
    timestamp: BigInt(T0 + DAY),
    admin,
    accounting_only: true,
  });
  c.emit('rate_form', true);
  c.emit('clsfctr', 5000);
  c.emit('orc_cfg', [200, 3600n]);
  c.emit('orc_price', [12_345n, BigInt(T0)]);
  c.emit('oracle_quorum', [3, 150, 600n]);
  c.emit('oracle_price', [12_300n, 3, BigInt(T0)]);
  close();
  const events = await readDevnetEvents(devnet, from);
  return { a, b, events, ledgers };
}
