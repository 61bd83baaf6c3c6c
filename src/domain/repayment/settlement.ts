import type { Mismatch, Repayment } from './records.js';

/** A charge as the provider reports it (minor units of its currency). */
export interface SettledCharge {
  chargeId: string;
  providerRef: string | null;
  amountMinor: bigint;
  currency: string;
}

/**
 * Matches the provider's succeeded charges with the repayments we applied, by payment reference. Money the
 * provider took that we never applied (or the reverse) is critical; a differing amount is critical, a differing
 * currency too. `repayments` must hold every repayment any of the charges refers to, and every one we applied in
 * the window.
 */
export function matchSettlements(charges: readonly SettledCharge[], applied: readonly Repayment[], byRef: ReadonlyMap<string, Repayment>): Mismatch[] {
  const findings: Mismatch[] = [];
  const seen = new Set<string>();
  for (const charge of charges) {
    const repayment = charge.providerRef ? byRef.get(charge.providerRef) : undefined;
    if (!repayment || (repayment.status !== 'succeeded' && repayment.status !== 'refunded')) {
      findings.push({ kind: 'missing_in_ledger', severity: 'critical', providerRef: charge.providerRef ?? charge.chargeId, repaymentId: repayment?.id ?? null, expected: `${charge.amountMinor} ${charge.currency}`, actual: repayment ? repayment.status : null });
      continue;
    }
    seen.add(repayment.id);
    if (charge.currency !== repayment.currency) {
      findings.push({ kind: 'currency_mismatch', severity: 'critical', providerRef: charge.providerRef, repaymentId: repayment.id, expected: repayment.currency, actual: charge.currency });
    } else if (charge.amountMinor !== repayment.fiatAmount) {
      findings.push({ kind: 'amount_mismatch', severity: 'critical', providerRef: charge.providerRef, repaymentId: repayment.id, expected: `${repayment.fiatAmount} ${repayment.currency}`, actual: `${charge.amountMinor} ${charge.currency}` });
    }
  }
  for (const repayment of applied) {
    // A refund or dispute later moves a repayment's last change out of its charge's window: only untouched ones count.
    if (seen.has(repayment.id) || repayment.reversedAmount > 0n) continue;
    findings.push({ kind: 'missing_at_provider', severity: 'critical', providerRef: repayment.providerRef, repaymentId: repayment.id, expected: `${repayment.fiatAmount} ${repayment.currency}`, actual: null });
  }
  return findings;
}
