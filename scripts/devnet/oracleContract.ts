import { Address, hash, SorobanDataBuilder, xdr } from '@stellar/stellar-sdk';
import { HostError } from './creditContract.js';
import { encode, structVal, ValueTypeError } from './scval.js';
import { instanceKey, simulationErrorText, type Invocation, type RawSimulation } from './transactions.js';

/**
 * A model of a Reflector price oracle (SEP-40 consumer interface), read-only from the RPC side: `base`,
 * `decimals`, `resolution`, `assets`, `last_timestamp` and `lastprice`, with the wire encodings the real
 * contract uses — `Asset` is the `#[contracttype]` enum `Stellar(Address) | Other(Symbol)` (a vec of the
 * variant symbol and its value), `PriceData { price: i128, timestamp: u64 }` a struct (an ScMap with sorted
 * symbol keys), `Option::None` a void. Prices are raw integers scaled by `10^decimals`.
 *
 * Like the Credit model, price updates land in a working state that RPC sees only once the ledger closes.
 */

export type OracleAsset = { stellar: string } | { other: string };

export interface OracleSettings {
  /** Decimal places of every quoted price. Reflector's public feeds use 14. */
  decimals: number;
  /** Seconds per round; price timestamps are multiples of it. Reflector's Pulse feeds use 300. */
  resolution: number;
  /** The asset prices are quoted in. */
  base: OracleAsset;
  /**
   * Current Reflector answers `lastprice` with None once the last round is two resolutions old. Off by
   * default so pinned-clock tests can use any past timestamp; set 2 to reproduce the real behaviour.
   */
  maxAgeResolutions?: number;
}

export interface OraclePrice {
  price: bigint;
  /** Unix seconds, floored to the resolution. */
  timestamp: number;
}

export const DEFAULT_ORACLE_SETTINGS: Readonly<OracleSettings> = Object.freeze({ decimals: 14, resolution: 300, base: { other: 'USD' } });

const I128_MAX = 2n ** 127n - 1n;
const SYMBOL = /^[A-Za-z0-9_]{1,32}$/;

/** Checks a loosely typed asset (`{stellar: 'C…'}` or `{other: 'XLM'}`, e.g. from JSON) and returns it clean. */
export function toOracleAsset(input: unknown): OracleAsset {
  const value = (input ?? {}) as Record<string, unknown>;
  if (typeof value.stellar === 'string' && value.other === undefined) {
    try {
      new Address(value.stellar);
    } catch {
      throw new ValueTypeError(`asset.stellar: not a valid G… or C… address: ${value.stellar}`);
    }
    return { stellar: value.stellar };
  }
  if (typeof value.other === 'string' && value.stellar === undefined) {
    if (!SYMBOL.test(value.other)) throw new ValueTypeError(`asset.other: not a valid symbol: ${value.other}`);
    return { other: value.other };
  }
  throw new ValueTypeError("asset must be {stellar: 'C…'} or {other: 'SYMBOL'}");
}

const keyOf = (asset: OracleAsset): string => ('stellar' in asset ? `Stellar:${asset.stellar}` : `Other:${asset.other}`);

export function encodeAsset(asset: OracleAsset): xdr.ScVal {
  return 'stellar' in asset
    ? xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Stellar'), new Address(asset.stellar).toScVal()])
    : xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Other'), xdr.ScVal.scvSymbol(asset.other)]);
}

/** Decodes an `Asset` argument as the host would, failing with Error(Value, UnexpectedType) on any other shape. */
export function decodeAsset(scv: xdr.ScVal): OracleAsset {
  const items = scv.switch().name === 'scvVec' ? (scv.vec() ?? []) : [];
  const [tag, value] = items;
  const variant = items.length === 2 && tag?.switch().name === 'scvSymbol' ? tag.sym().toString() : undefined;
  if (variant === 'Stellar' && value?.switch().name === 'scvAddress') return { stellar: Address.fromScVal(value).toString() };
  if (variant === 'Other' && value?.switch().name === 'scvSymbol') return { other: value.sym().toString() };
  throw new ValueTypeError('asset: expected Asset::Stellar(Address) or Asset::Other(Symbol)');
}

const priceDataVal = (p: OraclePrice): xdr.ScVal =>
  structVal([
    ['price', encode('i128', p.price)],
    ['timestamp', encode('u64', p.timestamp)],
  ]);

function checkSettings(s: OracleSettings): OracleSettings {
  if (!Number.isInteger(s.decimals) || s.decimals < 0 || s.decimals > 38) throw new RangeError('decimals must be 0..38');
  if (!Number.isInteger(s.resolution) || s.resolution < 1) throw new RangeError('resolution must be whole seconds >= 1');
  if (s.maxAgeResolutions !== undefined && !(Number.isInteger(s.maxAgeResolutions) && s.maxAgeResolutions >= 1)) {
    throw new RangeError('maxAgeResolutions must be an integer >= 1');
  }
  return { ...s, base: toOracleAsset(s.base) };
}

/** The hash the devnet pretends the oracle's WASM has (its code key in simulation footprints). */
const ORACLE_WASM_HASH = hash(Buffer.from('creditra-devnet-reflector-oracle-wasm'));

