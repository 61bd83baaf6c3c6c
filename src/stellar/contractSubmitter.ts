import { Account, Contract, FeeBumpTransaction, Keypair, rpc, StrKey, Transaction, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { contractFailureFromDiagnostics, contractFailureFromText, type ContractFailure } from './contractErrors.js';
import type { RawChainEvent } from './creditEvents.js';
import type { SorobanRpcClient } from './sorobanRpc.js';

/**
 * Builds, simulates, submits and follows Soroban contract invocations: the chain side of acting on a bound line.
 * It holds no state; sequence numbers and what was submitted are the caller's (kept in the database).
 */

/** The contract would refuse the call (simulation failed): nothing was submitted. */
export class ContractRefusal extends Error {
  constructor(
    readonly functionName: string,
    readonly failure: ContractFailure,
  ) {
    super(`${functionName} would fail on chain: ${failure.name}`);
    this.name = 'ContractRefusal';
  }
}

/** The network refused the envelope at submission (sendTransaction ERROR), after any fee bumps we could make. */
export class SubmissionRefused extends Error {
  constructor(readonly resultCode: string) {
    super(`the network refused the transaction: ${resultCode}`);
    this.name = 'SubmissionRefused';
  }
}

/** The node kept answering TRY_AGAIN_LATER (its queue is full) for every try. */
export class NetworkBusy extends Error {
  constructor(attempts: number) {
    super(`the network answered TRY_AGAIN_LATER ${attempts} times`);
    this.name = 'NetworkBusy';
  }
}

export class AccountNotFound extends Error {
  constructor() {
    super('the source account does not exist on the network');
    this.name = 'AccountNotFound';
  }
}

export interface SubmitterSettings {
  networkPassphrase: string;
  /** Inclusion fee (stroops) a new transaction offers. */
  baseFee: number;
  /** The most inclusion fee (stroops) a fee bump may offer. */
  maxInclusionFee: number;
  /** Sends of one call: resends after TRY_AGAIN_LATER and fee bumps after txInsufficientFee count. */
  maxAttempts: number;
  retryDelayMs: number;
}

export type TransactionOutcome =
  | { status: 'success'; ledger: number; events: RawChainEvent[] }
  | { status: 'failed'; ledger: number; resultCode: string; failure: ContractFailure | null }
  | { status: 'not_found'; latestLedgerCloseTime: Date };

export interface Submitted {
  envelope: Transaction | FeeBumpTransaction;
  hash: string;
  /** Sends it took (1 when accepted at once). */
  attempts: number;
}

/** The RPC's event id: a TOID (32-bit ledger, 20-bit application order, 12-bit operation) and the event's index. */
export function eventId(ledger: number, applicationOrder: number, operation: number, index: number): string {
  const toid = (BigInt(ledger) << 32n) | (BigInt(applicationOrder & 0xfffff) << 12n) | BigInt(operation & 0xfff);
  return `${toid.toString().padStart(19, '0')}-${String(index).padStart(10, '0')}`;
}

const innerOf = (envelope: Transaction | FeeBumpTransaction): Transaction => (envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope);

function resourceFeeOf(tx: Transaction): bigint {
  const ext = tx.toEnvelope().v1().tx().ext();
  return ext.switch() === 1 ? BigInt(ext.sorobanData().resourceFee().toString()) : 0n;
}

/** What the envelope offers above its Soroban resource fee: the part that buys a place in the queue. */
export const inclusionFeeOf = (envelope: Transaction | FeeBumpTransaction): bigint => BigInt(envelope.fee) - resourceFeeOf(innerOf(envelope));

export class ContractSubmitter {
  constructor(
    readonly rpcClient: SorobanRpcClient,
    private readonly settings: SubmitterSettings,
    /** Pays fee bumps; without it an underpriced envelope is refused as it is. */
    private readonly feePayer?: Keypair,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  get networkPassphrase(): string {
    return this.settings.networkPassphrase;
  }

  /** The account's current sequence number on chain (read with getLedgerEntries). */
  async sequenceOf(account: string): Promise<bigint> {
    const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(account).xdrAccountId() }));
    const { entries } = await this.rpcClient.getLedgerEntries(key);
    if (!entries[0]) throw new AccountNotFound();
    return BigInt(entries[0].val.account().seqNum().toString());
  }

  /** An unsigned invocation with this sequence number, valid until `validUntil`, offering the base inclusion fee. */
  build(source: string, sequence: bigint, contractId: string, call: { functionName: string; args: xdr.ScVal[] }, validUntil: Date): Transaction {
    return new TransactionBuilder(new Account(source, (sequence - 1n).toString()), { fee: String(this.settings.baseFee), networkPassphrase: this.settings.networkPassphrase })
      .addOperation(new Contract(contractId).call(call.functionName, ...call.args))
      .setTimebounds(0, Math.floor(validUntil.getTime() / 1000))
      .build();
  }

  /** Simulates; the contract's refusal is a ContractRefusal naming its error, so nothing doomed is ever submitted. */
  async simulate(tx: Transaction, functionName: string): Promise<rpc.Api.SimulateTransactionSuccessResponse> {
    const simulation = await this.rpcClient.simulateTransaction(tx);
    if (rpc.Api.isSimulationError(simulation)) throw new ContractRefusal(functionName, contractFailureFromText(simulation.error));
    if (rpc.Api.isSimulationRestore(simulation)) throw new ContractRefusal(functionName, { code: null, name: 'ArchivedEntries' });
    return simulation;
  }

  /** The transaction with the simulation's resources, auth and fee: what is signed. */
  assemble(tx: Transaction, simulation: rpc.Api.SimulateTransactionSuccessResponse): Transaction {
    return rpc.assembleTransaction(tx, simulation).build();
  }

  /**
   * Sends an envelope until the network queues it: TRY_AGAIN_LATER is resent after a backoff, txInsufficientFee is
   * answered with a fee bump paid by the fee payer (a higher inclusion fee, up to the cap). Every other refusal, and
   * running out of tries, is thrown. A resent envelope keeps its sequence number, so it can land at most once.
   */
  async send(envelope: Transaction | FeeBumpTransaction): Promise<Submitted> {
    let current = envelope;
    for (let attempt = 1; ; attempt++) {
      const sent = await this.rpcClient.sendTransaction(current);
      if (sent.status === 'PENDING' || sent.status === 'DUPLICATE') return { envelope: current, hash: sent.hash, attempts: attempt };
      if (sent.status === 'TRY_AGAIN_LATER') {
        if (attempt >= this.settings.maxAttempts) throw new NetworkBusy(attempt);
        await this.sleep(this.settings.retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      const code = sent.errorResult ? resultCodeOf(sent.errorResult) : 'txFailed';
      if (code !== 'txInsufficientFee' || attempt >= this.settings.maxAttempts) throw new SubmissionRefused(code);
      current = await this.bump(current);
    }
  }

  /** Wraps the inner transaction in a fee bump offering at least twice the last inclusion fee (and the going rate). */
  private async bump(envelope: Transaction | FeeBumpTransaction): Promise<FeeBumpTransaction> {
    if (!this.feePayer) throw new SubmissionRefused('txInsufficientFee');
    const offered = inclusionFeeOf(envelope);
    const stats = await this.rpcClient.getFeeStats();
    const goingRate = BigInt(stats.sorobanInclusionFee.max);
    const cap = BigInt(this.settings.maxInclusionFee);
    if (offered >= cap) throw new SubmissionRefused('txInsufficientFee');
    let target = offered * 2n > goingRate ? offered * 2n : goingRate;
    if (target > cap) target = cap;
    // A fee bump's inclusion fee is its base fee times (operations + 1); one operation here.
    const baseFee = (target + 1n) / 2n;
    const bumped = TransactionBuilder.buildFeeBumpTransaction(this.feePayer, baseFee.toString(), innerOf(envelope), this.settings.networkPassphrase);
    bumped.sign(this.feePayer);
    return bumped;
  }

  /** What became of a submitted transaction; its contract events carry the ids getEvents gives them. */
  async outcome(hash: string): Promise<TransactionOutcome> {
    const result = await this.rpcClient.getTransaction(hash);
    if (result.status === rpc.Api.GetTransactionStatus.NOT_FOUND) {
      return { status: 'not_found', latestLedgerCloseTime: new Date(Number(result.latestLedgerCloseTime) * 1000) };
    }
    if (result.status === rpc.Api.GetTransactionStatus.SUCCESS) {
      const closedAt = new Date(Number(result.createdAt) * 1000);
      const events = (result.events?.contractEventsXdr ?? []).flatMap((operationEvents, operation) =>
        operationEvents.map((event, index) => {
          const body = event.body().v0();
          const contract = event.contractId();
          return {
            id: eventId(result.ledger, result.applicationOrder, operation, index),
            contractId: contract ? StrKey.encodeContract(Buffer.from(contract as unknown as Uint8Array)) : '',
            ledger: result.ledger,
            ledgerClosedAt: closedAt,
            txHash: hash,
            topic: body.topics(),
            value: body.data(),
          };
        }),
      );
      return { status: 'success', ledger: result.ledger, events };
    }
    // Nodes return diagnostics beside the result, or only inside the meta.
    const diagnostics = [...(result.diagnosticEventsXdr ?? []), ...diagnosticsOf(result.resultMetaXdr)];
    return {
      status: 'failed',
      ledger: result.ledger,
      resultCode: resultCodeOf(result.resultXdr),
      failure: contractFailureFromDiagnostics(diagnostics),
    };
  }
}

/** The result's code; a fee bump whose inner transaction was refused names the inner transaction's reason. */
function resultCodeOf(result: xdr.TransactionResult): string {
  const outer = result.result();
  if (outer.switch().name === 'txFeeBumpInnerFailed') return outer.innerResultPair().result().result().switch().name;
  return outer.switch().name;
}

function diagnosticsOf(meta: xdr.TransactionMeta): xdr.DiagnosticEvent[] {
  switch (meta.switch()) {
    case 4:
      return meta.v4().diagnosticEvents();
    case 3:
      return meta.v3().sorobanMeta()?.diagnosticEvents() ?? [];
    default:
      return [];
  }
}
