import { Account, Asset, Memo, Operation, StrKey, TimeoutInfinite, TransactionBuilder, xdr, type MemoType } from '@stellar/stellar-sdk';
import { formatAmount, toStroops, type Accounts } from './accounts.js';

/**
 * The classic-ledger history Horizon serves: payment operations with their enclosing transactions, and trades
 * for `/trade_aggregations`. Seeded transactions are real, well-formed (unsigned) envelopes with real hashes
 * and success results, so `transaction_hash`, `envelope_xdr` and `result_xdr` decode with the SDK.
 */

export interface ClassicTx {
  toid: bigint;
  hash: string;
  ledger: number;
  createdAt: number;
  source: string;
  sourceSequence: bigint;
  fee: bigint;
  operationCount: number;
  envelopeXdr: string;
  resultXdr: string;
  memoType: 'none' | 'text' | 'id' | 'hash' | 'return';
  memo?: string;
  successful: boolean;
  participants: Set<string>;
}

export interface PaymentOp {
  toid: bigint;
  tx: ClassicTx;
  source: string;
  from: string;
  to: string;
  asset: { type: 'native' | 'credit_alphanum4' | 'credit_alphanum12'; code?: string; issuer?: string };
  amount: bigint;
}

export interface Trade {
  timestampMs: number;
  base: string;
  counter: string;
  baseAmount: bigint;
  counterAmount: bigint;
}

export type AssetInput = 'native' | string | { code: string; issuer: string };

export interface PaymentSeed {
  from: string;
  to: string;
  /** Decimal units, e.g. "125.5". */
  amount: string | number;
  asset?: AssetInput;
  memo?: string;
  memoType?: 'text' | 'id' | 'hash';
  successful?: boolean;
  /** Unix seconds; defaults to the latest ledger's close time. */
  createdAt?: number;
}

export interface TradeSeed {
  base: AssetInput;
  counter: AssetInput;
  baseAmount: string | number;
  counterAmount: string | number;
  /** Milliseconds since the epoch (trade aggregation works in ms). */
  timestampMs: number;
}

export function toAsset(input: AssetInput | undefined): Asset {
  if (input === undefined || input === 'native') return Asset.native();
  if (typeof input === 'string') {
    const [code, issuer] = input.split(':');
    if (!code || !issuer) throw new RangeError(`asset must be 'native' or 'CODE:ISSUER', got ${input}`);
    return new Asset(code, issuer);
  }
  return new Asset(input.code, input.issuer);
}

/** A canonical key for an asset: 'native' or 'CODE:ISSUER'. */
export const assetKey = (asset: Asset): string => (asset.isNative() ? 'native' : `${asset.getCode()}:${asset.getIssuer()}`);

export class HorizonStore {
  readonly transactions: ClassicTx[] = [];
  readonly payments: PaymentOp[] = [];
  readonly trades: Trade[] = [];
  private readonly txOrderByLedger = new Map<number, number>();

  constructor(
    private readonly networkPassphrase: string,
    private readonly accounts: Accounts,
  ) {}

  /** Records a one-operation payment transaction in the given (latest closed) ledger. */
  seedPayment(seed: PaymentSeed, ledger: number, closeTime: number): PaymentOp {
    for (const key of [seed.from, seed.to]) {
      if (!StrKey.isValidEd25519PublicKey(key)) throw new RangeError(`not an account id: ${key}`);
    }
    const asset = toAsset(seed.asset);
    const amount = toStroops(seed.amount);
    if (amount <= 0n) throw new RangeError('amount must be positive');
    const source = this.accounts.ensure(seed.from, ledger, closeTime);
    const builder = new TransactionBuilder(new Account(seed.from, source.sequence.toString()), {
      fee: '100',
      networkPassphrase: this.networkPassphrase,
    })
      .addOperation(Operation.payment({ destination: seed.to, asset, amount: formatAmount(amount) }))
      .setTimeout(TimeoutInfinite);
    if (seed.memo !== undefined) builder.addMemo(this.memo(seed.memo, seed.memoType ?? 'text'));
    const tx = builder.build();
    source.sequence = BigInt(tx.sequence);
    const order = (this.txOrderByLedger.get(ledger) ?? 0) + 1;
    this.txOrderByLedger.set(ledger, order);
    const successful = seed.successful ?? true;
    const paymentResult = successful ? xdr.PaymentResult.paymentSuccess() : xdr.PaymentResult.paymentUnderfunded();
    const opResults = [xdr.OperationResult.opInner(xdr.OperationResultTr.payment(paymentResult))];
    const classic: ClassicTx = {
      toid: (BigInt(ledger) << 32n) | (BigInt(order) << 12n),
      hash: tx.hash().toString('hex'),
      ledger,
      createdAt: seed.createdAt ?? closeTime,
      source: seed.from,
      sourceSequence: BigInt(tx.sequence),
      fee: 100n,
      operationCount: 1,
      envelopeXdr: tx.toEnvelope().toXDR('base64'),
      resultXdr: new xdr.TransactionResult({
        feeCharged: xdr.Int64.fromString('100'),
        result: successful ? xdr.TransactionResultResult.txSuccess(opResults) : xdr.TransactionResultResult.txFailed(opResults),
        ext: new xdr.TransactionResultExt(0),
      }).toXDR('base64'),
      memoType: seed.memo === undefined ? 'none' : (seed.memoType ?? 'text'),
      memo: seed.memo,
      successful,
      participants: new Set([seed.from, seed.to]),
    };
    const payment: PaymentOp = {
      toid: classic.toid + 1n, // operation ids are the transaction's TOID with a 1-based operation index
      tx: classic,
      source: seed.from,
      from: seed.from,
      to: seed.to,
      asset: asset.isNative()
        ? { type: 'native' }
        : { type: asset.getCode().length <= 4 ? 'credit_alphanum4' : 'credit_alphanum12', code: asset.getCode(), issuer: asset.getIssuer() },
      amount,
    };
    this.transactions.push(classic);
    this.payments.push(payment);
    return payment;
  }

  seedTrade(seed: TradeSeed): Trade {
    if (!Number.isInteger(seed.timestampMs) || seed.timestampMs < 0) throw new RangeError('timestampMs must be a whole number of ms');
    const trade: Trade = {
      timestampMs: seed.timestampMs,
      base: assetKey(toAsset(seed.base)),
      counter: assetKey(toAsset(seed.counter)),
      baseAmount: toStroops(seed.baseAmount),
      counterAmount: toStroops(seed.counterAmount),
    };
    if (trade.baseAmount <= 0n || trade.counterAmount <= 0n) throw new RangeError('trade amounts must be positive');
    this.trades.push(trade);
    this.trades.sort((a, b) => a.timestampMs - b.timestampMs);
    return trade;
  }

  findTransaction(txHash: string): ClassicTx | undefined {
    return this.transactions.find((t) => t.hash === txHash);
  }

  private memo(value: string, type: MemoType): Memo {
    if (type === 'id') return Memo.id(value);
    if (type === 'hash') return Memo.hash(value);
    return Memo.text(value);
  }
}
