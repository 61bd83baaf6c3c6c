import { describe, expect, it } from 'vitest';
import type { TestApp } from '../../support/app.js';
import { SQL_STORAGE_KINDS } from '../../support/databases.js';
import {
  chainEventRows,
  chainFixture,
  DAY,
  digest,
  drain,
  expectedStatus,
  getStatus,
  indexerOf,
  newBorrower,
  playCatalogue,
  readDevnetEvents,
  snapshot,
  USDC,
  writesDomainEvent,
  writesLedgerEntry,
  borrowerOf,
  expectedLedgerEntry,
  type DevnetEvent,
} from './helpers.js';
import type { Devnet } from '../../../scripts/devnet/index.js';

/**
 * What only a database shared across processes can show: a restarted instance resumes from the stored cursor
 * with nothing lost or doubled, and two instances ticking at once never apply a page twice.
 */

/** Every event the node served is stored once, and every line moved exactly once per event. */
async function expectExactlyOnce(t: TestApp, devnet: Devnet): Promise<DevnetEvent[]> {
  const served = await readDevnetEvents(devnet);
  const rows = await chainEventRows(t);
  expect(rows.map((r) => r.event_id)).toEqual(served.map((e) => e.id));
  expect(rows.map((r) => r.status)).toEqual(served.map(expectedStatus));
  const snap = await snapshot(t, devnet.contractId);
  for (const [wallet, s] of snap) {
    const mine = served.filter((e) => borrowerOf(e) === wallet);
    const entries = s.ledger.map((e) => `${e.type}:${e.amount}`).reverse(); // listByLine is newest first
    expect(entries).toEqual(mine.filter(writesLedgerEntry).map(expectedLedgerEntry));
    expect(s.events.map((e) => String(e.payload.chainEventId))).toEqual(mine.filter(writesDomainEvent).map((e) => e.id));
    expect(s.line.utilized).toBe(devnet.contract.creditLine(wallet, 'committed')!.utilized_amount);
  }
  return served;
}

/** Many small movements on many lines: plenty of pages that each touch several lines. */
function busyLedgers(devnet: Devnet, borrowers: number, rounds: number): string[] {
  const c = devnet.contract;
  const who = Array.from({ length: borrowers }, () => newBorrower());
  for (const b of who) c.invoke('open_credit_line', { borrower: b, credit_limit: 1_000n * USDC, interest_rate_bps: 1200, risk_score: 30 });
  devnet.closeLedger();
  for (let r = 0; r < rounds; r++) {
    c.advanceTime(DAY);
    for (const [i, b] of who.entries()) {
      if ((r + i) % 3 === 2) c.invoke('repay_credit', { borrower: b, amount: USDC });
      else c.invoke('draw_credit', { borrower: b, amount: BigInt(i + 1) * USDC });
    }
    devnet.closeLedger();
  }
  return who;
}

describe.each(SQL_STORAGE_KINDS)('chain indexer restarts and concurrency (%s)', (kind) => {
  const fx = chainFixture(kind);

  it('a restarted instance resumes from the stored cursor with nothing lost or doubled', async () => {
    const devnet = await fx.devnet();
    await playCatalogue(devnet);
    const first = await fx.app(devnet, { INDEXER_PAGE_SIZE: '6' });
    for (let i = 0; i < 4; i++) await indexerOf(first).tick();
    const stopped = await getStatus(first);
    expect(stopped.cursor).not.toBeNull();
    const storedAtStop = (await chainEventRows(first)).length;
    expect(storedAtStop).toBe(24);
    await first.close();

    // the chain moves on while nothing follows it
    busyLedgers(devnet, 3, 4);

    // a new process (new container, new in-memory state) on the same database
    const second = await fx.app(devnet, { INDEXER_PAGE_SIZE: '6' });
    expect((await getStatus(second)).cursor).toBe(stopped.cursor);
    await drain(second);
    const served = await expectExactlyOnce(second, devnet);
    expect(served.length).toBeGreaterThan(storedAtStop);

    // and a third restart at the tip reads nothing new
    const before = digest(await snapshot(second, devnet.contractId));
    const third = await fx.app(devnet, { INDEXER_PAGE_SIZE: '50' });
    expect(await drain(third)).toBeLessThanOrEqual(2);
    expect(digest(await snapshot(third, devnet.contractId))).toEqual(before);
    expect((await chainEventRows(third)).length).toBe(served.length);
  });

  it('two instances ticking concurrently on one database never double-apply', async () => {
    const devnet = await fx.devnet();
    await playCatalogue(devnet);
    busyLedgers(devnet, 6, 5);
    const one = await fx.app(devnet, { INDEXER_PAGE_SIZE: '4' });
    const two = await fx.app(devnet, { INDEXER_PAGE_SIZE: '5' });

    await Promise.all([drain(one), drain(two)]);
    await expectExactlyOnce(one, devnet);

    // again while the chain moves: both race over the same new pages
    for (let round = 0; round < 3; round++) {
      busyLedgers(devnet, 2, 2);
      await Promise.all([drain(one), drain(two), drain(one)]);
    }
    const served = await expectExactlyOnce(two, devnet);
    expect(digest(await snapshot(one, devnet.contractId))).toEqual(digest(await snapshot(two, devnet.contractId)));
    expect(await one.container.store.repos.chain.countEventsByStatus()).toMatchObject({
      applied: served.filter((e) => expectedStatus(e) === 'applied').length,
      parked: 0,
    });
  });
});
