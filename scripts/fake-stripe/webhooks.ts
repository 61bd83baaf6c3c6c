import Stripe from 'stripe';

/**
 * Webhook deliveries as Stripe makes them: the event as pretty-printed JSON (two-space indent — handlers
 * must verify the raw bytes, not a re-serialisation) and a `Stripe-Signature: t=<unix>,v1=<hex>` header,
 * where v1 = HMAC-SHA256(secret, `${t}.${payload}`). The header comes from the SDK's own
 * `generateTestHeaderString`, so it is exactly what `stripe.webhooks.constructEvent` verifies.
 */

export interface SignedDelivery {
  payload: string;
  headers: { 'Stripe-Signature': string; 'Content-Type': string };
}

export interface SignOptions {
  /** Unix seconds; default the fake's clock. Pass an old one to forge a stale delivery. */
  timestamp?: number;
  /** Default the fake's webhook secret; pass another to forge a delivery the receiver must reject. */
  secret?: string;
}

export function signDelivery(event: unknown, secret: string, timestamp: number): SignedDelivery {
  const payload = JSON.stringify(event, null, 2);
  // generateTestHeaderString treats a 0 timestamp as "now"; the fake never needs the epoch itself.
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
  return { payload, headers: { 'Stripe-Signature': header, 'Content-Type': 'application/json; charset=utf-8' } };
}

export interface DeliveryResult {
  status: number;
  /** 2xx, which is what Stripe counts as delivered. */
  ok: boolean;
  body: string;
  delivery: SignedDelivery;
}

/** POSTs a signed delivery the way Stripe's webhook sender does, and reports the receiver's answer. */
export async function postDelivery(url: string, delivery: SignedDelivery, timeoutMs = 10_000): Promise<DeliveryResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      ...delivery.headers,
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'Cache-Control': 'no-cache',
      Accept: '*/*; q=0.5, application/xml',
    },
    body: delivery.payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, ok: res.ok, body: await res.text(), delivery };
}
