import type Stripe from 'stripe';
import { injectCharge, tamperCharge, type InjectedCharge } from './charges.js';
import { disputeCharge, type DisputeInput } from './disputes.js';
import type { Faults } from './faults.js';
import type { IdempotencyStore } from './idempotency.js';
import { failIntent, succeedIntent, type FailOptions } from './paymentIntents.js';
import { createPayout, type PayoutOptions } from './payouts.js';
import { refundCharge, type RefundResult } from './refunds.js';
import type { FakeStripeState } from './state.js';
import { postDelivery, signDelivery, type DeliveryResult, type SignedDelivery, type SignOptions } from './webhooks.js';

/**
 * The in-process control surface: plays the customer, the bank and Stripe's webhook sender. Every action
 * updates the objects the API serves and appends real `event` objects to the log (`GET /v1/events`);
 * the returned event is the one a webhook endpoint would receive for it. Invalid transitions throw
 * (a StripeApiError with Stripe's message, or a RangeError for bad arguments).
 */
export class FakeStripeControl {
  constructor(
    readonly state: FakeStripeState,
    private readonly webhookSecret: string,
    readonly faults: Faults,
    private readonly idempotency: IdempotencyStore,
  ) {}

  /** The customer pays: `succeeded`, a charge for `amountReceived` (default the full amount); records `charge.succeeded` too. */
  succeed(intentId: string, options: { amountReceived?: number } = {}): Stripe.PaymentIntentSucceededEvent {
    return succeedIntent(this.state, intentId, options);
  }

  /** The payment is declined: a failed charge, `last_payment_error`, back to `requires_payment_method`; records `charge.failed` too. */
  fail(intentId: string, message = 'Your card was declined.', options: FailOptions = {}): Stripe.PaymentIntentPaymentFailedEvent {
    return failIntent(this.state, intentId, message, options);
  }

  /** A refund (default: everything not yet refunded); records `refund.created` and `charge.refunded`. */
  refund(chargeId: string, amount?: number, options: { reason?: Stripe.Refund.Reason } = {}): RefundResult {
    return refundCharge(this.state, chargeId, { amount, reason: options.reason });
  }

  /** The cardholder's bank opens a dispute (default: the full amount, reason `fraudulent`). */
  dispute(chargeId: string, amount?: number, options: Omit<DisputeInput, 'amount'> = {}): Stripe.ChargeDisputeCreatedEvent {
    return disputeCharge(this.state, chargeId, { ...options, amount });
  }

  /** A payout to the bank (default `paid`, arriving two days after `created`); records `payout.created` (+ `payout.paid`). */
  payout(amount: number, currency: string, options: PayoutOptions = {}): Stripe.Payout {
    return createPayout(this.state, amount, currency, options);
  }

  /** A charge no intent of ours made (payment_intent null unless given), for reconciliation tests. */
  injectCharge(input: InjectedCharge): Stripe.Charge {
    return injectCharge(this.state, input);
  }

  /** Silently changes a stored charge (no event): the provider now disagrees with whatever was recorded. */
  tamperCharge(chargeId: string, patch: { amount?: number; currency?: string; metadata?: Record<string, string>; status?: Stripe.Charge.Status }): Stripe.Charge {
    return tamperCharge(this.state, chargeId, patch);
  }

  /** The body and headers Stripe would POST for `event`, signed with the SDK's own test-header helper. */
  signedDelivery(event: unknown, options: SignOptions = {}): SignedDelivery {
    return signDelivery(event, options.secret ?? this.webhookSecret, options.timestamp ?? this.state.now());
  }

  /** POSTs a signed delivery of `event` to `url`; resolves with the receiver's status and body. */
  deliver(url: string, event: unknown, options: SignOptions & { timeoutMs?: number } = {}): Promise<DeliveryResult> {
    return postDelivery(url, this.signedDelivery(event, options), options.timeoutMs);
  }

  /** Recorded events, oldest first, optionally of one type. */
  events(type?: string): Stripe.Event[] {
    const all = this.state.events.all();
    return type === undefined ? all : all.filter((e) => e.type === type);
  }

  /** Forgets every object, event, saved idempotent response and fault. */
  reset(): void {
    this.state.reset();
    this.idempotency.clear();
    this.faults.clear();
  }
}
