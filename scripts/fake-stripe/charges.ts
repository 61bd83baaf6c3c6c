import type Stripe from 'stripe';
import { resourceMissing } from './errors.js';
import { newId, randomToken } from './ids.js';
import type { FakeStripeState } from './state.js';

/** Charge objects: built when an intent succeeds or fails, injected for reconciliation tests, or tampered with. */

export interface ChargeInput {
  amount: number;
  currency: string;
  created: number;
  paymentIntent: string | null;
  metadata?: Record<string, string>;
  description?: string | null;
  /** A failed attempt: `failure_code`/`failure_message` set, `paid: false`, no balance transaction. */
  failure?: { code: string; declineCode: string; message: string };
  paymentMethod?: string;
}

function cardDetails(declined: boolean): Stripe.Charge.PaymentMethodDetails {
  const card: Stripe.Charge.PaymentMethodDetails.Card = {
    amount_authorized: null,
    authorization_code: declined ? null : String(100000 + Math.floor(Math.random() * 900000)),
    brand: 'visa',
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: declined ? null : 'pass' },
    country: 'US',
    electronic_commerce_indicator: null,
    exp_month: 12,
    exp_year: new Date().getUTCFullYear() + 3,
    fingerprint: 'fakeFingerprint0',
    funding: 'credit',
    installments: null,
    last4: declined ? '0002' : '4242',
    mandate: null,
    network: 'visa',
    network_transaction_id: declined ? null : randomToken(15),
    regulated_status: 'unregulated',
    three_d_secure: null,
    transaction_link_id: null,
    wallet: null,
  };
  return { type: 'card', card };
}

function outcome(failure: ChargeInput['failure']): Stripe.Charge.Outcome {
  const base = { advice_code: null, network_advice_code: null, network_decline_code: null };
  return failure
    ? {
        ...base,
        network_status: 'declined_by_network',
        reason: failure.declineCode,
        risk_level: 'normal',
        risk_score: 20,
        seller_message: 'The bank did not return any further details with this decline.',
        type: 'issuer_declined',
      }
    : { ...base, network_status: 'approved_by_network', reason: null, risk_level: 'normal', risk_score: 20, seller_message: 'Payment complete.', type: 'authorized' };
}

export function buildCharge(input: ChargeInput): Stripe.Charge {
  const failed = input.failure !== undefined;
  return {
    id: newId('ch'),
    object: 'charge',
    amount: input.amount,
    amount_captured: failed ? 0 : input.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: failed ? null : newId('txn'),
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: 'FAKE STRIPE',
    captured: !failed,
    created: input.created,
    currency: input.currency,
    customer: null,
    description: input.description ?? null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: input.failure?.code ?? null,
    failure_message: input.failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...(input.metadata ?? {}) },
    on_behalf_of: null,
    outcome: outcome(input.failure),
    paid: !failed,
    payment_intent: input.paymentIntent,
    payment_method: input.paymentMethod ?? newId('pm'),
    payment_method_details: cardDetails(failed),
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: failed ? 'failed' : 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function getCharge(state: FakeStripeState, id: string, param = 'charge'): Stripe.Charge {
  const charge = state.charges.get(id);
  if (!charge) throw resourceMissing('charge', id, param);
  return charge;
}

export interface InjectedCharge {
  amount: number;
  currency: string;
  /** Unix seconds; default now. */
  created?: number;
  metadata?: Record<string, string>;
  description?: string;
  /** An intent id from elsewhere (not one of ours); default null, as for a charge made outside PaymentIntents. */
  paymentIntent?: string | null;
  /** `failed` makes a declined charge. */
  status?: 'succeeded' | 'failed';
}

/** A charge that none of our intents made: it appears in `charges.list` and in a `charge.succeeded`/`charge.failed` event. */
export function injectCharge(state: FakeStripeState, input: InjectedCharge): Stripe.Charge {
  if (!Number.isSafeInteger(input.amount) || input.amount < 1) throw new RangeError('injectCharge: amount must be a positive integer (minor units)');
  const charge = state.charges.add(
    buildCharge({
      amount: input.amount,
      currency: input.currency.toLowerCase(),
      created: input.created ?? state.now(),
      paymentIntent: input.paymentIntent ?? null,
      metadata: input.metadata,
      description: input.description,
      failure: input.status === 'failed' ? { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' } : undefined,
    }),
  );
  if (charge.status === 'failed') state.record<Stripe.ChargeFailedEvent>('charge.failed', charge);
  else state.record<Stripe.ChargeSucceededEvent>('charge.succeeded', charge);
  return charge;
}

/** Silently rewrites a stored charge (no event), so reconciliation sees the provider disagree with our ledger. */
export function tamperCharge(
  state: FakeStripeState,
  id: string,
  patch: { amount?: number; currency?: string; metadata?: Record<string, string>; status?: Stripe.Charge.Status },
): Stripe.Charge {
  const charge = getCharge(state, id);
  if (patch.amount !== undefined) {
    charge.amount = patch.amount;
    if (charge.captured) charge.amount_captured = patch.amount;
  }
  if (patch.currency !== undefined) charge.currency = patch.currency.toLowerCase();
  if (patch.metadata !== undefined) charge.metadata = { ...patch.metadata };
  if (patch.status !== undefined) charge.status = patch.status;
  return charge;
}
