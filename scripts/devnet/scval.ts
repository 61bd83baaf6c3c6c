import { Address, nativeToScVal, scValToNative, xdr } from '@stellar/stellar-sdk';

/**
 * A tiny type language for the Soroban values the Credit contract sends and receives. One description of a
 * type drives three things: encoding JS values to ScVal (events, return values, storage), decoding ScVal
 * arguments of an invocation (with type checks, so a wrong argument fails like the host would), and coercing
 * loosely typed JSON from the HTTP control API (amounts arrive as strings there).
 */
export type Ty =
  | 'address'
  | 'i128'
  | 'u32'
  | 'u64'
  | 'bool'
  | 'symbol'
  /** 32 raw bytes: hex string or Uint8Array in, Uint8Array out (BytesN<32>). */
  | 'bytes'
  /** A unit enum variant (e.g. BorrowLifecyclePhase::Drawn): a one-element vec holding the variant symbol. */
  | 'unit'
  /** CreditStatus: an integer enum, so a U32 on the wire. Accepts the variant name or the number. */
  | 'status'
  | 'void'
  | { option: Ty }
  | { vec: Ty }
  | { tuple: Ty[] }
  | { struct: Record<string, Ty> };

export const CREDIT_STATUS = { Active: 0, Suspended: 1, Defaulted: 2, Closed: 3, Restricted: 4 } as const;
export type CreditStatusName = keyof typeof CREDIT_STATUS;
export const STATUS_NAMES = Object.keys(CREDIT_STATUS) as CreditStatusName[];

/** Thrown when a value does not fit its declared type; the host reports this as Error(Value, UnexpectedType). */
export class ValueTypeError extends Error {
  override name = 'ValueTypeError';
}

export function toBigInt(value: unknown, what = 'value'): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  throw new ValueTypeError(`${what}: expected an integer, got ${JSON.stringify(String(value))}`);
}

function toU32(value: unknown, what: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new ValueTypeError(`${what}: expected a u32, got ${JSON.stringify(String(value))}`);
  }
  return n;
}

function toStatus(value: unknown, what: string): number {
  if (typeof value === 'string' && value in CREDIT_STATUS) return CREDIT_STATUS[value as CreditStatusName];
  return toU32(value, what);
}

function toBytes(value: unknown, what: string): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value) && value.length % 2 === 0) return Buffer.from(value, 'hex');
  throw new ValueTypeError(`${what}: expected bytes (hex), got ${JSON.stringify(String(value))}`);
}

const I128_MIN = -(2n ** 127n);
const I128_MAX = 2n ** 127n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Encodes a JS (or JSON) value as an ScVal of the given type. Struct keys are sorted, as Soroban requires. */
export function encode(ty: Ty, value: unknown, what = 'value'): xdr.ScVal {
  if (typeof ty === 'string') {
    switch (ty) {
      case 'address':
        if (typeof value !== 'string') throw new ValueTypeError(`${what}: expected an address string`);
        try {
          return new Address(value).toScVal();
        } catch {
          throw new ValueTypeError(`${what}: not a valid G… or C… address: ${value}`);
        }
      case 'i128': {
        const n = toBigInt(value, what);
        if (n < I128_MIN || n > I128_MAX) throw new ValueTypeError(`${what}: out of i128 range`);
        return nativeToScVal(n, { type: 'i128' });
      }
      case 'u64': {
        const n = toBigInt(value, what);
        if (n < 0n || n > U64_MAX) throw new ValueTypeError(`${what}: out of u64 range`);
        return nativeToScVal(n, { type: 'u64' });
      }
      case 'u32':
        return xdr.ScVal.scvU32(toU32(value, what));
      case 'status':
        return xdr.ScVal.scvU32(toStatus(value, what));
      case 'bool':
        if (typeof value !== 'boolean') throw new ValueTypeError(`${what}: expected a boolean`);
        return xdr.ScVal.scvBool(value);
      case 'symbol':
        if (typeof value !== 'string' || !/^[A-Za-z0-9_]{0,32}$/.test(value)) throw new ValueTypeError(`${what}: not a valid symbol`);
        return xdr.ScVal.scvSymbol(value);
      case 'bytes':
        return xdr.ScVal.scvBytes(toBytes(value, what));
      case 'unit':
        if (typeof value !== 'string') throw new ValueTypeError(`${what}: expected an enum variant name`);
        return xdr.ScVal.scvVec([xdr.ScVal.scvSymbol(value)]);
      case 'void':
        return xdr.ScVal.scvVoid();
    }
  }
  if ('option' in ty) return value === null || value === undefined ? xdr.ScVal.scvVoid() : encode(ty.option, value, what);
  if ('vec' in ty) {
    if (!Array.isArray(value)) throw new ValueTypeError(`${what}: expected an array`);
    return xdr.ScVal.scvVec(value.map((v, i) => encode(ty.vec, v, `${what}[${i}]`)));
  }
  if ('tuple' in ty) {
    if (!Array.isArray(value) || value.length !== ty.tuple.length) throw new ValueTypeError(`${what}: expected a ${ty.tuple.length}-tuple`);
    return xdr.ScVal.scvVec(ty.tuple.map((t, i) => encode(t, value[i], `${what}[${i}]`)));
  }
  if (value === null || typeof value !== 'object') throw new ValueTypeError(`${what}: expected an object`);
  const record = value as Record<string, unknown>;
  return structVal(
    Object.entries(ty.struct).map(([field, fieldTy]) => {
      if (!(field in record)) throw new ValueTypeError(`${what}: missing field ${field}`);
      return [field, encode(fieldTy, record[field], `${what}.${field}`)];
    }),
  );
}

