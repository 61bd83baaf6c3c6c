/**
 * What the backend needs from a payment provider. Amounts are integers in the currency's minor units; the
 * provider's own id for a payment (`providerRef`) is what ties its events back to our repayment.
 */

export interface PaymentRequest {
  amountMinor: bigint;
  currency: string;
  /** Passed to the provider, so a retried initiation creates one payment there too. */
  idempotencyKey: string;
  metadata: Record<string, string>;
  description: string;
}

export interface CreatedPayment {
  providerRef: string;
  /** What the client needs to pay (a Stripe client secret). */
  clientSecret: string | null;
}

/** A provider event, reduced to what moves a repayment. */
export type PaymentEvent =
  | { kind: 'succeeded'; eventId: string; type: string; providerRef: string; amountMinor: bigint; currency: string }
  | { kind: 'failed'; eventId: string; type: string; providerRef: string; reason: string }
  | { kind: 'reversed'; eventId: string; type: string; providerRef: string; cause: 'refund' | 'dispute'; amountMinor: bigint; currency: string }
  | { kind: 'ignored'; eventId: string; type: string };

/** A webhook request whose signature checked out: the event, and what identifies this signed request. */
export interface VerifiedDelivery {
  event: PaymentEvent;
  /** A digest of exactly what was signed: the same for a replayed request, new for each delivery the provider makes. */
  deliveryId: string;
}

export interface ProviderCharge {
  chargeId: string;
  providerRef: string | null;
  amountMinor: bigint;
  refundedMinor: bigint;
  currency: string;
  createdAt: Date;
}

export interface ProviderPayout {
  id: string;
  amountMinor: bigint;
  currency: string;
  createdAt: Date;
}

export class WebhookSignatureError extends Error {
  override name = 'WebhookSignatureError';
}

export interface PaymentProvider {
  readonly name: 'stripe';
  createPayment(request: PaymentRequest): Promise<CreatedPayment>;
  /** How old a signature may be; a signed request is remembered this long so that its replay is refused. */
  readonly signatureToleranceSeconds: number;
  /** Verifies the signature (and its age) over the raw body and reads the event; throws WebhookSignatureError. */
  parseWebhook(rawBody: Buffer, signature: string | undefined, now: Date): VerifiedDelivery;
  /** Succeeded charges created in [from, to). */
  listCharges(from: Date, to: Date): Promise<ProviderCharge[]>;
  /** Payouts created in [from, to). */
  listPayouts(from: Date, to: Date): Promise<ProviderPayout[]>;
}
