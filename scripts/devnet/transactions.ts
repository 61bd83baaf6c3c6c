import {
  Address,
  extractBaseAddress,
  FeeBumpTransaction,
  hash,
  Keypair,
  scValToNative,
  SorobanDataBuilder,
  StrKey,
  Transaction,
  TransactionBuilder,
  xdr,
} from '@stellar/stellar-sdk';
import { decodeArgs, fnSpec } from './abi.js';
import type { AccountRecord, Accounts } from './accounts.js';
import { ContractError, HostError, type CallContext, type CallResult, type CreditContract } from './creditContract.js';
import type { EmittedEvent } from './events.js';
import { contractEventXdr, type OpenTx } from './ledger.js';
import { ValueTypeError } from './scval.js';

/**
 * The transaction side of the RPC: reading invokeHostFunction envelopes, simulating them against the last
 * closed ledger, admitting them to the pool (signature, sequence and fee checks, as stellar-core does on
 * submission) and applying them when the ledger closes, with real TransactionResult / TransactionMeta v4 XDR.
 */

/**
 * A well-formed Soroban contract invocation extracted from an envelope. For a fee bump, `tx` is the inner
 * transaction (source, sequence, operation, signatures of the call) and the envelope adds the fee source.
 */
export interface Invocation {
  envelope: Transaction | FeeBumpTransaction;
  tx: Transaction;
  /** The envelope's hash: for a fee bump the outer one, which sendTransaction, getTransaction and events use. */
  hash: string;
  /** The inner transaction's hash (the same as `hash` for a plain transaction). */
  innerHash: string;
  source: string;
  sequence: bigint;
  /** The envelope's fee: for a fee bump the outer fee, which pays for everything. */
  fee: bigint;
  /** The fee bump's fee source, as a G… account (undefined for a plain transaction). */
  feeSource?: string;
  /** The Soroban resource fee declared in the (inner) transaction's sorobanData; 0 without one. */
  resourceFee: bigint;
  contractId: string;
  fn: string;
  args: xdr.ScVal[];
  auth: xdr.SorobanAuthorizationEntry[];
  sorobanData?: xdr.SorobanTransactionData;
  hostFunction: xdr.InvokeContractArgs;
}

/** The envelope is not one invokeContract operation (or not an envelope at all). */
export class MalformedTransaction extends Error {
  override name = 'MalformedTransaction';
}

export function parseInvocation(envelopeXdr: string, networkPassphrase: string): Invocation {
  let envelope: Transaction | FeeBumpTransaction;
  try {
    envelope = TransactionBuilder.fromXDR(envelopeXdr, networkPassphrase);
  } catch (error) {
    throw new MalformedTransaction(`could not decode transaction envelope: ${(error as Error).message}`);
  }
  const tx = envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope;
  const op = tx.operations[0];
  if (tx.operations.length !== 1 || op?.type !== 'invokeHostFunction') {
    throw new MalformedTransaction('To perform a SimulateTransaction, a single invokeHostFunction operation must be present');
  }
  const func = op.func;
  if (func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) {
    throw new MalformedTransaction('only invokeContract host functions are supported by the devnet');
  }
  const invoke = func.invokeContract();
  const ext = tx.toEnvelope().v1().tx().ext();
  const sorobanData = ext.switch() === 1 ? ext.sorobanData() : undefined;
  return {
    envelope,
    tx,
    hash: envelope.hash().toString('hex'),
    innerHash: tx.hash().toString('hex'),
    source: op.source ?? tx.source,
    sequence: BigInt(tx.sequence),
    fee: BigInt(envelope.fee),
    // A muxed (M…) fee source pays and signs as its underlying G… account.
    feeSource: envelope instanceof FeeBumpTransaction ? extractBaseAddress(envelope.feeSource) : undefined,
    resourceFee: sorobanData ? BigInt(sorobanData.resourceFee().toString()) : 0n,
    contractId: Address.fromScAddress(invoke.contractAddress()).toString(),
    fn: invoke.functionName().toString(),
    args: invoke.args(),
    auth: op.auth ?? [],
    sorobanData,
    hostFunction: invoke,
  };
}

