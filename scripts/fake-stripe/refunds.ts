import type Stripe from 'stripe';
import { getCharge } from './charges.js';
import { invalidParam, unexpectedState } from './errors.js';
import type { RequestMeta } from './events.js';
import { newId } from './ids.js';
import type { FakeStripeState } from './state.js';

/** Refunds: immediately `succeeded`, partial or full, never more than the charge's unrefunded amount. */

export interface RefundInput {
  /** Minor units; default the whole unrefunded amount. */
  amount?: number;
  reason?: Stripe.Refund.Reason | null;
  metadata?: Record<string, string>;
}

export interface RefundResult {
  refund: Stripe.Refund;
  /** `charge.refunded`, whose `data.object` is the charge and `previous_attributes` its old refund totals. */
  event: Stripe.ChargeRefundedEvent;
}

export function refundCharge(state: FakeStripeState, chargeId: string, input: RefundInput = {}, request?: RequestMeta): RefundResult {
  const charge = getCharge(state, chargeId);
  if (charge.status !== 'succeeded' || !charge.paid) {
    throw unexpectedState('charge_not_refundable', `Charge ${charge.id} cannot be refunded because it has a status of ${charge.status}.`);
  }
  const unrefunded = charge.amount - charge.amount_refunded;
  if (unrefunded <= 0) throw unexpectedState('charge_already_refunded', `Charge ${charge.id} has already been refunded.`);
  const amount = input.amount ?? unrefunded;
  if (!Number.isSafeInteger(amount) || amount < 1) throw invalidParam('amount', 'This value must be greater than or equal to 1.');
  if (amount > unrefunded) {
    throw unexpectedState(
      'amount_too_large',
      `Refund amount (${amount} ${charge.currency}) is greater than unrefunded amount on charge (${unrefunded} ${charge.currency})`,
    );
  }

  const refund: Stripe.Refund = {
    id: newId('re'),
    object: 'refund',
    amount,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: state.now(),
    currency: charge.currency,
    customer: null,
    customer_account: null,
    destination_details: { card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
    metadata: { ...(input.metadata ?? {}) },
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? null),
    payment_method: typeof charge.payment_method === 'string' ? charge.payment_method : null,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  state.refunds.add(refund);

  const previousAttributes = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  state.record<Stripe.RefundCreatedEvent>('refund.created', refund, { request });
  const event = state.record<Stripe.ChargeRefundedEvent>('charge.refunded', charge, { request, previousAttributes });
  return { refund, event };
}
