/** Every domain event type a webhook endpoint can subscribe to, with what it means. */
export const EVENT_CATALOG = {
  'credit_line.created': 'A credit line was opened',
  'credit_line.drawn': 'Credit was drawn on a line',
  'credit_line.repaid': 'A repayment was applied (interest first, then principal)',
  'credit_line.updated': 'A line\'s limit or rate changed',
  'credit_line.suspended': 'A line was suspended by an admin',
  'credit_line.reinstated': 'A suspended or defaulted line was reinstated',
  'credit_line.defaulted': 'A line was marked defaulted',
  'credit_line.closed': 'A line was closed (a defaulted line\'s remainder written off)',
  'risk.evaluated': 'A wallet was scored: score, band, decision and the limit and rate it sets',
  'risk.limit_changed': 'Applying a risk evaluation changed a line\'s credit limit',
  'collateral.deposited': 'Collateral was deposited into a position',
  'collateral.withdrawn': 'Collateral was withdrawn from a position',
  'risk.band_changed': 'An account\'s health band changed (healthy, warning, stop_loss, liquidatable) after a price move',
  'stop_loss.executed': 'A stop-loss sale was filled: collateral sold, debt repaid',
  'liquidation.executed': 'A partial liquidation was filled: debt repaid, collateral seized with the bonus',
  'liquidation.bad_debt': 'A liquidation could not restore health: all collateral seized, the rest of the debt written off',
  'repayment.due_soon': 'A statement\'s minimum is due within a few days and not yet paid',
  'repayment.late': 'A statement\'s minimum was not paid by its due date',
  'repayment.failed': 'A card repayment failed at the payment provider (an alert: the borrower still owes it)',
  'repayment.reversed': 'A repayment was given back by the provider (refund or dispute) and put back on the balance',
  'repayment.parked': 'A confirmed payment could not be applied (closed or unknown line, other currency) and waits for review',
  'repayment.reconciliation_mismatch': 'The daily settlement reconciliation found charges and repayments that do not match',
  'credit_line.bound': 'An existing database line was bound to its line on the Credit contract; the chain is now its ledger',
  'chain_transaction.submitted': 'A contract transaction for a bound line was submitted to the network and is pending',
  'chain_transaction.confirmed': 'A contract transaction succeeded on chain; its events have been applied to the line',
  'chain_transaction.failed': 'A contract transaction was refused or failed on chain (an alert: nothing was applied)',
  'chain_transaction.expired': 'A contract transaction was not included before its time bounds ran out; nothing was applied',
  'indexer.gap_detected': 'The RPC node no longer had ledgers after the indexer\'s cursor; a reconciliation was scheduled',
  'reconciliation.drift': 'A reconciliation run found the database and the chain disagreeing',
  'webhook.test': 'A connectivity test sent on request',
  'webhook.endpoint_disabled': 'An endpoint was disabled (410 Gone, or failing for too long)',
} as const;

export type EventType = keyof typeof EVENT_CATALOG;

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export const isEventType = (value: string): value is EventType => value in EVENT_CATALOG;