// ── Ledger keys of the simulated contract ──────────────────────────────────────────────────────────────

/** The hash the devnet pretends the Credit contract's WASM has (the instance and code keys use it). */
export const WASM_HASH = hash(Buffer.from('creditra-devnet-credit-contract-wasm'));

export function contractDataKey(contractId: string, key: xdr.ScVal): xdr.LedgerKey {
  return xdr.LedgerKey.contractData(
    new xdr.LedgerKeyContractData({
      contract: new Address(contractId).toScAddress(),
      key,
      durability: xdr.ContractDataDurability.persistent(),
    }),
  );
}

export const instanceKey = (contractId: string): xdr.LedgerKey => contractDataKey(contractId, xdr.ScVal.scvLedgerKeyContractInstance());
export const codeKey = (): xdr.LedgerKey => xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash: WASM_HASH }));
/** Credit lines live in persistent storage under the raw borrower Address (no enum wrapper). */
export const creditLineKey = (contractId: string, borrower: string): xdr.LedgerKey =>
  contractDataKey(contractId, new Address(borrower).toScVal());

// ── Host error text ────────────────────────────────────────────────────────────────────────────────────

/** The host's code for a failed call: `Error(Contract, #6)`, `Error(WasmVm, InvalidAction)`… */
export function hostErrorCode(error: unknown): string {
  if (error instanceof ContractError) return `Error(Contract, #${error.code})`;
  if (error instanceof HostError) return error.hostCode;
  if (error instanceof ValueTypeError) return 'Error(Value, UnexpectedType)';
  return 'Error(WasmVm, InvalidAction)';
}

/** The `error` string of a failed simulation, shaped like the real RPC's (code first, then an event log). */
export function simulationErrorText(error: unknown, contractId: string, fn: string): string {
  const code = hostErrorCode(error);
  const detail =
    error instanceof HostError ? error.detail : error instanceof ContractError ? error.errorName : error instanceof Error ? error.message : String(error);
  return [
    `HostError: ${code}`,
    '',
    'Event log (newest first):',
    `   0: [Diagnostic Event] contract:${contractId}, topics:[error, ${code}], data:${JSON.stringify(detail)}`,
    `   1: [Diagnostic Event] topics:[fn_call, ${contractId}, ${fn}], data:[…]`,
    '',
  ].join('\n');
}

// ── Authorisation ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Whether the envelope carries a valid decorated signature by `account` over its own hash. Pass a fee bump
 * to check its fee source (outer signatures, outer hash) and its inner transaction to check the source.
 */
export function signedBy(envelope: Transaction | FeeBumpTransaction, account: string): boolean {
  if (!StrKey.isValidEd25519PublicKey(account)) return false;
  const key = Keypair.fromPublicKey(account);
  const hint = key.signatureHint();
  const txHash = envelope.hash();
  return envelope.signatures.some((sig) => sig.hint().equals(hint) && key.verify(txHash, sig.signature()));
}

