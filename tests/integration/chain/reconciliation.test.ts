import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { formatAmount } from '../../../src/domain/money.js';
import { maskAddress } from '../../../src/domain/stellarAddress.js';
import { admin, client, createTestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';
import { chainFixture, DAY, drain, newBorrower, USDC } from './helpers.js';

/**
 * Reconciliation of bound lines against the contract's stored CreditLineData (getLedgerEntries on the devnet):
 * clean when the chain agrees (also after time passes with interest only projected), drift injected on the
 * devnet graded per field, runs and drifts stored, `reconciliation.drift` emitted, and the admin endpoints.
 */
describe.each(STORAGE_KINDS)('reconciliation (%s)', (kind) => {
  const fx = chainFixture(kind);

  /** Lines with balances on the devnet, indexed; the devnet clock is left where the last activity happened. */
  async function setup(count: number) {
    const devnet = await fx.devnet();
    const t = await fx.app(devnet);
    const c = devnet.contract;
    const wallets = Array.from({ length: count }, () => newBorrower());
    for (const w of wallets) c.invoke('open_credit_line', { borrower: w, credit_limit: 1_000n * USDC, interest_rate_bps: 1200, risk_score: 30 });
    devnet.closeLedger();
    c.advanceTime(DAY);
    for (const [i, w] of wallets.entries()) c.invoke('draw_credit', { borrower: w, amount: BigInt(100 + i) * USDC });
    devnet.closeLedger();
    c.advanceTime(10 * DAY);
    // a repay accrues on chain (accrue event) and moves the balance down
    for (const w of wallets) c.invoke('repay_credit', { borrower: w, amount: 10n * USDC });
    devnet.closeLedger();
    await drain(t);
    return { devnet, t, wallets };
  }

  const postRun = async (t: Awaited<ReturnType<typeof setup>>['t']) => {
    const res = await request(t.app).post('/api/reconciliation/run').set(admin).send({});
    expect(res.status).toBe(200);
    return res.body.data as {
      id: string;
      trigger: string;
      status: string;
      linesChecked: number;
      driftCount: number;
      drifts: Array<{ id: string; creditLineId: string; wallet: string; field: string; dbValue: string | null; chainValue: string | null; severity: string }>;
    };
  };

  it('is clean when the chain agrees, also after time passes and interest is only projected on both sides', async () => {
    const { devnet, t, wallets } = await setup(3);
    const first = await postRun(t);
    expect(first).toMatchObject({ trigger: 'admin', status: 'clean', linesChecked: 3, driftCount: 0, drifts: [] });

    // 90 days with no event: the chain's stored balance is stale by design, the projection catches it up
    devnet.contract.advanceTime(90 * DAY);
    devnet.closeLedger();
    const later = await postRun(t);
    expect(later).toMatchObject({ status: 'clean', linesChecked: 3, driftCount: 0 });
    // and once the chain accrues (any call does), the indexer follows and they still agree
    devnet.contract.invoke('accrue_batch', { borrowers: wallets });
    devnet.closeLedger();
    await drain(t);
    expect(await postRun(t)).toMatchObject({ status: 'clean', driftCount: 0 });
    expect(await t.container.store.repos.events.listByAggregate('reconciliation_run', first.id)).toEqual([]);
  });

  it('grades drift injected on the devnet per field: status and limit critical; rate, utilised and accrued warnings', async () => {
    const { devnet, t, wallets } = await setup(8);
    const [status, limit, rate, utilized, accrued, missing, withinTolerance, untouched] = wallets as [string, string, string, string, string, string, string, string];
    const chain = (w: string) => devnet.contract.creditLine(w, 'committed')!;
    const lineOf = async (w: string) => (await t.container.store.repos.creditLines.listBound(devnet.contractId, { limit: 100 })).find((l) => l.walletAddress === w)!;

    devnet.contract.tamper(status, { status: 'Suspended' });
    devnet.contract.tamper(limit, { credit_limit: 5n });
    devnet.contract.tamper(rate, { interest_rate_bps: 1900 });
    devnet.contract.tamper(utilized, { utilized_amount: chain(utilized).utilized_amount + 100n });
    devnet.contract.tamper(accrued, { accrued_interest: chain(accrued).accrued_interest + 50n });
    devnet.contract.tamper(missing, null);
    devnet.contract.tamper(withinTolerance, { utilized_amount: chain(withinTolerance).utilized_amount + 1n }); // RECONCILIATION_TOLERANCE_UNITS=1
    void untouched;

    const run = await postRun(t);
    expect(run).toMatchObject({ status: 'drift_found', linesChecked: 8 });
    const got = run.drifts.map((d) => [d.wallet, d.field, d.severity, d.dbValue, d.chainValue]);
    const limitLine = await lineOf(limit);
    const utilizedLine = await lineOf(utilized);
    const accruedLine = await lineOf(accrued);
    const expected = [
      [maskAddress(status), 'status', 'critical', 'active', 'suspended'],
      [maskAddress(limit), 'creditLimit', 'critical', formatAmount(limitLine.creditLimit), formatAmount(5n)],
      [maskAddress(limit), 'availableCredit', 'warning', formatAmount(limitLine.creditLimit - limitLine.utilized), formatAmount(0n)], // available credit never goes below zero,
      [maskAddress(rate), 'interestRateBps', 'warning', '1200', '1900'],
      [maskAddress(utilized), 'utilized', 'warning', formatAmount(utilizedLine.utilized), formatAmount(utilizedLine.utilized + 100n)],
      [maskAddress(utilized), 'availableCredit', 'warning', formatAmount(utilizedLine.creditLimit - utilizedLine.utilized), formatAmount(utilizedLine.creditLimit - utilizedLine.utilized - 100n)],
      [maskAddress(accrued), 'accruedInterest', 'warning', formatAmount(accruedLine.accruedInterest), formatAmount(accruedLine.accruedInterest + 50n)],
      [maskAddress(missing), 'existence', 'critical', 'present', 'missing'],
    ];
    const order = (rows: unknown[][]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(order(got)).toEqual(order(expected));
    expect(run.driftCount).toBe(expected.length);
    // no full address leaves the service in a drift
    expect(JSON.stringify(run)).not.toContain(status);

    // stored: the run and its drifts read back the same
    const stored = await request(t.app).get(`/api/reconciliation/runs/${run.id}`).set(admin);
    expect(stored.status).toBe(200);
    expect(stored.body.data).toMatchObject({ id: run.id, status: 'drift_found', driftCount: expected.length, trigger: 'admin' });
    expect(order(stored.body.data.drifts.map((d: typeof run.drifts[number]) => [d.wallet, d.field, d.severity, d.dbValue, d.chainValue]))).toEqual(order(expected));
    const repoDrifts = await t.container.store.repos.reconciliation.drifts(run.id);
    expect(repoDrifts.find((d) => d.field === 'existence')!.walletAddress).toBe(missing);

    // and announced
    const announced = await t.container.store.repos.events.listByAggregate('reconciliation_run', run.id);
    expect(announced.map((e) => e.type)).toEqual(['reconciliation.drift']);
    expect(announced[0]!.payload).toMatchObject({ runId: run.id, contractId: devnet.contractId, linesChecked: 8, critical: 3, warning: 5 });
    expect((announced[0]!.payload.drifts as unknown[]).length).toBe(expected.length);
  });

  it('serves runs at the admin endpoints: list newest first with a cursor, one by id, 404, 400, 401/403', async () => {
    const { devnet, t, wallets } = await setup(1);
    const one = await postRun(t);
    devnet.contract.tamper(wallets[0]!, { credit_limit: 7n });
    devnet.contract.advanceTime(60);
    const two = await postRun(t);
    devnet.contract.advanceTime(60);
    const three = await postRun(t);

    const all = await request(t.app).get('/api/reconciliation/runs').set(admin);
    expect(all.status).toBe(200);
    expect(all.body.data.items.map((r: { id: string }) => r.id)).toEqual([three.id, two.id, one.id]);
    expect(all.body.data.items[0]).toMatchObject({ trigger: 'admin', status: 'drift_found', linesChecked: 1, driftCount: 2, finishedAt: expect.any(String) });
    expect(all.body.data.items[0].drifts).toBeUndefined();

    const page1 = await request(t.app).get('/api/reconciliation/runs?limit=2').set(admin);
    expect(page1.body.data.items.map((r: { id: string }) => r.id)).toEqual([three.id, two.id]);
    expect(page1.body.data.nextCursor).toEqual(expect.any(String));
    const page2 = await request(t.app).get(`/api/reconciliation/runs?limit=2&cursor=${encodeURIComponent(page1.body.data.nextCursor)}`).set(admin);
    expect(page2.body.data.items.map((r: { id: string }) => r.id)).toEqual([one.id]);
    expect(page2.body.data.nextCursor).toBeNull();

    const byId = await request(t.app).get(`/api/reconciliation/runs/${one.id}`).set(admin);
    expect(byId.body.data).toMatchObject({ id: one.id, status: 'clean', drifts: [] });

    const unknown = await request(t.app).get(`/api/reconciliation/runs/${randomUUID()}`).set(admin);
    expect(unknown.status).toBe(404);
    expect(unknown.body.data).toBeNull();
    expect(unknown.body.error.code).toEqual(expect.any(String));
    expect((await request(t.app).get('/api/reconciliation/runs/not-a-uuid').set(admin)).status).toBe(400);
    expect((await request(t.app).post('/api/reconciliation/run').set(admin).send({ extra: 1 })).status).toBe(400);

    for (const [method, path] of [
      ['get', '/api/indexer/status'],
      ['post', '/api/reconciliation/run'],
      ['get', '/api/reconciliation/runs'],
      ['get', `/api/reconciliation/runs/${one.id}`],
    ] as const) {
      expect([401, 403]).toContain((await request(t.app)[method](path).set(client)).status);
      expect([401, 403]).toContain((await request(t.app)[method](path)).status);
    }
  });

  it('reports a failed run when the node cannot be read, and runs on schedule (RECONCILIATION_INTERVAL_MS)', async () => {
    const { devnet, t } = await setup(2);
    const service = t.container.services.reconciliation!;
    devnet.faults.set({ force5xx: true, scope: 'rpc' });
    const failed = await postRun(t);
    expect(failed).toMatchObject({ status: 'failed', linesChecked: 0 });
    expect((await request(t.app).get(`/api/reconciliation/runs/${failed.id}`).set(admin)).body.data.error).toMatch(/getLedgerEntries/);
    devnet.faults.clear();

    const hour = 3_600_000;
    // the last run started just now: nothing is due
    expect(await service.runDue('w1', hour)).toBe(0);
    expect(await t.container.store.repos.reconciliation.listRuns({ limit: 10 })).toHaveLength(1);
    devnet.contract.advanceTime(3_601);
    expect(await service.runDue('w1', hour)).toBe(0); // no queued job: the scheduled run is not counted as work
    const runs = await t.container.store.repos.reconciliation.listRuns({ limit: 10 });
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([
      ['schedule', 'clean'],
      ['admin', 'failed'],
    ]);
  });
});

describe('reconciliation and indexer endpoints without chain configuration', () => {
  it('answer 503 chain_not_configured', async () => {
    const t = await createTestApp('memory', { WALLET_AUTH: 'optional' });
    try {
      expect(t.container.services.indexer).toBeUndefined();
      expect(t.container.services.reconciliation).toBeUndefined();
      for (const [method, path] of [
        ['get', '/api/indexer/status'],
        ['post', '/api/reconciliation/run'],
        ['get', '/api/reconciliation/runs'],
        ['get', `/api/reconciliation/runs/${randomUUID()}`],
      ] as const) {
        const req = request(t.app)[method](path).set(admin);
        const res = method === 'post' ? await req.send({}) : await req;
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('chain_not_configured');
      }
    } finally {
      await t.close();
    }
  });
});
