import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../../scripts/fake-stripe/index.js';
import { sdk } from './helpers.js';

/** The control surface over HTTP (for a backend in another process) and the CLI that serves it. */
describe('fake-stripe control over HTTP', () => {
  let fake: FakeStripe;
  let stripe: Stripe;
  beforeAll(async () => {
    fake = await startFakeStripe();
    stripe = sdk(fake);
  });
  afterAll(() => fake.stop());

  const control = async (action: string, body: unknown = {}, url = fake.url) => {
    const res = await fetch(`${url}/_fake/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('succeeds, refunds and signs by event id', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 900, currency: 'usd' });
    const succeeded = await control('succeed', { intent: intent.id });
    expect(succeeded).toMatchObject({ status: 200, body: { type: 'payment_intent.succeeded', data: { object: { id: intent.id, status: 'succeeded' } } } });

    const refunded = await control('refund', { charge: succeeded.body.data.object.latest_charge, amount: 300 });
    expect(refunded.body).toMatchObject({ refund: { amount: 300 }, event: { type: 'charge.refunded' } });

    const signed = await control('sign', { event_id: succeeded.body.id });
    const event = stripe.webhooks.constructEvent(signed.body.payload, signed.body.headers['Stripe-Signature'], fake.webhookSecret);
    expect(event.id).toBe(succeeded.body.id);
  });

  it('answers errors as JSON with Stripe-like statuses', async () => {
    expect(await control('succeed', { intent: 'pi_missing' })).toMatchObject({ status: 404, body: { error: { code: 'resource_missing' } } });
    expect(await control('payout', { amount: 'lots', currency: 'usd' })).toMatchObject({ status: 400, body: { error: { message: 'amount must be a number' } } });
    expect(await control('payout', { amount: -1, currency: 'usd' })).toMatchObject({ status: 400 });
    expect(await control('teleport')).toMatchObject({ status: 404 });
    expect((await fetch(`${fake.url}/_fake/reset`)).status).toBe(405);
  });

  it('queues faults and resets', async () => {
    expect(await control('faults', { fail_next: { count: 1, status: 503 } })).toMatchObject({ body: { pending: 1 } });
    expect(await stripe.charges.list().catch((e: unknown) => e)).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(await control('reset')).toMatchObject({ status: 200 });
    expect((await stripe.charges.list()).data).toEqual([]);
  });
});

describe('fake-stripe CLI', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('serves the API and the control surface, and stops on SIGTERM', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/fake-stripe/cli.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', FAKE_STRIPE_PORT: '0', FAKE_STRIPE_API_KEY: 'sk_test_cli', FAKE_STRIPE_WEBHOOK_SECRET: 'whsec_cli' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!/Webhook secret:/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const port = Number(/port: (\d+)/.exec(out)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(out).toMatch(/API key:\s+sk_test_cli/);

    const stripe = new Stripe('sk_test_cli', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const res = await fetch(`http://127.0.0.1:${port}/_fake/succeed`, { method: 'POST', body: JSON.stringify({ intent: intent.id }) });
    expect(res.status).toBe(200);
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
