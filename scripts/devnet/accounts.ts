import { createHash } from 'node:crypto';
import { Asset, Keypair, StrKey, xdr } from '@stellar/stellar-sdk';

/**
 * Classic accounts, shared by the Horizon side (`/accounts/:id`) and the RPC side (account and trustline
 * ledger entries, sequence numbers of submitted transactions). Balances are kept in stroops.
 */
export interface BalanceRecord {
  assetType: 'native' | 'credit_alphanum4' | 'credit_alphanum12';
  code?: string;
  issuer?: string;
  amount: bigint;
  limit: bigint;
}

export interface AccountRecord {
  id: string;
  sequence: bigint;
  balances: BalanceRecord[];
  /** Extra ed25519 signers; the master key is `id` with `masterWeight`. */
  signers: Array<{ key: string; weight: number }>;
  masterWeight: number;
  thresholds: { low: number; med: number; high: number };
  homeDomain: string;
  data: Record<string, string>;
  lastModifiedLedger: number;
  lastModifiedTime: number;
}

export interface BalanceSeed {
  /** 'native', 'CODE:ISSUER', or use `code` + `issuer`. */
  asset?: string;
  code?: string;
  issuer?: string;
  /** Decimal units ("100.5"), up to 7 decimals. */
  amount: string | number;
  limit?: string | number;
}

export interface AccountSeed {
  id: string;
  /** Defaults to (ledger << 32), which is what a newly created account gets. */
  sequence?: string | number | bigint;
  balances?: BalanceSeed[];
  signers?: Array<{ key: string; weight: number }>;
  masterWeight?: number;
  thresholds?: { low?: number; med?: number; high?: number };
  homeDomain?: string;
  /** Data entries; values base64, as Horizon shows them. */
  data?: Record<string, string>;
  /**
   * Unix seconds. When given, Horizon also gets the account's creation: a `create_account` operation from
   * `funder` dated this time, with the seeded native balance (1 XLM when none is seeded) as starting balance.
   * Without it the account has no history, as before.
   */
  createdAt?: number;
  /** G… account that created this one (only used with `createdAt`); defaults to `DEVNET_FUNDER`. */
  funder?: string;
}

/**
 * The default creator of accounts seeded with `createdAt`. Derived from a fixed seed so it is the same key in
 * every run and process (a test can assert on it); like other sources it is auto-created on first use.
 */
export const DEVNET_FUNDER = Keypair.fromRawEd25519Seed(createHash('sha256').update('creditra devnet funder').digest()).publicKey();

const MAX_INT64 = 2n ** 63n - 1n;

/** Decimal units → stroops (7 decimals), exactly; rejects more precision than a stroop. */
export function toStroops(amount: string | number): bigint {
  const text = typeof amount === 'number' ? amount.toFixed(7) : amount.trim();
  const match = /^(-?)(\d+)(?:\.(\d{1,7}))?$/.exec(text);
  if (!match) throw new RangeError(`invalid amount: ${JSON.stringify(amount)}`);
  const stroops = BigInt(match[2]!) * 10_000_000n + BigInt((match[3] ?? '').padEnd(7, '0'));
  return match[1] ? -stroops : stroops;
}

/** Stroops → Horizon's fixed 7-decimal string. */
export function formatAmount(stroops: bigint): string {
  const negative = stroops < 0n;
  const abs = negative ? -stroops : stroops;
  return `${negative ? '-' : ''}${abs / 10_000_000n}.${(abs % 10_000_000n).toString().padStart(7, '0')}`;
}

function parseBalance(seed: BalanceSeed): BalanceRecord {
  let code = seed.code;
  let issuer = seed.issuer;
  if (seed.asset && seed.asset !== 'native') [code, issuer] = seed.asset.split(':');
  const amount = toStroops(seed.amount);
  if (!code || code === 'native' || seed.asset === 'native') return { assetType: 'native', amount, limit: MAX_INT64 };
  if (!issuer || !StrKey.isValidEd25519PublicKey(issuer)) throw new RangeError(`asset ${code} needs a valid issuer`);
  new Asset(code, issuer); // validates the code
  return {
    assetType: code.length <= 4 ? 'credit_alphanum4' : 'credit_alphanum12',
    code,
    issuer,
    amount,
    limit: seed.limit === undefined ? MAX_INT64 : toStroops(seed.limit),
  };
}

