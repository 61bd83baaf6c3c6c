import type { CreditHistory } from './creditHistory.js';

/**
 * The behavioural inputs of a risk evaluation and how raw facts become signal values. Facts come from two places:
 * the wallet's on-chain activity (Horizon) and its history on our own lines. Nothing is derived from the address.
 */

export const SIGNAL_NAMES = [
  'accountAgeDays',
  'operations90d',
  'payments30d',
  'inflow90d',
  'inflowRegularity',
  'counterparties90d',
  'balance',
  'trustlines',
  'repayments',
  'onTimeRatio',
  'failedTxRatio90d',
  'largeOutflowRatio30d',
  'maxDaysPastDue',
  'currentDaysPastDue',
  'utilization',
  'defaults',
  'liquidations',
  'collateralHealthFactor',
] as const;

export type SignalName = (typeof SIGNAL_NAMES)[number];

/** What the wallet did on chain, summarised over the look-back windows. Amounts are in the volume asset's base units. */
export interface ChainActivity {
  exists: boolean;
  /** Time of the account's first operation (its creation on real networks); null when unknown or absent. */
  firstSeenAt: Date | null;
  balance: bigint;
  trustlines: number;
  operations30d: number;
  operations90d: number;
  payments30d: number;
  payments90d: number;
  inflow90d: bigint;
  outflow30d: bigint;
  largestOutflow30d: bigint;
  /** Inflows per 30-day bucket, most recent first (3 buckets = 90 days). */
  monthlyInflows: bigint[];
  counterparties90d: number;
  transactions90d: number;
  failedTransactions90d: number;
  /** False when the request budget ran out before the 90-day window was covered: counts are lower bounds. */
  windowComplete: boolean;
  /** Horizon requests this summary cost. */
  requests: number;
}

export const EMPTY_ACTIVITY: ChainActivity = Object.freeze({
  exists: false,
  firstSeenAt: null,
  balance: 0n,
  trustlines: 0,
  operations30d: 0,
  operations90d: 0,
  payments30d: 0,
  payments90d: 0,
  inflow90d: 0n,
  outflow30d: 0n,
  largestOutflow30d: 0n,
  monthlyInflows: [0n, 0n, 0n],
  counterparties90d: 0,
  transactions90d: 0,
  failedTransactions90d: 0,
  windowComplete: true,
  requests: 0,
});

const DAY_MS = 86_400_000;
/** Base units to whole units for normalisation only; the stored inputs keep the exact bigint. */
const units = (amount: bigint): number => Number(amount) / 1e7;

/**
 * Steady inflows score 1: the share of months with any inflow, times (1 - coefficient of variation) of the
 * monthly amounts. One large transfer in one month scores low; the same total spread evenly scores high.
 */
export function inflowRegularity(monthly: readonly bigint[]): number {
  if (monthly.length === 0) return 0;
  const amounts = monthly.map(units);
  const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
  if (mean <= 0) return 0;
  const variance = amounts.reduce((sum, x) => sum + (x - mean) ** 2, 0) / amounts.length;
  const coefficientOfVariation = Math.sqrt(variance) / mean;
  const activeShare = amounts.filter((x) => x > 0).length / amounts.length;
  return activeShare * Math.max(0, 1 - coefficientOfVariation);
}

/** Raw facts to the values the model's transforms read. Null where there is nothing to judge. */
export function signalValues(activity: ChainActivity, history: CreditHistory, now: Date): Record<SignalName, number | null> {
  const resolvedStatements = history.onTimeStatements + history.lateStatements;
  return {
    accountAgeDays: activity.firstSeenAt ? Math.max(0, (now.getTime() - activity.firstSeenAt.getTime()) / DAY_MS) : 0,
    operations90d: activity.operations90d,
    payments30d: activity.payments30d,
    inflow90d: units(activity.inflow90d),
    inflowRegularity: inflowRegularity(activity.monthlyInflows),
    counterparties90d: activity.counterparties90d,
    balance: units(activity.balance),
    trustlines: activity.trustlines,
    repayments: history.repayments,
    onTimeRatio: resolvedStatements > 0 ? history.onTimeStatements / resolvedStatements : 0,
    failedTxRatio90d: activity.transactions90d > 0 ? activity.failedTransactions90d / activity.transactions90d : null,
    largeOutflowRatio30d: activity.outflow30d > 0n ? units(activity.largestOutflow30d) / units(activity.balance + activity.outflow30d) : null,
    maxDaysPastDue: history.maxDaysPastDue,
    currentDaysPastDue: history.currentDaysPastDue,
    utilization: history.utilizationBps === null ? null : history.utilizationBps / 10_000,
    defaults: history.defaults,
    liquidations: history.liquidations,
    collateralHealthFactor: history.collateralHealthFactorBps === null ? null : history.collateralHealthFactorBps / 10_000,
  };
}
