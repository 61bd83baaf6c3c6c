import type { Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAmount, parseAmount } from '../../src/domain/money.js';
import { admin, client, closeServer, createTestApp, listenOnLoopback, randomWallet, type TestApp } from '../support/app.js';
import { SQL_STORAGE_KINDS } from '../support/databases.js';

/**
 * Invariants under concurrency, over HTTP against a real SQL storage. PGlite has one connection, so its
 * transactions queue; on PostgreSQL the requests really run in parallel on a pool of connections and
 * only the row lock (SELECT ... FOR UPDATE) and the unique index keep the books straight: that run is
 * the one that matters.
 */

interface LedgerJson {
  id: string;
  type: 'draw' | 'repay' | 'interest' | 'write_off';
  amount: string;
  utilizedAfter: string;
}

const units = (amount: string) => parseAmount(amount);
const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

describe.each(SQL_STORAGE_KINDS)('concurrent requests on %s', (kind) => {
  let t: TestApp;
  let server: Server;

  beforeAll(async () => {
    // No interest in these tests (rate 0): balances must move only by the amounts drawn and repaid.
    // Races on the ledger are the subject here; wallet tokens are proven in walletAuth.test.ts.
    t = await createTestApp(kind, { CREDIT_LIMIT_MAX: '1000000', WALLET_AUTH: 'optional' });
    server = await listenOnLoopback(t);
  });
  afterAll(async () => {
    await closeServer(server);
    await t?.close();
  });

  const openLine = async (creditLimit: string, walletAddress = randomWallet()) => {
    const res = await request(server).post('/api/credit/lines').set(admin).send({ walletAddress, creditLimit, interestRateBps: 0 });
    expect(res.status).toBe(201);
    return res.body.data as { id: string; walletAddress: string };
  };

  const getLine = async (id: string) => {
    const res = await request(server).get(`/api/credit/lines/${id}`).set(client);
    expect(res.status).toBe(200);
    return res.body.data as { utilized: string; availableCredit: string; creditLimit: string };
  };

  /** Every ledger entry of a line, oldest first, following nextCursor through all pages. */
  const ledger = async (id: string): Promise<LedgerJson[]> => {
    const items: LedgerJson[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const res = await request(server)
        .get(`/api/credit/lines/${id}/transactions`)
        .query({ limit: 10, ...(cursor ? { cursor } : {}) })
        .set(client);
      expect(res.status).toBe(200);
      items.push(...(res.body.data.items as LedgerJson[]));
      cursor = res.body.data.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(new Set(items.map((e) => e.id)).size).toBe(items.length);
    return items.reverse();
  };

  const move = (id: string, action: 'draw' | 'repay', amount: string, headers: Record<string, string> = {}) =>
    request(server)
      .post(`/api/credit/lines/${id}/${action}`)
      .set({ ...client, ...headers })
      .send({ amount });

  /** Replays the ledger from zero: each entry moves the balance by exactly its amount, never below 0 or above the limit. */
  const expectConsistentLedger = (entries: LedgerJson[], limit: bigint) => {
    let balance = 0n;
    for (const entry of entries) {
      if (entry.type === 'draw') balance += units(entry.amount);
      else if (entry.type === 'repay') balance -= units(entry.amount);
      else throw new Error(`unexpected ${entry.type} entry in an interest-free test`);
      expect(units(entry.utilizedAfter)).toBe(balance);
      expect(balance).toBeGreaterThanOrEqual(0n);
      expect(balance).toBeLessThanOrEqual(limit);
    }
    return balance;
  };

  it('when 50 draws race for a line, the sum drawn never passes the limit', async () => {
    const line = await openLine('100');
    const responses = await Promise.all(Array.from({ length: 50 }, () => move(line.id, 'draw', '7')));

    for (const res of responses) {
      expect([200, 422]).toContain(res.status);
      if (res.status === 422) {
        expect(res.body.data).toBeNull();
        expect(res.body.error.code).toBe('insufficient_credit');
        expect(res.body.error.details.requested).toBe('7.0000000');
        expect(res.body.error.details.available).toBeDefined();
        // A draw is refused only once fewer than 7 remain: 100 - 14 x 7 = 2.
        expect(res.body.error.details.available).toBe('2.0000000');
      }
    }
    const succeeded = responses.filter((res) => res.status === 200);
    expect(succeeded).toHaveLength(Math.floor(100 / 7));
    const drawn = sum(succeeded.map((res) => units(res.body.data.transaction.amount as string)));
    expect(drawn).toBe(units('98'));
    expect(drawn).toBeLessThanOrEqual(units('100'));

    // Each successful draw saw the previous one: their balances after are 7, 14, ..., 98 with no repeats.
    const after = succeeded.map((res) => units(res.body.data.transaction.utilizedAfter as string)).sort((a, b) => (a < b ? -1 : 1));
    expect(after).toEqual(Array.from({ length: 14 }, (_, i) => units(String(7 * (i + 1)))));

    const final = await getLine(line.id);
    expect(units(final.utilized)).toBe(drawn);
    expect(final.availableCredit).toBe('2.0000000');

    const entries = await ledger(line.id);
    expect(entries.filter((e) => e.type === 'draw')).toHaveLength(succeeded.length);
    expect(entries).toHaveLength(succeeded.length);
    expect(new Set(entries.map((e) => e.id))).toEqual(new Set(succeeded.map((res) => res.body.data.transaction.id as string)));
    expect(expectConsistentLedger(entries, units('100'))).toBe(drawn);
  });

  it('when 30 repayments race on a balance of 50, the balance never goes below zero', async () => {
    const line = await openLine('100');
    const drawn = await move(line.id, 'draw', '50');
    expect(drawn.status).toBe(200);

    const responses = await Promise.all(Array.from({ length: 30 }, () => move(line.id, 'repay', '3')));
    for (const res of responses) {
      expect([200, 422]).toContain(res.status);
      if (res.status === 422) {
        expect(res.body.data).toBeNull();
        expect(res.body.error.code).toBe('over_repayment');
        expect(res.body.error.details.outstanding).toBeDefined();
        // Refused only once less than 3 is owed: 50 - 16 x 3 = 2.
        expect(res.body.error.details.outstanding).toBe('2.0000000');
      }
    }
    const succeeded = responses.filter((res) => res.status === 200);
    expect(succeeded).toHaveLength(Math.floor(50 / 3));
    const repaid = sum(succeeded.map((res) => units(res.body.data.transaction.amount as string)));
    expect(repaid).toBe(units('48'));

    const after = succeeded.map((res) => units(res.body.data.transaction.utilizedAfter as string)).sort((a, b) => (a < b ? -1 : 1));
    expect(after).toEqual(Array.from({ length: 16 }, (_, i) => units(String(2 + 3 * i))));

    const final = await getLine(line.id);
    expect(final.utilized).toBe('2.0000000');
    expect(units(final.utilized)).toBe(units('50') - repaid);

    const entries = await ledger(line.id);
    expect(entries.filter((e) => e.type === 'repay')).toHaveLength(16);
    expect(entries.filter((e) => e.type === 'draw')).toHaveLength(1);
    expect(expectConsistentLedger(entries, units('100'))).toBe(units('2'));
  });

  it('when draws and repayments interleave, the balance always equals the ledger', async () => {
    const line = await openLine('100');
    expect((await move(line.id, 'draw', '30')).status).toBe(200);

    const requests = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? move(line.id, 'draw', '9') : move(line.id, 'repay', '4')));
    const responses = await Promise.all(requests);
    for (const res of responses) {
      expect([200, 422]).toContain(res.status);
      if (res.status === 422) expect(['insufficient_credit', 'over_repayment']).toContain(res.body.error.code);
    }
    const ok = responses.filter((res) => res.status === 200).map((res) => res.body.data.transaction as LedgerJson);
    const expected = units('30') + sum(ok.filter((e) => e.type === 'draw').map((e) => units(e.amount))) - sum(ok.filter((e) => e.type === 'repay').map((e) => units(e.amount)));

    const final = await getLine(line.id);
    expect(units(final.utilized)).toBe(expected);
    expect(units(final.utilized)).toBeLessThanOrEqual(units('100'));

    const entries = await ledger(line.id);
    expect(entries).toHaveLength(ok.length + 1);
    expect(expectConsistentLedger(entries, units('100'))).toBe(expected);
  });

  it('when 20 requests open a line for the same wallet at once, exactly one is created', async () => {
    const walletAddress = randomWallet();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(server).post('/api/credit/lines').set(client).send({ walletAddress, creditLimit: '100' }),
      ),
    );
    const created = responses.filter((res) => res.status === 201);
    expect(created).toHaveLength(1);
    for (const res of responses.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(409);
      expect(res.body.data).toBeNull();
      expect(res.body.error.code).toBe('duplicate_open_line');
    }

    const listed = await request(server).get(`/api/credit/wallet/${walletAddress}/lines`).set(client);
    expect(listed.status).toBe(200);
    expect(listed.body.data.items.map((l: { id: string }) => l.id)).toEqual([created[0]!.body.data.id]);
  });

  it('when 20 draws race with the same Idempotency-Key, money moves once and the rest replay or wait', async () => {
    const line = await openLine('100');
    const key = `race-${line.id}`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => move(line.id, 'draw', '10', { 'Idempotency-Key': key })));

    const ok = responses.filter((res) => res.status === 200);
    for (const res of responses) {
      expect([200, 409]).toContain(res.status);
      if (res.status === 409) {
        expect(res.body.data).toBeNull();
        expect(res.body.error.code).toBe('idempotency_request_in_flight');
      }
    }
    // Exactly one response is the original; every other 200 is a replay of it, marked as such.
    const originals = ok.filter((res) => res.headers['idempotency-replayed'] === undefined);
    expect(originals).toHaveLength(1);
    const original = originals[0]!;
    for (const res of ok) {
      if (res !== original) expect(res.headers['idempotency-replayed']).toBe('true');
      expect(res.body).toEqual(original.body);
    }

    const entries = await ledger(line.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ id: original.body.data.transaction.id, type: 'draw', amount: '10.0000000' });
    expect((await getLine(line.id)).utilized).toBe('10.0000000');

    // Once the original has finished, a retry with the key is a replay, never a second draw.
    const retry = await move(line.id, 'draw', '10', { 'Idempotency-Key': key });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotency-replayed']).toBe('true');
    expect(retry.body).toEqual(original.body);
    expect(await ledger(line.id)).toHaveLength(1);
    expect(formatAmount(units((await getLine(line.id)).utilized))).toBe('10.0000000');
  });
});
