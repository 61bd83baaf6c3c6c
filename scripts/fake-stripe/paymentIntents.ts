import type Stripe from 'stripe';
import { buildCharge } from './charges.js';
import { resourceMissing, unexpectedState } from './errors.js';
import type { RequestMeta } from './events.js';
import { newId, randomToken } from './ids.js';
import type { FakeStripeState } from './state.js';

/**
 * PaymentIntents and their life cycle: created `requires_payment_method`; the control surface plays the
 * customer — `succeed` (charge + `succeeded`), `fail` (a declined charge, back to `requires_payment_method`
 * with `last_payment_error`, so it can be retried) — and the API can `cancel`. No confirmation, 3-D Secure
 * or manual capture.
 */

/** How the intent's payment methods were chosen (see api/paymentIntents.ts for the parameters). */
export interface PaymentMethodChoice {
  /** The response's `payment_method_types`: what the customer may pay with. */
  types: string[];
  allowed: string[] | null;
  excluded: string[] | null;
  automatic: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
}

export interface IntentInput {
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  description: string | null;
  paymentMethods: PaymentMethodChoice;
  customer: string | null;
  receiptEmail: string | null;
  statementDescriptor: string | null;
  statementDescriptorSuffix: string | null;
  transferGroup: string | null;
  captureMethod: 'automatic' | 'automatic_async';
}

const OPEN_STATUSES: readonly string[] = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing'];
const CANCELABLE: readonly string[] = [...OPEN_STATUSES, 'requires_capture'];

export function getIntent(state: FakeStripeState, id: string, param = 'intent'): Stripe.PaymentIntent {
  const intent = state.paymentIntents.get(id);
  if (!intent) throw resourceMissing('payment_intent', id, param);
  return intent;
}

export function createIntent(state: FakeStripeState, input: IntentInput, request?: RequestMeta): Stripe.PaymentIntent {
  const id = newId('pi');
  const methods = input.paymentMethods;
  const intent: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: methods.allowed,
    amount: input.amount,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: methods.automatic,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: input.captureMethod,
    client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: 'automatic',
    created: state.now(),
    currency: input.currency,
    customer: input.customer,
    customer_account: null,
    description: input.description,
    excluded_payment_method_types: methods.excluded,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: input.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: methods.automatic?.enabled ? { id: newId('pmc'), parent: null } : null,
    payment_method_options: {},
    payment_method_types: methods.types,
    payment_record: null,
    processing: null,
    receipt_email: input.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: input.statementDescriptor,
    statement_descriptor_suffix: input.statementDescriptorSuffix,
    status: 'requires_payment_method',
    transfer_group: input.transferGroup,
  };
  state.paymentIntents.add(intent);
  state.record<Stripe.PaymentIntentCreatedEvent>('payment_intent.created', intent, { request });
  return intent;
}

export interface IntentPatch {
  amount?: number;
  currency?: string;
  metadata?: Record<string, string>;
  description?: string | null;
  receiptEmail?: string | null;
  statementDescriptor?: string | null;
  statementDescriptorSuffix?: string | null;
  transferGroup?: string | null;
}

export function updateIntent(state: FakeStripeState, intent: Stripe.PaymentIntent, patch: IntentPatch): Stripe.PaymentIntent {
  for (const field of ['amount', 'currency'] as const) {
    if (patch[field] !== undefined && !OPEN_STATUSES.includes(intent.status)) {
      throw unexpectedState(
        'payment_intent_unexpected_state',
        `This PaymentIntent's ${field} could not be updated because it has a status of ${intent.status}. You may only update the ${field} of a PaymentIntent with one of the following statuses: ${OPEN_STATUSES.join(', ')}.`,
      );
    }
  }
  if (patch.amount !== undefined) intent.amount = patch.amount;
  if (patch.currency !== undefined) intent.currency = patch.currency;
  if (patch.metadata !== undefined) intent.metadata = patch.metadata;
  if (patch.description !== undefined) intent.description = patch.description;
  if (patch.receiptEmail !== undefined) intent.receipt_email = patch.receiptEmail;
  if (patch.statementDescriptor !== undefined) intent.statement_descriptor = patch.statementDescriptor;
  if (patch.statementDescriptorSuffix !== undefined) intent.statement_descriptor_suffix = patch.statementDescriptorSuffix;
  if (patch.transferGroup !== undefined) intent.transfer_group = patch.transferGroup;
  // Stripe clears the previous attempt's error on any update.
  intent.last_payment_error = null;
  return intent;
}

