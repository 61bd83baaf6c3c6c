import { randomUUID } from 'node:crypto';
import { FeeBumpTransaction, TransactionBuilder, type Keypair, type Transaction, type rpc } from '@stellar/stellar-sdk';
import type { ChainTransaction, ChainTransactionError } from '../../domain/chainTransaction.js';
import type { CreditLine } from '../../domain/creditLine.js';
import { ConflictError, GatewayTimeoutError, NotFoundError, ServiceUnavailableError, UnprocessableError, ValidationError } from '../../domain/errors.js';
import { mapConcurrently } from '../../lib/concurrency.js';
import { pageByTime, type PageRequest, type PageResult } from '../../lib/cursor.js';
import type { Logger } from '../../lib/logger.js';
import type { InTransaction, Repositories, Store } from '../../repositories/repositories.js';
import type { ContractCall } from '../../stellar/creditContractCalls.js';
import { AccountNotFound, ContractRefusal, NetworkBusy, SubmissionRefused, type ContractSubmitter, type Submitted, type TransactionOutcome } from '../../stellar/contractSubmitter.js';
import { RpcError, RpcTimeoutError } from '../../stellar/sorobanRpc.js';
import { actorName, auditRow } from '../audit.js';
import { confirmSubmitted, decodeChainEvent, ingestChainEvents, ProjectionFailure } from '../chainIngestion.js';
import { creditLineKey, toChainLine, type ChainCreditLine } from '../reconciliationService.js';
import type { RequestMeta } from '../creditLineService.js';
import type { WalletOwnership } from '../walletOwnership.js';

export interface ChainTransactionSettings {
  /** The contracts this deployment follows; the first is where new lines are opened. */
  contractIds: string[];
  /** The indexer's cursor row, held while a transaction's events are ingested (see chainIngestion). */
  cursorName: string;
  /** How long a transaction stays valid (its time bounds). */
  txTimeoutSeconds: number;
  /** How many times an operator transaction that expired unincluded is built and submitted again. */
  maxResubmits: number;
}

export interface OperatorRequest {
  contractId: string;
  walletAddress: string;
  creditLineId: string | null;
  call: ContractCall;
  meta: RequestMeta;
  /** Runs in the transaction that records the submission (an evaluation marked applied, a stored response). */
  alsoWithin?: InTransaction<ChainTransaction>;
}

export interface BorrowerRequest {
  line: CreditLine;
  call: ContractCall;
  meta: RequestMeta;
  alsoWithin?: InTransaction<ChainTransaction>;
}

/** getTransaction calls one tracker pass keeps in flight: enough to hide the round trip, few enough for any node. */
const OUTCOME_REQUESTS_IN_FLIGHT = 8;

interface Included {
  tx: ChainTransaction;
  outcome: Extract<TransactionOutcome, { status: 'success' }>;
}

/** What the caller learns when the chain or the node says no; nothing is left pending by any of these. */
function chainError(error: unknown): unknown {
  if (error instanceof ContractRefusal) {
    return new UnprocessableError('contract_error', `The Credit contract refuses ${error.functionName}: ${error.failure.name}`, {
      function: error.functionName,
      contractError: error.failure.name,
      contractErrorCode: error.failure.code,
    });
  }
  if (error instanceof SubmissionRefused) {
    return new UnprocessableError('transaction_rejected', `The network refused the transaction (${error.resultCode})`, { resultCode: error.resultCode });
  }
  if (error instanceof NetworkBusy) return new ServiceUnavailableError('chain_busy', `${error.message}; try again shortly`);
  if (error instanceof AccountNotFound) return new UnprocessableError('account_not_found', "The wallet's account does not exist on the network; fund it first");
  if (error instanceof RpcTimeoutError) return new GatewayTimeoutError('chain_timeout', 'The Soroban RPC node did not answer in time');
  if (error instanceof RpcError) return new ServiceUnavailableError('chain_unreachable', 'The Soroban RPC node cannot be reached; try again shortly');
  return error;
}