/** The native balance the seed itself gives (not the 10,000 XLM default an account gets when it gives none). */
export function seededNativeBalance(seed: AccountSeed): bigint | undefined {
  return (seed.balances ?? []).map(parseBalance).find((b) => b.assetType === 'native')?.amount;
}

export class Accounts {
  private readonly byId = new Map<string, AccountRecord>();

  get(id: string): AccountRecord | undefined {
    return this.byId.get(id);
  }

  all(): AccountRecord[] {
    return [...this.byId.values()];
  }

  /** Creates or replaces an account. Unspecified fields get a new account's defaults (10,000 XLM, weights 1/0/0/0). */
  seed(input: AccountSeed, ledger: number, closeTime: number): AccountRecord {
    if (!StrKey.isValidEd25519PublicKey(input.id)) throw new RangeError(`not an account id: ${input.id}`);
    const balances = (input.balances ?? [{ asset: 'native', amount: '10000' }]).map(parseBalance);
    if (!balances.some((b) => b.assetType === 'native')) balances.unshift({ assetType: 'native', amount: toStroops('10000'), limit: MAX_INT64 });
    for (const signer of input.signers ?? []) {
      if (!StrKey.isValidEd25519PublicKey(signer.key)) throw new RangeError(`signer is not an ed25519 key: ${signer.key}`);
    }
    const account: AccountRecord = {
      id: input.id,
      sequence: input.sequence === undefined ? BigInt(ledger) << 32n : BigInt(input.sequence),
      balances,
      signers: input.signers ?? [],
      masterWeight: input.masterWeight ?? 1,
      thresholds: { low: input.thresholds?.low ?? 0, med: input.thresholds?.med ?? 0, high: input.thresholds?.high ?? 0 },
      homeDomain: input.homeDomain ?? '',
      data: input.data ?? {},
      lastModifiedLedger: ledger,
      lastModifiedTime: closeTime,
    };
    this.byId.set(account.id, account);
    return account;
  }

  /** Auto-creates an unknown source account (so tests need not seed every key) with the given sequence. */
  ensure(id: string, ledger: number, closeTime: number, sequence?: bigint): AccountRecord {
    return this.byId.get(id) ?? this.seed({ id, sequence }, ledger, closeTime);
  }

  /** The classic AccountEntry, as getLedgerEntries returns it. */
  accountEntry(account: AccountRecord): xdr.LedgerEntryData {
    const native = account.balances.find((b) => b.assetType === 'native');
    return xdr.LedgerEntryData.account(
      new xdr.AccountEntry({
        accountId: Keypair.fromPublicKey(account.id).xdrAccountId(),
        balance: xdr.Int64.fromString((native?.amount ?? 0n).toString()),
        seqNum: xdr.Int64.fromString(account.sequence.toString()) as unknown as xdr.SequenceNumber,
        numSubEntries: subentryCount(account),
        inflationDest: null,
        flags: 0,
        homeDomain: account.homeDomain,
        thresholds: Buffer.from([account.masterWeight, account.thresholds.low, account.thresholds.med, account.thresholds.high]),
        signers: account.signers.map(
          (s) => new xdr.Signer({ key: xdr.SignerKey.signerKeyTypeEd25519(StrKey.decodeEd25519PublicKey(s.key)), weight: s.weight }),
        ),
        ext: new xdr.AccountEntryExt(0),
      }),
    );
  }

  /** A trustline entry for a credit balance (authorised), or undefined if the account has none. */
  trustlineEntry(account: AccountRecord, asset: xdr.TrustLineAsset): xdr.LedgerEntryData | undefined {
    const wanted = asset.toXDR('base64');
    const balance = account.balances.find(
      (b) => b.assetType !== 'native' && new Asset(b.code!, b.issuer!).toTrustLineXDRObject().toXDR('base64') === wanted,
    );
    if (!balance) return undefined;
    return xdr.LedgerEntryData.trustline(
      new xdr.TrustLineEntry({
        accountId: Keypair.fromPublicKey(account.id).xdrAccountId(),
        asset,
        balance: xdr.Int64.fromString(balance.amount.toString()),
        limit: xdr.Int64.fromString(balance.limit.toString()),
        flags: 1, // AUTHORIZED_FLAG
        ext: new xdr.TrustLineEntryExt(0),
      }),
    );
  }
}

export function subentryCount(account: AccountRecord): number {
  return account.balances.filter((b) => b.assetType !== 'native').length + account.signers.length + Object.keys(account.data).length;
}
