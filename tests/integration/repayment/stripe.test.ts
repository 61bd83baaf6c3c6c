import { Keypair } from '@stellar/stellar-sdk';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe } from '../../../scripts/fake-stripe/index.js';
import { admin, client, createTestApp, type TestApp } from '../../support/app.js';
import { STORAGE_KINDS } from '../../support/databases.js';

type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;

/** Card repayments end to end: the real `stripe` SDK against a local fake that speaks Stripe's wire format. */
describe.each(STORAGE_KINDS)('fiat repayments through the payment provider on %s', (kind) => {
  let fake: FakeStripe;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeStripe();
    t = await createTestApp(kind, {
      WALLET_AUTH: 'optional',
      PAYMENT_PROVIDER_API_KEY: fake.apiKey,
      PAYMENT_WEBHOOK_SECRET: fake.webhookSecret,
      PAYMENT_PROVIDER_API_BASE: fake.url,
      PAYMENT_FX_RATES: 'usd=1,eur=1.08',
    });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  const lineOwing = async (debt: string) => {
    const opened = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '5000', interestRateBps: 0 });
    const id = opened.body.data.id as string;
    if (debt !== '0') expect((await request(t.app).post(`/api/credit/lines/${id}/draw`).set(client).send({ amount: debt })).status).toBe(200);
    return id;
  };
  const initiate = async (lineId: string, amount: string, currency = 'usd', headers: Record<string, string> = {}) => {
    const res = await request(t.app).post('/api/repayment/initiate').set({ ...client, ...headers }).send({ lineId, amount, currency });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.data as { repayment: { id: string; providerRef: string; status: string }; instructions: { clientSecret: string } };
  };
  type Delivery = ReturnType<FakeStripe['control']['signedDelivery']>;
  const deliver = (delivery: Delivery) => request(t.app).post('/api/repayment/webhook').set(delivery.headers).send(delivery.payload);
  const utilized = async (lineId: string) => (await request(t.app).get(`/api/credit/lines/${lineId}`).set(client)).body.data.utilized as string;
  const repayment = async (id: string) => (await request(t.app).get(`/api/repayment/${id}`).set(client)).body.data;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('initiates a PaymentIntent, and its succeeded webhook repays the line (interest first) once, however often it is delivered', async () => {
    const lineId = await lineOwing('500');
    const first = await initiate(lineId, '100.00', 'usd', { 'Idempotency-Key': `repay-${lineId}` });
    expect(first.repayment).toMatchObject({ status: 'pending', provider: 'stripe', paymentAmount: '100.00', amount: '100.0000000' });
    expect(first.instructions.clientSecret).toMatch(/^pi_.+_secret_/);
    const replay = await request(t.app).post('/api/repayment/initiate').set({ ...client, 'Idempotency-Key': `repay-${lineId}` }).send({ lineId, amount: '100.00', currency: 'usd' });
    expect(replay.body.data.repayment.id).toBe(first.repayment.id);
    expect(fake.state.paymentIntents.size).toBeGreaterThan(0);

    // Stripe signs each delivery of an event anew (its own timestamp): five deliveries of one event, at once.
    const event = fake.control.succeed(first.repayment.providerRef);
    const deliveries = Array.from({ length: 5 }, (_, i) => fake.control.signedDelivery(event, { timestamp: nowSeconds() - i }));
    const answers = await Promise.all(deliveries.map(deliver));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => a.body.data.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await utilized(lineId)).toBe('400.0000000');
    expect(await repayment(first.repayment.id)).toMatchObject({ status: 'succeeded', appliedAmount: '100.0000000', creditBalance: '0.0000000' });
    const repays = (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).filter((e) => e.type === 'credit_line.repaid');
    expect(repays).toHaveLength(1);
    expect(repays[0]!.payload).toMatchObject({ source: 'stripe', repaymentId: first.repayment.id });
  });

  it('rejects a forged signature, a 10-minute-old timestamp and a tampered body with 400, and counts them', async () => {
    const lineId = await lineOwing('50');
    const { repayment: r } = await initiate(lineId, '10.00');
    const event = fake.control.succeed(r.providerRef);
    const forged = fake.control.signedDelivery(event, { secret: 'whsec_not_the_right_secret_at_all_0000000000' });
    const stale = fake.control.signedDelivery(event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    const good = fake.control.signedDelivery(event);
    const tampered = { ...good, payload: good.payload.replace('"amount_received": 1000', '"amount_received": 100000') };
    expect(tampered.payload).not.toBe(good.payload);
    for (const [name, bad] of Object.entries({ forged, stale, tampered })) {
      const res = await deliver(bad);
      expect(res.status, name).toBe(400);
      expect(res.body.error.details[0]).toMatchObject({ field: 'Stripe-Signature', rule: 'valid_signature' });
    }
    const unsigned = await request(t.app).post('/api/repayment/webhook').set('content-type', 'application/json').send(good.payload);
    expect(unsigned.status).toBe(400);
    expect(await utilized(lineId)).toBe('50.0000000');
    const metrics = await request(t.app).get('/metrics');
    expect(metrics.text).toMatch(/repayment_webhooks_total\{outcome="rejected_signature"\} [4-9]/);
    expect((await deliver(good)).body.data.outcome).toBe('applied');

    // The same signed request again, as it was or with its header rearranged, is a replay: 400, counted, nothing moves.
    const parts = good.headers['Stripe-Signature'].split(',');
    const rearranged = { ...good, headers: { ...good.headers, 'Stripe-Signature': [...parts, 'v1=0000'].reverse().join(',') } };
    const replays = await Promise.all([deliver(good), deliver(good), deliver(rearranged)]);
    expect(replays.map((r) => r.status)).toEqual([400, 400, 400]);
    for (const replay of replays) expect(replay.body.error.details[0]).toMatchObject({ field: 'Stripe-Signature', rule: 'not_replayed' });
    expect(await utilized(lineId)).toBe('40.0000000');
    expect((await request(t.app).get('/metrics')).text).toMatch(/repayment_webhooks_total\{outcome="rejected_replay"\} [3-9]/);
  });

  it('marks a failed payment failed with an alert event, and a refund puts the money back on the line', async () => {
    const lineId = await lineOwing('300');
    const failing = await initiate(lineId, '50.00');
    const failed = await deliver(fake.control.signedDelivery(fake.control.fail(failing.repayment.providerRef, 'Your card was declined.')));
    expect(failed.body.data.outcome).toBe('failed');
    expect(await repayment(failing.repayment.id)).toMatchObject({ status: 'failed', failureReason: 'Your card was declined.' });
    const alerts = (await t.container.store.repos.events.listByAggregate('repayment', failing.repayment.id)).map((e) => e.type);
    expect(alerts).toEqual(['repayment.failed']);

    const paid = await initiate(lineId, '200.00');
    await deliver(fake.control.signedDelivery(fake.control.succeed(paid.repayment.providerRef)));
    expect(await utilized(lineId)).toBe('100.0000000');
    const charge = [...fake.state.charges.all()].find((c) => c.payment_intent === paid.repayment.providerRef)!;
    const { event } = fake.control.refund(charge.id, 3_000);
    expect((await deliver(fake.control.signedDelivery(event))).body.data.outcome).toBe('reversed');
    expect(await utilized(lineId)).toBe('130.0000000');
    const ledger = (await request(t.app).get(`/api/credit/lines/${lineId}/transactions`).set(client)).body.data.items;
    expect(ledger[0]).toMatchObject({ type: 'repay_reversal', amount: '30.0000000' });
    expect(await repayment(paid.repayment.id)).toMatchObject({ status: 'succeeded', reversedAmount: '30.0000000' });
  });

  it('applies a payment that succeeds after a declined attempt on the same PaymentIntent, once; a late decline notice changes nothing', async () => {
    const lineId = await lineOwing('300');
    const started = await initiate(lineId, '120.00');
    const ref = started.repayment.providerRef;
    const declinedEvent = fake.control.fail(ref, 'Your card was declined.');
    expect((await deliver(fake.control.signedDelivery(declinedEvent, { timestamp: nowSeconds() - 2 }))).body.data.outcome).toBe('failed');
    expect(await repayment(started.repayment.id)).toMatchObject({ status: 'failed' });

    // The customer retries with another card: Stripe moves the same intent on to succeeded.
    const retried = fake.control.succeed(ref);
    const answers = await Promise.all([
      deliver(fake.control.signedDelivery(retried)),
      deliver(fake.control.signedDelivery(retried, { timestamp: nowSeconds() - 1 })),
      deliver(fake.control.signedDelivery(declinedEvent)), // Stripe delivering the decline again, late
    ]);
    expect(answers.map((a) => a.body.data.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await utilized(lineId)).toBe('180.0000000');
    expect(await repayment(started.repayment.id)).toMatchObject({ status: 'succeeded', appliedAmount: '120.0000000', failureReason: null });
    const events = (await t.container.store.repos.events.listByAggregate('repayment', started.repayment.id)).map((e) => e.type);
    expect(events).toEqual(['repayment.failed']);
    const repays = (await t.container.store.repos.events.listByAggregate('credit_line', lineId)).filter((e) => e.type === 'credit_line.repaid');
    expect(repays).toHaveLength(1);
  });

  it('holds an over-payment as credit balance, converts other currencies at the recorded rate, and parks a payment for a closed line', async () => {
    const lineId = await lineOwing('40');
    const over = await initiate(lineId, '100.00');
    await deliver(fake.control.signedDelivery(fake.control.succeed(over.repayment.providerRef)));
    expect(await utilized(lineId)).toBe('0.0000000');
    expect(await repayment(over.repayment.id)).toMatchObject({ status: 'succeeded', appliedAmount: '40.0000000', creditBalance: '60.0000000' });

    const euroLine = await lineOwing('500');
    const euros = await initiate(euroLine, '100.00', 'eur');
    expect(euros.repayment).toMatchObject({ currency: 'eur', fxRate: '1.08000000000000', amount: '108.0000000' });
    await deliver(fake.control.signedDelivery(fake.control.succeed(euros.repayment.providerRef)));
    expect(await utilized(euroLine)).toBe('392.0000000');

    const closing = await lineOwing('0');
    const late = await initiate(closing, '25.00');
    expect((await request(t.app).post(`/api/credit/lines/${closing}/close`).set(admin)).status).toBe(200);
    const parked = await deliver(fake.control.signedDelivery(fake.control.succeed(late.repayment.providerRef)));
    expect(parked.body.data.outcome).toBe('parked');
    expect(await repayment(late.repayment.id)).toMatchObject({ status: 'parked', parkedReason: 'the line is closed' });

    const unknown = await request(t.app).post('/api/repayment/initiate').set(client).send({ lineId: euroLine, amount: '1.00', currency: 'xyz' });
    expect(unknown.status).toBe(400);
    const listed = await request(t.app).get(`/api/credit/lines/${euroLine}/repayments`).set(client);
    expect(listed.body.data.items.map((r: { id: string }) => r.id)).toEqual([euros.repayment.id]);
  });

  it('settlement reconciliation finds an injected charge, a tampered amount, and nothing else', async () => {
    const lineId = await lineOwing('100');
    const ok = await initiate(lineId, '20.00');
    await deliver(fake.control.signedDelivery(fake.control.succeed(ok.repayment.providerRef)));
    const tampered = await initiate(lineId, '30.00');
    await deliver(fake.control.signedDelivery(fake.control.succeed(tampered.repayment.providerRef)));
    const tamperedCharge = [...fake.state.charges.all()].find((c) => c.payment_intent === tampered.repayment.providerRef)!;
    fake.control.tamperCharge(tamperedCharge.id, { amount: 2_999 });
    const stray = fake.control.injectCharge({ amount: 777, currency: 'usd' });

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const run = await request(t.app).post('/api/repayment/reconciliation/run').set(admin).send({ from, to });
    expect(run.status).toBe(201);
    expect(run.body.data.status).toBe('mismatch_found');
    const kinds = run.body.data.findings.map((f: { kind: string; providerRef: string | null }) => [f.kind, f.providerRef]);
    expect(kinds).toContainEqual(['amount_mismatch', tampered.repayment.providerRef]);
    expect(kinds).toContainEqual(['missing_in_ledger', stray.payment_intent ?? stray.id]);
    expect(kinds.some(([, ref]: [string, string]) => ref === ok.repayment.providerRef)).toBe(false);
    const listed = await request(t.app).get('/api/repayment/reconciliation').set(admin);
    expect(listed.body.data.items[0].id).toBe(run.body.data.id);
    const mismatchEvents = (await t.container.store.repos.events.listByAggregate('settlement_run', run.body.data.id)).map((e) => e.type);
    expect(mismatchEvents).toEqual(['repayment.reconciliation_mismatch']);
  });
});