const failure = (error: unknown): ChainTransactionError => {
  if (error instanceof ContractRefusal) return { code: 'contract', name: error.failure.name, message: error.message };
  if (error instanceof SubmissionRefused) return { code: error.resultCode, name: null, message: error.message };
  return { code: 'error', name: null, message: (error as Error).message };
};

/**
 * Contract transactions for lines bound to the Credit contract. An operator call (admin actions) is simulated,
 * given the operator account's next sequence number under a row lock (so concurrent submissions, from any
 * instance, never share one), signed, submitted and recorded as pending in one database transaction. A borrower
 * call is simulated and handed out unsigned; the wallet signs it and we submit it. The tracker follows pending
 * transactions to their outcome: success applies the transaction's events through the same ingestion as the
 * indexer (whichever sees them first applies them, once), failure records the contract's error, and a
 * transaction whose time bounds passed unincluded expires (an operator call is then built again, a bounded
 * number of times).
 */
export class ChainTransactionService {
  constructor(
    private readonly store: Store,
    private readonly submitter: ContractSubmitter,
    private readonly settings: ChainTransactionSettings,
    private readonly ownership: WalletOwnership,
    private readonly logger: Logger,
    private readonly operator?: Keypair,
    private readonly clock: () => Date = () => new Date(),
    private readonly newId: () => string = randomUUID,
  ) {}

  get networkPassphrase(): string {
    return this.submitter.networkPassphrase;
  }

  /** The account that signs admin calls (the contract's admin), if this deployment has its key. */
  get operatorAccount(): string | null {
    return this.operator?.publicKey() ?? null;
  }

  isFollowed(contractId: string): boolean {
    return this.settings.contractIds.includes(contractId);
  }

  get defaultContractId(): string {
    return this.settings.contractIds[0]!;
  }

  /** The contract's stored line for this borrower (not accrued to now), or null when it has none. */
  async readLine(contractId: string, borrower: string): Promise<ChainCreditLine | null> {
    try {
      const { entries } = await this.submitter.rpcClient.getLedgerEntries(creditLineKey(contractId, borrower));
      return entries[0] ? toChainLine(entries[0].val.contractData().val()) : null;
    } catch (error) {
      throw chainError(error);
    }
  }

  /** An admin call: simulated, signed with the operator key, submitted, recorded pending. */
  async operate(request: OperatorRequest): Promise<ChainTransaction> {
    const operator = this.requireOperator();
    const now = this.clock();
    const validUntil = new Date(now.getTime() + this.settings.txTimeoutSeconds * 1000);
    try {
      return await this.store.transaction(async (repos) => {
        const submitted = await this.submitAsOperator(repos, operator, request.contractId, request.call, validUntil);
        const tx = this.newRecord(request, now, validUntil, {
          creditLineId: request.creditLineId,
          contractId: request.contractId,
          walletAddress: request.walletAddress,
          signer: 'operator',
          sourceAccount: operator.publicKey(),
          status: 'pending',
          ...this.afterSend(submitted),
          sequence: submitted.sequence,
          submitAttempts: submitted.attempts,
          submittedAt: now,
        });
        await repos.chainTransactions.insert(tx);
        await this.recordEvent(repos, 'chain_transaction.submitted', tx, now);
        await repos.audit.append(
          auditRow(request.meta, `chain.${tx.action}`, { type: tx.creditLineId ? 'credit_line' : 'chain_transaction', id: tx.creditLineId ?? tx.id }, { before: null, after: { chainTransactionId: tx.id, function: tx.functionName, arguments: tx.arguments, txHash: tx.txHash } }, now, this.newId),
        );
        await request.alsoWithin?.(repos, tx);
        return tx;
      });
    } catch (error) {
      throw chainError(error);
    }
  }

