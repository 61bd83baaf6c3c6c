import { Account, Asset, Memo, Operation, StrKey, TimeoutInfinite, TransactionBuilder, xdr, type MemoType } from '@stellar/stellar-sdk';
import { formatAmount, toStroops, type Accounts } from './accounts.js';

/**
 * The classic-ledger history Horizon serves: seeded operations (payments and account creations) with their
 * enclosing transactions, and trades for `/trade_aggregations`. Seeded transactions are real, well-formed
 * (unsigned) envelopes with real hashes and success results, so `transaction_hash`, `envelope_xdr` and
 * `result_xdr` decode with the SDK.
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

/** What every stored operation has, whatever its type. */
interface ClassicOpBase {
  toid: bigint;
  tx: ClassicTx;
  source: string;
}

export interface PaymentOp extends ClassicOpBase {
  type: 'payment';
  from: string;
  to: string;
  asset: { type: 'native' | 'credit_alphanum4' | 'credit_alphanum12'; code?: string; issuer?: string };
  amount: bigint;
}

export interface CreateAccountOp extends ClassicOpBase {
  type: 'create_account';
  funder: string;
  account: string;
  startingBalance: bigint;
}

/** A stored operation; `type` is Horizon's operation type name. */
export type ClassicOp = PaymentOp | CreateAccountOp;

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

/** An account's creation, recorded as its funder's `create_account` operation (where account age is read from). */
export interface AccountCreationSeed {
  account: string;
  funder: string;
  startingBalance: bigint;
  /** Unix seconds. */
  createdAt: number;
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

/** One-operation transaction to record; the store builds the envelope and result around the operation. */
interface TxDraft {
  source: string;
  operation: xdr.Operation;
  /** The operation's own result inside the transaction result. */
  opResult: xdr.OperationResultTr;
  successful: boolean;
  createdAt: number;
  participants: string[];
  memo?: { value: string; type: 'text' | 'id' | 'hash' };
}

function assertAccountIds(...keys: string[]): void {
  for (const key of keys) {
    if (!StrKey.isValidEd25519PublicKey(key)) throw new RangeError(`not an account id: ${key}`);
  }
}

function operationAsset(asset: Asset): PaymentOp['asset'] {
  if (asset.isNative()) return { type: 'native' };
  return { type: asset.getCode().length <= 4 ? 'credit_alphanum4' : 'credit_alphanum12', code: asset.getCode(), issuer: asset.getIssuer() };
}

/** Operation ids are the transaction's TOID with a 1-based operation index; every seeded tx has one operation. */
const onlyOperationToid = (tx: ClassicTx): bigint => tx.toid + 1n;

export class HorizonStore {
  readonly transactions: ClassicTx[] = [];
  /** Payments and account creations, in seeding (= TOID) order. */
  readonly operations: ClassicOp[] = [];
  readonly trades: Trade[] = [];
  private readonly txOrderByLedger = new Map<number, number>();

  constructor(
    private readonly networkPassphrase: string,
    private readonly accounts: Accounts,
  ) {}

  /** Records a one-operation payment transaction in the given (latest closed) ledger. */
  seedPayment(seed: PaymentSeed, ledger: number, closeTime: number): PaymentOp {
    assertAccountIds(seed.from, seed.to);
    const asset = toAsset(seed.asset);
    const amount = toStroops(seed.amount);
    if (amount <= 0n) throw new RangeError('amount must be positive');
    const successful = seed.successful ?? true;
    const tx = this.recordTransaction(
      {
        source: seed.from,
        operation: Operation.payment({ destination: seed.to, asset, amount: formatAmount(amount) }),
        opResult: xdr.OperationResultTr.payment(successful ? xdr.PaymentResult.paymentSuccess() : xdr.PaymentResult.paymentUnderfunded()),
        successful,
        createdAt: seed.createdAt ?? closeTime,
        participants: [seed.from, seed.to],
        memo: seed.memo === undefined ? undefined : { value: seed.memo, type: seed.memoType ?? 'text' },
      },
      ledger,
      closeTime,
    );
    return this.addOperation({ type: 'payment', toid: onlyOperationToid(tx), tx, source: seed.from, from: seed.from, to: seed.to, asset: operationAsset(asset), amount });
  }

