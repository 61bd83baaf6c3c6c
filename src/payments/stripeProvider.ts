import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { BadGatewayError, GatewayTimeoutError } from '../domain/errors.js';
import { WebhookSignatureError, type CreatedPayment, type PaymentEvent, type PaymentProvider, type PaymentRequest, type ProviderCharge, type ProviderPayout, type VerifiedDelivery } from './paymentProvider.js';

export interface StripeSettings {
  apiKey: string;
  webhookSecret: string;
  /** Where the API lives (tests point the real SDK at a local fake that speaks Stripe's wire format). */
  apiBase?: URL;
  timeoutMs: number;
}

/** Stripe signs `${timestamp}.${body}`; anything older than this is refused as a possible replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** PaymentIntents through the official SDK; webhooks verified with the SDK over the raw body. */
export class StripePaymentProvider implements PaymentProvider {
  readonly name = 'stripe';
  readonly signatureToleranceSeconds = SIGNATURE_TOLERANCE_SECONDS;
  private readonly stripe: Stripe;

  constructor(private readonly settings: StripeSettings) {
    const base = settings.apiBase;
    this.stripe = new Stripe(settings.apiKey, {
      timeout: settings.timeoutMs,
      maxNetworkRetries: 1,
      ...(base && { host: base.hostname, port: base.port || (base.protocol === 'https:' ? 443 : 80), protocol: base.protocol === 'https:' ? 'https' : 'http' }),
    });
  }

  async createPayment(request: PaymentRequest): Promise<CreatedPayment> {
    if (request.amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('amount too large for the provider');
    const intent = await this.call(() =>
      this.stripe.paymentIntents.create(
        {
          amount: Number(request.amountMinor),
          currency: request.currency,
          description: request.description,
          metadata: request.metadata,
          automatic_payment_methods: { enabled: true },
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    return { providerRef: intent.id, clientSecret: intent.client_secret };
  }

  parseWebhook(rawBody: Buffer, signature: string | undefined, now: Date): VerifiedDelivery {
    if (!signature) throw new WebhookSignatureError('the Stripe-Signature header is missing');
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature, this.settings.webhookSecret, SIGNATURE_TOLERANCE_SECONDS, undefined, now.getTime());
    } catch (error) {
      throw new WebhookSignatureError((error as Error).message);
    }
    // What the verified signature covers is `${t}.${body}` (the SDK reads the last t= of the header, as here), so a
    // replay repeats it however its header is rearranged, and each of Stripe's own deliveries, signed anew, differs.
    const timestamp = signature.split(',').reduce((t, item) => (item.startsWith('t=') ? item.slice(2) : t), '');
    const deliveryId = createHash('sha256').update(`${parseInt(timestamp, 10)}.`).update(rawBody).digest('hex');
    return { event: this.toPaymentEvent(event), deliveryId };
  }

  private toPaymentEvent(event: Stripe.Event): PaymentEvent {
    const base = { eventId: event.id, type: event.type };
    switch (event.type) {
      case 'payment_intent.succeeded': {
        const intent = event.data.object;
        return { ...base, kind: 'succeeded', providerRef: intent.id, amountMinor: BigInt(intent.amount_received), currency: intent.currency };
      }
      case 'payment_intent.payment_failed': {
        const intent = event.data.object;
        return { ...base, kind: 'failed', providerRef: intent.id, reason: intent.last_payment_error?.message ?? 'the payment failed' };
      }
      case 'charge.refunded': {
        const charge = event.data.object;
        const ref = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
        if (!ref) return { ...base, kind: 'ignored' };
        return { ...base, kind: 'reversed', cause: 'refund', providerRef: ref, amountMinor: BigInt(charge.amount_refunded), currency: charge.currency };
      }
      case 'charge.dispute.created': {
        const dispute = event.data.object;
        const ref = typeof dispute.payment_intent === 'string' ? dispute.payment_intent : dispute.payment_intent?.id;
        if (!ref) return { ...base, kind: 'ignored' };
        return { ...base, kind: 'reversed', cause: 'dispute', providerRef: ref, amountMinor: BigInt(dispute.amount), currency: dispute.currency };
      }
      default:
        return { ...base, kind: 'ignored' };
    }
  }

  async listCharges(from: Date, to: Date): Promise<ProviderCharge[]> {
    const charges = await this.call(() => collect(this.stripe.charges.list({ created: { gte: seconds(from), lt: seconds(to) }, limit: 100 })));
    return charges
      .filter((c) => c.status === 'succeeded')
      .map((c) => ({
        chargeId: c.id,
        providerRef: typeof c.payment_intent === 'string' ? c.payment_intent : (c.payment_intent?.id ?? null),
        amountMinor: BigInt(c.amount),
        refundedMinor: BigInt(c.amount_refunded),
        currency: c.currency,
        createdAt: new Date(c.created * 1000),
      }));
  }

  async listPayouts(from: Date, to: Date): Promise<ProviderPayout[]> {
    const payouts = await this.call(() => collect(this.stripe.payouts.list({ created: { gte: seconds(from), lt: seconds(to) }, limit: 100 })));
    return payouts.map((p) => ({ id: p.id, amountMinor: BigInt(p.amount), currency: p.currency, createdAt: new Date(p.created * 1000) }));
  }

  /** The provider failing is a 502/504 for our caller; its message never carries our secrets. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      // stripe-node reports its own deadline as a connection error: "Request aborted due to timeout being reached".
      if (error instanceof Stripe.errors.StripeConnectionError && /timeout|timed out/i.test(error.message)) {
        throw new GatewayTimeoutError('payment_provider_timeout', `The payment provider did not answer within ${this.settings.timeoutMs} ms`);
      }
      if (error instanceof Stripe.errors.StripeError) {
        throw new BadGatewayError('payment_provider_error', `The payment provider refused the request: ${error.type}`, { providerCode: error.code ?? null });
      }
      throw error;
    }
  }
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Every page of a list (the SDK follows `has_more` with `starting_after`). */
async function collect<T>(list: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of list) items.push(item);
  return items;
}
