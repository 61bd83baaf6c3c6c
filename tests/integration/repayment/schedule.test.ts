import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, createTestApp, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';

describe.each(STORAGE_KINDS)('repayment schedules on %s', (kind) => {
  let t: TestApp;
  let now = new Date('2026-02-01T00:00:00Z');
  const DAY = 86_400_000;
  const days = (n: number) => (now = new Date(now.getTime() + n * DAY));
  beforeAll(async () => {
    t = await createTestApp(kind, { WALLET_AUTH: 'optional' }, { clock: () => now });
  });
  afterAll(() => t.close());

  const notices = async (lineId: string) =>
    (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).filter((e) => e.type.startsWith('repayment.')).map((e) => e.type);

  it('shows the minimum due and the standing, and sends due-soon and late notices once each', async () => {
    const opened = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '5000', interestRateBps: 0 });
    const id = opened.body.data.id as string;
    await request(t.app).post(`/api/credit/lines/${id}/draw`).set(client).send({ amount: '1000' });

    days(31); // the first statement closed a day ago: 30 USDC due in 14 days
    const schedule = await request(t.app).get(`/api/credit/lines/${id}/schedule`).set(client);
    expect(schedule.status).toBe(200);
    expect(schedule.body.data).toMatchObject({ standing: 'current', daysPastDue: 0, nextDue: { balance: '1000.0000000', minimumDue: '30.0000000', paid: '0.0000000', state: 'open' } });
    expect(await t.container.services.schedules.notify()).toBe(0);

    days(12); // due in two days
    expect(await t.container.services.schedules.notify()).toBe(1);
    expect(await t.container.services.schedules.notify()).toBe(0);
    days(5); // three days late
    expect(await t.container.services.schedules.notify()).toBe(1);
    expect((await request(t.app).get(`/api/credit/lines/${id}/schedule`).set(client)).body.data).toMatchObject({ standing: 'late', daysPastDue: 3 });
    expect(await notices(id)).toEqual(['repayment.due_soon', 'repayment.late']);

    await request(t.app).post(`/api/credit/lines/${id}/repay`).set(client).send({ amount: '30' });
    const paid = await request(t.app).get(`/api/credit/lines/${id}/schedule`).set(client);
    expect(paid.body.data).toMatchObject({ standing: 'current', nextDue: null });
    expect(paid.body.data.statements[0]).toMatchObject({ state: 'paid_late', daysPastDue: 3, paid: '30.0000000' });
    expect(await t.container.services.schedules.notify()).toBe(0);
    expect((await request(t.app).get('/api/credit/lines/00000000-0000-4000-8000-000000000000/schedule').set(client)).status).toBe(404);
  });
});
