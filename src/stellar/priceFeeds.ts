import { Account, Address, Asset, BASE_FEE, contract, Horizon, Operation, rpc, scValToNative, StrKey, TimeoutInfinite, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { PRICE_DECIMALS } from '../domain/collateral/valuation.js';
import { maskAddress, maskAddressesIn } from '../domain/stellarAddress.js';
import { withTimeout } from '../lib/timeout.js';
import { SorobanRpcClient } from './sorobanRpc.js';

/**
 * Price feeds for collateral valuation: one feed per collateral asset, each answering the latest USD price per
 * whole unit as a bigint scaled by 1e14. Sources: a Reflector (SEP-40) oracle read by simulation, Horizon's SDEX
 * trade aggregations against a USD stablecoin, or a fixed price for development. All conversions are exact
 * integer maths, flooring where precision is lost (a price never rounds up). A feed that cannot answer throws
 * PriceUnavailableError; it never falls back to a default.
 */

export interface PriceQuote {
  price1e14: bigint;
  observedAt: Date;
  source: 'reflector' | 'horizon' | 'static';
}

export interface PriceFeed {
  latest(): Promise<PriceQuote>;
}

/** No usable price: the source has none for the asset, answered something unusable, failed or timed out. */
export class PriceUnavailableError extends Error {
  override name = 'PriceUnavailableError';
  constructor(
    /** The asset as named in messages: a symbol, an asset code, or a masked address. */
    readonly asset: string,
    readonly source: PriceQuote['source'],
    readonly reason: string,
  ) {
    // Reasons may quote node or Horizon messages, which can carry full addresses: mask them all.
    super(maskAddressesIn(`no ${source} price for ${asset}: ${reason}`));
  }
}

// ── Exact conversions to the 1e14 scale ────────────────────────────────────────────────────────────────

const SCALE = 10n ** BigInt(PRICE_DECIMALS);

/** floor(a / b) for any signs (BigInt division truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** An integer price with `decimals` places, rescaled to 14 places: exact when widening, floored when narrowing. */
export function rescaleTo1e14(raw: bigint, decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0) throw new RangeError(`invalid decimals ${decimals}`);
  const shift = PRICE_DECIMALS - decimals;
  return shift >= 0 ? raw * 10n ** BigInt(shift) : floorDiv(raw, 10n ** BigInt(-shift));
}

/** A non-negative decimal string ("0.1200000", "12", "1.5") at 14 places, digits past the 14th dropped. */
export function decimalTo1e14(text: string): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  const fraction = (match[2] ?? '').slice(0, PRICE_DECIMALS).padEnd(PRICE_DECIMALS, '0');
  return BigInt(match[1]!) * SCALE + BigInt(fraction);
}

/** n/d at 14 places, floored. */
export function rationalTo1e14(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('zero denominator');
  return floorDiv(n * SCALE, d);
}

// ── Reflector (SEP-40) ─────────────────────────────────────────────────────────────────────────────────

export type ReflectorAsset = { stellar: string } | { other: string };

export interface ReflectorFeedOptions {
  /** Deadline of each RPC call. */
  timeoutMs: number;
  networkPassphrase: string;
  /** Retries of transient RPC failures within one read (default 0: the caller decides when to ask again). */
  retries?: number;
}

/** The contract's `Asset` enum on the wire: a vec of the variant symbol and its value. */
function reflectorAssetVal(asset: ReflectorAsset): xdr.ScVal {
  return 'stellar' in asset
    ? xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Stellar'), new Address(asset.stellar).toScVal()])
    : xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Other'), xdr.ScVal.scvSymbol(asset.other)]);
}

/**
 * Reads `decimals()` (once, then cached) and `lastprice(asset)` from a Reflector-style oracle by simulating the
 * calls: reads cost nothing and need no signature. The simulated source is the SDK's own null account (what
 * `contract.Client` uses for read-only calls), so no funded account is needed.
 */
export class ReflectorPriceFeed implements PriceFeed {
  readonly assetLabel: string;
  private readonly rpc: SorobanRpcClient;
  private decimals?: Promise<number>;

  constructor(
    rpcUrl: string,
    private readonly oracleContractId: string,
    private readonly asset: ReflectorAsset,
    private readonly options: ReflectorFeedOptions,
  ) {
    if (!StrKey.isValidContract(oracleContractId)) throw new RangeError('the oracle id must be a C… contract address');
    if ('stellar' in asset) {
      if (!StrKey.isValidContract(asset.stellar)) throw new RangeError('a Stellar oracle asset must be a C… contract address');
    } else if (!/^[A-Za-z0-9_]{1,32}$/.test(asset.other)) {
      throw new RangeError('an Other oracle asset must be a symbol');
    }
    this.assetLabel = 'stellar' in asset ? maskAddress(asset.stellar) : asset.other;
    this.rpc = new SorobanRpcClient(rpcUrl, { timeoutMs: options.timeoutMs, retries: options.retries ?? 0, baseDelayMs: 200, maxDelayMs: 2_000 });
  }