/** Verifies a `sorobanCredentialsAddress` entry's ed25519 signature over its HashIdPreimage, as the host does. */
function addressEntrySigned(entry: xdr.SorobanAuthorizationEntry, account: string, inv: Invocation, passphrase: string, ledger: number): boolean {
  const credentials = entry.credentials();
  if (credentials.switch() !== xdr.SorobanCredentialsType.sorobanCredentialsAddress()) return false;
  const creds = credentials.address();
  if (Address.fromScAddress(creds.address()).toString() !== account) return false;
  if (creds.signatureExpirationLedger() < ledger) return false;
  const root = entry.rootInvocation().function();
  if (root.switch() !== xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn()) return false;
  if (root.contractFn().toXDR('base64') !== inv.hostFunction.toXDR('base64')) return false;
  const preimage = xdr.HashIdPreimage.envelopeTypeSorobanAuthorization(
    new xdr.HashIdPreimageSorobanAuthorization({
      networkId: hash(Buffer.from(passphrase)),
      nonce: creds.nonce(),
      signatureExpirationLedger: creds.signatureExpirationLedger(),
      invocation: entry.rootInvocation(),
    }),
  );
  const payload = hash(preimage.toXDR());
  let signatures: unknown;
  try {
    signatures = scValToNative(creds.signature());
  } catch {
    return false;
  }
  if (!Array.isArray(signatures)) return false;
  const key = Keypair.fromPublicKey(account);
  return signatures.some((sig: { public_key?: Uint8Array; signature?: Uint8Array }) => {
    if (!sig.public_key || !sig.signature) return false;
    return StrKey.encodeEd25519PublicKey(Buffer.from(sig.public_key)) === account && key.verify(payload, Buffer.from(sig.signature));
  });
}

/**
 * `require_auth(account)` for a submitted transaction. Accepted: a valid signature by the account on the
 * transaction (the account is the source, whose sourceAccount credentials ride on the transaction signature,
 * or — a devnet leniency — an extra signer), or a correctly signed address-credentials auth entry. For a fee
 * bump that is the inner transaction: the fee source's signature pays, it authorises nothing.
 */
export function isAuthorized(inv: Invocation, account: string, passphrase: string, ledger: number): boolean {
  if (signedBy(inv.tx, account)) return true;
  return inv.auth.some((entry) => addressEntrySigned(entry, account, inv, passphrase, ledger));
}

// ── Simulation ─────────────────────────────────────────────────────────────────────────────────────────

export interface RawSimulation {
  latestLedger: number;
  error?: string;
  results?: Array<{ auth: string[]; xdr: string }>;
  transactionData?: string;
  minResourceFee?: string;
  events: string[];
}

/** The auth entries a recording-mode simulation returns for a call that `account` must authorise. */
function recordedAuth(inv: Invocation, account: string | undefined): xdr.SorobanAuthorizationEntry[] {
  if (!account) return [];
  const rootInvocation = new xdr.SorobanAuthorizedInvocation({
    function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(inv.hostFunction),
    subInvocations: [],
  });
  const credentials =
    account === inv.source
      ? xdr.SorobanCredentials.sorobanCredentialsSourceAccount()
      : xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: new Address(account).toScAddress(),
            nonce: xdr.Int64.fromString(String(Math.floor(Math.random() * 2 ** 52))),
            signatureExpirationLedger: 0,
            signature: xdr.ScVal.scvVoid(),
          }),
        );
  return [new xdr.SorobanAuthorizationEntry({ credentials, rootInvocation })];
}

/** Resource numbers are invented but stable and plausible; the fee is what `assembleTransaction` adds. */
function transactionData(contractId: string, readOnly: xdr.LedgerKey[], readWrite: xdr.LedgerKey[], events: number): { data: string; fee: number } {
  const fee = 60_000 + 8_000 * (readOnly.length + readWrite.length) + 2_000 * events;
  const data = new SorobanDataBuilder()
    .setFootprint([instanceKey(contractId), codeKey(), ...readOnly], readWrite)
    .setResources(3_000_000 + 250_000 * events, 4_000 + 500 * readOnly.length, 600 * readWrite.length)
    .setResourceFee(fee)
    .build();
  return { data: data.toXDR('base64'), fee };
}

/** A contract event as a DiagnosticEvent (the form simulation returns events in). */
export function diagnosticEventXdr(event: EmittedEvent): string {
  return new xdr.DiagnosticEvent({ inSuccessfulContractCall: true, event: contractEventXdr(event) }).toXDR('base64');
}

export interface SimulationDeps {
  contract: CreditContract;
  context: CallContext;
  latestLedger: number;
}

