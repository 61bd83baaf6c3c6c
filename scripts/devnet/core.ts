import { Account, Address, Keypair, Operation, SorobanDataBuilder, StrKey, TimeoutInfinite, TransactionBuilder, xdr } from '@stellar/stellar-sdk';
import { encodeArgs, fnSpec } from './abi.js';
import { Accounts } from './accounts.js';
import { CreditContract, type CallContext, type CallResult } from './creditContract.js';
import { encodeEvent, isEventName, type EmittedEvent } from './events.js';
import { Faults } from './faults.js';
import { HorizonStore } from './horizonData.js';
import { Chain, Clock, type ClosedLedger, type OpenTx } from './ledger.js';
import { OracleContract, type OracleSettings } from './oracleContract.js';
import { codeKey, instanceKey, metaV4, successResult, TxPool } from './transactions.js';

/**
 * The simulated network without its HTTP faces: clock, ledger chain, the Credit contract, the price oracle,
 * classic accounts, Horizon history, the transaction pool and the fault switches. The RPC, Horizon and control
 * handlers all read and drive this one object.
 */
export interface CoreOptions {
  networkPassphrase: string;
  retentionLedgers: number;
  protocolVersion: number;
  contractId: string;
  admin: Keypair;
  /** C… id of the Reflector-style price oracle. */
  oracleId: string;
  oracle?: Partial<OracleSettings>;
  /** Pins the clock (unix seconds) from genesis on, for deterministic timestamps; wall clock if omitted. */
  startTime?: number;
}

/** The ledger range a client sees: the real one, or one lagging behind when the lag fault is on. */
export interface LedgerView {
  latest: ClosedLedger;
  oldest: ClosedLedger;
}

function assertContractId(contractId: string): void {
  if (!StrKey.isValidContract(contractId)) throw new RangeError(`not a contract id: ${contractId}`);
}

export class DevnetCore {
  readonly clock = new Clock();
  readonly chain: Chain;
  readonly contract: CreditContract;
  readonly oracle: OracleContract;
  readonly accounts = new Accounts();
  readonly horizon: HorizonStore;
  readonly pool: TxPool;
  readonly faults: Faults;
  /**
   * Direct (control-API) calls and emitted events still get a real, signed envelope so getTransaction
   * answers for every txHash an event carries. This operator account is their source.
   */
  private readonly operator = Keypair.random();

  constructor(readonly options: CoreOptions) {
    this.chain = new Chain({ protocolVersion: options.protocolVersion, retentionLedgers: options.retentionLedgers });
    if (options.startTime !== undefined) this.clock.set(options.startTime);
    const genesis = this.chain.genesis(this.clock.now());
    this.contract = new CreditContract(options.contractId, options.admin.publicKey());
    this.oracle = new OracleContract(options.oracleId, options.oracle);
    this.horizon = new HorizonStore(options.networkPassphrase, this.accounts);
    this.pool = new TxPool({ networkPassphrase: options.networkPassphrase, accounts: this.accounts, contract: this.contract });
    this.faults = new Faults(() => this.nodeReset());
    this.accounts.seed({ id: options.admin.publicKey() }, genesis.sequence, genesis.closeTime);
    this.accounts.seed({ id: this.operator.publicKey() }, genesis.sequence, genesis.closeTime);
  }

  get networkPassphrase(): string {
    return this.options.networkPassphrase;
  }

  /** The timestamp the open ledger runs at: the clock, but never before the last close. */
  contractNow(): number {
    return Math.max(this.clock.now(), this.chain.latest.closeTime);
  }

  openContext(): CallContext {
    return { now: this.contractNow(), ledger: this.chain.openSequence };
  }

  /** Ledger range as clients see it (the lag fault hides the newest ledgers). */
  view(): LedgerView {
    const real = this.chain.latest;
    const oldest = this.chain.oldest;
    const lagged = Math.max(oldest.sequence, real.sequence - this.faults.lagLedgers);
    return { latest: this.chain.ledger(lagged) ?? real, oldest };
  }

  /** Calls the contract directly (no signatures); its events join the open ledger as one transaction. */
  invoke(fn: string, args?: Record<string, unknown> | unknown[]): CallResult {
    const normalised = this.contract.normaliseArgs(fn, args);
    const result = this.contract.call(fn, normalised, this.openContext());
    this.recordDirect(fn, encodeArgs(fnSpec(fn)!, normalised), result.events, result.retval);
    return result;
  }

  /** Emits one catalogue event (payload by field name) as its own transaction, changing no state. */
  emit(name: string, payload: unknown, contractId = this.options.contractId): EmittedEvent {
    if (!isEventName(name)) throw new RangeError(`unknown event ${name}`);
    assertContractId(contractId);
    const event = encodeEvent(contractId, name, payload);
    this.recordDirect(`devnet_emit_${name}`, [], [event], xdr.ScVal.scvVoid());
    return event;
  }

  /** Emits arbitrary topics (symbols, or ScVals) and value, e.g. another contract's or an unknown event. */
  emitRaw(topics: Array<string | xdr.ScVal>, value: xdr.ScVal, contractId = this.options.contractId): EmittedEvent {
    assertContractId(contractId);
    const event: EmittedEvent = {
      contractId,
      topics: topics.map((t) => (typeof t === 'string' ? xdr.ScVal.scvSymbol(t) : t)),
      value,
    };
    this.recordDirect('devnet_emit_raw', [], [event], xdr.ScVal.scvVoid());
    return event;
  }

  /** Closes the open ledger: applies queued transactions at the close time, seals, and commits contract state. */
  closeLedger(): number {
    const closeTime = this.contractNow();
    const sequence = this.chain.openSequence;
    for (const tx of this.pool.drain({ now: closeTime, ledger: sequence })) this.chain.addTx(tx);
    this.chain.close(closeTime);
    this.contract.commit();
    this.oracle.commit();
    return sequence;
  }

  /** Node reset: history before the latest ledger is forgotten (oldestLedger = latestLedger). */
  nodeReset(): void {
    this.chain.reset();
  }

  private recordDirect(fn: string, args: xdr.ScVal[], events: EmittedEvent[], retval: xdr.ScVal): void {
    const ledger = this.chain.openSequence;
    const source = this.accounts.ensure(this.operator.publicKey(), ledger, this.contractNow());
    const tx = new TransactionBuilder(new Account(source.id, source.sequence.toString()), {
      fee: '100100',
      networkPassphrase: this.options.networkPassphrase,
    })
      .addOperation(
        Operation.invokeHostFunction({
          func: xdr.HostFunction.hostFunctionTypeInvokeContract(
            new xdr.InvokeContractArgs({ contractAddress: new Address(this.options.contractId).toScAddress(), functionName: fn, args }),
          ),
          auth: [],
        }),
      )
      .setSorobanData(
        new SorobanDataBuilder()
          .setFootprint([instanceKey(this.options.contractId), codeKey()], [])
          .setResourceFee(100_000)
          .build(),
      )
      .setTimeout(TimeoutInfinite)
      .build();
    tx.sign(this.operator);
    source.sequence = BigInt(tx.sequence);
    const open: OpenTx = {
      hash: tx.hash().toString('hex'),
      successful: true,
      events,
      receipt: {
        envelopeXdr: tx.toEnvelope().toXDR('base64'),
        resultXdr: successResult(BigInt(tx.fee), retval, events),
        resultMetaXdr: metaV4(events, retval, null),
        feeBump: false,
      },
    };
    this.chain.addTx(open);
  }
}