  async latest(): Promise<PriceQuote> {
    const decimals = await this.loadDecimals();
    const value = await this.read('lastprice', reflectorAssetVal(this.asset));
    if (value.switch().name === 'scvVoid') throw this.unavailable(`oracle ${maskAddress(this.oracleContractId)} has no price for it (lastprice is None)`);
    const data = scValToNative(value) as { price?: unknown; timestamp?: unknown };
    if (typeof data?.price !== 'bigint' || typeof data.timestamp !== 'bigint') throw this.unavailable('lastprice returned something other than PriceData');
    if (data.price <= 0n) throw this.unavailable(`the oracle reports a non-positive price (${data.price})`);
    return { price1e14: rescaleTo1e14(data.price, decimals), observedAt: new Date(Number(data.timestamp) * 1000), source: 'reflector' };
  }

  private loadDecimals(): Promise<number> {
    // The promise is cached so concurrent callers share one read; a failure is forgotten, to be retried next time.
    if (!this.decimals) {
      const pending = this.read('decimals').then((value) => {
        const decimals = value.switch().name === 'scvU32' ? value.u32() : -1;
        if (decimals < 0 || decimals > 38) throw this.unavailable('decimals() did not return a u32 in 0..38');
        return decimals;
      });
      pending.catch(() => {
        if (this.decimals === pending) this.decimals = undefined;
      });
      this.decimals = pending;
    }
    return this.decimals;
  }

  private async read(fn: string, ...args: xdr.ScVal[]): Promise<xdr.ScVal> {
    const tx = new TransactionBuilder(new Account(contract.NULL_ACCOUNT, '0'), { fee: BASE_FEE, networkPassphrase: this.options.networkPassphrase })
      .addOperation(Operation.invokeContractFunction({ contract: this.oracleContractId, function: fn, args }))
      .setTimeout(TimeoutInfinite)
      .build();
    let sim: rpc.Api.SimulateTransactionResponse;
    try {
      sim = await this.rpc.simulateTransaction(tx);
    } catch (error) {
      throw this.unavailable((error as Error).message); // RpcError: "simulateTransaction: timed out" and the like
    }
    if (rpc.Api.isSimulationError(sim)) throw this.unavailable(`${fn} failed: ${sim.error.split('\n')[0]}`);
    if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw this.unavailable(`${fn}: the simulation returned no result`);
    return sim.result.retval;
  }

  private unavailable(reason: string): PriceUnavailableError {
    return new PriceUnavailableError(this.assetLabel, 'reflector', reason);
  }
}

// ── Horizon trade aggregations ─────────────────────────────────────────────────────────────────────────

export type HorizonAsset = 'native' | { code: string; issuer: string };

export interface HorizonFeedOptions {
  /** Deadline of each Horizon request. */
  timeoutMs: number;
  /** Bucket width for `latest()`: one of Horizon's resolutions. Default 5 minutes. */
  resolutionMs?: number;
  clock?: () => Date;
}

const DAY_MS = 86_400_000;
const MAX_PAGE = 200;
const RESOLUTIONS = [60_000, 300_000, 900_000, 3_600_000, DAY_MS, 7 * DAY_MS];

interface AggregationRecord {
  timestamp: number | string;
  close: string;
  /** Horizon sends the exact rational as {N, D}; not in the SDK's type. */
  close_r?: { N?: unknown; D?: unknown; n?: unknown; d?: unknown };
}

/** A bucket's close at 1e14: the exact rational when present, else the 7-place decimal string. */
export function closeTo1e14(record: Pick<AggregationRecord, 'close' | 'close_r'>): bigint {
  const n = record.close_r?.N ?? record.close_r?.n;
  const d = record.close_r?.D ?? record.close_r?.d;
  if (Number.isSafeInteger(n) && Number.isSafeInteger(d) && (d as number) > 0) return rationalTo1e14(BigInt(n as number), BigInt(d as number));
  return decimalTo1e14(record.close);
}

const toSdkAsset = (asset: HorizonAsset): Asset => (asset === 'native' ? Asset.native() : new Asset(asset.code, asset.issuer));

