import { ConflictError } from '../errors.js';
import type { HealthBand } from './health.js';
import type { AssetRiskParams } from './params.js';
import type { ExecutionPlan } from './plans.js';

/** What the collateral side stores. Quantities are the asset's base units, prices 1e14-scaled, values USDC units. */

/**
 * Where an asset's price comes from; `manual` prices are posted by an admin (or a trusted feeder) through the API;
 * `static` is one fixed price (a decimal string), observed by the price job, for development only.
 */
export type PriceSource =
  | { kind: 'reflector'; contractId: string; asset: { stellar: string } | { other: string } }
  | { kind: 'horizon'; base: 'native' | { code: string; issuer: string }; counter: { code: string; issuer: string } }
  | { kind: 'manual' }
  | { kind: 'static'; price: string };

export interface CollateralAsset {
  code: string;
  decimals: number;
  priceSource: PriceSource;
  createdAt: Date;
}

export interface AssetParamsVersion {
  assetCode: string;
  version: number;
  params: AssetRiskParams;
  createdBy: string;
  effectiveFrom: Date;
}

export interface PriceObservation {
  id: bigint;
  assetCode: string;
  price1e14: bigint;
  source: string;
  observedAt: Date;
  recordedAt: Date;
}

export interface VolatilityObservation {
  assetCode: string;
  windowDays: 7 | 30;
  sigmaBps: number;
  returns: number;
  computedAt: Date;
}

export interface CollateralPosition {
  id: string;
  walletAddress: string;
  assetCode: string;
  /** Base units held, accrued yield included. */
  quantity: bigint;
  /** Yield credited so far (already part of quantity). */
  yieldEarned: bigint;
  yieldCheckpointAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export const MOVEMENT_TYPES = ['deposit', 'withdrawal', 'yield', 'stop_loss_sale', 'liquidation_seizure'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

export interface CollateralMovement {
  id: string;
  seq: bigint;
  positionId: string;
  type: MovementType;
  quantity: bigint;
  quantityAfter: bigint;
  executionId: string | null;
  createdAt: Date;
}

export interface StopLossSettings {
  walletAddress: string;
  enabled: boolean;
  assetPriority: string[];
  /** Overrides the asset's maximum slippage for this user's sales (lower only makes sense). */
  maxSlippageBps: number | null;
  updatedAt: Date;
}

/** The band the monitor last recorded for an account, with the health factor it was entered at (when it changed). */
export interface AccountRiskState {
  walletAddress: string;
  band: HealthBand;
  healthFactorBps: number | null;
  updatedAt: Date;
}

export const EXECUTION_STATUSES = ['pending', 'filled', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export interface ExecutionFill {
  /** Asset base units that left the position (sold by the keeper, or seized by the liquidator). */
  collateralQuantity: bigint;
  /** USDC units the sale returned, or the liquidator repaid. */
  usdcAmount: bigint;
  /** What the fill repaid on the line, and what it wrote off (bad debt). */
  repaid: bigint;
  writtenOff: bigint;
  /** Proceeds above the debt, credited back to the borrower. */
  surplus: bigint;
  filledBy: string;
  reference: string | null;
}

export interface RiskExecution {
  id: string;
  walletAddress: string;
  creditLineId: string;
  kind: ExecutionPlan['kind'];
  trigger: 'monitor' | 'admin';
  status: ExecutionStatus;
  plan: ExecutionPlan;
  fill: ExecutionFill | null;
  /** The parameter version of every asset the plan used. */
  paramsVersions: Record<string, number>;
  createdBy: string;
  createdAt: Date;
  settledAt: Date | null;
  cancelReason: string | null;
}

export const executionPending = () =>
  new ConflictError('execution_pending', 'This account already has a pending stop-loss or liquidation order; it must be filled or cancelled first');
