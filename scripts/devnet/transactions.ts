import {
  Address,
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

/** A well-formed Soroban contract invocation extracted from an envelope. */
export interface Invocation {
  envelope: Transaction | FeeBumpTransaction;
  tx: Transaction;
  hash: string;
  source: string;
  sequence: bigint;
  fee: bigint;
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
  return {
    envelope,
    tx,
    hash: envelope.hash().toString('hex'),
    source: op.source ?? tx.source,
    sequence: BigInt(tx.sequence),
    fee: BigInt(envelope.fee),
    contractId: Address.fromScAddress(invoke.contractAddress()).toString(),
    fn: invoke.functionName().toString(),
    args: invoke.args(),
    auth: op.auth ?? [],
    sorobanData: ext.switch() === 1 ? ext.sorobanData() : undefined,
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

/** Whether the envelope carries a valid decorated signature by `account` over the transaction hash. */
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
 * `require_auth(account)` for a submitted transaction. Accepted: a valid envelope signature by the account
 * (the account is the source, whose sourceAccount credentials ride on the envelope signature, or — a devnet
 * leniency — an extra signer), or a correctly signed address-credentials auth entry.
 */
export function isAuthorized(inv: Invocation, account: string, passphrase: string, ledger: number): boolean {
  if (signedBy(inv.envelope, account)) return true;
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

export function errorResultXdr(code: RejectCode, fee: bigint): string {
  return new xdr.TransactionResult({
    feeCharged: xdr.Int64.fromString(fee.toString()),
    result: xdr.TransactionResultResult[code](),
    ext: new xdr.TransactionResultExt(0),
  }).toXDR('base64');
}

export function successResult(fee: bigint, retval: xdr.ScVal, events: EmittedEvent[]): string {
  // The success arm carries sha256(InvokeHostFunctionSuccessPreImage{returnValue, events}), as on chain.
  const preimage = new xdr.InvokeHostFunctionSuccessPreImage({ returnValue: retval, events: events.map(contractEventXdr) });
  return new xdr.TransactionResult({
    feeCharged: xdr.Int64.fromString(fee.toString()),
    result: xdr.TransactionResultResult.txSuccess([
      xdr.OperationResult.opInner(xdr.OperationResultTr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionSuccess(hash(preimage.toXDR())))),
    ]),
    ext: new xdr.TransactionResultExt(0),
  }).toXDR('base64');
}

function trappedResult(fee: bigint): string {
  return new xdr.TransactionResult({
    feeCharged: xdr.Int64.fromString(fee.toString()),
    result: xdr.TransactionResultResult.txFailed([
      xdr.OperationResult.opInner(xdr.OperationResultTr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionTrapped())),
    ]),
    ext: new xdr.TransactionResultExt(0),
  }).toXDR('base64');
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

  /** Admission checks, in stellar-core's spirit: signature of the source, sequence, Soroban data, fee. */
  submit(envelopeXdr: string, ledger: number, closeTime: number): SendOutcome {
    let inv: Invocation;
    try {
      inv = parseInvocation(envelopeXdr, this.deps.networkPassphrase);
    } catch {
      return this.rejectUnparsed(envelopeXdr);
    }
    if (this.isPending(inv.hash)) return { status: 'DUPLICATE', hash: inv.hash };
    const reject = (code: RejectCode): SendOutcome => ({ status: 'ERROR', hash: inv.hash, errorResultXdr: errorResultXdr(code, 0n) });
    if (!StrKey.isValidEd25519PublicKey(inv.tx.source) || !signedBy(inv.envelope, inv.tx.source)) return reject('txBadAuth');
    // Unknown sources are created on first use, at the sequence just before this transaction's.
    const account = this.deps.accounts.ensure(inv.tx.source, ledger, closeTime, inv.sequence - 1n);
    if (inv.sequence !== this.nextSequence(account)) return reject('txBadSeq');
    if (!inv.sorobanData) return reject('txSorobanInvalid');
    if (inv.fee < BigInt(inv.sorobanData.resourceFee().toString()) + 100n) return reject('txInsufficientFee');
    this.pending.push(inv);
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
      return {
        hash: inv.hash,
        successful: true,
        events: result.events,
        receipt: receipt(successResult(inv.fee, result.retval, result.events), metaV4(result.events, result.retval, null)),
      };
    } catch (error) {
      return {
        hash: inv.hash,
        successful: false,
        events: [],
        receipt: receipt(trappedResult(inv.fee), metaV4([], null, `${hostErrorCode(error)}: ${(error as Error).message}`)),
      };
    }
  }
}
