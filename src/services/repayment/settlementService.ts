import { randomUUID } from 'node:crypto';
import { matchSettlements } from '../../domain/repayment/settlement.js';
import type { SettlementFinding, SettlementRun } from '../../domain/repayment/records.js';
import { ServiceUnavailableError } from '../../domain/errors.js';
import { pageByTime, type PageRequest, type PageResult } from '../../lib/cursor.js';
import type { Logger } from '../../lib/logger.js';
import type { Store } from '../../repositories/repositories.js';
import type { PaymentProvider } from '../../payments/paymentProvider.js';

const DAY_MS = 86_400_000;

/**
 * Settlement reconciliation: proves that what the provider settled matches what the ledger applied. A run lists the
 * provider's succeeded charges and its payouts for a window, matches the charges with our repayments, stores every
 * mismatch as a finding with its severity and emits `repayment.reconciliation_mismatch` when there is any.
 */
export class SettlementService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly provider: PaymentProvider | null,
    private readonly logger: Logger,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /** The daily job: yesterday's window (UTC), once; a run for a window already checked is not repeated. */
  async runDaily(): Promise<number> {
    const { to } = this.yesterday();
    const [latest] = await this.store.repos.repayments.listRuns({ limit: 1 });
    if (latest && latest.windowTo.getTime() >= to.getTime() && latest.status !== 'failed') return 0;
    await this.run();
    return 1;
  }

  /** Checks [from, to), yesterday (UTC) by default. */
  async run(window?: { from: Date; to: Date }): Promise<SettlementRun & { findings: SettlementFinding[] }> {
    const { from, to } = window ?? this.yesterday();
    if (!this.provider) throw new ServiceUnavailableError('payment_provider_not_configured', 'Card repayments are not configured here');
    const run: SettlementRun = { id: randomUUID(), windowFrom: from, windowTo: to, status: 'running', chargesChecked: 0, payoutsChecked: 0, findingCount: 0, error: null, startedAt: this.clock(), finishedAt: null };
    await this.store.repos.repayments.insertRun(run);
    try {
      const [charges, payouts] = await Promise.all([this.provider.listCharges(from, to), this.provider.listPayouts(from, to)]);
      const refs = charges.flatMap((c) => (c.providerRef ? [c.providerRef] : []));
      const [byRefList, applied] = await Promise.all([this.store.repos.repayments.findByProviderRefs('stripe', refs), this.store.repos.repayments.listSettled('stripe', from, to)]);
      const byRef = new Map(byRefList.map((r) => [r.providerRef, r]));
      const now = this.clock();
      const findings: SettlementFinding[] = matchSettlements(charges, applied, byRef).map((m) => ({ ...m, id: randomUUID(), runId: run.id, createdAt: now }));
      const finished: SettlementRun = { ...run, status: findings.length > 0 ? 'mismatch_found' : 'clean', chargesChecked: charges.length, payoutsChecked: payouts.length, findingCount: findings.length, finishedAt: now };
      await this.store.transaction(async (repos) => {
        await repos.repayments.addFindings(findings);
        await repos.repayments.finishRun(finished);
        if (findings.length > 0) {
          await repos.events.append({
            id: randomUUID(),
            type: 'repayment.reconciliation_mismatch',
            aggregateType: 'settlement_run',
            aggregateId: run.id,
            payload: { runId: run.id, windowFrom: from.toISOString(), windowTo: to.toISOString(), findingCount: findings.length, kinds: [...new Set(findings.map((f) => f.kind))] },
            createdAt: now,
          });
        }
      });
      if (findings.length > 0) this.logger.warn({ run: run.id, findings: findings.length }, 'settlement reconciliation found mismatches');
      return { ...finished, findings };
    } catch (error) {
      const failed: SettlementRun = { ...run, status: 'failed', error: (error as Error).message, finishedAt: this.clock() };
      await this.store.repos.repayments.finishRun(failed);
      throw error;
    }
  }

  private yesterday(): { from: Date; to: Date } {
    const to = new Date(Math.floor(this.clock().getTime() / DAY_MS) * DAY_MS);
    return { from: new Date(to.getTime() - DAY_MS), to };
  }

  async list(page: PageRequest): Promise<PageResult<SettlementRun & { findings: SettlementFinding[] }>> {
    const runs = await pageByTime(page, (r: SettlementRun) => ({ at: r.startedAt, id: r.id }), ({ limit, after }) => this.store.repos.repayments.listRuns({ limit, after: after && { startedAt: after.at, id: after.id } }));
    const findings = await this.store.repos.repayments.findings(runs.items.map((r) => r.id));
    return { items: runs.items.map((r) => ({ ...r, findings: findings.filter((f) => f.runId === r.id) })), nextCursor: runs.nextCursor };
  }

}
