import { xdr } from '@stellar/stellar-sdk';
import { DEVNET_FUNDER, seededNativeBalance, toStroops, type AccountRecord, type AccountSeed } from './accounts.js';
import type { DevnetCore } from './core.js';
import { ContractError, HostError, type CallResult, type ContractState, type CreditLine, type CreditLinePatch } from './creditContract.js';
import type { EmittedEvent, EventName } from './events.js';
import type { FaultSettings } from './faults.js';
import type { PaymentOp, PaymentSeed, Trade, TradeSeed } from './horizonData.js';
import { toOracleAsset, type OracleAsset, type OraclePrice, type OracleSettings } from './oracleContract.js';
import { toBigInt, toJsonSafe, ValueTypeError } from './scval.js';

/**
 * The test-facing control surface: the same operations programmatically (`devnet.contract`,
 * `devnet.seedHorizon`) and over HTTP (`POST /_devnet/*`, for a backend running in another process).
 */

/** Drives the Credit contract and the clock without signatures. */
export class ContractControl {
  constructor(private readonly core: DevnetCore) {}

  get contractId(): string {
    return this.core.options.contractId;
  }

  /**
   * Calls a contract function as if its required signer had signed (e.g. `invoke('draw_credit',
   * {borrower, amount: 10n})`). Amounts may be bigint, number or decimal string; `target_status` may be a
   * status name. Throws ContractError (with `.code`) or HostError like the contract would fail.
   */
  invoke(fn: string, args?: Record<string, unknown> | unknown[]): CallResult {
    return this.core.invoke(fn, args);
  }

  /** Emits any catalogue event (fee_accrd, late_fee, liq_setl, col_*, freezes, oracle events…) by field name. */
  emit(name: EventName, payload: unknown, contractId?: string): EmittedEvent {
    return this.core.emit(name, payload, contractId);
  }

  /** Emits raw topics (strings become symbols) and an ScVal value, optionally under another contract id. */
  emitRaw(topics: Array<string | xdr.ScVal>, value: xdr.ScVal, contractId?: string): EmittedEvent {
    return this.core.emitRaw(topics, value, contractId);
  }

  /** Pins the devnet clock (unix seconds); the open ledger and the next close run at this time. */
  setTime(unixSeconds: number): number {
    const floor = this.core.chain.latest.closeTime;
    if (unixSeconds < floor) throw new RangeError(`time ${unixSeconds} is before the latest ledger close (${floor}); use startDevnet({startTime})`);
    this.core.clock.set(unixSeconds);
    return this.core.contractNow();
  }

  advanceTime(seconds: number): number {
    this.core.clock.advance(seconds);
    return this.core.contractNow();
  }

  useWallClock(): void {
    this.core.clock.useWallClock();
  }

  /** The timestamp the next call would see. */
  now(): number {
    return this.core.contractNow();
  }

  /** Drift injection: rewrites stored fields (or deletes the line with null) without events. */
  tamper(borrower: string, patch: CreditLinePatch | null): CreditLine | undefined {
    return this.core.contract.tamper(borrower, patch, this.core.chain.latest.sequence);
  }

  /** The stored line: `working` includes calls not yet sealed by closeLedger, `committed` is what RPC serves. */
  creditLine(borrower: string, which: 'working' | 'committed' = 'working'): CreditLine | undefined {
    return this.core.contract.creditLine(borrower, which);
  }

  state(which: 'working' | 'committed' = 'working'): Readonly<ContractState> {
    return this.core.contract.state(which);
  }
}

/** Drives the Reflector-style price oracle. */
export class OracleControl {
  constructor(private readonly core: DevnetCore) {}

  get contractId(): string {
    return this.core.oracle.contractId;
  }

  /**
   * Records a price (raw integer at the oracle's decimals, e.g. 0.12 USD = 12_000_000_000_000n at 14) for
   * `{stellar: 'C…'}` or `{other: 'XLM'}`. `timestamp` (unix seconds, default the ledger time, never in the
   * future) is floored to the resolution. Like any contract write, RPC sees it after the next closeLedger().
   */
  setPrice(asset: OracleAsset, price: bigint, timestamp?: number): OraclePrice {
    return this.core.oracle.setPrice(asset, price, this.core.contractNow(), timestamp);
  }

  /** Changes decimals, resolution, base or the staleness rule, visible at once (deploy-time settings). */
  configure(patch: Partial<OracleSettings>): OracleSettings {
    return this.core.oracle.configure(patch);
  }