export class OracleContract {
  private settingsValue: OracleSettings;
  /** Prices by asset: `working` takes updates as they happen, `committed` is what RPC reads (the last close). */
  private working = new Map<string, { asset: OracleAsset; data: OraclePrice }>();
  private committed = new Map<string, { asset: OracleAsset; data: OraclePrice }>();

  constructor(
    readonly contractId: string,
    settings: Partial<OracleSettings> = {},
  ) {
    this.settingsValue = checkSettings({ ...DEFAULT_ORACLE_SETTINGS, ...settings });
  }

  get settings(): Readonly<OracleSettings> {
    return { ...this.settingsValue };
  }

  /** Deploy-time constants, so they change at once (not at the next close). Stored prices keep their raw value. */
  configure(patch: Partial<OracleSettings>): OracleSettings {
    this.settingsValue = checkSettings({ ...this.settingsValue, ...patch });
    return this.settings;
  }

  /**
   * A price update in the open ledger. `timestamp` (default `now`) is floored to the resolution; like
   * Reflector's `set_price` it may not lie in the future, and an asset's rounds only move forward.
   */
  setPrice(assetInput: OracleAsset, price: bigint, now: number, timestamp: number = now): OraclePrice {
    const asset = toOracleAsset(assetInput);
    if (typeof price !== 'bigint' || price <= 0n || price > I128_MAX) throw new RangeError('price must be a positive i128 bigint');
    if (!Number.isInteger(timestamp) || timestamp < 0) throw new RangeError('timestamp must be whole unix seconds');
    if (timestamp > now) throw new RangeError(`timestamp ${timestamp} is in the future (ledger time ${now})`);
    const resolution = this.settingsValue.resolution;
    const data = { price, timestamp: Math.floor(timestamp / resolution) * resolution };
    const previous = this.working.get(keyOf(asset));
    if (previous && data.timestamp < previous.data.timestamp) {
      throw new RangeError(`timestamp ${data.timestamp} is before the asset's last round (${previous.data.timestamp})`);
    }
    this.working.set(keyOf(asset), { asset, data });
    return { ...data };
  }

  /** Seals the open ledger's price updates (called on ledger close). */
  commit(): void {
    this.committed = new Map(this.working);
  }

  /** What `lastprice` answers at `now` (committed state), or the pending value with `which = 'working'`. */
  lastPrice(assetInput: OracleAsset, now: number, which: 'working' | 'committed' = 'committed'): OraclePrice | undefined {
    const entry = (which === 'working' ? this.working : this.committed).get(keyOf(toOracleAsset(assetInput)));
    if (!entry) return undefined;
    const { maxAgeResolutions, resolution } = this.settingsValue;
    if (maxAgeResolutions !== undefined && now - entry.data.timestamp >= maxAgeResolutions * resolution) return undefined;
    return { ...entry.data };
  }

  /** Runs a read function against the committed state and returns its ScVal result. */
  read(fn: string, args: xdr.ScVal[], now: number): xdr.ScVal {
    const arity = (n: number) => {
      if (args.length !== n) throw new ValueTypeError(`expected ${n} arguments, got ${args.length}`);
    };
    const s = this.settingsValue;
    switch (fn) {
      case 'decimals':
        arity(0);
        return xdr.ScVal.scvU32(s.decimals);
      case 'resolution':
        arity(0);
        return xdr.ScVal.scvU32(s.resolution);
      case 'base':
        arity(0);
        return encodeAsset(s.base);
      case 'assets':
        arity(0);
        return xdr.ScVal.scvVec([...this.committed.values()].map((e) => encodeAsset(e.asset)));
      case 'last_timestamp':
        arity(0);
        return encode('u64', Math.max(0, ...[...this.committed.values()].map((e) => e.data.timestamp)));
      case 'lastprice': {
        arity(1);
        const price = this.lastPrice(decodeAsset(args[0]!), now);
        return price ? priceDataVal(price) : xdr.ScVal.scvVoid();
      }
      default:
        throw new HostError('WasmVm', 'MissingValue', `trying to invoke non-existent contract function ${fn}`);
    }
  }
}

/** simulateTransaction for an invocation of the oracle: a read with no auth, no events and no writes. */
export function simulateOracle(inv: Invocation, oracle: OracleContract, now: number, latestLedger: number): RawSimulation {
  let retval: xdr.ScVal;
  try {
    retval = oracle.read(inv.fn, inv.args, now);
  } catch (error) {
    return { latestLedger, error: simulationErrorText(error, inv.contractId, inv.fn), events: [] };
  }
  const codeKey = xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash: ORACLE_WASM_HASH }));
  const fee = 45_000; // invented, like the Credit model's numbers: stable and plausible
  const data = new SorobanDataBuilder()
    .setFootprint([instanceKey(inv.contractId), codeKey], [])
    .setResources(2_000_000, 3_000, 0)
    .setResourceFee(fee)
    .build();
  return {
    latestLedger,
    results: [{ auth: [], xdr: retval.toXDR('base64') }],
    transactionData: data.toXDR('base64'),
    minResourceFee: String(fee),
    events: [],
  };
}