  /** A borrower call: simulated and recorded awaiting the wallet's signature; nothing is submitted yet. */
  async prepare(request: BorrowerRequest): Promise<ChainTransaction> {
    const { line, call } = request;
    const now = this.clock();
    const validUntil = new Date(now.getTime() + this.settings.txTimeoutSeconds * 1000);
    let prepared: Transaction;
    try {
      const sequence = (await this.submitter.sequenceOf(line.walletAddress)) + 1n;
      const raw = this.submitter.build(line.walletAddress, sequence, line.contractId!, call, validUntil);
      prepared = this.submitter.assemble(raw, await this.submitter.simulate(raw, call.functionName));
    } catch (error) {
      throw chainError(error);
    }
    const tx = this.newRecord(request, now, validUntil, {
      creditLineId: line.id,
      contractId: line.contractId!,
      walletAddress: line.walletAddress,
      signer: 'borrower',
      sourceAccount: line.walletAddress,
      status: 'awaiting_signature',
      envelopeXdr: prepared.toXDR(),
      txHash: prepared.hash().toString('hex'),
      sequence: BigInt(prepared.sequence),
      fee: BigInt(prepared.fee),
      submitAttempts: 0,
      submittedAt: null,
    });
    await this.store.transaction(async (repos) => {
      await repos.chainTransactions.insert(tx);
      await request.alsoWithin?.(repos, tx);
    });
    return tx;
  }

  /**
   * Submits the wallet's signature of a prepared transaction. The signed envelope must be exactly the prepared
   * transaction (same hash); the row stays locked while it is sent, so two submissions of it send it once.
   */
  async submitSigned(id: string, signedXdr: string, meta: RequestMeta, alsoWithin?: InTransaction<ChainTransaction>): Promise<ChainTransaction> {
    const outcome = await this.store.transaction(async (repos) => {
      const tx = await repos.chainTransactions.findByIdForUpdate(id);
      if (!tx) throw new NotFoundError('Chain transaction', id);
      if (meta.actor.kind !== 'admin') await this.ownership.assertCanAct(repos.walletAuth, meta.wallet, tx.walletAddress);
      if (tx.signer !== 'borrower') throw new ConflictError('not_wallet_signed', 'This transaction is signed and submitted by the operator');
      const envelope = this.parseSigned(signedXdr);
      const innerHash = (envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope).hash().toString('hex');
      const preparedHash = tx.status === 'awaiting_signature' ? tx.txHash : (TransactionBuilder.fromXDR(tx.envelopeXdr, this.networkPassphrase) as Transaction).hash().toString('hex');
      if (tx.status !== 'awaiting_signature') {
        if (innerHash === preparedHash || envelope.hash().toString('hex') === tx.txHash) return { tx }; // already submitted: the same answer again
        throw new ConflictError('invalid_status', `This transaction is already ${tx.status}`, { currentStatus: tx.status });
      }
      if (innerHash !== preparedHash) {
        throw new UnprocessableError('transaction_mismatch', 'The signed transaction is not the one prepared for this request; sign transactionXdr as given');
      }
      const now = this.clock();
      if (now >= tx.validUntil) {
        const expired = { ...tx, status: 'expired' as const, updatedAt: now, settledAt: now };
        await repos.chainTransactions.update(expired);
        await this.recordEvent(repos, 'chain_transaction.expired', expired, now);
        return { tx: expired, refusal: new ConflictError('transaction_expired', 'The transaction\'s time bounds have passed; prepare it again') };
      }
      try {
        const sent = await this.submitter.send(envelope);
        const pending: ChainTransaction = { ...tx, ...this.afterSend(sent), status: 'pending', submitAttempts: tx.submitAttempts + sent.attempts, updatedAt: now, submittedAt: now };
        await repos.chainTransactions.update(pending);
        await this.recordEvent(repos, 'chain_transaction.submitted', pending, now);
        await alsoWithin?.(repos, pending);
        return { tx: pending };
      } catch (error) {
        if (!(error instanceof SubmissionRefused)) throw chainError(error);
        if (error.resultCode === 'txBadSeq' && (await this.submitter.outcome(tx.txHash)).status !== 'not_found') {
          // An earlier send of this very envelope landed (its answer was lost): the tracker takes it from here.
          const landed: ChainTransaction = { ...tx, status: 'pending', submitAttempts: tx.submitAttempts + 1, updatedAt: now, submittedAt: now };
          await repos.chainTransactions.update(landed);
          await alsoWithin?.(repos, landed);
          return { tx: landed };
        }
        // Refused at the door: recorded as failed (it can never land), and the caller learns why.
        const failed: ChainTransaction = { ...tx, status: 'failed', error: failure(error), submitAttempts: tx.submitAttempts + 1, updatedAt: now, settledAt: now };
        await repos.chainTransactions.update(failed);
        await this.recordEvent(repos, 'chain_transaction.failed', failed, now);
        return { tx: failed, refusal: chainError(error) };
      }
    });
    if (outcome.refusal) throw outcome.refusal;
    return outcome.tx;
  }

