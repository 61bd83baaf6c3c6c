import { randomUUID } from 'node:crypto';
import { Address, nativeToScVal, scValToNative, xdr } from '@stellar/stellar-sdk';
import { accrue, availableCredit, type CreditLine } from '../domain/creditLine.js';
import { NotFoundError } from '../domain/errors.js';
import { formatAmount } from '../domain/money.js';
import { maskAddress } from '../domain/stellarAddress.js';
import { decodeCursor, encodeCursor, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { Logger } from '../lib/logger.js';
import type { Drift, ReconciliationRun, Store } from '../repositories/repositories.js';
import { CHAIN_STATUS, type ChainStatus } from '../stellar/creditEvents.js';
import type { SorobanRpcClient } from '../stellar/sorobanRpc.js';
import { RECONCILIATION_QUEUE } from './chainIndexer.js';

/** The contract's stored CreditLineData, as getLedgerEntries returns it. */
export interface ChainCreditLine {
  borrower: string;
  creditLimit: bigint;
  utilized: bigint;
  accruedInterest: bigint;
  interestRateBps: number;
  riskScore: number;
  status: ChainStatus;
  lastAccrualTs: bigint;
}

export interface ReconciliationSettings {
  contractIds: string[];
  /** The indexer's cursor name: gaps it recorded are marked reconciled by a gap-triggered run. */
  gapSource: string;
  batchSize: number;
  /** Differences in utilised/available/accrued up to this many base units are rounding, not drift. */
  toleranceUnits: bigint;
}

/** RPC's getLedgerEntries accepts at most 200 keys per request. */
const MAX_KEYS_PER_REQUEST = 200;

export const creditLineKey = (contractId: string, borrower: string) =>
  xdr.LedgerKey.contractData(
    new xdr.LedgerKeyContractData({
      contract: new Address(contractId).toScAddress(),
      key: nativeToScVal(borrower, { type: 'address' }),
      durability: xdr.ContractDataDurability.persistent(),
    }),
  );

export function toChainLine(value: xdr.ScVal): ChainCreditLine {
  const data = scValToNative(value) as Record<string, unknown>;
  return {
    borrower: String(data.borrower),
    creditLimit: BigInt(data.credit_limit as bigint),
    utilized: BigInt(data.utilized_amount as bigint),
    accruedInterest: BigInt(data.accrued_interest as bigint),
    interestRateBps: Number(data.interest_rate_bps),
    riskScore: Number(data.risk_score),
    status: CHAIN_STATUS[Number(data.status)] ?? 'active',
    lastAccrualTs: BigInt(data.last_accrual_ts as bigint),
  };
}

/**
 * Proves the database still matches the chain for every line bound to the contract: each line's stored chain
 * state is read in batches, interest is projected to the same instant on both sides (as the contract would
 * accrue it), and differences are graded: critical (missing, borrower, limit, status) or warning (utilised,
 * available, accrued beyond tolerance; rate). Runs and drifts are stored; drift emits `reconciliation.drift`.
 */
export class ReconciliationService {
  constructor(
    private readonly store: Store,
    private readonly rpcClient: SorobanRpcClient,
    private readonly settings: ReconciliationSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** When the last run started, if any: the schedule runs again once the interval has passed. */
  async lastRunStartedAt(): Promise<Date | null> {
    const [last] = await this.store.repos.reconciliation.listRuns({ limit: 1 });
    return last?.startedAt ?? null;
  }

  /**
   * The worker's unit of work: a run asked for by the indexer (a history gap) first, else the scheduled run once
   * `intervalMs` has passed since the last one. Returns 1 when it ran something.
   */
  async runDue(worker: string, intervalMs: number): Promise<number> {
    const now = this.clock();
    const [job] = await this.store.repos.jobs.claim(RECONCILIATION_QUEUE, { limit: 1, now, leaseUntil: new Date(now.getTime() + 10 * 60_000), worker });
    if (job) {
      const run = await this.run(String(job.payload.trigger ?? 'queued'));
      if (run) await this.store.repos.jobs.complete(job.id, worker, this.clock());
      else await this.store.repos.jobs.retryLater(job.id, worker, { error: 'another reconciliation was running', runAt: new Date(now.getTime() + 60_000), now });
      return 1;
    }
    const last = await this.lastRunStartedAt();
    if (!last || now.getTime() - last.getTime() >= intervalMs) await this.run('schedule');
    return 0;
  }

  /** Starts a run now (one runner across instances); `undefined` when another run holds the lock. */
  async run(trigger: string): Promise<ReconciliationRun | undefined> {
    const outcome = await this.store.tryExclusive('reconciliation', () => this.execute(trigger));
    return outcome.ran ? outcome.result : undefined;
  }

  private async execute(trigger: string): Promise<ReconciliationRun> {
    const run: ReconciliationRun = {
      id: randomUUID(),
      trigger,
      status: 'running',
      contractId: this.settings.contractIds.join(','),
      linesChecked: 0,
      driftCount: 0,
      error: null,
      startedAt: this.clock(),
      finishedAt: null,
    };
    await this.store.repos.reconciliation.insertRun(run);
    try {
      for (const contractId of this.settings.contractIds) {
        let afterId: string | undefined;
        for (;;) {
          const lines = await this.store.repos.creditLines.listBound(contractId, { limit: this.settings.batchSize, afterId });
          if (lines.length === 0) break;
          const drifts = await this.compareBatch(run.id, contractId, lines);
          await this.store.repos.reconciliation.addDrifts(drifts);
          run.linesChecked += lines.length;
          run.driftCount += drifts.length;
          afterId = lines.at(-1)!.id;
        }
      }
      run.status = run.driftCount > 0 ? 'drift_found' : 'clean';
    } catch (error) {
      run.status = 'failed';
      run.error = (error as Error).message;
      this.logger.error({ err: error, runId: run.id }, 'reconciliation failed');
    }
    run.finishedAt = this.clock();
    await this.store.transaction(async (repos) => {
      await repos.reconciliation.finishRun(run);
      if (trigger === 'gap') await repos.chain.linkGapsToRun(this.settings.gapSource, run.id);
      if (run.status === 'drift_found') {
        const drifts = await repos.reconciliation.drifts(run.id);
        await repos.events.append({
          id: randomUUID(),
          type: 'reconciliation.drift',
          aggregateType: 'reconciliation_run',
          aggregateId: run.id,
          payload: {
            runId: run.id,
            contractId: run.contractId,
            linesChecked: run.linesChecked,
            critical: drifts.filter((d) => d.severity === 'critical').length,
            warning: drifts.filter((d) => d.severity === 'warning').length,
            drifts: drifts.slice(0, 100).map(driftToJson),
          },
          createdAt: run.finishedAt!,
        });
      }
    });
    this.logger.info({ runId: run.id, status: run.status, linesChecked: run.linesChecked, drifts: run.driftCount }, 'reconciliation finished');
    return run;
  }

  /** Reads the chain state of one batch of lines and compares it with the database. */
  private async compareBatch(runId: string, contractId: string, lines: CreditLine[]): Promise<Drift[]> {
    const chain = new Map<string, ChainCreditLine>();
    for (let i = 0; i < lines.length; i += MAX_KEYS_PER_REQUEST) {
      const slice = lines.slice(i, i + MAX_KEYS_PER_REQUEST);
      const response = await this.rpcClient.getLedgerEntries(...slice.map((line) => creditLineKey(contractId, line.walletAddress)));
      for (const entry of response.entries) {
        const keyAddress = String(scValToNative(entry.key.contractData().key()));
        chain.set(keyAddress, toChainLine(entry.val.contractData().val()));
      }
    }
    const now = this.clock();
    const drifts: Drift[] = [];
    for (const line of lines) {
      const add = (field: string, dbValue: unknown, chainValue: unknown, severity: Drift['severity']) =>
        drifts.push({
          id: randomUUID(),
          runId,
          creditLineId: line.id,
          walletAddress: line.walletAddress,
          field,
          dbValue: dbValue === null || dbValue === undefined ? null : String(dbValue),
          chainValue: chainValue === null || chainValue === undefined ? null : String(chainValue),
          severity,
          createdAt: now,
        });
      const onChain = chain.get(line.walletAddress);
      if (!onChain) {
        add('existence', 'present', 'missing', 'critical');
        continue;
      }
      // Both sides accrued to the same instant with the contract's formula.
      const db = accrue(line, now).line;
      const projected = accrue(
        { ...line, utilized: onChain.utilized, accruedInterest: onChain.accruedInterest, interestRateBps: onChain.interestRateBps, lastAccrualAt: new Date(Number(onChain.lastAccrualTs) * 1000) },
        now,
      ).line;
      const beyond = (a: bigint, b: bigint) => (a > b ? a - b : b - a) > this.settings.toleranceUnits;

      if (onChain.borrower !== line.walletAddress) add('borrower', maskAddress(line.walletAddress), maskAddress(onChain.borrower), 'critical');
      if (onChain.creditLimit !== line.creditLimit) add('creditLimit', formatAmount(line.creditLimit), formatAmount(onChain.creditLimit), 'critical');
      if (onChain.status !== line.status) add('status', line.status, onChain.status, 'critical');
      if (onChain.interestRateBps !== line.interestRateBps) add('interestRateBps', line.interestRateBps, onChain.interestRateBps, 'warning');
      const chainAvailable = availableCredit({ creditLimit: onChain.creditLimit, utilized: projected.utilized });
      if (beyond(db.utilized, projected.utilized)) add('utilized', formatAmount(db.utilized), formatAmount(projected.utilized), 'warning');
      if (beyond(availableCredit(db), chainAvailable)) add('availableCredit', formatAmount(availableCredit(db)), formatAmount(chainAvailable), 'warning');
      if (beyond(db.accruedInterest, projected.accruedInterest)) add('accruedInterest', formatAmount(db.accruedInterest), formatAmount(projected.accruedInterest), 'warning');
    }
    return drifts;
  }

  async getRun(id: string): Promise<{ run: ReconciliationRun; drifts: Drift[] }> {
    const run = await this.store.repos.reconciliation.findRun(id);
    if (!run) throw new NotFoundError('Reconciliation run', id);
    return { run, drifts: await this.store.repos.reconciliation.drifts(id) };
  }

  async listRuns(page: PageRequest): Promise<PageResult<ReconciliationRun>> {
    const isCursor = (v: unknown): v is { startedAt: string; id: string } =>
      typeof v === 'object' && v !== null && typeof (v as { startedAt?: unknown }).startedAt === 'string' && typeof (v as { id?: unknown }).id === 'string';
    const after = page.cursor ? decodeCursor(page.cursor, isCursor) : undefined;
    const runs = await this.store.repos.reconciliation.listRuns({ limit: page.limit + 1, after: after ? { startedAt: new Date(after.startedAt), id: after.id } : undefined });
    const items = runs.slice(0, page.limit);
    const last = items.at(-1);
    return { items, nextCursor: runs.length > page.limit && last ? encodeCursor({ startedAt: last.startedAt.toISOString(), id: last.id }) : null };
  }
}

/** Drift rows as operators and webhook subscribers see them: addresses masked. */
export function driftToJson(drift: Drift) {
  return {
    creditLineId: drift.creditLineId,
    wallet: maskAddress(drift.walletAddress),
    field: drift.field,
    dbValue: drift.dbValue,
    chainValue: drift.chainValue,
    severity: drift.severity,
  };
}