export function simulate(inv: Invocation, deps: SimulationDeps): RawSimulation {
  const { contract, latestLedger } = deps;
  const fail = (error: unknown): RawSimulation => ({ latestLedger, error: simulationErrorText(error, inv.contractId, inv.fn), events: [] });
  if (inv.contractId !== contract.contractId) {
    return fail(new HostError('Storage', 'MissingValue', `contract ${inv.contractId} does not exist on this devnet`));
  }
  const spec = fnSpec(inv.fn);
  let result: CallResult;
  let args: Record<string, unknown>;
  try {
    if (!spec) throw new HostError('WasmVm', 'MissingValue', `trying to invoke non-existent contract function ${inv.fn}`);
    args = decodeArgs(spec, inv.args);
    result = contract.simulate(inv.fn, args, deps.context);
  } catch (error) {
    return fail(error);
  }
  const signer = contract.requiredSigner(inv.fn, args);
  const borrower = typeof args.borrower === 'string' ? args.borrower : undefined;
  const readOnly = spec.read && borrower ? [creditLineKey(inv.contractId, borrower)] : [];
  const readWrite = result.written.map((b) => creditLineKey(inv.contractId, b));
  const { data, fee } = transactionData(inv.contractId, readOnly, readWrite, result.events.length);
  return {
    latestLedger,
    results: [{ auth: recordedAuth(inv, signer).map((e) => e.toXDR('base64')), xdr: result.retval.toXDR('base64') }],
    transactionData: data,
    minResourceFee: String(fee),
    events: result.events.map(diagnosticEventXdr),
  };
}

// ── Submission and application ─────────────────────────────────────────────────────────────────────────

export type RejectCode = 'txBadSeq' | 'txBadAuth' | 'txMalformed' | 'txSorobanInvalid' | 'txInsufficientFee';
type ResultCode = RejectCode | 'txSuccess' | 'txFailed';

const int64 = (n: bigint): xdr.Int64 => xdr.Int64.fromString(n.toString());

function outerArm(code: ResultCode, ops: xdr.OperationResult[]): xdr.TransactionResultResult {
  if (code === 'txSuccess') return xdr.TransactionResultResult.txSuccess(ops);
  if (code === 'txFailed') return xdr.TransactionResultResult.txFailed(ops);
  return xdr.TransactionResultResult[code]();
}

function innerArm(code: ResultCode, ops: xdr.OperationResult[]): xdr.InnerTransactionResultResult {
  if (code === 'txSuccess') return xdr.InnerTransactionResultResult.txSuccess(ops);
  if (code === 'txFailed') return xdr.InnerTransactionResultResult.txFailed(ops);
  return xdr.InnerTransactionResultResult[code]();
}

function transactionResult(fee: bigint, result: xdr.TransactionResultResult): string {
  return new xdr.TransactionResult({ feeCharged: int64(fee), result, ext: new xdr.TransactionResultExt(0) }).toXDR('base64');
}

/** A plain (not fee-bump-wrapped) error result; for txInsufficientFee `fee` is the least fee that would do. */
export function errorResultXdr(code: RejectCode, fee: bigint): string {
  return transactionResult(fee, outerArm(code, []));
}

/**
 * The result of the envelope's transaction. A fee bump wraps its inner transaction's result as stellar-core
 * does: txFeeBumpInnerSuccess / txFeeBumpInnerFailed around the inner hash and result. The fee is charged on
 * the outer result (to the fee source); the inner feeCharged is 0, as the XDR documents and core sets it.
 */