  /**
   * Records the funder's one-operation `create_account` transaction in the given (latest closed) ledger, dated
   * `createdAt`. An account is created once on a real network, so a second creation of the same id is refused.
   */
  seedAccountCreation(seed: AccountCreationSeed, ledger: number, closeTime: number): CreateAccountOp {
    assertAccountIds(seed.funder, seed.account);
    if (seed.funder === seed.account) throw new RangeError('an account cannot fund its own creation');
    if (!Number.isInteger(seed.createdAt) || seed.createdAt < 0) throw new RangeError(`createdAt must be whole unix seconds, got ${seed.createdAt}`);
    if (this.operations.some((op) => op.type === 'create_account' && op.account === seed.account)) {
      throw new RangeError(`account ${seed.account} already has a create_account operation`);
    }
    const tx = this.recordTransaction(
      {
        source: seed.funder,
        operation: Operation.createAccount({ destination: seed.account, startingBalance: formatAmount(seed.startingBalance) }),
        opResult: xdr.OperationResultTr.createAccount(xdr.CreateAccountResult.createAccountSuccess()),
        successful: true,
        createdAt: seed.createdAt,
        participants: [seed.funder, seed.account],
      },
      ledger,
      closeTime,
    );
    return this.addOperation({
      type: 'create_account',
      toid: onlyOperationToid(tx),
      tx,
      source: seed.funder,
      funder: seed.funder,
      account: seed.account,
      startingBalance: seed.startingBalance,
    });
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

  /**
   * Builds the draft's envelope from its source account's next sequence (auto-creating an unknown source),
   * wraps its operation result in a transaction result, and stores it as the ledger's next transaction.
   */
  private recordTransaction(draft: TxDraft, ledger: number, closeTime: number): ClassicTx {
    const source = this.accounts.ensure(draft.source, ledger, closeTime);
    const builder = new TransactionBuilder(new Account(draft.source, source.sequence.toString()), {
      fee: '100',
      networkPassphrase: this.networkPassphrase,
    })
      .addOperation(draft.operation)
      .setTimeout(TimeoutInfinite);
    if (draft.memo) builder.addMemo(this.memo(draft.memo.value, draft.memo.type));
    const tx = builder.build();
    source.sequence = BigInt(tx.sequence);
    const opResults = [xdr.OperationResult.opInner(draft.opResult)];
    const classic: ClassicTx = {
      toid: this.nextTxToid(ledger),
      hash: tx.hash().toString('hex'),
      ledger,
      createdAt: draft.createdAt,
      source: draft.source,
      sourceSequence: BigInt(tx.sequence),
      fee: 100n,
      operationCount: 1,
      envelopeXdr: tx.toEnvelope().toXDR('base64'),
      resultXdr: new xdr.TransactionResult({
        feeCharged: xdr.Int64.fromString('100'),
        result: draft.successful ? xdr.TransactionResultResult.txSuccess(opResults) : xdr.TransactionResultResult.txFailed(opResults),
        ext: new xdr.TransactionResultExt(0),
      }).toXDR('base64'),
      memoType: draft.memo?.type ?? 'none',
      memo: draft.memo?.value,
      successful: draft.successful,
      participants: new Set(draft.participants),
    };
    this.transactions.push(classic);
    return classic;
  }

  /** The TOID of the ledger's next transaction: its 1-based application order within the ledger. */
  private nextTxToid(ledger: number): bigint {
    const order = (this.txOrderByLedger.get(ledger) ?? 0) + 1;
    this.txOrderByLedger.set(ledger, order);
    return (BigInt(ledger) << 32n) | (BigInt(order) << 12n);
  }

  private addOperation<T extends ClassicOp>(op: T): T {
    this.operations.push(op);
    return op;
  }

  private memo(value: string, type: MemoType): Memo {
    if (type === 'id') return Memo.id(value);
    if (type === 'hash') return Memo.hash(value);
    return Memo.text(value);
  }
}
