import type Stripe from 'stripe';
import { newId } from './ids.js';
import type { FakeStripeState } from './state.js';

/** Payouts to the account's bank: automatic, `paid` by default, recorded with `payout.created` (+ `payout.paid`). */

export interface PayoutOptions {
  /** Unix seconds; default `created` + 2 days. */
  arrivalDate?: number;
  /** Unix seconds; default now. */
  created?: number;
  /** Default `paid`. */
  status?: 'paid' | 'pending' | 'in_transit' | 'canceled' | 'failed';
  description?: string;
  metadata?: Record<string, string>;
}

export function createPayout(state: FakeStripeState, amount: number, currency: string, options: PayoutOptions = {}): Stripe.Payout {
  if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError('payout: amount must be a positive integer (minor units)');
  const created = options.created ?? state.now();
  const status = options.status ?? 'paid';
  const payout: Stripe.Payout = {
    id: newId('po'),
    object: 'payout',
    amount,
    application_fee: null,
    application_fee_amount: null,
    arrival_date: options.arrivalDate ?? created + 2 * 86_400,
    automatic: true,
    balance_transaction: newId('txn'),
    created,
    currency: currency.toLowerCase(),
    description: options.description ?? 'STRIPE PAYOUT',
    destination: newId('ba'),
    failure_balance_transaction: status === 'failed' ? newId('txn') : null,
    failure_code: status === 'failed' ? 'account_closed' : null,
    failure_message: status === 'failed' ? 'The bank account has been closed.' : null,
    livemode: false,
    metadata: { ...(options.metadata ?? {}) },
    method: 'standard',
    original_payout: null,
    payout_method: null,
    reconciliation_status: status === 'paid' ? 'completed' : 'in_progress',
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: null,
    status,
    trace_id: null,
    type: 'bank_account',
  };
  state.payouts.add(payout);
  state.record<Stripe.PayoutCreatedEvent>('payout.created', payout);
  if (status === 'paid') state.record<Stripe.PayoutPaidEvent>('payout.paid', payout);
  if (status === 'failed') state.record<Stripe.PayoutFailedEvent>('payout.failed', payout);
  return payout;
}
