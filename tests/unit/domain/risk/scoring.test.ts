import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_HISTORY, type CreditHistory } from '../../../../src/domain/risk/creditHistory.js';
import { normalise, parseRiskModel, scoreSignals, type Transform } from '../../../../src/domain/risk/model.js';
import { EMPTY_ACTIVITY, inflowRegularity, signalValues, type ChainActivity } from '../../../../src/domain/risk/signals.js';
import { termsForScore } from '../../../../src/domain/risk/terms.js';
import { loadRiskModel } from '../../../../src/services/risk/riskModelFile.js';

const model = loadRiskModel('signals-v1');
const NOW = new Date('2026-11-01T00:00:00Z');
const DAY = 86_400_000;
const USDC = 10_000_000n;

const score = (activity: ChainActivity, history: CreditHistory = EMPTY_HISTORY) => scoreSignals(model, signalValues(activity, history, NOW)).score;

/** Two years old, steady income from many payers, money held: the account a lender hopes for. */
const seasoned: ChainActivity = {
  ...EMPTY_ACTIVITY,
  exists: true,
  firstSeenAt: new Date(NOW.getTime() - 800 * DAY),
  balance: 12_000n * USDC,
  trustlines: 3,
  operations30d: 120,
  operations90d: 360,
  payments30d: 70,
  payments90d: 200,
  inflow90d: 60_000n * USDC,
  monthlyInflows: [20_000n * USDC, 20_000n * USDC, 20_000n * USDC],
  counterparties90d: 60,
  transactions90d: 150,
  failedTransactions90d: 0,
};

const goodHistory: CreditHistory = { ...EMPTY_HISTORY, repayments: 24, onTimeStatements: 12, utilizationBps: 3_000 };

const activityArb: fc.Arbitrary<ChainActivity> = fc.record({
  exists: fc.boolean(),
  firstSeenAt: fc.option(fc.integer({ min: 0, max: 3_000 }).map((d) => new Date(NOW.getTime() - d * DAY)), { nil: null }),
  balance: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  trustlines: fc.integer({ min: 0, max: 20 }),
  operations30d: fc.nat(1_000),
  operations90d: fc.nat(3_000),
  payments30d: fc.nat(1_000),
  payments90d: fc.nat(3_000),
  inflow90d: fc.bigInt({ min: 0n, max: 10n ** 13n }),
  outflow30d: fc.bigInt({ min: 0n, max: 10n ** 13n }),
  largestOutflow30d: fc.bigInt({ min: 0n, max: 10n ** 13n }),
  monthlyInflows: fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 3, maxLength: 3 }),
  counterparties90d: fc.nat(500),
  transactions90d: fc.nat(1_000),
  failedTransactions90d: fc.nat(1_000),
  windowComplete: fc.boolean(),
  requests: fc.nat(10),
});

const historyArb: fc.Arbitrary<CreditHistory> = fc.record({
  repayments: fc.nat(200),
  onTimeStatements: fc.nat(100),
  lateStatements: fc.nat(100),
  maxDaysPastDue: fc.nat(400),
  currentDaysPastDue: fc.nat(400),
  utilizationBps: fc.option(fc.nat(15_000), { nil: null }),
  defaults: fc.nat(5),
  liquidations: fc.nat(5),
  collateralHealthFactorBps: fc.option(fc.nat(40_000), { nil: null }),
});

describe('the signals-v1 model file', () => {
  it('loads, its positive weights add up to 100 and its bands run from 0 upwards with better terms for better scores', () => {
    expect(model.version).toBe('signals-v1');
    expect(model.signals.filter((s) => s.kind === 'positive').reduce((sum, s) => sum + s.weight, 0)).toBe(100);
    expect(model.bands.map((b) => b.minScore)).toEqual([80, 65, 50, 35, 0]);
  });

  it.each([
    [{ signals: [{ name: 'accountAgeDays', kind: 'positive', weight: 90, transform: { kind: 'ratio' }, why: 'x' }] }, 'positive weights must add up to 100'],
    [{ signals: [{ name: 'addressEntropy', kind: 'positive', weight: 100, transform: { kind: 'ratio' }, why: 'x' }] }, 'signals.0.name'],
    [{ bands: [{ name: 'A', minScore: 50, decision: 'approve', creditLimit: '10', interestRateBps: 100 }] }, 'one band must start at score 0'],
    [
      {
        bands: [
          { name: 'A', minScore: 50, decision: 'approve', creditLimit: '10', interestRateBps: 900 },
          { name: 'B', minScore: 0, decision: 'approve', creditLimit: '10', interestRateBps: 100 },
        ],
      },
      'offers better terms than the higher band',
    ],
  ])('refuses a broken model (%#) naming the rule', (override, message) => {
    const base = { version: 'test-model', description: '', signals: model.signals, bands: [{ name: 'E', minScore: 0, decision: 'decline', creditLimit: '0', interestRateBps: 0 }] };
    expect(() => parseRiskModel({ ...base, ...override })).toThrow(message);
  });
});