export function envelopeResult(inv: Invocation, fee: bigint, code: ResultCode, ops: xdr.OperationResult[] = []): string {
  if (inv.feeSource === undefined) return transactionResult(fee, outerArm(code, ops));
  const pair = new xdr.InnerTransactionResultPair({
    transactionHash: Buffer.from(inv.innerHash, 'hex'),
    result: new xdr.InnerTransactionResult({ feeCharged: int64(0n), result: innerArm(code, ops), ext: new xdr.InnerTransactionResultExt(0) }),
  });
  const outer = xdr.TransactionResultResult;
  return transactionResult(fee, code === 'txSuccess' ? outer.txFeeBumpInnerSuccess(pair) : outer.txFeeBumpInnerFailed(pair));
}

function successOp(retval: xdr.ScVal, events: EmittedEvent[]): xdr.OperationResult {
  // The success arm carries sha256(InvokeHostFunctionSuccessPreImage{returnValue, events}), as on chain.
  const preimage = new xdr.InvokeHostFunctionSuccessPreImage({ returnValue: retval, events: events.map(contractEventXdr) });
  return xdr.OperationResult.opInner(
    xdr.OperationResultTr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionSuccess(hash(preimage.toXDR()))),
  );
}

function trappedOp(): xdr.OperationResult {
  return xdr.OperationResult.opInner(xdr.OperationResultTr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionTrapped()));
}

export function successResult(fee: bigint, retval: xdr.ScVal, events: EmittedEvent[]): string {
  return transactionResult(fee, outerArm('txSuccess', [successOp(retval, events)]));
}

// ── Fees ───────────────────────────────────────────────────────────────────────────────────────────────

/** The ledger header's base fee: the least inclusion fee per operation stellar-core takes. */
export const BASE_FEE_PER_OP = 100n;

/** stellar-core replaces a queued transaction only with a fee bump bidding ten times its fee per operation. */
const REPLACE_BY_FEE_MULTIPLIER = 10n;

/** Operations as fees count them: a fee bump counts one more than its inner transaction. */
function feeOps(inv: Invocation): bigint {
  return BigInt(inv.tx.operations.length + (inv.feeSource === undefined ? 0 : 1));
}

/** The part of the envelope's fee that bids for inclusion: what is left after the Soroban resource fee. */
export function inclusionFee(inv: Invocation): bigint {
  return inv.fee - inv.resourceFee;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a <= 0n ? 0n : (a + b - 1n) / b);
const maxOf = (...values: bigint[]): bigint => values.reduce((a, b) => (b > a ? b : a));

/**
 * The least inclusion fee admission takes: the base fee per operation; while the surge-pricing fault is on,
 * `minInclusionFee` for the envelope as a whole; and for a fee bump, at least the inner transaction's bid per
 * operation (stellar-core's check that the bump really bumps; it also makes the outer fee >= the inner fee).
 * A negative inner bid (inner fee below its resource fee) is allowed since protocol 23.
 */
export function requiredInclusionFee(inv: Invocation, minInclusionFee: bigint): bigint {
  const ops = feeOps(inv);
  const floors = [BASE_FEE_PER_OP * ops, minInclusionFee];
  if (inv.feeSource !== undefined) {
    const innerBid = BigInt(inv.tx.fee) - inv.resourceFee;
    floors.push(ceilDiv(innerBid * ops, BigInt(inv.tx.operations.length)));
  }
  return maxOf(...floors);
}

/** The least inclusion fee for `inv` to replace the queued `old` with the same source and sequence. */
function replacementFee(old: Invocation, inv: Invocation): bigint {
  return ceilDiv(REPLACE_BY_FEE_MULTIPLIER * inclusionFee(old) * feeOps(inv), feeOps(old));
}

