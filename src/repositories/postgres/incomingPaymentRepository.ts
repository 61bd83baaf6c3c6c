import type { Queryable } from '../../db/db.js';
import type { IncomingPayment, IncomingPaymentRepository } from '../repositories.js';

interface PaymentRow {
  id: string;
  paging_token: string;
  tx_hash: string;
  from_account: string;
  to_account: string;
  asset_code: string;
  asset_issuer: string | null;
  amount: string;
  memo: string | null;
  memo_type: string | null;
  created_at: Date;
  status: IncomingPayment['status'];
  recorded_at: Date;
}

export class PostgresIncomingPaymentRepository implements IncomingPaymentRepository {
  constructor(private readonly db: Queryable) {}

  async insert(payments: IncomingPayment[]): Promise<number> {
    let inserted = 0;
    for (const p of payments) {
      const { rowCount } = await this.db.query(
        `INSERT INTO incoming_payments (id, paging_token, tx_hash, from_account, to_account, asset_code, asset_issuer, amount, memo, memo_type, created_at, status, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
        [p.id, p.pagingToken, p.txHash, p.fromAccount, p.toAccount, p.assetCode, p.assetIssuer, p.amount.toString(), p.memo, p.memoType, p.createdAt, p.status, p.recordedAt],
      );
      inserted += rowCount;
    }
    return inserted;
  }

  async list(filter: { status?: IncomingPayment['status']; memo?: string }, limit: number): Promise<IncomingPayment[]> {
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT * FROM incoming_payments WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR memo = $2)
        ORDER BY created_at, id LIMIT $3`,
      [filter.status ?? null, filter.memo ?? null, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      pagingToken: r.paging_token,
      txHash: r.tx_hash,
      fromAccount: r.from_account,
      toAccount: r.to_account,
      assetCode: r.asset_code,
      assetIssuer: r.asset_issuer,
      amount: BigInt(r.amount),
      memo: r.memo,
      memoType: r.memo_type,
      createdAt: new Date(r.created_at),
      status: r.status,
      recordedAt: new Date(r.recorded_at),
    }));
  }

  async markStatus(id: string, status: 'applied' | 'unmatched'): Promise<boolean> {
    const { rowCount } = await this.db.query("UPDATE incoming_payments SET status = $2 WHERE id = $1 AND status = 'received'", [id, status]);
    return rowCount === 1;
  }
}
