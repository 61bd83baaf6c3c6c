import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Repayment, RepaymentStatus } from '../../../../src/domain/repayment/records.js';
import { matchSettlements, type SettledCharge } from '../../../../src/domain/repayment/settlement.js';

const T0 = new Date('2026-01-01T00:00:00Z');

function repayment(providerRef: string, overrides: Partial<Repayment> = {}): Repayment {
  return {
    id: randomUUID(),
    creditLineId: randomUUID(),
    walletAddress: 'GWALLET',
    provider: 'stripe',
    providerRef,
    status: 'succeeded',
    currency: 'usd',
    fiatAmount: 10_000n,
    fxRate1e14: 10n ** 14n,
    amount: 100_0000000n,
    appliedAmount: 100_0000000n,
    creditedAmount: 0n,
    reversedAmount: 0n,
    failureReason: null,
    parkedReason: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

const charge = (providerRef: string | null, overrides: Partial<SettledCharge> = {}): SettledCharge => ({
  chargeId: `ch_${randomUUID().slice(0, 8)}`,
  providerRef,
  amountMinor: 10_000n,
  currency: 'usd',
  ...overrides,
});

/** The service's view: every repayment a charge names, by ref; `applied` are those settled in the window. */
const byRef = (...repayments: Repayment[]) => new Map(repayments.map((r) => [r.providerRef, r]));

describe('matchSettlements', () => {
  it('finds nothing when every charge matches an applied repayment in amount and currency', () => {
    const a = repayment('pi_a');
    const b = repayment('pi_b', { currency: 'eur', fiatAmount: 2_550n });
    const c = repayment('pi_c', { currency: 'jpy', fiatAmount: 1_500n });
    expect(matchSettlements([charge('pi_a'), charge('pi_b', { currency: 'eur', amountMinor: 2_550n }), charge('pi_c', { currency: 'jpy', amountMinor: 1_500n })], [a, b, c], byRef(a, b, c))).toEqual([]);
  });

  it('finds nothing with no charges and nothing applied', () => {
    expect(matchSettlements([], [], new Map())).toEqual([]);
  });

  it('a charge the ledger does not know is missing_in_ledger, critical, with the charge\'s amount', () => {
    const findings = matchSettlements([charge('pi_stray', { amountMinor: 777n })], [], new Map());
    expect(findings).toEqual([{ kind: 'missing_in_ledger', severity: 'critical', providerRef: 'pi_stray', repaymentId: null, expected: '777 usd', actual: null }]);
  });

  it('a charge without a payment intent is missing_in_ledger under its charge id', () => {
    const stray = charge(null, { chargeId: 'ch_direct', amountMinor: 1_234n, currency: 'eur' });
    expect(matchSettlements([stray], [], new Map())).toEqual([
      { kind: 'missing_in_ledger', severity: 'critical', providerRef: 'ch_direct', repaymentId: null, expected: '1234 eur', actual: null },
    ]);
  });

  it.each<RepaymentStatus>(['pending', 'failed', 'parked'])('a charge whose repayment is still %s is missing_in_ledger, naming the repayment and its status', (status) => {
    const r = repayment('pi_x', { status, appliedAmount: 0n });
    expect(matchSettlements([charge('pi_x')], [], byRef(r))).toEqual([
      { kind: 'missing_in_ledger', severity: 'critical', providerRef: 'pi_x', repaymentId: r.id, expected: '10000 usd', actual: status },
    ]);
  });

  it('a refunded repayment counts as settled: its charge matches, and it is not missing at the provider', () => {
    const r = repayment('pi_refunded', { status: 'refunded', reversedAmount: 100_0000000n });
    expect(matchSettlements([charge('pi_refunded')], [r], byRef(r))).toEqual([]);
  });

  it('a differing amount is amount_mismatch, critical, expected ours and actual theirs', () => {
    const r = repayment('pi_a');
    expect(matchSettlements([charge('pi_a', { amountMinor: 9_999n })], [r], byRef(r))).toEqual([
      { kind: 'amount_mismatch', severity: 'critical', providerRef: 'pi_a', repaymentId: r.id, expected: '10000 usd', actual: '9999 usd' },
    ]);
  });

  it('a differing currency is currency_mismatch (and not also an amount mismatch)', () => {
    const r = repayment('pi_a');
    expect(matchSettlements([charge('pi_a', { currency: 'eur', amountMinor: 5n })], [r], byRef(r))).toEqual([
      { kind: 'currency_mismatch', severity: 'critical', providerRef: 'pi_a', repaymentId: r.id, expected: 'usd', actual: 'eur' },
    ]);
  });

  it('a repayment applied in the window that the provider has no charge for is missing_at_provider', () => {
    const matched = repayment('pi_a');
    const orphan = repayment('pi_orphan', { currency: 'eur', fiatAmount: 4_200n });
    expect(matchSettlements([charge('pi_a')], [matched, orphan], byRef(matched))).toEqual([
      { kind: 'missing_at_provider', severity: 'critical', providerRef: 'pi_orphan', repaymentId: orphan.id, expected: '4200 eur', actual: null },
    ]);
  });

  it('a charge matched in the window but whose repayment was applied outside it is not reported as missing anywhere', () => {
    const earlier = repayment('pi_old', { updatedAt: new Date(T0.getTime() - 86_400_000) });
    expect(matchSettlements([charge('pi_old')], [], byRef(earlier))).toEqual([]);
  });

  it('a mismatched charge still counts as seen: its repayment is not also missing_at_provider', () => {
    const r = repayment('pi_a');
    const kinds = matchSettlements([charge('pi_a', { amountMinor: 1n })], [r], byRef(r)).map((f) => f.kind);
    expect(kinds).toEqual(['amount_mismatch']);
  });

  it('reports every problem of a mixed window, charges first in order, then what the provider lacks', () => {
    const ok = repayment('pi_ok');
    const short = repayment('pi_short');
    const wrongCurrency = repayment('pi_gbp', { currency: 'gbp' });
    const pending = repayment('pi_pending', { status: 'pending' });
    const orphan = repayment('pi_orphan');
    const findings = matchSettlements(
      [charge('pi_ok'), charge('pi_stray'), charge('pi_short', { amountMinor: 9_000n }), charge(null, { chargeId: 'ch_none' }), charge('pi_gbp'), charge('pi_pending')],
      [ok, short, wrongCurrency, orphan],
      byRef(ok, short, wrongCurrency, pending),
    );
    expect(findings.map((f) => [f.kind, f.providerRef])).toEqual([
      ['missing_in_ledger', 'pi_stray'],
      ['amount_mismatch', 'pi_short'],
      ['missing_in_ledger', 'ch_none'],
      ['currency_mismatch', 'pi_gbp'],
      ['missing_in_ledger', 'pi_pending'],
      ['missing_at_provider', 'pi_orphan'],
    ]);
    expect(findings.every((f) => f.severity === 'critical')).toBe(true);
  });
});
