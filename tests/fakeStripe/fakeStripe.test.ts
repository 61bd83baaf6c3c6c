import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeStripe } from '../../scripts/fake-stripe/index.js';
import { fakeAt, rejection, sdk, T0 } from './helpers.js';

/** The fake through the real `stripe` SDK: intents, idempotency, lists, control actions, auth and errors. */
describe('fake-stripe with the real SDK', () => {
  let fake: FakeStripe;
  let clock: Awaited<ReturnType<typeof fakeAt>>['clock'];
  let stripe: Stripe;
  beforeEach(async () => {
    ({ fake, clock } = await fakeAt());
    stripe = sdk(fake);
  });
  afterEach(() => fake.stop());

  const createIntent = (amount = 5_000, metadata: Record<string, string> = { line_id: 'line_1' }, key?: string) =>
    stripe.paymentIntents.create(
      { amount, currency: 'usd', metadata, description: 'repayment', automatic_payment_methods: { enabled: true } },
      key ? { idempotencyKey: key } : undefined,
    );

  describe('payment intents', () => {
    it('creates an intent in Stripe shape and retrieves it', async () => {
      const intent = await createIntent();
      expect(intent).toMatchObject({
        object: 'payment_intent',
        amount: 5_000,
        amount_received: 0,
        currency: 'usd',
        status: 'requires_payment_method',
        metadata: { line_id: 'line_1' },
        description: 'repayment',
        created: T0,
        livemode: false,
        latest_charge: null,
        last_payment_error: null,
        automatic_payment_methods: { enabled: true },
        payment_method_types: ['card'],
      });
      expect(intent.id).toMatch(/^pi_[0-9A-Za-z]{24}$/);
      expect(intent.client_secret).toMatch(new RegExp(`^${intent.id}_secret_[0-9A-Za-z]+$`));
      expect(intent.lastResponse.requestId).toMatch(/^req_/);
      expect(intent.lastResponse.apiVersion).toBe(Stripe.API_VERSION);

      const fetched = await stripe.paymentIntents.retrieve(intent.id);
      expect({ ...fetched }).toEqual({ ...intent });
      expect(fake.control.events('payment_intent.created')).toHaveLength(1);
    });

    it('chooses payment methods the way the pinned API version (endive) does', async () => {
      const allowed = await stripe.paymentIntents.create({ amount: 100, currency: 'EUR', allowed_payment_method_types: ['card', 'sepa_debit'] });
      expect(allowed).toMatchObject({
        currency: 'eur',
        allowed_payment_method_types: ['card', 'sepa_debit'],
        payment_method_types: ['card', 'sepa_debit'],
        automatic_payment_methods: null,
      });
      const excluded = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', excluded_payment_method_types: ['link'] });
      expect(excluded).toMatchObject({ excluded_payment_method_types: ['link'], automatic_payment_methods: { enabled: true } });

      // Removed from the create params on endive: the SDK's types no longer have it, and the API answers 400.
      const legacy = { amount: 100, currency: 'usd', payment_method_types: ['card'] } as Stripe.PaymentIntentCreateParams;
      const gone = await rejection(stripe.paymentIntents.create(legacy));
      expect(gone).toMatchObject({ statusCode: 400, code: 'payment_method_types_no_longer_supported', param: 'payment_method_types' });

      // A client pinned to an older version may still send it.
      const clover = sdk(fake, { apiVersion: '2025-09-30.clover' as Stripe.LatestApiVersion });
      const old = await clover.paymentIntents.create(legacy);
      expect(old).toMatchObject({ payment_method_types: ['card'], automatic_payment_methods: null });
      expect(old.lastResponse.apiVersion).toBe('2025-09-30.clover');
    });

    it('replays the first response for a repeated idempotency key', async () => {
      const first = await createIntent(5_000, { line_id: 'line_1' }, 'repay-1');
      const second = await createIntent(5_000, { line_id: 'line_1' }, 'repay-1');
      expect(second.id).toBe(first.id);
      expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(second.lastResponse.headers['original-request']).toBe(first.lastResponse.requestId);
      expect(second.lastResponse.idempotencyKey).toBe('repay-1');
      expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
      expect(fake.state.paymentIntents.size).toBe(1);
    });

    it('rejects an idempotency key reused with other parameters or on another endpoint', async () => {
      await createIntent(5_000, { line_id: 'line_1' }, 'repay-2');
      const other = await rejection(createIntent(6_000, { line_id: 'line_1' }, 'repay-2'));
      expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(other).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
      expect(other.message).toMatch(/same parameters/);

      const elsewhere = await rejection(stripe.refunds.create({ charge: 'ch_x' }, { idempotencyKey: 'repay-2' }));
      expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(elsewhere.message).toContain("'POST /v1/payment_intents' vs 'POST /v1/refunds'");
      expect(fake.state.paymentIntents.size).toBe(1);
    });

    it('answers invalid parameters with Stripe error bodies, and does not save them under the key', async () => {
      const missing = await rejection(stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams, { idempotencyKey: 'k' }));
      expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(missing).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'amount', message: 'Missing required param: amount.' });

      const fixed = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' }, { idempotencyKey: 'k' });
      expect(fixed.amount).toBe(100);

      const unknown = await rejection(stripe.paymentIntents.create({ amount: 100, currency: 'usd', confirm: true }));
      expect(unknown).toMatchObject({ code: 'parameter_unknown', param: 'confirm' });
      const both = await rejection(
        stripe.paymentIntents.create({ amount: 100, currency: 'usd', allowed_payment_method_types: ['card'], automatic_payment_methods: { enabled: true } }),
      );
      expect(both.message).toMatch(/only specify one of these parameters/);
      const zero = await rejection(stripe.paymentIntents.create({ amount: 0, currency: 'usd' }));
      expect(zero).toMatchObject({ param: 'amount', message: 'This value must be greater than or equal to 1.' });
    });

    it('404s unknown intents with resource_missing', async () => {
      const error = await rejection(stripe.paymentIntents.retrieve('pi_nope'));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', message: "No such payment_intent: 'pi_nope'" });
    });

    it('updates metadata with Stripe semantics and cancels', async () => {
      const intent = await createIntent(5_000, { line_id: 'line_1', note: 'x' });
      const updated = await stripe.paymentIntents.update(intent.id, { metadata: { note: '', extra: 'y' } });
      expect(updated.metadata).toEqual({ line_id: 'line_1', extra: 'y' });

      const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' });
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned', canceled_at: T0 });
      const [event] = fake.control.events('payment_intent.canceled');
      expect(event?.request).toEqual({ id: canceled.lastResponse.requestId, idempotency_key: expect.stringMatching(/^stripe-node-retry-/) });
      expect(() => fake.control.succeed(intent.id)).toThrow(/status of canceled/);
    });
  });

  describe('control: succeed and fail', () => {
    it('succeeds an intent: a charge, and a payment_intent.succeeded event', async () => {
      const intent = await createIntent(5_000, { line_id: 'line_9' });
      clock.advance(30);
      const event = fake.control.succeed(intent.id);
      expect(event).toMatchObject({
        object: 'event',
        type: 'payment_intent.succeeded',
        api_version: Stripe.API_VERSION,
        created: T0 + 30,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object: { id: intent.id, status: 'succeeded', amount_received: 5_000 } },
      });
      expect(event.id).toMatch(/^evt_/);

      const chargeId = event.data.object.latest_charge as string;
      const charge = await stripe.charges.retrieve(chargeId);
      expect(charge).toMatchObject({
        object: 'charge',
        amount: 5_000,
        amount_captured: 5_000,
        amount_refunded: 0,
        currency: 'usd',
        payment_intent: intent.id,
        paid: true,
        captured: true,
        status: 'succeeded',
        refunded: false,
        disputed: false,
        metadata: { line_id: 'line_9' },
        created: T0 + 30,
      });
      expect(charge.id).toMatch(/^ch_/);
      expect(charge.balance_transaction).toMatch(/^txn_/);

      const expanded = await stripe.paymentIntents.retrieve(intent.id, { expand: ['latest_charge'] });
      expect((expanded.latest_charge as Stripe.Charge).id).toBe(chargeId);
      expect(fake.control.events().map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
      expect(() => fake.control.succeed(intent.id)).toThrow(/status of succeeded/);
    });

    it('records a short payment with amountReceived', async () => {
      const intent = await createIntent(5_000);
      const event = fake.control.succeed(intent.id, { amountReceived: 4_000 });
      expect(event.data.object).toMatchObject({ amount: 5_000, amount_received: 4_000 });
      expect((await stripe.charges.retrieve(event.data.object.latest_charge as string)).amount).toBe(4_000);
    });

    it('fails an intent with last_payment_error, and it can still succeed later', async () => {
      const intent = await createIntent();
      const failed = fake.control.fail(intent.id, 'Your card has insufficient funds.', { declineCode: 'insufficient_funds' });
      expect(failed).toMatchObject({
        type: 'payment_intent.payment_failed',
        data: {
          object: {
            status: 'requires_payment_method',
            last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
          },
        },
      });
      const failedCharge = await stripe.charges.retrieve(failed.data.object.latest_charge as string);
      expect(failedCharge).toMatchObject({ status: 'failed', paid: false, failure_code: 'card_declined', balance_transaction: null });

      const succeeded = fake.control.succeed(intent.id);
      expect(succeeded.data.object).toMatchObject({ status: 'succeeded', last_payment_error: null });
      // The failed event kept its snapshot.
      expect(failed.data.object.status).toBe('requires_payment_method');
    });
  });

  describe('lists', () => {
    /** Five paid intents one minute apart, T0 … T0+240; returns their charge ids, oldest first. */
    async function fiveCharges(): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.at(T0 + i * 60);
        const intent = await createIntent(1_000 + i, { line_id: `line_${i}` });
        ids.push(fake.control.succeed(intent.id).data.object.latest_charge as string);
      }
      return ids;
    }

    it('pages charges newest first with limit, starting_after and has_more', async () => {
      const ids = await fiveCharges();
      const page1 = await stripe.charges.list({ limit: 2 });
      expect(page1).toMatchObject({ object: 'list', url: '/v1/charges', has_more: true });
      expect(page1.data.map((c) => c.id)).toEqual([ids[4], ids[3]]);
      const page2 = await stripe.charges.list({ limit: 2, starting_after: page1.data[1]!.id });
      expect(page2.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
      expect(page2.has_more).toBe(true);
      const page3 = await stripe.charges.list({ limit: 2, starting_after: page2.data[1]!.id });
      expect(page3.data.map((c) => c.id)).toEqual([ids[0]]);
      expect(page3.has_more).toBe(false);
      expect((await stripe.charges.list({ limit: 5 })).has_more).toBe(false);

      const back = await stripe.charges.list({ limit: 2, ending_before: ids[1]! });
      expect(back.data.map((c) => c.id)).toEqual([ids[3], ids[2]]);
      expect(back.has_more).toBe(true);
    });

    it('filters by created ranges and payment_intent', async () => {
      const ids = await fiveCharges();
      const window = await stripe.charges.list({ created: { gte: T0 + 60, lte: T0 + 180 } });
      expect(window.data.map((c) => c.id)).toEqual([ids[3], ids[2], ids[1]]);
      const strict = await stripe.charges.list({ created: { gt: T0 + 60, lt: T0 + 180 } });
      expect(strict.data.map((c) => c.id)).toEqual([ids[2]]);
      const exact = await stripe.charges.list({ created: T0 + 240 });
      expect(exact.data.map((c) => c.id)).toEqual([ids[4]]);

      const one = await stripe.charges.retrieve(ids[2]!);
      const byIntent = await stripe.charges.list({ payment_intent: one.payment_intent as string });
      expect(byIntent.data.map((c) => c.id)).toEqual([ids[2]]);
    });

    it('auto-paginates with the SDK (autoPagingToArray, for await, ending_before)', async () => {
      const ids = await fiveCharges();
      const all = await stripe.charges.list({ limit: 2 }).autoPagingToArray({ limit: 100 });
      expect(all.map((c) => c.id)).toEqual([...ids].reverse());

      const seen: string[] = [];
      for await (const charge of stripe.charges.list({ limit: 3, created: { gte: T0 + 60 } })) seen.push(charge.id);
      expect(seen).toEqual([ids[4], ids[3], ids[2], ids[1]]);

      // Backwards from the oldest: the SDK walks ending_before pages, yielding oldest first.
      const newer = await stripe.charges.list({ limit: 2, ending_before: ids[0]! }).autoPagingToArray({ limit: 100 });
      expect(newer.map((c) => c.id)).toEqual(ids.slice(1));
    });

    it('rejects bad list parameters like Stripe', async () => {
      expect(await rejection(stripe.charges.list({ limit: 101 }))).toMatchObject({ param: 'limit', statusCode: 400 });
      expect(await rejection(stripe.charges.list({ starting_after: 'ch_missing' }))).toMatchObject({ code: 'resource_missing', param: 'starting_after' });
      expect(await rejection(stripe.charges.list({ bogus: 1 } as Stripe.ChargeListParams))).toMatchObject({ code: 'parameter_unknown', param: 'bogus' });
    });

    it('lists payouts with created and arrival_date filters', async () => {
      const p1 = fake.control.payout(10_000, 'usd', { created: T0 - 86_400, arrivalDate: T0 });
      const p2 = fake.control.payout(20_000, 'usd', { arrivalDate: T0 + 86_400 });
      const p3 = fake.control.payout(30_000, 'USD', { status: 'in_transit' });
      expect(p1).toMatchObject({ object: 'payout', status: 'paid', amount: 10_000, currency: 'usd', arrival_date: T0, automatic: true });
      expect(p1.id).toMatch(/^po_/);

      const all = await stripe.payouts.list();
      expect(all).toMatchObject({ object: 'list', url: '/v1/payouts', has_more: false });
      expect(all.data.map((p) => p.id)).toEqual([p3.id, p2.id, p1.id]);
      const recent = await stripe.payouts.list({ created: { gte: T0 } });
      expect(recent.data.map((p) => p.id)).toEqual([p3.id, p2.id]);
      const arriving = await stripe.payouts.list({ arrival_date: { lte: T0 } });
      expect(arriving.data.map((p) => p.id)).toEqual([p1.id]);
      const paid = await stripe.payouts.list({ status: 'paid' });
      expect(paid.data.map((p) => p.id)).toEqual([p2.id, p1.id]);
      expect((await stripe.payouts.retrieve(p3.id)).status).toBe('in_transit');
      expect(fake.control.events('payout.paid')).toHaveLength(2);
    });

    it('lists and filters events, including type wildcards', async () => {
      const intent = await createIntent();
      fake.control.succeed(intent.id);
      const charges = await stripe.events.list({ type: 'charge.*' });
      expect(charges.data.map((e) => e.type)).toEqual(['charge.succeeded']);
      const some = await stripe.events.list({ types: ['payment_intent.created', 'payment_intent.succeeded'] });
      expect(some.data.map((e) => e.type)).toEqual(['payment_intent.succeeded', 'payment_intent.created']);
      const one = await stripe.events.retrieve(some.data[0]!.id);
      expect(one.data.object).toMatchObject({ id: intent.id, status: 'succeeded' });
    });
  });

  describe('control: refunds, disputes, foreign and tampered charges', () => {
    async function paidCharge(amount = 5_000): Promise<string> {
      const intent = await createIntent(amount);
      return fake.control.succeed(intent.id).data.object.latest_charge as string;
    }

    it('refunds partially then fully with charge.refunded events', async () => {
      const chargeId = await paidCharge();
      const partial = fake.control.refund(chargeId, 2_000);
      expect(partial.refund).toMatchObject({ object: 'refund', amount: 2_000, charge: chargeId, status: 'succeeded', currency: 'usd' });
      expect(partial.refund.id).toMatch(/^re_/);
      expect(partial.event).toMatchObject({
        type: 'charge.refunded',
        data: { object: { id: chargeId, amount_refunded: 2_000, refunded: false }, previous_attributes: { amount_refunded: 0, refunded: false } },
      });

      const rest = fake.control.refund(chargeId);
      expect(rest.refund.amount).toBe(3_000);
      expect(rest.event.data.object).toMatchObject({ amount_refunded: 5_000, refunded: true });
      expect(() => fake.control.refund(chargeId, 1)).toThrow(/already been refunded/);

      const refunds = await stripe.refunds.list({ charge: chargeId });
      expect(refunds.data.map((r) => r.amount)).toEqual([3_000, 2_000]);
      expect((await stripe.charges.retrieve(chargeId)).refunded).toBe(true);
    });

    it('refunds through the API by payment_intent, and refuses more than was paid', async () => {
      const intent = await createIntent(5_000);
      fake.control.succeed(intent.id);
      const tooMuch = await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 6_000 }));
      expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large' });
      const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 1_500, reason: 'requested_by_customer' });
      expect(refund).toMatchObject({ amount: 1_500, payment_intent: intent.id, reason: 'requested_by_customer' });
      const [event] = fake.control.events('charge.refunded');
      expect(event?.request?.id).toBe(refund.lastResponse.requestId);
    });

    it('opens a dispute with charge.dispute.created', async () => {
      const chargeId = await paidCharge();
      const event = fake.control.dispute(chargeId, 4_000);
      expect(event).toMatchObject({
        type: 'charge.dispute.created',
        data: { object: { object: 'dispute', amount: 4_000, charge: chargeId, currency: 'usd', status: 'needs_response', reason: 'fraudulent' } },
      });
      expect(event.data.object.id).toMatch(/^dp_/);
      expect((await stripe.charges.retrieve(chargeId)).disputed).toBe(true);
      expect((await stripe.disputes.retrieve(event.data.object.id)).amount).toBe(4_000);
      expect(() => fake.control.dispute(chargeId)).toThrow(/already disputed/);
    });

    it('injects charges no intent made and tampers with stored ones', async () => {
      const ours = await paidCharge(5_000);
      const foreign = fake.control.injectCharge({ amount: 777, currency: 'USD', created: T0 - 3_600, metadata: { source: 'dashboard' } });
      expect(foreign).toMatchObject({ object: 'charge', amount: 777, currency: 'usd', payment_intent: null, paid: true, status: 'succeeded' });

      fake.control.tamperCharge(ours, { amount: 4_999, currency: 'eur' });
      const list = await stripe.charges.list();
      expect(list.data.map((c) => [c.id, c.amount, c.currency])).toEqual([
        [ours, 4_999, 'eur'],
        [foreign.id, 777, 'usd'],
      ]);
    });
  });

  describe('auth and transport', () => {
    it('rejects a wrong API key with StripeAuthenticationError', async () => {
      const wrong = new Stripe('sk_test_not_the_right_key_at_all', { ...fake.sdkConfig, maxNetworkRetries: 0 });
      const error = await rejection(wrong.paymentIntents.create({ amount: 100, currency: 'usd' }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(error).toMatchObject({ statusCode: 401, rawType: 'invalid_request_error' });
      expect(error.message).toMatch(/^Invalid API Key provided: sk_test_\*+_all$/);
      expect(fake.state.paymentIntents.size).toBe(0);
    });

    it('speaks the raw wire format: form bodies, Basic auth, error JSON', async () => {
      const basic = `Basic ${Buffer.from(`${fake.apiKey}:`).toString('base64')}`;
      const res = await fetch(`${fake.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=250&currency=usd&metadata[line_id]=line_raw&allowed_payment_method_types[]=card',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ amount: 250, metadata: { line_id: 'line_raw' }, allowed_payment_method_types: ['card'] });

      const anonymous = await fetch(`${fake.url}/v1/charges`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="Stripe"');
      expect(await anonymous.json()).toEqual({ error: { type: 'invalid_request_error', message: expect.stringMatching(/^You did not provide an API key/) } });

      const nowhere = await fetch(`${fake.url}/v1/customers`, { headers: { authorization: `Bearer ${fake.apiKey}` } });
      expect(nowhere.status).toBe(404);
      expect(((await nowhere.json()) as any).error.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/customers\)/);

      const json = await fetch(`${fake.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1, currency: 'usd' }),
      });
      expect(json.status).toBe(400);
    });

    it('survives an injected 500 through SDK retries without creating twice', async () => {
      const retrying = sdk(fake, { maxNetworkRetries: 1 });
      fake.control.faults.failNext(1, 500);
      const intent = await retrying.paymentIntents.create({ amount: 100, currency: 'usd' });
      expect(intent.status).toBe('requires_payment_method');
      expect(fake.state.paymentIntents.size).toBe(1);
      expect(fake.control.faults.pending).toBe(0);
    });

    it('lets the SDK time out on latency', async () => {
      fake.control.faults.latencyMs = 500;
      const impatient = sdk(fake, { timeout: 100 });
      const error = await rejection(impatient.charges.list());
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(error.message).toMatch(/timeout/);
    });
  });
});