/** TransactionMeta v4 (protocol 23+): contract events per operation, the return value in sorobanMeta. */
export function metaV4(events: EmittedEvent[], retval: xdr.ScVal | null, diagnostic: string | null): string {
  return new xdr.TransactionMeta(
    4,
    new xdr.TransactionMetaV4({
      ext: new xdr.ExtensionPoint(0),
      txChangesBefore: [],
      operations: retval ? [new xdr.OperationMetaV2({ ext: new xdr.ExtensionPoint(0), changes: [], events: events.map(contractEventXdr) })] : [],
      txChangesAfter: [],
      sorobanMeta: new xdr.SorobanTransactionMetaV2({ ext: new xdr.SorobanTransactionMetaExt(0), returnValue: retval }),
      events: [],
      diagnosticEvents: diagnostic
        ? [
            new xdr.DiagnosticEvent({
              inSuccessfulContractCall: false,
              event: new xdr.ContractEvent({
                ext: new xdr.ExtensionPoint(0),
                contractId: null,
                type: xdr.ContractEventType.diagnostic(),
                body: new xdr.ContractEventBody(
                  0,
                  new xdr.ContractEventV0({ topics: [xdr.ScVal.scvSymbol('error')], data: xdr.ScVal.scvString(diagnostic) }),
                ),
              }),
            }),
          ]
        : [],
    }),
  ).toXDR('base64');
}

export interface PoolDeps {
  networkPassphrase: string;
  accounts: Accounts;
  contract: CreditContract;
}

export type SendStatus = 'PENDING' | 'DUPLICATE' | 'TRY_AGAIN_LATER' | 'ERROR';

export interface SendOutcome {
  status: SendStatus;
  hash: string;
  errorResultXdr?: string;
}

/** The transaction queue of the open ledger. */
export class TxPool {
  private pending: Invocation[] = [];

  constructor(private readonly deps: PoolDeps) {}

