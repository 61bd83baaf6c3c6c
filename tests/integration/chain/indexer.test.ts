import { Address, nativeToScVal, xdr } from '@stellar/stellar-sdk';
import { StrKey } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { RpcTimeoutError, RpcUnavailableError } from '../../../src/stellar/sorobanRpc.js';
import { admin, client } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import {
  CATALOGUE,
  chainEventRows,
  chainFixture,
  DAY,
  digest,
  drain,
  expectedStatus,
  getStatus,
  indexerOf,
  metricValue,
  newBorrower,
  playCatalogue,
  readDevnetEvents,
  scrapeMetrics,
  setCursor,
  snapshot,
  USDC,
  writesDomainEvent,
  writesLedgerEntry,
  borrowerOf,
  expectedLedgerEntry,
} from './helpers.js';

/**
 * The contract-event indexer against the devnet over HTTP, on every storage: the whole catalogue decoded and
 * applied exactly once (also when pages overlap), poison events parked without stopping the page, unknown
 * topics kept, an RPC outage survived, and what GET /api/indexer/status reports.
 */
describe.each(STORAGE_KINDS)('chain indexer (%s)', (kind) => {
  const fx = chainFixture(kind);
  const sql = kind !== 'memory';

  it('decodes and applies (or records) every event of the catalogue exactly once, over many small pages', async () => {
    const devnet = await fx.devnet();
    const run = await playCatalogue(devnet);
    expect(new Set(run.events.map((e) => e.name))).toEqual(new Set(CATALOGUE));
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '7' });

    const ticks = await drain(t);
    expect(ticks).toBeGreaterThanOrEqual(Math.ceil(run.events.length / 7));

    const applied = run.events.filter((e) => expectedStatus(e) === 'applied');
    const counts = await t.container.store.repos.chain.countEventsByStatus();
    expect(counts).toEqual({ applied: applied.length, recorded: run.events.length - applied.length, unknown: 0, parked: 0 });

    if (sql) {
      const rows = await chainEventRows(t);
      expect(rows.map((r) => r.event_id)).toEqual(run.events.map((e) => e.id));
      expect(rows.map((r) => [r.name, r.status])).toEqual(run.events.map((e) => [e.name, expectedStatus(e)]));
      for (const row of rows) {
        expect(row.contract_id).toBe(devnet.contractId);
        expect(row.tx_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(row.error).toBeNull();
        expect(row.payload).not.toBeNull();
      }
      const drawn = rows.find((r) => r.name === 'drawn')!;
      expect(drawn.payload).toMatchObject({ borrower: run.a, amount: String(1_000n * USDC) });
      expect(rows.find((r) => r.name === 'br_freeze')!.topic).toEqual(['br_freeze']);
      expect(rows.find((r) => r.name === 'oracle_price')!.payload).toMatchObject({ min_quorum_k: 3 });
    }

    // the projected lines are the contract's lines
    const snap = await snapshot(t, devnet.contractId);
    expect([...snap.keys()].sort()).toEqual([run.a, run.b].sort());
    for (const who of [run.a, run.b]) {
      const chain = devnet.contract.creditLine(who, 'committed')!;
      const { line } = snap.get(who)!;
      expect({
        creditLimit: line.creditLimit,
        utilized: line.utilized,
        accruedInterest: line.accruedInterest,
        interestRateBps: line.interestRateBps,
        riskScore: line.riskScore,
        status: line.status,
      }).toEqual({
        creditLimit: chain.credit_limit,
        utilized: chain.utilized_amount,
        accruedInterest: chain.accrued_interest,
        interestRateBps: chain.interest_rate_bps,
        riskScore: chain.risk_score,
        status: ['active', 'suspended', 'defaulted', 'closed', 'restricted'][chain.status],
      });
    }

    // one ledger entry per balance movement, one domain event per line change, each tied to its chain event
    const forLine = (who: string) => run.events.filter((e) => borrowerOf(e) === who);
    for (const who of [run.a, run.b]) {
      const { ledger, events } = snap.get(who)!;
      expect(ledger.map((e) => `${e.type}:${e.amount}`).reverse()).toEqual(forLine(who).filter(writesLedgerEntry).map(expectedLedgerEntry));
      const chainIds = events.map((e) => String(e.payload.chainEventId));
      expect(chainIds).toEqual(forLine(who).filter(writesDomainEvent).map((e) => e.id));
      expect(new Set(chainIds).size).toBe(chainIds.length);
    }
    const a = snap.get(run.a)!;
    expect(a.ledger.map((e) => e.type).sort()).toEqual(['draw', 'interest', 'interest', 'interest', 'repay', 'repay', 'write_off']);
    expect(a.events.map((e) => e.type)).toEqual([
      'credit_line.created',
      'credit_line.drawn',
      'credit_line.repaid',
      'credit_line.updated',
      'credit_line.updated',
      'credit_line.suspended',
      'credit_line.defaulted',
      'credit_line.reinstated',
      'credit_line.updated',
      'credit_line.defaulted',
      'credit_line.repaid',
    ]);
    expect(a.events[3]!.payload.creditLine).toMatchObject({ status: 'restricted' });
    expect(a.events[4]!.payload.creditLine).toMatchObject({ status: 'active' });
    expect(snap.get(run.b)!.events.map((e) => e.type)).toEqual(['credit_line.created', 'credit_line.closed']);

    // and the chain agrees: a reconciliation finds nothing
    const recon = await t.container.services.reconciliation!.run('admin');
    expect(recon).toMatchObject({ status: 'clean', linesChecked: 2, driftCount: 0 });

    const metrics = await scrapeMetrics(t);
    expect(metricValue(metrics, 'chain_events_ingested_total', '{status="applied"}')).toBe(applied.length);
    expect(metricValue(metrics, 'chain_events_ingested_total', '{status="recorded"}')).toBe(run.events.length - applied.length);
  });

  it('applies nothing twice when pages overlap: a rewound cursor re-reads events that are already stored', async () => {
    const devnet = await fx.devnet();
    const run = await playCatalogue(devnet);
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '5' });
    await drain(t);
    const before = digest(await snapshot(t, devnet.contractId));
    const countsBefore = await t.container.store.repos.chain.countEventsByStatus();
    const metricsBefore = await scrapeMetrics(t);

    // back to the very start, as if the cursor had been lost
    await setCursor(t, null, null);
    await drain(t);
    expect(digest(await snapshot(t, devnet.contractId))).toEqual(before);

    // back into the middle of a ledger: the next page overlaps the stored ones
    const middle = run.events[Math.floor(run.events.length / 2)]!;
    await setCursor(t, middle.id, middle.ledger);
    await drain(t);
    // and near the start again, read by another instance with a different page size (SQL: same database)
    const t2 = sql ? await fx.app(devnet, { INDEXER_PAGE_SIZE: '3' }) : t;
    await setCursor(t2, run.events[2]!.id, run.events[2]!.ledger);
    await drain(t2);

    expect(digest(await snapshot(t, devnet.contractId))).toEqual(before);
    expect(await t.container.store.repos.chain.countEventsByStatus()).toEqual(countsBefore);
    // re-read events are not counted as ingested again
    const metricsAfter = await scrapeMetrics(t);
    for (const status of ['applied', 'recorded']) {
      const label = `{status="${status}"}`;
      expect(metricValue(metricsAfter, 'chain_events_ingested_total', label)).toBe(metricValue(metricsBefore, 'chain_events_ingested_total', label));
    }

    // new events after the rewind are applied once, the old ones still not again
    const c = newBorrower();
    devnet.contract.invoke('open_credit_line', { borrower: c, credit_limit: 100n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    devnet.contract.invoke('draw_credit', { borrower: c, amount: 7n * USDC });
    devnet.closeLedger();
    await setCursor(t, middle.id, middle.ledger);
    await drain(t);
    const after = await snapshot(t, devnet.contractId);
    expect(digest(new Map([...after].filter(([w]) => w !== c)))).toEqual(before);
    expect(after.get(c)!.line.utilized).toBe(7n * USDC);
    expect(after.get(c)!.ledger).toHaveLength(1);
    expect(after.get(c)!.events.map((e) => e.type)).toEqual(['credit_line.created', 'credit_line.drawn']);
  });

  it('parks poison events with their ledger and still advances past them', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '50' });
    const c = devnet.contract;
    const ghost = newBorrower();
    // a draw for a borrower whose line was never opened
    c.emit('drawn', { borrower: ghost, amount: 5n * USDC, new_utilized_amount: 5n * USDC, timestamp: BigInt(c.now()) });
    const ghostLedger = devnet.closeLedger();
    // known topics with payloads of the wrong shape
    c.emitRaw(['credit', 'drawn'], xdr.ScVal.scvU32(7));
    c.emitRaw(
      ['credit', 'opened'],
      xdr.ScVal.scvMap(
        [
          ['borrower', new Address(newBorrower()).toScVal()],
          ['credit_limit', nativeToScVal(1n, { type: 'u64' })], // an i128 on the wire, never a u64
          ['interest_rate_bps', xdr.ScVal.scvU32(1)],
          ['risk_score', xdr.ScVal.scvU32(1)],
          ['status', xdr.ScVal.scvU32(0)],
        ].map(([key, val]) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key as string), val: val as xdr.ScVal })),
      ),
    );
    const malformedLedger = devnet.closeLedger();
    // and a healthy line after them, in the same page
    const good = newBorrower();
    c.invoke('open_credit_line', { borrower: good, credit_limit: 100n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    c.invoke('draw_credit', { borrower: good, amount: 9n * USDC });
    const goodLedger = devnet.closeLedger();

    await drain(t);
    expect(await t.container.store.repos.chain.countEventsByStatus()).toEqual({ applied: 2, recorded: 1, unknown: 0, parked: 3 });
    expect(await t.container.store.repos.chain.parkedLedgers(10)).toEqual([ghostLedger, malformedLedger]);
    const lines = await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 10 });
    expect(lines.map((l) => [l.walletAddress, l.utilized])).toEqual([[good, 9n * USDC]]);
    expect((await getStatus(t)).lastLedger).toBeGreaterThanOrEqual(goodLedger);

    if (sql) {
      const parked = (await chainEventRows(t)).filter((r) => r.status === 'parked');
      expect(parked.map((r) => [r.ledger, r.name])).toEqual([
        [ghostLedger, 'drawn'],
        [malformedLedger, 'undecodable'],
        [malformedLedger, 'undecodable'],
      ]);
      expect(parked[0]!.error).toMatch(/never seen opened/);
      expect(parked[0]!.payload).toMatchObject({ borrower: ghost });
      expect(parked[1]!.error).toMatch(/expected a struct/);
      expect(parked[2]!.error).toMatch(/field credit_limit: expected i128, got scvU64/);
    }
    expect(t.logs.text).toContain('chain event parked for reconciliation');
    expect(metricValue(await scrapeMetrics(t), 'chain_events_ingested_total', '{status="parked"}')).toBe(3);
    // parking is final: ticking again changes nothing
    await setCursor(t, null, null);
    await drain(t);
    expect((await t.container.store.repos.chain.countEventsByStatus()).parked).toBe(3);
  });

  it('parks (and moves past) an opened event for a wallet that already has an open database-ledger line', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const wallet = newBorrower();
    const res = await request(t.app).post('/api/credit/lines').set(client).send({ walletAddress: wallet, creditLimit: '100' });
    expect(res.status).toBe(201);
    devnet.contract.invoke('open_credit_line', { borrower: wallet, credit_limit: 10n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    const later = newBorrower();
    devnet.contract.invoke('open_credit_line', { borrower: later, credit_limit: 10n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    const last = devnet.closeLedger();

    // A conflict the projection cannot resolve is a poison event like any other: parked, and the page moves on.
    // (Known bug on SQL storages: the failed INSERT aborts the page transaction, so every later statement of the
    // page fails, the failure is not a ProjectionFailure, and the indexer retries the same page forever.)
    const errors = new Set<string>();
    for (let i = 0; i < 10; i++) {
      try {
        if ((await indexerOf(t).tick()) === 0) break;
      } catch (error) {
        errors.add((error as Error).message);
      }
    }
    const counts = await t.container.store.repos.chain.countEventsByStatus();
    expect({ counts, errors: [...errors] }).toEqual({ counts: { applied: 1, recorded: 0, unknown: 0, parked: 1 }, errors: [] });
    expect((await getStatus(t)).lastLedger).toBeGreaterThanOrEqual(last);
    const bound = await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 10 });
    expect(bound.map((l) => l.walletAddress)).toEqual([later]);
    // the parked event's ledger is queued for reconciliation in the same page transaction
    const queued = await t.container.store.repos.jobs.list({ queue: 'reconciliation' }, { limit: 10 });
    expect(queued.map((job) => job.payload.trigger)).toContain('parked');
  });

  it.runIf(sql)('retries a page whose projection throws, then parks the failing event after 3 attempts and moves on', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const c = devnet.contract;
    const who = newBorrower();
    c.invoke('open_credit_line', { borrower: who, credit_limit: 100n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    devnet.closeLedger();
    await drain(t);
    // a risk score the database refuses (CHECK risk_score BETWEEN 0 AND 100): the UPDATE throws inside the page
    c.emit('risk_upd', { borrower: who, credit_limit: 50n * USDC, interest_rate_bps: 1100, risk_score: 250 });
    c.invoke('draw_credit', { borrower: who, amount: 2n * USDC });
    const ledger = devnet.closeLedger();

    const failures: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        if ((await indexerOf(t).tick()) === 0) break;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatch(/^applying chain event \d{19}-\d{10} failed/);
    expect(t.logs.text).toContain('chain event failed to apply; page will be retried');
    expect(await t.container.store.repos.chain.countEventsByStatus()).toMatchObject({ parked: 1, applied: 2 });
    const parked = (await chainEventRows(t)).filter((r) => r.status === 'parked');
    expect(parked.map((r) => [r.name, r.ledger, r.error])).toEqual([['risk_upd', ledger, 'failed to apply 3 times']]);
    const [line] = await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 1 });
    expect(line).toMatchObject({ riskScore: 10, creditLimit: 100n * USDC, utilized: 2n * USDC });
  });

  it('stores unknown topics with status unknown, counts them, and ignores other contracts', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const c = devnet.contract;
    const who = newBorrower();
    c.invoke('open_credit_line', { borrower: who, credit_limit: 100n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    c.emitRaw(['credit', 'opened_v2'], xdr.ScVal.scvU32(1)); // defined but never emitted by HEAD code
    c.emitRaw(['collat', 'deposit'], xdr.ScVal.scvU32(2));
    c.emitRaw(['credit', 'drawn', 'extra'], xdr.ScVal.scvU32(3));
    c.emitRaw([xdr.ScVal.scvU32(9)], xdr.ScVal.scvVoid());
    const otherContract = StrKey.encodeContract(randomBytes(32));
    c.emitRaw(['credit', 'drawn'], xdr.ScVal.scvU32(4), otherContract); // not ours: not even fetched
    devnet.closeLedger();

    await drain(t);
    const counts = await t.container.store.repos.chain.countEventsByStatus();
    expect(counts).toEqual({ applied: 1, recorded: 0, unknown: 4, parked: 0 });
    expect((await getStatus(t)).events).toEqual(counts);
    expect(metricValue(await scrapeMetrics(t), 'chain_events_ingested_total', '{status="unknown"}')).toBe(4);
    if (sql) {
      const unknown = (await chainEventRows(t)).filter((r) => r.status === 'unknown');
      expect(unknown.map((r) => r.topic)).toEqual([['credit', 'opened_v2'], ['collat', 'deposit'], ['credit', 'drawn', 'extra'], ['<scvU32>']]);
      expect(unknown.map((r) => r.name)).toEqual(['credit.opened_v2', 'collat.deposit', 'credit.drawn.extra', '<scvU32>']);
      expect(unknown.every((r) => r.payload === null && r.contract_id === devnet.contractId)).toBe(true);
    }
  });

  it('survives the RPC being down (5xx, then timeouts) and catches up with everything exactly once', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '4', RPC_TIMEOUT_MS: '200', RPC_RETRIES: '0' });
    const indexer = indexerOf(t);
    const c = devnet.contract;
    const who = newBorrower();
    c.invoke('open_credit_line', { borrower: who, credit_limit: 1_000n * USDC, interest_rate_bps: 1200, risk_score: 30 });
    devnet.closeLedger();
    await drain(t);
    const cursorBefore = (await getStatus(t)).cursor;

    for (let i = 1; i <= 5; i++) {
      c.advanceTime(DAY);
      c.invoke('draw_credit', { borrower: who, amount: BigInt(i) * USDC });
      devnet.closeLedger();
    }

    devnet.faults.set({ force5xx: true, scope: 'rpc' });
    for (let i = 0; i < 3; i++) await expect(indexer.tick()).rejects.toBeInstanceOf(RpcUnavailableError);
    const down = await getStatus(t);
    expect(down.node).toMatchObject({ error: expect.stringMatching(/getHealth: HTTP 503/) });
    expect(down.cursor).toBe(cursorBefore);

    devnet.faults.clear();
    devnet.faults.set({ timeoutMs: 1_000, scope: 'rpc' });
    await expect(indexer.tick()).rejects.toBeInstanceOf(RpcTimeoutError);
    expect((await getStatus(t)).cursor).toBe(cursorBefore);

    // flaky rather than down: one 503 is absorbed by a retry budget of one (SQL: another instance, same data)
    devnet.faults.clear();
    if (sql) {
      const retrying = await fx.app(devnet, { INDEXER_PAGE_SIZE: '4', RPC_RETRIES: '1' });
      devnet.faults.set({ fail5xxCount: 1, scope: 'rpc' });
      await drain(retrying);
    }
    await drain(t);

    const snap = await snapshot(t, devnet.contractId);
    const { line, ledger, events } = snap.get(who)!;
    expect(line.utilized).toBe(devnet.contract.creditLine(who, 'committed')!.utilized_amount);
    const served = (await readDevnetEvents(devnet)).filter((e) => e.value?.borrower === who);
    expect(ledger.map((e) => `${e.type}:${e.amount}`).reverse()).toEqual(served.filter(writesLedgerEntry).map(expectedLedgerEntry));
    expect(events.map((e) => String(e.payload.chainEventId))).toEqual(served.filter(writesDomainEvent).map((e) => e.id));
    expect(ledger.filter((e) => e.type === 'draw').map((e) => e.amount).sort((x, y) => Number(x - y))).toEqual([1n, 2n, 3n, 4n, 5n].map((n) => n * USDC));
  });

  it('reports where it is at GET /api/indexer/status, and on /metrics', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '3' });
    const unauthorised = await request(t.app).get('/api/indexer/status').set(client);
    expect([401, 403]).toContain(unauthorised.status);

    const fresh = await getStatus(t);
    expect(fresh).toMatchObject({ contractIds: [devnet.contractId], cursor: null, lastLedger: null, lagLedgers: null, gaps: [], lastTick: null, eventsPerSecond: 0 });
    expect(fresh.node).toEqual({ latestLedger: devnet.latestLedger, oldestLedger: devnet.oldestLedger });

    const who = newBorrower();
    devnet.contract.invoke('open_credit_line', { borrower: who, credit_limit: 100n * USDC, interest_rate_bps: 1000, risk_score: 10 });
    for (let i = 0; i < 4; i++) devnet.contract.invoke('draw_credit', { borrower: who, amount: USDC }); // drawn + borrow_lc each
    devnet.closeLedger();
    for (let i = 0; i < 5; i++) devnet.closeLedger();

    // one page of three, ending inside ledger 2: ledger 1 is the last one read completely
    await indexerOf(t).tick();
    const behind = await getStatus(t);
    expect(behind.cursor).toMatch(/^\d{19}-\d{10}$/);
    expect(behind.lastLedger).toBe(1);
    expect(behind.lagLedgers).toBe(devnet.latestLedger - 1);
    expect(behind.lastTick).toMatchObject({ events: 3 });
    expect(behind.events).toMatchObject({ applied: 2, recorded: 1 });
    expect(behind.eventsPerSecond).toBeGreaterThan(0);

    await drain(t);
    const caughtUp = await getStatus(t);
    expect(caughtUp.lastLedger).toBe(devnet.latestLedger);
    expect(caughtUp.lagLedgers).toBe(0);
    expect(caughtUp.node).toEqual({ latestLedger: devnet.latestLedger, oldestLedger: 1 });
    expect(caughtUp.events).toEqual({ applied: 5, recorded: 4, unknown: 0, parked: 0 });
    expect(caughtUp.gaps).toEqual([]);
    // 9 events within the last minute of the (devnet) clock
    expect(caughtUp.eventsPerSecond).toBeCloseTo(9 / 60, 2);

    const metrics = await scrapeMetrics(t);
    expect(metricValue(metrics, 'chain_indexer_last_ledger')).toBe(devnet.latestLedger);
    expect(metricValue(metrics, 'chain_indexer_lag_ledgers')).toBe(0);
    expect(metricValue(metrics, 'chain_gaps_total')).toBe(0);

    // the node's trouble shows in the status instead of failing it
    devnet.faults.set({ force5xx: true, scope: 'rpc' });
    const res = await request(t.app).get('/api/indexer/status').set(admin);
    expect(res.status).toBe(200);
    expect(res.body.data.node).toMatchObject({ error: expect.stringContaining('503') });
    expect(res.body.data.lastLedger).toBe(devnet.latestLedger);
  });
});