function requireOpen(intent: Stripe.PaymentIntent, action: string): void {
  if (!OPEN_STATUSES.includes(intent.status)) {
    throw unexpectedState(
      'payment_intent_unexpected_state',
      `Cannot ${action} PaymentIntent ${intent.id}: it has a status of ${intent.status}; expected one of ${OPEN_STATUSES.join(', ')}.`,
    );
  }
}

export function cancelIntent(
  state: FakeStripeState,
  intent: Stripe.PaymentIntent,
  reason: Stripe.PaymentIntent.CancellationReason | null,
  request?: RequestMeta,
): Stripe.PaymentIntent {
  if (!CANCELABLE.includes(intent.status)) {
    throw unexpectedState(
      'payment_intent_unexpected_state',
      `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
    );
  }
  intent.status = 'canceled';
  intent.canceled_at = state.now();
  intent.cancellation_reason = reason;
  state.record<Stripe.PaymentIntentCanceledEvent>('payment_intent.canceled', intent, { request });
  return intent;
}

/** The customer pays: a succeeded charge for `amountReceived` (default: the full amount), then `payment_intent.succeeded`. */
export function succeedIntent(state: FakeStripeState, id: string, options: { amountReceived?: number } = {}): Stripe.PaymentIntentSucceededEvent {
  const intent = getIntent(state, id);
  requireOpen(intent, 'succeed');
  const amount = options.amountReceived ?? intent.amount;
  if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError('succeed: amountReceived must be a positive integer (minor units)');
  const charge = state.charges.add(
    buildCharge({
      amount,
      currency: intent.currency,
      created: state.now(),
      paymentIntent: intent.id,
      metadata: intent.metadata,
      description: intent.description,
    }),
  );
  intent.status = 'succeeded';
  intent.amount_received = amount;
  intent.latest_charge = charge.id;
  intent.payment_method = charge.payment_method;
  intent.last_payment_error = null;
  state.record<Stripe.ChargeSucceededEvent>('charge.succeeded', charge);
  return state.record<Stripe.PaymentIntentSucceededEvent>('payment_intent.succeeded', intent);
}

export interface FailOptions {
  /** Default `card_declined`. */
  code?: string;
  /** Default `generic_decline`. */
  declineCode?: string;
}

/** The customer's payment is declined: a failed charge, `last_payment_error`, then `payment_intent.payment_failed`. */
export function failIntent(state: FakeStripeState, id: string, message: string, options: FailOptions = {}): Stripe.PaymentIntentPaymentFailedEvent {
  const intent = getIntent(state, id);
  requireOpen(intent, 'fail');
  const failure = { code: options.code ?? 'card_declined', declineCode: options.declineCode ?? 'generic_decline', message };
  const charge = state.charges.add(
    buildCharge({
      amount: intent.amount,
      currency: intent.currency,
      created: state.now(),
      paymentIntent: intent.id,
      metadata: intent.metadata,
      description: intent.description,
      failure,
    }),
  );
  intent.status = 'requires_payment_method';
  intent.latest_charge = charge.id;
  intent.payment_method = null;
  intent.last_payment_error = {
    charge: charge.id,
    code: failure.code,
    decline_code: failure.declineCode,
    doc_url: `https://stripe.com/docs/error-codes/${failure.code.replaceAll('_', '-')}`,
    message,
    payment_method_type: 'card',
    type: 'card_error',
  };
  state.record<Stripe.ChargeFailedEvent>('charge.failed', charge);
  return state.record<Stripe.PaymentIntentPaymentFailedEvent>('payment_intent.payment_failed', intent);
}
