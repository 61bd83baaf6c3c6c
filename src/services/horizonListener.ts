import { Horizon } from '@stellar/stellar-sdk';
import { parseAmount } from '../domain/money.js';
import type { Logger } from '../lib/logger.js';
import { withTimeout } from '../lib/timeout.js';
import type { IncomingPayment, Store } from '../repositories/repositories.js';

export interface HorizonListenerSettings {
  /** The protocol's repayment account (G...). */
  account: string;
  assetCode: string;
  /** Unset accepts the code from any issuer (development only). */
  assetIssuer?: string;
  pageSize: number;
  timeoutMs: number;
}

type PaymentRecord = Horizon.ServerApi.PaymentOperationRecord;

const PAYMENT_TYPES = new Set(['payment', 'path_payment_strict_receive', 'path_payment_strict_send']);

/**
 * Follows Horizon payments into the repayment account (oldest first, paging_token cursor persisted in the
 * database) and records incoming repayments in the asset with their memo, for the repayment service to match
 * to lines. A page is recorded and the cursor advanced in one transaction, so a restart resumes where it left
 * and a payment is recorded once.
 */
export class HorizonPaymentListener {
  readonly cursorName: string;
  private readonly server: Horizon.Server;

  constructor(
    private readonly store: Store,
    horizonUrl: string,
    private readonly settings: HorizonListenerSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.cursorName = `horizon:payments:${settings.account}`;
    this.server = new Horizon.Server(horizonUrl, { allowHttp: horizonUrl.startsWith('http://') });
  }

  async tick(): Promise<number> {
    const state = await this.store.repos.chain.getCursor(this.cursorName);
    let call = this.server.payments().forAccount(this.settings.account).order('asc').limit(this.settings.pageSize);
    if (state?.cursor) call = call.cursor(state.cursor);
    const page = await this.withTimeout(call.call());
    const records = page.records as unknown as PaymentRecord[];
    if (records.length === 0) return 0;

    const payments: IncomingPayment[] = [];
    for (const record of records) {
      if (!this.isRepayment(record)) continue;
      const tx = await this.withTimeout(this.server.transactions().transaction(record.transaction_hash).call());
      payments.push({
        id: record.id,
        pagingToken: record.paging_token,
        txHash: record.transaction_hash,
        fromAccount: record.from,
        toAccount: record.to,
        assetCode: record.asset_code ?? 'XLM',
        assetIssuer: record.asset_issuer ?? null,
        amount: parseAmount(record.amount),
        memo: tx.memo ?? null,
        memoType: tx.memo_type ?? null,
        createdAt: new Date(record.created_at),
        status: 'received',
        recordedAt: this.clock(),
      });
    }

    const next = records.at(-1)!.paging_token;
    const recorded = await this.store.transaction(async (repos) => {
      const held = await repos.chain.lockCursor(this.cursorName, this.clock());
      if (held.cursor !== (state?.cursor ?? null)) return 0;
      const inserted = await repos.incomingPayments.insert(payments);
      await repos.chain.advanceCursor(this.cursorName, held.cursor, { cursor: next, lastLedger: null }, this.clock());
      return inserted;
    });
    if (recorded > 0) this.logger.info({ recorded }, 'incoming repayments recorded');
    return records.length;
  }

  private isRepayment(record: PaymentRecord): boolean {
    return (
      PAYMENT_TYPES.has(record.type) &&
      record.transaction_successful !== false &&
      record.to === this.settings.account &&
      record.asset_code === this.settings.assetCode &&
      (this.settings.assetIssuer === undefined || record.asset_issuer === this.settings.assetIssuer)
    );
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.settings.timeoutMs, () => new Error(`Horizon did not answer within ${this.settings.timeoutMs} ms`));
  }
}
