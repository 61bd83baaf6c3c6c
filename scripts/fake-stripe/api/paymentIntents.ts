import type Stripe from 'stripe';
import { expand, readExpand } from '../expand.js';
import { invalidParam, unknownParam } from '../errors.js';
import type { FormObject } from '../form.js';
import { cancelIntent, createIntent, getIntent, updateIntent, type IntentPatch } from '../paymentIntents.js';
import { applyMetadata, currency, integer, requiredInteger, string } from '../params.js';
import { choosePaymentMethods, PAYMENT_METHOD_PARAMS } from './paymentMethods.js';
import { ID, type ApiContext, type Route } from './router.js';

/** POST /v1/payment_intents (create), /v1/payment_intents/:id (update) and /v1/payment_intents/:id/cancel. */

const CREATE_PARAMS = [
  'amount', 'currency', 'metadata', 'description', ...PAYMENT_METHOD_PARAMS, 'expand', 'customer', 'receipt_email',
  'statement_descriptor', 'statement_descriptor_suffix', 'transfer_group', 'capture_method',
];
const UPDATE_PARAMS = [
  'amount', 'currency', 'metadata', 'description', 'expand', 'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix',
  'transfer_group',
];
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
/** Stripe's ceiling for most currencies: 99,999,999 minor units. */
const AMOUNT_BOUNDS = { min: 1, max: 99_999_999 };

/** Unknown and unmodelled params both fail, naming what the fake does accept. */
function onlyModelled(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw unknownParam(key, `fake-stripe models only: ${allowed.join(', ')}.`);
  }
}

function create(ctx: ApiContext): Stripe.PaymentIntent {
  const p = ctx.params;
  onlyModelled(p, CREATE_PARAMS);
  const captureMethod = string(p.capture_method, 'capture_method') ?? 'automatic_async';
  if (captureMethod !== 'automatic' && captureMethod !== 'automatic_async') {
    throw invalidParam('capture_method', `fake-stripe models automatic capture only (capture_method=${captureMethod}).`);
  }
  const intent = createIntent(
    ctx.state,
    {
      amount: requiredInteger(p, 'amount', AMOUNT_BOUNDS),
      currency: currency(p),
      metadata: applyMetadata({}, p.metadata),
      description: string(p.description, 'description') ?? null,
      paymentMethods: choosePaymentMethods(p, ctx.apiVersion),
      customer: string(p.customer, 'customer') ?? null,
      receiptEmail: string(p.receipt_email, 'receipt_email') ?? null,
      statementDescriptor: string(p.statement_descriptor, 'statement_descriptor', 22) ?? null,
      statementDescriptorSuffix: string(p.statement_descriptor_suffix, 'statement_descriptor_suffix', 22) ?? null,
      transferGroup: string(p.transfer_group, 'transfer_group') ?? null,
      captureMethod,
    },
    ctx.request,
  );
  return expand(ctx.state, intent, readExpand(p));
}

function update(ctx: ApiContext, id: string): Stripe.PaymentIntent {
  const p = ctx.params;
  onlyModelled(p, UPDATE_PARAMS);
  const intent = getIntent(ctx.state, id);
  const patch: IntentPatch = {
    amount: integer(p.amount, 'amount', AMOUNT_BOUNDS),
    currency: p.currency === undefined ? undefined : currency(p),
    metadata: p.metadata === undefined ? undefined : applyMetadata(intent.metadata, p.metadata),
    description: string(p.description, 'description'),
    receiptEmail: string(p.receipt_email, 'receipt_email'),
    statementDescriptor: string(p.statement_descriptor, 'statement_descriptor', 22),
    statementDescriptorSuffix: string(p.statement_descriptor_suffix, 'statement_descriptor_suffix', 22),
    transferGroup: string(p.transfer_group, 'transfer_group'),
  };
  return expand(ctx.state, updateIntent(ctx.state, intent, patch), readExpand(p));
}

function cancel(ctx: ApiContext, id: string): Stripe.PaymentIntent {
  const p = ctx.params;
  onlyModelled(p, ['cancellation_reason', 'expand']);
  const reason = string(p.cancellation_reason, 'cancellation_reason') ?? null;
  if (reason !== null && !CANCELLATION_REASONS.includes(reason)) {
    throw invalidParam('cancellation_reason', `Invalid cancellation_reason: must be one of ${CANCELLATION_REASONS.join(', ')}`);
  }
  const intent = cancelIntent(ctx.state, getIntent(ctx.state, id), reason as Stripe.PaymentIntent.CancellationReason | null, ctx.request);
  return expand(ctx.state, intent, readExpand(p));
}

export const paymentIntentRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/payment_intents$/, handle: create },
  { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${ID}$`), handle: (ctx, id) => update(ctx, id!) },
  { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${ID}/cancel$`), handle: (ctx, id) => cancel(ctx, id!) },
];
