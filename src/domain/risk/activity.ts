import { parseAmount } from '../money.js';
import { EMPTY_ACTIVITY, type ChainActivity } from './signals.js';

/**
 * Horizon records (only the fields we read, as Horizon names them) summarised into ChainActivity. Pure: the
 * gateway fetches, this decides what counts.
 */

export interface HorizonBalanceLine {
  asset_type: string;
  asset_code?: string;
  asset_issuer?: string;
  balance: string;
}

export interface HorizonOperationLine {
  type: string;
  created_at: string;
  transaction_hash: string;
  transaction_successful: boolean;
  source_account: string;
  from?: string;
  to?: string;
  amount?: string;
  asset_type?: string;
  asset_code?: string;
  asset_issuer?: string;
  source_amount?: string;
  source_asset_type?: string;
  source_asset_code?: string;
  source_asset_issuer?: string;
  funder?: string;
  account?: string;
  starting_balance?: string;
}

/** The asset whose amounts count as volume and balance: native XLM, or one issued asset (e.g. USDC). */
export type VolumeAsset = { native: true } | { native: false; code: string; issuer: string };

export function parseVolumeAsset(text: string): VolumeAsset {
  if (text === 'native' || text === 'XLM') return { native: true };
  const [code, issuer] = text.split(':');
  if (!code || !issuer) throw new RangeError(`expected "native" or "CODE:ISSUER", got "${text}"`);
  return { native: false, code, issuer };
}

const isAsset = (asset: VolumeAsset, type: string | undefined, code: string | undefined, issuer: string | undefined): boolean =>
  asset.native ? type === 'native' : type !== 'native' && code === asset.code && issuer === asset.issuer;

const DAY_MS = 86_400_000;
const PAYMENT_TYPES = new Set(['payment', 'path_payment_strict_receive', 'path_payment_strict_send']);

interface Movement {
  counterparty: string;
  inflow: bigint;
  outflow: bigint;
}

/** A value transfer touching the wallet, in the volume asset (zero when another asset moved). */
function movement(op: HorizonOperationLine, wallet: string, asset: VolumeAsset): Movement | null {
  if (op.type === 'create_account') {
    if (op.account === wallet && op.funder) return { counterparty: op.funder, inflow: asset.native ? parseAmount(op.starting_balance ?? '0') : 0n, outflow: 0n };
    if (op.funder === wallet && op.account) return { counterparty: op.account, inflow: 0n, outflow: asset.native ? parseAmount(op.starting_balance ?? '0') : 0n };
    return null;
  }
  if (!PAYMENT_TYPES.has(op.type) || op.from === undefined || op.to === undefined || op.from === op.to) return null;
  if (op.to === wallet) {
    return { counterparty: op.from, inflow: isAsset(asset, op.asset_type, op.asset_code, op.asset_issuer) ? parseAmount(op.amount ?? '0') : 0n, outflow: 0n };
  }
  if (op.from === wallet) {
    // A path payment spends the source asset; a plain payment spends the asset it delivers.
    const spent =
      op.type === 'payment'
        ? isAsset(asset, op.asset_type, op.asset_code, op.asset_issuer) && parseAmount(op.amount ?? '0')
        : isAsset(asset, op.source_asset_type, op.source_asset_code, op.source_asset_issuer) && parseAmount(op.source_amount ?? '0');
    return { counterparty: op.to, inflow: 0n, outflow: spent || 0n };
  }
  return null;
}

export interface ActivityInput {
  wallet: string;
  balances: HorizonBalanceLine[];
  /** The account's first operation, if Horizon still has it. */
  firstOperation: HorizonOperationLine | null;
  /** Newest first, failed ones included. */
  operations: HorizonOperationLine[];
  windowComplete: boolean;
  requests: number;
}

export function summariseActivity(input: ActivityInput, asset: VolumeAsset, now: Date): ChainActivity {
  const since30 = now.getTime() - 30 * DAY_MS;
  const since90 = now.getTime() - 90 * DAY_MS;
  const balanceLine = input.balances.find((b) => isAsset(asset, b.asset_type, b.asset_code, b.asset_issuer));
  const activity: ChainActivity = {
    ...EMPTY_ACTIVITY,
    exists: true,
    firstSeenAt: input.firstOperation ? new Date(input.firstOperation.created_at) : null,
    balance: balanceLine ? parseAmount(balanceLine.balance) : 0n,
    trustlines: input.balances.filter((b) => b.asset_type !== 'native').length,
    monthlyInflows: [0n, 0n, 0n],
    windowComplete: input.windowComplete,
    requests: input.requests,
  };
  const counterparties = new Set<string>();
  const ownTransactions = new Map<string, boolean>();
  for (const op of input.operations) {
    const at = new Date(op.created_at).getTime();
    if (at < since90 || at > now.getTime()) continue;
    const recent = at >= since30;
    // Failures count against the wallet only when it sent the transaction.
    if (op.source_account === input.wallet) ownTransactions.set(op.transaction_hash, op.transaction_successful);
    if (!op.transaction_successful) continue;
    activity.operations90d++;
    if (recent) activity.operations30d++;
    const moved = movement(op, input.wallet, asset);
    if (!moved) continue;
    activity.payments90d++;
    if (recent) activity.payments30d++;
    counterparties.add(moved.counterparty);
    activity.inflow90d += moved.inflow;
    const bucket = Math.min(2, Math.floor((now.getTime() - at) / (30 * DAY_MS)));
    activity.monthlyInflows[bucket] = activity.monthlyInflows[bucket]! + moved.inflow;
    if (recent && moved.outflow > 0n) {
      activity.outflow30d += moved.outflow;
      if (moved.outflow > activity.largestOutflow30d) activity.largestOutflow30d = moved.outflow;
    }
  }
  activity.counterparties90d = counterparties.size;
  activity.transactions90d = ownTransactions.size;
  activity.failedTransactions90d = [...ownTransactions.values()].filter((ok) => !ok).length;
  return activity;
}
