import type Stripe from 'stripe';
import { expand, readExpand } from '../expand.js';
import { invalidParam, onlyOneOf, unexpectedState } from '../errors.js';
import { getIntent } from '../paymentIntents.js';
import { applyMetadata, integer, rejectUnknown, string } from '../params.js';
import { refundCharge } from '../refunds.js';
import type { ApiContext, Route } from './router.js';

/** POST /v1/refunds: by `charge` or by `payment_intent` (its latest, succeeded charge). */

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

function create(ctx: ApiContext): Stripe.Refund {
  const p = ctx.params;
  rejectUnknown(p, ['charge', 'payment_intent', 'amount', 'reason', 'metadata', 'expand']);
  const chargeParam = string(p.charge, 'charge');
  const intentParam = string(p.payment_intent, 'payment_intent');
  if (chargeParam && intentParam) throw onlyOneOf('charge', 'payment_intent');
  let chargeId = chargeParam;
  if (!chargeId) {
    if (!intentParam) throw invalidParam('charge', 'One of the following params should be provided for this request: payment_intent or charge.');
    const intent = getIntent(ctx.state, intentParam, 'payment_intent');
    if (intent.status !== 'succeeded' || typeof intent.latest_charge !== 'string') {
      throw unexpectedState('charge_not_refundable', `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`);
    }
    chargeId = intent.latest_charge;
  }
  const reason = string(p.reason, 'reason') ?? null;
  if (reason !== null && !REASONS.includes(reason)) throw invalidParam('reason', `Invalid reason: must be one of ${REASONS.join(', ')}`);
  const { refund } = refundCharge(
    ctx.state,
    chargeId,
    { amount: integer(p.amount, 'amount', { min: 1 }), reason: reason as Stripe.Refund.Reason | null, metadata: applyMetadata({}, p.metadata) },
    ctx.request,
  );
  return expand(ctx.state, refund, readExpand(p));
}

export const refundRoutes: Route[] = [{ method: 'POST', pattern: /^\/v1\/refunds$/, handle: create }];
