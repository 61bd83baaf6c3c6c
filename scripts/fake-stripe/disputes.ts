import type Stripe from 'stripe';
import { getCharge } from './charges.js';
import { unexpectedState } from './errors.js';
import { newId } from './ids.js';
import type { FakeStripeState } from './state.js';

/** Disputes (chargebacks) opened by the cardholder's bank: `needs_response`, evidence due in 21 days. */

export interface DisputeInput {
  /** Minor units; default the charge's full amount. */
  amount?: number;
  /** Default `fraudulent`. */
  reason?: string;
}

const EVIDENCE_FIELDS = [
  'access_activity_log', 'billing_address', 'cancellation_policy', 'cancellation_policy_disclosure', 'cancellation_rebuttal',
  'customer_communication', 'customer_email_address', 'customer_name', 'customer_purchase_ip', 'customer_signature',
  'duplicate_charge_documentation', 'duplicate_charge_explanation', 'duplicate_charge_id', 'product_description', 'receipt',
  'refund_policy', 'refund_policy_disclosure', 'refund_refusal_explanation', 'service_date', 'service_documentation',
  'shipping_address', 'shipping_carrier', 'shipping_date', 'shipping_documentation', 'shipping_tracking_number',
  'uncategorized_file', 'uncategorized_text',
] as const;

const emptyEvidence = (): Stripe.Dispute.Evidence =>
  ({ ...Object.fromEntries(EVIDENCE_FIELDS.map((f) => [f, null])), enhanced_evidence: {} }) as Stripe.Dispute.Evidence;

export function disputeCharge(state: FakeStripeState, chargeId: string, input: DisputeInput = {}): Stripe.ChargeDisputeCreatedEvent {
  const charge = getCharge(state, chargeId);
  if (!charge.paid) throw unexpectedState('charge_not_disputable', `Charge ${charge.id} was not paid, so it cannot be disputed.`);
  if (charge.disputed) throw unexpectedState('charge_already_disputed', `Charge ${charge.id} is already disputed.`);
  const amount = input.amount ?? charge.amount;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > charge.amount) {
    throw new RangeError(`dispute: amount must be between 1 and the charge amount (${charge.amount})`);
  }
  const created = state.now();
  const dispute: Stripe.Dispute = {
    id: newId('dp'),
    object: 'dispute',
    amount,
    // Stripe lists the withdrawal's balance transactions here; the fake does not model balance transactions.
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: emptyEvidence(),
    evidence_details: {
      due_by: created + 21 * 86_400,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? null),
    reason: input.reason ?? 'fraudulent',
    status: 'needs_response',
  };
  state.disputes.add(dispute);
  charge.disputed = true;
  return state.record<Stripe.ChargeDisputeCreatedEvent>('charge.dispute.created', dispute);
}
