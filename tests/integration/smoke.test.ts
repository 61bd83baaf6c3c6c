import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_KINDS } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { signIn } from '../support/wallets.js';

describe.each(STORAGE_KINDS)('credit line round trip on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  it('a wallet signs in, opens a line, draws, repays and lists the ledger', async () => {
    const owner = await signIn(t.app);
    const opened = await request(t.app).post('/api/credit/lines').set(owner.headers).send({ walletAddress: owner.wallet, creditLimit: '1000' });
    expect(opened.status).toBe(201);
    const id = opened.body.data.id as string;
    const drawn = await request(t.app).post(`/api/credit/lines/${id}/draw`).set(owner.headers).send({ amount: '125.5' });
    expect(drawn.status).toBe(200);
    expect(drawn.body.data.creditLine.utilized).toBe('125.5000000');
    const repaid = await request(t.app).post(`/api/credit/lines/${id}/repay`).set(owner.headers).send({ amount: '25.5' });
    expect(repaid.body.data.creditLine.availableCredit).toBe('900.0000000');
    const history = await request(t.app).get(`/api/credit/lines/${id}/transactions`).set(owner.headers);
    expect(history.body.data.items.map((e: { type: string }) => e.type)).toEqual(['repay', 'draw']);
  });
});
