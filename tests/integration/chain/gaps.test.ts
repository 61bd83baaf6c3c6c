import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { formatAmount } from '../../../src/domain/money.js';
import { RECONCILIATION_QUEUE } from '../../../src/services/chainIndexer.js';
import { admin } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { chainFixture, drain, getStatus, indexerOf, metricValue, newBorrower, scrapeMetrics, USDC } from './helpers.js';

/**
 * History the node no longer has when the indexer asks for it: the retention window moving past the cursor,
 * and a node reset. A gap is recorded, alerted (domain event, metric, log) and handed to reconciliation,
 * never skipped silently; the indexer then carries on from the oldest ledger the node still has.
 */
describe.each(STORAGE_KINDS)('chain history gaps (%s)', (kind) => {
  const fx = chainFixture(kind);
  const HOUR = 3_600_000;

  it('detects a retention gap, reports it everywhere, and reconciles the lost range', async () => {
    const devnet = await fx.devnet({ retentionLedgers: 10 });
    const t = await fx.app(devnet, { INDEXER_PAGE_SIZE: '20' });
    const indexer = indexerOf(t);
    const repos = t.container.store.repos;
    const c = devnet.contract;
    const who = newBorrower();
    c.invoke('open_credit_line', { borrower: who, credit_limit: 1_000n * USDC, interest_rate_bps: 0, risk_score: 10 });
    devnet.closeLedger();
    await drain(t);
    const covered = (await getStatus(t)).lastLedger!;

    // a draw the indexer will never see: its ledger falls out of the node's window before the next tick
    c.invoke('draw_credit', { borrower: who, amount: 5n * USDC });
    const lostLedger = devnet.closeLedger();
    for (let i = 0; i < 30; i++) devnet.closeLedger();
    // and something the node still has
    const later = newBorrower();
    c.invoke('open_credit_line', { borrower: later, credit_limit: 10n * USDC, interest_rate_bps: 0, risk_score: 10 });
    devnet.closeLedger();
    expect(devnet.oldestLedger).toBeGreaterThan(lostLedger);

    expect(await indexer.tick()).toBeGreaterThan(0);
    const [gap, ...others] = await repos.chain.listGaps(indexer.cursorName, 10);
    expect(others).toEqual([]);
    expect(gap).toMatchObject({ source: indexer.cursorName, fromLedger: covered + 1, toLedger: devnet.oldestLedger - 1, reconciliationRunId: null });
    expect(gap!.fromLedger).toBeLessThanOrEqual(lostLedger);
    expect(gap!.toLedger).toBeGreaterThanOrEqual(lostLedger);

    const alerts = await repos.events.listByAggregate('chain_indexer', indexer.cursorName);
    expect(alerts.map((e) => [e.type, e.payload])).toEqual([
      ['indexer.gap_detected', { fromLedger: gap!.fromLedger, toLedger: gap!.toLedger, contractIds: [devnet.contractId] }],
    ]);
    const metrics = await scrapeMetrics(t);
    expect(metricValue(metrics, 'chain_gaps_total')).toBe(1);
    expect(metricValue(metrics, 'chain_gap_ledgers_total')).toBe(gap!.toLedger - gap!.fromLedger + 1);
    expect(t.logs.text).toContain('chain history gap');

    const jobs = await repos.jobs.list({ queue: RECONCILIATION_QUEUE }, { limit: 10 });
    expect(jobs.map((j) => [j.status, j.payload])).toEqual([['queued', { trigger: 'gap', gapId: gap!.id }]]);
    const status = await getStatus(t);
    expect(status.gaps).toEqual([expect.objectContaining({ id: gap!.id, fromLedger: gap!.fromLedger, toLedger: gap!.toLedger })]);

    // it carries on from what the node still has
    await drain(t);
    const lines = await repos.creditLines.listBound(devnet.contractId, { limit: 10 });
    expect(lines.map((l) => l.walletAddress).sort()).toEqual([who, later].sort());
    expect((await getStatus(t)).lastLedger).toBe(devnet.latestLedger);

    // the reconciliation worker runs the gap's job first, links the gap, and finds what was lost
    expect(await t.container.services.reconciliation!.runDue('worker-1', HOUR)).toBe(1);
    const runs = await repos.reconciliation.listRuns({ limit: 10 });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ trigger: 'gap', status: 'drift_found', linesChecked: 2 });
    const drifts = await repos.reconciliation.drifts(run.id);
    expect(drifts.map((d) => [d.walletAddress, d.field, d.severity, d.dbValue, d.chainValue]).sort()).toEqual(
      [
        [who, 'utilized', 'warning', formatAmount(0n), formatAmount(5n * USDC)],
        [who, 'availableCredit', 'warning', formatAmount(1_000n * USDC), formatAmount(995n * USDC)],
      ].sort(),
    );
    expect((await repos.chain.listGaps(indexer.cursorName, 10))[0]!.reconciliationRunId).toBe(run.id);
    expect((await repos.jobs.findById(jobs[0]!.id))!.status).toBe('done');
    const linked = await request(t.app).get('/api/indexer/status').set(admin);
    expect(linked.body.data.gaps[0].reconciliationRunId).toBe(run.id);

    // nothing else is due within the interval
    expect(await t.container.services.reconciliation!.runDue('worker-1', HOUR)).toBe(0);
    expect(await repos.reconciliation.listRuns({ limit: 10 })).toHaveLength(1);
  });

  it('handles a node reset while behind: the lost history is a gap, what follows is applied', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const indexer = indexerOf(t);
    const repos = t.container.store.repos;
    const c = devnet.contract;
    const who = newBorrower();
    c.invoke('open_credit_line', { borrower: who, credit_limit: 1_000n * USDC, interest_rate_bps: 0, risk_score: 10 });
    devnet.closeLedger();
    await drain(t);
    const covered = (await getStatus(t)).lastLedger!;

    c.invoke('draw_credit', { borrower: who, amount: 3n * USDC });
    devnet.closeLedger();
    devnet.closeLedger();
    devnet.closeLedger();
    devnet.faults.reset(); // the node forgets everything before its latest ledger
    expect(devnet.oldestLedger).toBe(devnet.latestLedger);

    c.invoke('draw_credit', { borrower: who, amount: 4n * USDC });
    devnet.closeLedger();

    await drain(t);
    const gaps = await repos.chain.listGaps(indexer.cursorName, 10);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ fromLedger: covered + 1 });
    expect(gaps[0]!.toLedger).toBeGreaterThanOrEqual(covered + 1);
    expect(gaps[0]!.toLedger).toBeLessThan(devnet.oldestLedger);
    const [line] = await repos.creditLines.listBound(devnet.contractId, { limit: 1 });
    // the draw after the reset carries the chain's utilisation (3 + 4), though the first draw's event is lost
    expect(line!.utilized).toBe(7n * USDC);
    const ledger = await repos.ledger.listByLine(line!.id, { limit: 10 });
    expect(ledger.map((e) => `${e.type}:${e.amount}`)).toEqual([`draw:${4n * USDC}`]);
    expect((await repos.jobs.list({ queue: RECONCILIATION_QUEUE }, { limit: 10 })).map((j) => j.payload.gapId)).toEqual([gaps[0]!.id]);
  });

  it('records no gap when a node reset (or the window moving) loses nothing the indexer had not read', async () => {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const indexer = indexerOf(t);
    const repos = t.container.store.repos;
    const who = newBorrower();
    devnet.contract.invoke('open_credit_line', { borrower: who, credit_limit: 1_000n * USDC, interest_rate_bps: 0, risk_score: 10 });
    devnet.closeLedger();
    await drain(t);
    expect((await getStatus(t)).lastLedger).toBe(devnet.latestLedger);

    // the indexer has read every ledger up to L; one more ledger L+1 closes, then the node resets to it
    devnet.contract.invoke('draw_credit', { borrower: who, amount: 2n * USDC });
    devnet.closeLedger();
    devnet.faults.reset();

    await drain(t);
    const [line] = await repos.creditLines.listBound(devnet.contractId, { limit: 1 });
    expect(line!.utilized).toBe(2n * USDC);
    // Nothing was lost — every ledger up to L was read and L+1 is still served — so there is no gap to report.
    // (Known bug: the cursor at the end of ledger L = oldest − 1 passes the gap check, the node refuses it as out
    // of range, and the RpcRequestError branch records a gap [L+1, L+1] over a ledger the node still has.)
    expect(await repos.chain.listGaps(indexer.cursorName, 10)).toEqual([]);
    expect(metricValue(await scrapeMetrics(t), 'chain_gaps_total')).toBe(0);
  });
});