describe('a payment provider that does not answer in time', () => {
  it('answers 504 payment_provider_timeout and records nothing; the same Idempotency-Key later gets the one payment', async () => {
    const fake = await startFakeStripe();
    const t = await createTestApp('memory', {
      WALLET_AUTH: 'optional',
      PAYMENT_PROVIDER_API_KEY: fake.apiKey,
      PAYMENT_WEBHOOK_SECRET: fake.webhookSecret,
      PAYMENT_PROVIDER_API_BASE: fake.url,
      PAYMENT_PROVIDER_TIMEOUT_MS: '150',
    });
    try {
      const opened = await request(t.app).post('/api/credit/lines').set(admin).send({ walletAddress: Keypair.random().publicKey(), creditLimit: '500', interestRateBps: 0 });
      const lineId = opened.body.data.id as string;
      expect((await request(t.app).post(`/api/credit/lines/${lineId}/draw`).set(client).send({ amount: '100' })).status).toBe(200);
      const initiate = () => request(t.app).post('/api/repayment/initiate').set({ ...client, 'Idempotency-Key': `slow-${lineId}` }).send({ lineId, amount: '20.00', currency: 'usd' });

      fake.control.faults.latencyMs = 600;
      const slow = await initiate();
      expect(slow.status).toBe(504);
      expect(slow.body.error).toMatchObject({ code: 'payment_provider_timeout', details: null });
      expect((await request(t.app).get(`/api/credit/lines/${lineId}/repayments`).set(client)).body.data.items).toEqual([]);

      // The provider may have created the payment after all: the retry, same key, is answered with that one payment.
      fake.control.faults.latencyMs = 0;
      const retried = await initiate();
      expect(retried.status).toBe(201);
      expect(fake.state.paymentIntents.size).toBe(1);
      expect(retried.body.data.repayment.providerRef).toBe(fake.state.paymentIntents.all()[0]!.id);
    } finally {
      await t.close();
      await fake.stop();
    }
  });
});