  get settings(): Readonly<OracleSettings> {
    return this.core.oracle.settings;
  }

  /** What `lastprice` answers now (`committed`), or including updates not yet sealed (`working`). */
  lastPrice(asset: OracleAsset, which: 'working' | 'committed' = 'committed'): OraclePrice | undefined {
    return this.core.oracle.lastPrice(asset, this.core.contractNow(), which);
  }
}

export interface HorizonSeedBatch {
  accounts?: AccountSeed[];
  payments?: PaymentSeed[];
  trades?: TradeSeed[];
}

/** Seeds Horizon's classic data; visible at once (recorded in the latest closed ledger). */
export class HorizonSeeder {
  constructor(private readonly core: DevnetCore) {}

  /**
   * Creates or replaces an account. With `createdAt` its creation is also recorded as a `create_account`
   * operation, so account age can be read from its first operation as on a real Horizon.
   */
  account(seed: AccountSeed): AccountRecord {
    const latest = this.core.chain.latest;
    // The creation goes first so that its checks (createdAt, funder, one creation per account, balances)
    // reject a bad seed before the account is replaced.
    if (seed.createdAt !== undefined) {
      const creation = {
        account: seed.id,
        funder: seed.funder ?? DEVNET_FUNDER,
        startingBalance: seededNativeBalance(seed) ?? toStroops('1'),
        createdAt: seed.createdAt,
      };
      this.core.horizon.seedAccountCreation(creation, latest.sequence, latest.closeTime);
    }
    return this.core.accounts.seed(seed, latest.sequence, latest.closeTime);
  }

  /** A payment and its one-operation transaction (memo optional); the sender is auto-created if unknown. */
  payment(seed: PaymentSeed): PaymentOp {
    const latest = this.core.chain.latest;
    return this.core.horizon.seedPayment(seed, latest.sequence, latest.closeTime);
  }

  trade(seed: TradeSeed): Trade {
    return this.core.horizon.seedTrade(seed);
  }

  batch(batch: HorizonSeedBatch): { accounts: AccountRecord[]; payments: PaymentOp[]; trades: Trade[] } {
    return {
      accounts: (batch.accounts ?? []).map((a) => this.account(a)),
      payments: (batch.payments ?? []).map((p) => this.payment(p)),
      trades: (batch.trades ?? []).map((t) => this.trade(t)),
    };
  }
}

// ── HTTP ───────────────────────────────────────────────────────────────────────────────────────────────

