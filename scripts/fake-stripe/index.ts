import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRoutes } from './api/lists.js';
import { paymentIntentRoutes } from './api/paymentIntents.js';
import { refundRoutes } from './api/refunds.js';
import { FakeStripeControl } from './control.js';
import { CONTROL_PREFIX, serveControl } from './controlHttp.js';
import { Faults } from './faults.js';
import { IdempotencyStore } from './idempotency.js';
import { randomToken } from './ids.js';
import { createApiHandler } from './server.js';
import { FakeStripeState } from './state.js';

/**
 * A loopback fake of Stripe's v1 API for tests and benchmarks: form-encoded requests, pretty JSON responses,
 * Stripe's error bodies, idempotency keys, cursor-paginated lists and signed webhook deliveries — close enough
 * that the real `stripe` SDK runs against it unchanged:
 *
 *   const fake = await startFakeStripe();
 *   const stripe = new Stripe(fake.apiKey, fake.sdkConfig);
 */

export interface FakeStripeOptions {
  /** 0 (default) picks a free port on 127.0.0.1. */
  port?: number;
  /** The one secret key the API accepts; default a random `sk_test_…`. */
  apiKey?: string;
  /** The signing secret of the webhook endpoint; default a random `whsec_…`. */
  webhookSecret?: string;
  /** Milliseconds since the epoch, like Date.now (the default); every `created` is `floor(clock() / 1000)`. */
  clock?: () => number;
}

export interface FakeStripe {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  host: string;
  port: number;
  apiKey: string;
  webhookSecret: string;
  /** `new Stripe(fake.apiKey, fake.sdkConfig)`: host, port and protocol of the fake. */
  sdkConfig: { host: string; port: number; protocol: 'http' };
  control: FakeStripeControl;
  /** The objects and event log behind the API (escape hatch). */
  state: FakeStripeState;
  stop(): Promise<void>;
}

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const apiKey = options.apiKey ?? `sk_test_${randomToken(24)}`;
  const webhookSecret = options.webhookSecret ?? `whsec_${randomToken(32)}`;
  const clock = options.clock ?? Date.now;
  const state = new FakeStripeState(clock);
  const faults = new Faults();
  const idempotency = new IdempotencyStore(clock);
  const stopping = new AbortController();
  const handle = createApiHandler({
    state,
    apiKey,
    routes: [...paymentIntentRoutes, ...refundRoutes, ...readRoutes],
    idempotency,
    faults,
    stopping: stopping.signal,
  });

  const control = new FakeStripeControl(state, webhookSecret, faults, idempotency);
  const server = createServer((req, res) => {
    const work = (req.url ?? '').startsWith(CONTROL_PREFIX) ? serveControl(control, req, res) : handle(req, res);
    work.catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host = '127.0.0.1';
  const port = (server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    apiKey,
    webhookSecret,
    sdkConfig: { host, port, protocol: 'http' },
    control,
    state,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stopping.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

export { FakeStripeControl } from './control.js';
export { FakeStripeState } from './state.js';
export { Faults } from './faults.js';
export { StripeApiError } from './errors.js';
export { encodeForm, parseForm } from './form.js';
export type { SignedDelivery, DeliveryResult, SignOptions } from './webhooks.js';
export type { RefundResult } from './refunds.js';
export type { InjectedCharge } from './charges.js';
export type { PayoutOptions } from './payouts.js';
export type { FailOptions } from './paymentIntents.js';
