import Stripe from 'stripe';
import { startFakeStripe, type FakeStripe, type FakeStripeOptions } from '../../scripts/fake-stripe/index.js';

/** Shared setup for the fake-stripe suites: every API observation goes through the real `stripe` SDK. */

/** A fixed start (unix seconds) so `created` filters are deterministic. */
export const T0 = 1_750_000_000;

/** A fake on a movable clock: `clock.at(T0 + 60)` sets the time every following object is created at. */
export async function fakeAt(start = T0, options: FakeStripeOptions = {}) {
  let now = start * 1000;
  const fake = await startFakeStripe({ clock: () => now, ...options });
  const clock = {
    at(seconds: number) {
      now = seconds * 1000;
    },
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
  return { fake, clock };
}

/** The real SDK pointed at the fake; no retries unless asked, so failures surface at once. */
export function sdk(fake: FakeStripe, config: Stripe.StripeConfig = {}): Stripe {
  return new Stripe(fake.apiKey, { ...fake.sdkConfig, maxNetworkRetries: 0, ...config });
}

/** Awaits `promise` expecting a rejection and returns the error (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be rejected');
}