  async get(id: string, meta: RequestMeta): Promise<ChainTransaction> {
    const tx = await this.store.repos.chainTransactions.findById(id);
    if (!tx) throw new NotFoundError('Chain transaction', id);
    await this.ownership.assertCanRead(this.store.repos.walletAuth, meta.wallet, tx.walletAddress);
    return tx;
  }

  async listForLine(line: CreditLine, page: PageRequest): Promise<PageResult<ChainTransaction>> {
    return pageByTime(page, (tx) => ({ at: tx.createdAt, id: tx.id }), ({ limit, after }) => this.store.repos.chainTransactions.listByLine(line.id, { limit, after: after && { createdAt: after.at, id: after.id } }));
  }

  /**
   * One pass of the tracker over pending transactions; returns how many reached an outcome (or were resubmitted).
   * Outcomes are asked a few at a time, and every transaction found in a ledger is confirmed in one database
   * transaction. An RPC failure stops the pass and leaves everything pending: the next pass, in this process or
   * another after a restart, asks again.
   */
  async track(limit = 50): Promise<number> {
    const pending = await this.store.repos.chainTransactions.listPending(limit);
    const outcomes = await mapConcurrently(pending, OUTCOME_REQUESTS_IN_FLIGHT, (tx) => this.submitter.outcome(tx.txHash));
    const included: Included[] = [];
    let settled = 0;
    for (const [index, tx] of pending.entries()) {
      const outcome = outcomes[index]!;
      if (outcome.status === 'success') {
        included.push({ tx, outcome });
      } else if (outcome.status === 'failed') {
        await this.recordFailure(tx, outcome);
        settled++;
      } else if (outcome.latestLedgerCloseTime.getTime() > tx.validUntil.getTime()) {
        // Only a ledger closed after the time bounds proves the transaction can no longer be included.
        await this.expire(tx.id);
        settled++;
      }
    }
    return settled + (await this.confirmIncluded(included));
  }

  /**
   * Applies the events of transactions found in a ledger and confirms them, all in one database transaction. When
   * one transaction's events cannot be applied, the others are confirmed one by one so it holds up none of them;
   * it stays pending (the indexer, reading the same events, parks what keeps failing for reconciliation).
   */
  private async confirmIncluded(included: Included[]): Promise<number> {
    if (included.length === 0) return 0;
    try {
      await this.confirm(included);
      return included.length;
    } catch (error) {
      if (!(error instanceof ProjectionFailure) || included.length === 1) throw error;
    }
    let confirmed = 0;
    for (const one of included) {
      try {
        await this.confirm([one]);
        confirmed++;
      } catch (error) {
        if (!(error instanceof ProjectionFailure)) throw error;
        this.logger.warn({ chainTransactionId: one.tx.id, eventId: error.eventId }, 'events of an included chain transaction could not be applied; left pending');
      }
    }
    return confirmed;
  }

  private async confirm(included: Included[]): Promise<void> {
    await this.store.transaction(async (repos) => {
      const now = this.clock();
      // Under the indexer's cursor lock, events the indexer already applied are recognised by id and skipped.
      await repos.chain.lockCursor(this.settings.cursorName, now);
      const decoded = included.flatMap(({ outcome }) => outcome.events.map((event) => decodeChainEvent(event, now)));
      const events = new Map(decoded.flatMap((d) => (d.event ? [[d.record.eventId, d.event] as const] : [])));
      await ingestChainEvents(repos, decoded.map((d) => d.record), events, { logger: this.logger, clock: this.clock });
      // A call that emitted no events (closing a closed line) is confirmed here; one already confirmed is left as it is.
      await confirmSubmitted(repos, included.map(({ tx, outcome }) => ({ txHash: tx.txHash, ledger: outcome.ledger })), now);
    });
  }

