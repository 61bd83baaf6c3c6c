import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../../scripts/fake-stripe/index.js';
import { sdk } from './helpers.js';

/** Signed deliveries checked by the SDK's own verifier, `stripe.webhooks.constructEvent`. */
describe('fake-stripe webhook deliveries', () => {
  let fake: FakeStripe;
  let stripe: Stripe;
  let event: Stripe.PaymentIntentSucceededEvent;
  beforeAll(async () => {
    fake = await startFakeStripe(); // wall clock: constructEvent measures age against Date.now()
    stripe = sdk(fake);
    const intent = await stripe.paymentIntents.create({ amount: 4_200, currency: 'usd', metadata: { line_id: 'line_w' } });
    event = fake.control.succeed(intent.id);
  });
  afterAll(() => fake.stop());

  const verify = (payload: string, header: string, secret = fake.webhookSecret) => stripe.webhooks.constructEvent(payload, header, secret, 300);

  it('signs with scheme v1 = HMAC-SHA256 of `${t}.${payload}`, pretty-printed like Stripe', () => {
    const { payload, headers } = fake.control.signedDelivery(event, { timestamp: 1_800_000_000 });
    expect(headers['Content-Type']).toBe('application/json; charset=utf-8');
    const expected = createHmac('sha256', fake.webhookSecret).update(`1800000000.${payload}`).digest('hex');
    expect(headers['Stripe-Signature']).toBe(`t=1800000000,v1=${expected}`);
    expect(payload).toBe(JSON.stringify(event, null, 2));
  });

  it('is accepted by constructEvent', () => {
    const { payload, headers } = fake.control.signedDelivery(event);
    const parsed = verify(payload, headers['Stripe-Signature']);
    expect(parsed).toEqual(event);
    expect(parsed.type).toBe('payment_intent.succeeded');
  });

  it('rejects a tampered payload, a wrong secret and a 10-minute-old timestamp', () => {
    const { payload, headers } = fake.control.signedDelivery(event);
    const tampered = payload.replace('"amount_received": 4200', '"amount_received": 42000');
    expect(tampered).not.toBe(payload);
    expect(() => verify(tampered, headers['Stripe-Signature'])).toThrow(Stripe.errors.StripeSignatureVerificationError);

    const forged = fake.control.signedDelivery(event, { secret: 'whsec_someone_else' });
    expect(() => verify(forged.payload, forged.headers['Stripe-Signature'])).toThrow(/No signatures found matching/);

    const stale = fake.control.signedDelivery(event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(() => verify(stale.payload, stale.headers['Stripe-Signature'])).toThrow(/Timestamp outside the tolerance zone/);
  });

  it('fails verification when the receiver re-serialises the body instead of using the raw bytes', () => {
    const { payload, headers } = fake.control.signedDelivery(event);
    const reserialised = JSON.stringify(JSON.parse(payload));
    expect(() => verify(reserialised, headers['Stripe-Signature'])).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  describe('deliver()', () => {
    let receiver: Server;
    let url: string;
    const received: { headers: Record<string, unknown>; type: string }[] = [];
    beforeAll(async () => {
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          try {
            const verified = verify(Buffer.concat(chunks).toString('utf8'), String(req.headers['stripe-signature']));
            received.push({ headers: req.headers, type: verified.type });
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
          } catch (error) {
            res.writeHead(400).end((error as Error).message);
          }
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;
    });
    afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    it('POSTs a delivery the receiver can verify, and reports its answer', async () => {
      const result = await fake.control.deliver(url, event);
      expect(result).toMatchObject({ status: 200, ok: true, body: '{"received":true}' });
      expect(received.at(-1)).toMatchObject({
        type: 'payment_intent.succeeded',
        headers: { 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'content-type': 'application/json; charset=utf-8' },
      });
    });

    it('reports the rejection of a forged delivery', async () => {
      const result = await fake.control.deliver(url, event, { secret: 'whsec_wrong' });
      expect(result.status).toBe(400);
      expect(result.ok).toBe(false);
      expect(result.body).toMatch(/No signatures found/);
    });
  });
});