describe('transforms', () => {
  const transforms: Transform[] = [
    { kind: 'log', cap: 730 },
    { kind: 'linear', cap: 90 },
    { kind: 'ratio' },
    { kind: 'excess', threshold: 0.8 },
  ];

  it('map into 0..1 and never decrease as the value grows', () => {
    fc.assert(
      fc.property(fc.constantFrom(...transforms), fc.double({ min: -1e6, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), (t, x, delta) => {
        const a = normalise(t, x);
        const b = normalise(t, x + delta);
        return a >= 0 && b <= 1 && b >= a;
      }),
    );
  });

  it('shortfall is 0 at or above the target and 1 at the floor', () => {
    const t: Transform = { kind: 'shortfall', target: 1.5, floor: 1 };
    expect([normalise(t, 2), normalise(t, 1.5), normalise(t, 1.25), normalise(t, 1), normalise(t, 0.5)]).toEqual([0, 0, 0.5, 1, 1]);
  });

  it('log caps at 1 and gives diminishing returns', () => {
    const t: Transform = { kind: 'log', cap: 730 };
    expect(normalise(t, 730)).toBe(1);
    expect(normalise(t, 5_000)).toBe(1);
    expect(normalise(t, 365)).toBeGreaterThan(0.85);
  });
});

describe('scoring', () => {
  it('scores a fresh, empty account 0: declined', () => {
    expect(score(EMPTY_ACTIVITY)).toBe(0);
    expect(termsForScore(model, 0, 100_000n * USDC)).toMatchObject({ decision: 'decline', creditLimit: 0n });
  });

  it('scores a seasoned account with steady inflows 65 without any history with us, and 100 with a clean track record', () => {
    expect(score(seasoned)).toBe(65);
    expect(score(seasoned, goodHistory)).toBe(100);
    expect(termsForScore(model, 100, 100_000n * USDC)).toEqual({ band: 'A', decision: 'approve', creditLimit: 20_000n * USDC, interestRateBps: 800 });
  });

  it('explains itself: the points of every signal add up to the score', () => {
    const { score: total, contributions } = scoreSignals(model, signalValues(seasoned, { ...goodHistory, lateStatements: 2, maxDaysPastDue: 20 }, NOW));
    expect(contributions.map((c) => c.name)).toEqual(model.signals.map((s) => s.name));
    expect(Math.round(contributions.reduce((sum, c) => sum + c.points, 0))).toBe(total);
    expect(contributions.find((c) => c.name === 'maxDaysPastDue')).toMatchObject({ kind: 'penalty', value: 20, weight: 20 });
  });

  it('late repayments lower the score of an otherwise identical wallet', () => {
    const late = { ...goodHistory, onTimeStatements: 10, lateStatements: 2, maxDaysPastDue: 25 };
    expect(score(seasoned, late)).toBeLessThan(score(seasoned, goodHistory));
  });

  it('one payment that drained the account costs points; regular outflows do not', () => {
    const drained = { ...seasoned, balance: 100n * USDC, outflow30d: 11_900n * USDC, largestOutflow30d: 11_900n * USDC };
    const spending = { ...seasoned, outflow30d: 3_000n * USDC, largestOutflow30d: 100n * USDC };
    expect(score(drained)).toBeLessThan(score(seasoned));
    expect(score(spending)).toBe(score(seasoned));
  });

  it('property: more on-time repayments never lower a score', () => {
    fc.assert(
      fc.property(activityArb, historyArb, fc.integer({ min: 1, max: 50 }), (activity, history, more) => {
        const better = { ...history, repayments: history.repayments + more, onTimeStatements: history.onTimeStatements + more };
        return score(activity, better) >= score(activity, history);
      }),
      { numRuns: 500 },
    );
  });

  it('property: every score is an integer in 0..100 and sets terms inside the product cap and 0..10000 bps', () => {
    fc.assert(
      fc.property(activityArb, historyArb, fc.bigInt({ min: 1n, max: 10n ** 15n }), (activity, history, cap) => {
        const s = score(activity, history);
        const terms = termsForScore(model, s, cap);
        return Number.isInteger(s) && s >= 0 && s <= 100 && terms.creditLimit <= cap && terms.interestRateBps >= 0 && terms.interestRateBps <= 10_000;
      }),
    );
  });

  it('property: a higher score never gets a smaller limit or a higher rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const lo = termsForScore(model, low, 10n ** 15n);
        const hi = termsForScore(model, high, 10n ** 15n);
        if (lo.decision === 'decline') return true;
        return hi.creditLimit >= lo.creditLimit && hi.interestRateBps <= lo.interestRateBps;
      }),
    );
  });
});

describe('inflow regularity', () => {
  it('is 1 for equal monthly inflows, low for one lump, 0 for none', () => {
    expect(inflowRegularity([100n, 100n, 100n])).toBe(1);
    expect(inflowRegularity([300n, 0n, 0n])).toBe(0);
    expect(inflowRegularity([0n, 0n, 0n])).toBe(0);
    expect(inflowRegularity([120n, 100n, 80n])).toBeGreaterThan(0.8);
  });
});