  private async recordFailure(tx: ChainTransaction, outcome: Extract<TransactionOutcome, { status: 'failed' }>): Promise<void> {
    await this.store.transaction(async (repos) => {
      const now = this.clock();
      const current = await repos.chainTransactions.findByIdForUpdate(tx.id);
      if (current?.status !== 'pending') return;
      const error: ChainTransactionError = outcome.failure
        ? { code: 'contract', name: outcome.failure.name, message: `${tx.functionName} failed on chain: ${outcome.failure.name}` }
        : { code: outcome.resultCode, name: null, message: `${tx.functionName} failed on chain (${outcome.resultCode})` };
      const failed: ChainTransaction = { ...current, status: 'failed', error, ledger: outcome.ledger, updatedAt: now, settledAt: now };
      await repos.chainTransactions.update(failed);
      await this.recordEvent(repos, 'chain_transaction.failed', failed, now);
      if (tx.signer === 'operator') await this.resyncSequence(repos, tx.sourceAccount, now);
    });
  }

  /**
   * A transaction that can no longer be included. An operator call is built and submitted again (the contract may
   * refuse it now: it then fails with the contract's error); a borrower's expires, to be prepared and signed again.
   */
  private async expire(id: string): Promise<void> {
    await this.store.transaction(async (repos) => {
      const now = this.clock();
      const tx = await repos.chainTransactions.findByIdForUpdate(id);
      if (tx?.status !== 'pending') return;
      if (tx.signer === 'operator') {
        // Our stored sequence counted a transaction that never consumed it.
        await this.resyncSequence(repos, tx.sourceAccount, now);
        if (tx.resubmissions < this.settings.maxResubmits && this.operator) {
          const validUntil = new Date(now.getTime() + this.settings.txTimeoutSeconds * 1000);
          try {
            const call = this.callOf(tx);
            const sent = await this.submitAsOperator(repos, this.operator, tx.contractId, call, validUntil);
            const resubmitted: ChainTransaction = { ...tx, ...this.afterSend(sent), sequence: sent.sequence, validUntil, submitAttempts: tx.submitAttempts + sent.attempts, resubmissions: tx.resubmissions + 1, updatedAt: now, submittedAt: now };
            await repos.chainTransactions.update(resubmitted);
            await this.recordEvent(repos, 'chain_transaction.submitted', resubmitted, now);
            this.logger.warn({ chainTransactionId: tx.id, action: tx.action }, 'chain transaction expired unincluded; submitted again');
            return;
          } catch (error) {
            if (!(error instanceof ContractRefusal || error instanceof SubmissionRefused)) throw error;
            const failed: ChainTransaction = { ...tx, status: 'failed', error: failure(error), updatedAt: now, settledAt: now };
            await repos.chainTransactions.update(failed);
            await this.recordEvent(repos, 'chain_transaction.failed', failed, now);
            return;
          }
        }
      }
      const expired: ChainTransaction = { ...tx, status: 'expired', updatedAt: now, settledAt: now };
      await repos.chainTransactions.update(expired);
      await this.recordEvent(repos, 'chain_transaction.expired', expired, now);
    });
  }