/** An ScMap keyed by field-name symbols, sorted by key: the wire form of a `#[contracttype]` struct. */
export function structVal(fields: Array<[string, xdr.ScVal]>): xdr.ScVal {
  const sorted = [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return xdr.ScVal.scvMap(sorted.map(([key, val]) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key), val })));
}

const EXPECTED_ARM: Record<string, string> = {
  address: 'scvAddress',
  i128: 'scvI128',
  u32: 'scvU32',
  status: 'scvU32',
  u64: 'scvU64',
  bool: 'scvBool',
  symbol: 'scvSymbol',
  bytes: 'scvBytes',
  void: 'scvVoid',
};

/** Decodes an invocation argument, checking its ScVal type like the host does before the contract runs. */
export function decode(ty: Ty, scv: xdr.ScVal, what = 'value'): unknown {
  const arm = scv.switch().name;
  if (typeof ty === 'string') {
    if (ty === 'unit') {
      const items = arm === 'scvVec' ? (scv.vec() ?? []) : [];
      if (items.length !== 1 || items[0]!.switch().name !== 'scvSymbol') throw new ValueTypeError(`${what}: expected a unit enum`);
      return items[0]!.sym().toString();
    }
    if (arm !== EXPECTED_ARM[ty]) throw new ValueTypeError(`${what}: expected ${EXPECTED_ARM[ty]}, got ${arm}`);
    const native: unknown = scValToNative(scv);
    if (ty === 'bytes') return new Uint8Array(native as Uint8Array);
    return native;
  }
  if ('option' in ty) return arm === 'scvVoid' ? null : decode(ty.option, scv, what);
  if (arm === 'scvMap' && 'struct' in ty) {
    const out: Record<string, unknown> = {};
    for (const entry of scv.map() ?? []) {
      const key = entry.key().switch().name === 'scvSymbol' ? entry.key().sym().toString() : undefined;
      const fieldTy = key === undefined ? undefined : ty.struct[key];
      if (key === undefined || fieldTy === undefined) throw new ValueTypeError(`${what}: unexpected field`);
      out[key] = decode(fieldTy, entry.val(), `${what}.${key}`);
    }
    return out;
  }
  if (arm !== 'scvVec') throw new ValueTypeError(`${what}: expected scvVec, got ${arm}`);
  const items = scv.vec() ?? [];
  if ('vec' in ty) return items.map((item, i) => decode(ty.vec, item, `${what}[${i}]`));
  if ('tuple' in ty) {
    if (items.length !== ty.tuple.length) throw new ValueTypeError(`${what}: expected a ${ty.tuple.length}-tuple`);
    return ty.tuple.map((t, i) => decode(t, items[i]!, `${what}[${i}]`));
  }
  throw new ValueTypeError(`${what}: unexpected vec`);
}

/** Normalises loosely typed input (JSON from the control API) to the JS values the contract code works with. */
export function coerce(ty: Ty, value: unknown, what = 'value'): unknown {
  return decode(ty, encode(ty, value, what), what);
}

/** JSON-safe copy: bigints become decimal strings, byte arrays become hex. */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonSafe(v)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v)]));
  }
  return value;
}

/** The base64 XDR of an ScVal: the form topics and values take on the wire, and the form we compare by. */
export const b64 = (scv: xdr.ScVal): string => scv.toXDR('base64');