export interface ControlTarget {
  core: DevnetCore;
  contract: ContractControl;
  oracle: OracleControl;
  seedHorizon: HorizonSeeder;
  info(): Record<string, unknown>;
  closeLedger(): number;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

/** Maps a thrown error to a control-API answer: contract failures are 422 with the contract's code. */
function failure(error: unknown): ControlResponse {
  if (error instanceof ContractError) {
    return { status: 422, body: { error: { type: 'contract', code: error.code, name: error.errorName, message: error.message } } };
  }
  if (error instanceof HostError) return { status: 422, body: { error: { type: 'host', message: error.message } } };
  if (error instanceof ValueTypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof TypeError) {
    return { status: 400, body: { error: { type: 'bad_request', message: error.message } } };
  }
  return { status: 500, body: { error: { type: 'internal', message: (error as Error).message ?? String(error) } } };
}

const summary = (r: CallResult) => ({ fn: r.fn, result: toJsonSafe(r.result), retval: r.retval.toXDR('base64'), events: r.events.length });

function lineJson(line: CreditLine | undefined): unknown {
  return line ? toJsonSafe(line) : null;
}

/**
 * `POST /_devnet/<route>` with a JSON body (GET works for the read-only routes). Routes:
 * info, close {count?}, invoke {fn, args}, emit {name, payload, contractId?},
 * emit-raw {topics: (symbol | {xdr})[], value: base64 ScVal, contractId?}, time {set?|advance?|wallClock?},
 * faults {timeoutMs?, force5xx?, errorRate?, fail5xxCount?, emptyPages?, lagLedgers?, tryAgainLater?,
 * minInclusionFee?, scope?}, faults/clear, faults/reset (node reset), tamper {borrower, patch|null},
 * seed {accounts?, payments?, trades?}, credit-line {borrower, which?},
 * oracle/price {asset, price, timestamp?}, oracle/config {decimals?, resolution?, base?, maxAgeResolutions?}.
 */
export function handleControl(target: ControlTarget, route: string, body: Record<string, unknown>): ControlResponse {
  const { core, contract, oracle, seedHorizon } = target;
  try {
    switch (route) {
      case 'info':
        return { status: 200, body: target.info() };
      case 'close': {
        const count = body.count === undefined ? 1 : Number(body.count);
        if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new RangeError('count must be 1..10000');
        let sequence = 0;
        for (let i = 0; i < count; i++) sequence = target.closeLedger();
        return { status: 200, body: { sequence, latestLedger: core.chain.latest.sequence, oldestLedger: core.chain.oldest.sequence } };
      }
      case 'invoke':
        if (typeof body.fn !== 'string') throw new RangeError('fn is required');
        return { status: 200, body: summary(contract.invoke(body.fn, body.args as Record<string, unknown> | unknown[] | undefined)) };
      case 'emit':
        if (typeof body.name !== 'string') throw new RangeError('name is required');
        contract.emit(body.name as EventName, body.payload, body.contractId as string | undefined);
        return { status: 200, body: { ok: true } };
      case 'emit-raw': {
        if (!Array.isArray(body.topics) || typeof body.value !== 'string') throw new RangeError('topics (array) and value (base64 ScVal) are required');
        const topics = body.topics.map((t: unknown) =>
          typeof t === 'string' ? t : xdr.ScVal.fromXDR(String((t as { xdr?: unknown }).xdr), 'base64'),
        );
        contract.emitRaw(topics, xdr.ScVal.fromXDR(body.value, 'base64'), body.contractId as string | undefined);
        return { status: 200, body: { ok: true } };
      }
      case 'time': {
        if (body.wallClock === true) contract.useWallClock();
        if (body.set !== undefined) contract.setTime(Number(body.set));
        if (body.advance !== undefined) contract.advanceTime(Number(body.advance));
        return { status: 200, body: { now: contract.now(), pinned: core.clock.isPinned } };
      }
      case 'faults':
        return { status: 200, body: { faults: core.faults.set(body as Partial<FaultSettings>) } };
      case 'faults/clear':
        core.faults.clear();
        return { status: 200, body: { faults: core.faults.current } };
      case 'faults/reset':
      case 'reset':
        core.faults.reset();
        return { status: 200, body: { latestLedger: core.chain.latest.sequence, oldestLedger: core.chain.oldest.sequence } };
      case 'tamper':
        if (typeof body.borrower !== 'string' || body.patch === undefined) throw new RangeError('borrower and patch (object or null) are required');
        return { status: 200, body: { line: lineJson(contract.tamper(body.borrower, body.patch as CreditLinePatch | null)) } };
      case 'seed': {
        const seeded = seedHorizon.batch(body as HorizonSeedBatch);
        return {
          status: 200,
          body: {
            accounts: seeded.accounts.map((a) => a.id),
            payments: seeded.payments.map((p) => ({ id: p.toid.toString(), transaction_hash: p.tx.hash })),
            trades: seeded.trades.length,
          },
        };
      }
      case 'credit-line': {
        if (typeof body.borrower !== 'string') throw new RangeError('borrower is required');
        const which = body.which === 'committed' ? 'committed' : 'working';
        return { status: 200, body: { line: lineJson(contract.creditLine(body.borrower, which)) } };
      }
      case 'oracle/price': {
        const timestamp = body.timestamp === undefined ? undefined : Number(body.timestamp);
        const data = oracle.setPrice(toOracleAsset(body.asset), toBigInt(body.price, 'price'), timestamp);
        return { status: 200, body: { oracleId: oracle.contractId, price: data.price.toString(), timestamp: data.timestamp } };
      }
      case 'oracle/config': {
        // Only the known settings; `maxAgeResolutions: null` switches the staleness rule off.
        const patch: Partial<OracleSettings> = {};
        for (const key of ['decimals', 'resolution', 'maxAgeResolutions'] as const) {
          if (key in body) patch[key] = body[key] === null ? undefined : Number(body[key]);
        }
        if (body.base !== undefined) patch.base = toOracleAsset(body.base);
        return { status: 200, body: { oracleId: oracle.contractId, settings: oracle.configure(patch) } };
      }
      default:
        return { status: 404, body: { error: { type: 'not_found', message: `unknown control route ${route}` } } };
    }
  } catch (error) {
    return failure(error);
  }
}
