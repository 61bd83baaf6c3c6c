import Stripe from 'stripe';
import { buildEvent, type RequestMeta } from './events.js';

/** The fake's in-memory account: one collection per resource (insertion-ordered) and the event log. */

export class Collection<T extends { id: string; created: number }> {
  private readonly byId = new Map<string, T>();

  add(item: T): T {
    this.byId.set(item.id, item);
    return item;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** In creation order (oldest first); lists sort newest first themselves. */
  all(): T[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
  }
}

export interface RecordOptions {
  request?: RequestMeta;
  previousAttributes?: Record<string, unknown>;
}

export class FakeStripeState {
  readonly paymentIntents = new Collection<Stripe.PaymentIntent>();
  readonly charges = new Collection<Stripe.Charge>();
  readonly refunds = new Collection<Stripe.Refund>();
  readonly disputes = new Collection<Stripe.Dispute>();
  readonly payouts = new Collection<Stripe.Payout>();
  readonly events = new Collection<Stripe.Event>();

  constructor(
    /** Milliseconds since the epoch, like Date.now. */
    readonly clock: () => number = Date.now,
    /** The `api_version` stamped on events (Stripe uses the account's default version). */
    readonly apiVersion: string = Stripe.API_VERSION,
  ) {}

  /** Unix seconds, the unit of every `created` on the API. */
  now(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Builds an event for `object` as it is now and appends it to the event log. */
  record<E extends Stripe.Event>(type: E['type'], object: E['data']['object'], options: RecordOptions = {}): E {
    const event = buildEvent<E>(type, object, { created: this.now(), apiVersion: this.apiVersion, ...options });
    this.events.add(event);
    return event;
  }

  reset(): void {
    for (const c of [this.paymentIntents, this.charges, this.refunds, this.disputes, this.payouts, this.events]) c.clear();
  }
}