class HorizonTimeout extends Error {}

/**
 * The SDEX price of `base` in `counter` (a USD stablecoin, taken 1:1 with USD) from Horizon's trade aggregations.
 * Horizon only returns completed buckets (it rounds end_time down), so the latest close is observed at its
 * bucket's end. Thin markets can be moved cheaply: use this as a sanity check next to an oracle.
 */
export class HorizonTradePriceFeed implements PriceFeed {
  readonly assetLabel: string;
  private readonly server: Horizon.Server;
  private readonly base: Asset;
  private readonly counter: Asset;
  private readonly resolutionMs: number;
  private readonly clock: () => Date;

  constructor(
    horizonUrl: string,
    base: HorizonAsset,
    counter: { code: string; issuer: string },
    private readonly options: HorizonFeedOptions,
  ) {
    this.base = toSdkAsset(base);
    this.counter = toSdkAsset(counter);
    this.assetLabel = base === 'native' ? 'XLM' : `${base.code} (${maskAddress(base.issuer)})`;
    this.resolutionMs = options.resolutionMs ?? 300_000;
    if (!RESOLUTIONS.includes(this.resolutionMs)) throw new RangeError(`resolutionMs must be one of Horizon's: ${RESOLUTIONS.join(', ')}`);
    this.clock = options.clock ?? (() => new Date());
    this.server = new Horizon.Server(horizonUrl, { allowHttp: horizonUrl.startsWith('http://') });
  }

  /** The close of the latest bucket with trades within the last day (two buckets, for the weekly resolution). */
  async latest(): Promise<PriceQuote> {
    const now = this.clock().getTime();
    const since = now - Math.max(DAY_MS, 2 * this.resolutionMs);
    const page = await this.call(() =>
      this.server.tradeAggregation(this.base, this.counter, since, now, this.resolutionMs, 0).order('desc').limit(1).call(),
    );
    const record = page.records[0] as AggregationRecord | undefined;
    if (!record) throw this.unavailable('no trades in the last 24 hours');
    return { price1e14: this.close(record), observedAt: new Date(Number(record.timestamp) + this.resolutionMs), source: 'horizon' };
  }

  /**
   * Daily closes (UTC days) over the last `days` days, oldest first, for volatility. Only completed days with
   * trades appear: Horizon leaves out empty buckets and the day in progress.
   */
  async dailyCloses(days: number): Promise<Array<{ day: string; close1e14: bigint }>> {
    if (!Number.isInteger(days) || days < 1) throw new RangeError('days must be a positive integer');
    const now = this.clock().getTime();
    const closes: Array<{ day: string; close1e14: bigint }> = [];
    let page = await this.call(() =>
      this.server.tradeAggregation(this.base, this.counter, now - days * DAY_MS, now, DAY_MS, 0).order('asc').limit(MAX_PAGE).call(),
    );
    for (;;) {
      for (const record of page.records as unknown as AggregationRecord[]) {
        closes.push({ day: new Date(Number(record.timestamp)).toISOString().slice(0, 10), close1e14: this.close(record) });
      }
      if (page.records.length < MAX_PAGE) return closes;
      const current = page;
      page = await this.call(() => current.next());
    }
  }

  private close(record: AggregationRecord): bigint {
    let price: bigint;
    try {
      price = closeTo1e14(record);
    } catch (error) {
      throw this.unavailable(`unreadable close price (${(error as Error).message})`);
    }
    if (price <= 0n) throw this.unavailable('the close price is zero');
    return price;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(request(), this.options.timeoutMs, () => new HorizonTimeout());
    } catch (error) {
      if (error instanceof HorizonTimeout) throw this.unavailable(`Horizon did not answer within ${this.options.timeoutMs} ms`);
      const status = (error as { response?: { status?: unknown } }).response?.status;
      throw this.unavailable(typeof status === 'number' ? `Horizon answered HTTP ${status}` : `Horizon could not be reached (${(error as Error).name})`);
    }
  }

  private unavailable(reason: string): PriceUnavailableError {
    return new PriceUnavailableError(this.assetLabel, 'horizon', reason);
  }
}

// ── Static ─────────────────────────────────────────────────────────────────────────────────────────────

/** A fixed price, observed whenever asked: for development and tests, never for production valuation. */
export class StaticPriceFeed implements PriceFeed {
  constructor(
    private readonly price1e14: bigint,
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (price1e14 <= 0n) throw new RangeError('a static price must be positive');
  }

  async latest(): Promise<PriceQuote> {
    return { price1e14: this.price1e14, observedAt: this.clock(), source: 'static' };
  }
}