  isPending(txHash: string): boolean {
    return this.pending.some((p) => p.hash === txHash);
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * Admission checks, in stellar-core's order: the queue (duplicates, one transaction per source and
   * sequence, replace-by-fee), then Soroban data, fee, the fee source's signature (fee bump), sequence and
   * the source's signature. `minInclusionFee` is the surge-pricing floor (0 = off). Failures of a fee bump's
   * inner transaction come back inside txFeeBumpInnerFailed; the outer envelope's own (fee, fee source
   * signature, queue) as plain codes. A txInsufficientFee result's feeCharged is the least total fee
   * (resource fee + inclusion fee) that would be admitted.
   */
  submit(envelopeXdr: string, ledger: number, closeTime: number, minInclusionFee = 0n): SendOutcome {
    let inv: Invocation;
    try {
      inv = parseInvocation(envelopeXdr, this.deps.networkPassphrase);
    } catch {
      return this.rejectUnparsed(envelopeXdr);
    }
    if (this.isPending(inv.hash)) return { status: 'DUPLICATE', hash: inv.hash };
    const reject = (code: RejectCode, fee = 0n): SendOutcome => ({ status: 'ERROR', hash: inv.hash, errorResultXdr: errorResultXdr(code, fee) });
    const rejectInner = (code: RejectCode): SendOutcome => ({ status: 'ERROR', hash: inv.hash, errorResultXdr: envelopeResult(inv, 0n, code) });

    const queued = this.pending.findIndex((p) => p.tx.source === inv.tx.source && p.sequence === inv.sequence);
    const replacing = queued >= 0 ? this.pending[queued] : undefined;
    if (replacing) {
      // The transaction whose fee bump is queued, sent again on its own, is a duplicate too.
      if (inv.feeSource === undefined && replacing.innerHash === inv.hash) return { status: 'DUPLICATE', hash: inv.hash };
      // Another envelope for a queued sequence: only a fee bump outbidding it tenfold replaces it.
      if (inv.feeSource === undefined) return reject('txBadSeq');
      const least = replacementFee(replacing, inv);
      if (inclusionFee(inv) < least) return reject('txInsufficientFee', inv.resourceFee + least);
    }

    if (!inv.sorobanData) return rejectInner('txSorobanInvalid');
    const required = requiredInclusionFee(inv, minInclusionFee);
    if (inclusionFee(inv) < required) return reject('txInsufficientFee', inv.resourceFee + required);
    if (inv.feeSource !== undefined && !signedBy(inv.envelope, inv.feeSource)) return reject('txBadAuth');
    const account = this.deps.accounts.get(inv.tx.source);
    const expected = replacing || !account ? inv.sequence : this.nextSequence(account);
    if (inv.sequence !== expected) return rejectInner('txBadSeq');
    if (!StrKey.isValidEd25519PublicKey(inv.tx.source) || !signedBy(inv.tx, inv.tx.source)) return rejectInner('txBadAuth');

    // Unknown sources are created on first use, at the sequence just before this transaction's.
    this.deps.accounts.ensure(inv.tx.source, ledger, closeTime, inv.sequence - 1n);
    if (replacing) this.pending[queued] = inv;
    else this.pending.push(inv);
    return { status: 'PENDING', hash: inv.hash };
  }

  /** Applies the queued transactions in order at ledger close; each becomes one transaction of the ledger. */
  drain(context: CallContext): OpenTx[] {
    const applied = this.pending.map((inv) => this.apply(inv, context));
    this.pending = [];
    return applied;
  }

  /** Forgets queued transactions (node reset). */
  clear(): void {
    this.pending = [];
  }

  private nextSequence(account: AccountRecord): bigint {
    const queued = this.pending.filter((p) => p.tx.source === account.id).map((p) => p.sequence);
    return (queued.length > 0 ? queued[queued.length - 1]! : account.sequence) + 1n;
  }

  private rejectUnparsed(envelopeXdr: string): SendOutcome {
    let txHash = hash(Buffer.from(envelopeXdr)).toString('hex');
    try {
      txHash = TransactionBuilder.fromXDR(envelopeXdr, this.deps.networkPassphrase).hash().toString('hex');
    } catch {
      // not an envelope at all: hash the bytes so the answer still has a hash
    }
    return { status: 'ERROR', hash: txHash, errorResultXdr: errorResultXdr('txMalformed', 0n) };
  }

  private apply(inv: Invocation, context: CallContext): OpenTx {
    const { accounts, contract, networkPassphrase } = this.deps;
    const account = accounts.get(inv.tx.source);
    if (account) {
      account.sequence = inv.sequence; // consumed whether or not the invocation succeeds
      account.lastModifiedLedger = context.ledger;
      account.lastModifiedTime = context.now;
    }
    const receipt = (resultXdr: string, resultMetaXdr: string) => ({
      envelopeXdr: inv.envelope.toXDR(),
      resultXdr,
      resultMetaXdr,
      feeBump: inv.envelope instanceof FeeBumpTransaction,
    });
    try {
      if (inv.contractId !== contract.contractId) throw new HostError('Storage', 'MissingValue', `contract ${inv.contractId} does not exist`);
      const spec = fnSpec(inv.fn);
      if (!spec) throw new HostError('WasmVm', 'MissingValue', `trying to invoke non-existent contract function ${inv.fn}`);
      const args = decodeArgs(spec, inv.args);
      const signer = contract.requiredSigner(inv.fn, args);
      if (signer && !isAuthorized(inv, signer, networkPassphrase, context.ledger)) {
        throw new HostError('Auth', 'InvalidAction', `failed account authentication for ${signer}`);
      }
      const result = contract.call(inv.fn, args, context);
      const resultXdr = envelopeResult(inv, inv.fee, 'txSuccess', [successOp(result.retval, result.events)]);
      return {
        hash: inv.hash,
        successful: true,
        events: result.events,
        receipt: receipt(resultXdr, metaV4(result.events, result.retval, null)),
      };
    } catch (error) {
      const resultXdr = envelopeResult(inv, inv.fee, 'txFailed', [trappedOp()]);
      return {
        hash: inv.hash,
        successful: false,
        events: [],
        receipt: receipt(resultXdr, metaV4([], null, `${hostErrorCode(error)}: ${(error as Error).message}`)),
      };
    }
  }
}