  /**
   * Simulates, then takes the operator account's next sequence number under its row lock, signs and sends. A
   * txBadSeq (the account was used elsewhere, or a queued transaction of ours was dropped) resyncs from the chain
   * and tries once more. The lock is held until the caller's transaction commits the new sequence.
   */
  private async submitAsOperator(repos: Repositories, operator: Keypair, contractId: string, call: Pick<ContractCall, 'functionName' | 'args'>, validUntil: Date): Promise<Submitted & { sequence: bigint }> {
    const source = operator.publicKey();
    // Simulated before the lock is taken, so a refusal never holds it; resources do not depend on the sequence.
    const simulation = await this.submitter.simulate(this.submitter.build(source, 1n, contractId, call, validUntil), call.functionName);
    const now = this.clock();
    for (let resynced = false; ; resynced = true) {
      const stored = await repos.chainTransactions.lockAccountSequence(source, now);
      const sequence = (stored ?? (await this.submitter.sequenceOf(source))) + 1n;
      const tx = this.submitter.assemble(this.submitter.build(source, sequence, contractId, call, validUntil), simulation as rpc.Api.SimulateTransactionSuccessResponse);
      tx.sign(operator);
      try {
        const sent = await this.submitter.send(tx);
        await repos.chainTransactions.saveAccountSequence(source, sequence, now);
        return { ...sent, sequence };
      } catch (error) {
        if (resynced || !(error instanceof SubmissionRefused) || error.resultCode !== 'txBadSeq') throw error;
        await this.resyncSequence(repos, source, now);
      }
    }
  }

  private async resyncSequence(repos: Repositories, account: string, now: Date): Promise<void> {
    await repos.chainTransactions.lockAccountSequence(account, now);
    await repos.chainTransactions.saveAccountSequence(account, await this.submitter.sequenceOf(account), now);
  }

  private newRecord(
    request: { call: ContractCall; meta: RequestMeta },
    now: Date,
    validUntil: Date,
    fields: Pick<
      ChainTransaction,
      'creditLineId' | 'contractId' | 'walletAddress' | 'signer' | 'sourceAccount' | 'status' | 'envelopeXdr' | 'txHash' | 'sequence' | 'fee' | 'submitAttempts' | 'submittedAt'
    >,
  ): ChainTransaction {
    return {
      id: this.newId(),
      action: request.call.action,
      functionName: request.call.functionName,
      arguments: request.call.readable,
      validUntil,
      resubmissions: 0,
      error: null,
      ledger: null,
      requestedBy: actorName(request.meta),
      requestId: request.meta.requestId ?? null,
      createdAt: now,
      updatedAt: now,
      settledAt: null,
      ...fields,
    };
  }

  private afterSend(sent: Submitted): Pick<ChainTransaction, 'envelopeXdr' | 'txHash' | 'fee'> {
    return { envelopeXdr: sent.envelope.toXDR(), txHash: sent.hash, fee: BigInt(sent.envelope.fee) };
  }

  /** The call a stored operator transaction made, read back from its envelope (to build it again). */
  private callOf(tx: ChainTransaction): Pick<ContractCall, 'functionName' | 'args'> {
    let envelope = TransactionBuilder.fromXDR(tx.envelopeXdr, this.networkPassphrase);
    if (envelope instanceof FeeBumpTransaction) envelope = envelope.innerTransaction;
    const op = envelope.operations[0];
    if (op?.type !== 'invokeHostFunction') throw new Error(`chain transaction ${tx.id} holds no contract call`);
    const invoke = op.func.invokeContract();
    return { functionName: invoke.functionName().toString(), args: invoke.args() };
  }

  private parseSigned(signedXdr: string): Transaction | FeeBumpTransaction {
    try {
      return TransactionBuilder.fromXDR(signedXdr, this.networkPassphrase);
    } catch {
      throw new ValidationError([{ field: 'signedXdr', rule: 'transaction_envelope', message: 'must be a base64 transaction envelope for this network' }]);
    }
  }

  private requireOperator(): Keypair {
    if (!this.operator) {
      throw new ServiceUnavailableError('chain_operator_unconfigured', 'This deployment has no operator key (STELLAR_OPERATOR_SECRET) to sign admin calls on the Credit contract');
    }
    return this.operator;
  }

  private async recordEvent(repos: Repositories, type: string, tx: ChainTransaction, now: Date): Promise<void> {
    await repos.events.append({
      id: this.newId(),
      type,
      aggregateType: 'chain_transaction',
      aggregateId: tx.id,
      payload: { chainTransactionId: tx.id, creditLineId: tx.creditLineId, action: tx.action, status: tx.status, txHash: tx.txHash, ledger: tx.ledger, error: tx.error },
      createdAt: now,
    });
  }
}
