import type { Queryable } from '../../db/db.js';
import type { LedgerEntry, LedgerEntryType } from '../../domain/ledger.js';
import type { LedgerRepository, Page } from '../repositories.js';

interface LedgerRow {
  id: string;
  seq: bigint;
  credit_line_id: string;
  type: LedgerEntryType;
  amount: string;
  interest_amount: string;
  principal_amount: string;
  utilized_after: string;
  created_at: Date;
}

const COLUMNS = 'id, seq, credit_line_id, type, amount, interest_amount, principal_amount, utilized_after, created_at';

const toEntry = (row: LedgerRow): LedgerEntry => ({
  id: row.id,
  seq: BigInt(row.seq),
  creditLineId: row.credit_line_id,
  type: row.type,
  amount: BigInt(row.amount),
  interestAmount: BigInt(row.interest_amount),
  principalAmount: BigInt(row.principal_amount),
  utilizedAfter: BigInt(row.utilized_after),
  createdAt: new Date(row.created_at),
});

export class PostgresLedgerRepository implements LedgerRepository {
  constructor(private readonly db: Queryable) {}

  async append(entry: Omit<LedgerEntry, 'seq'>): Promise<LedgerEntry> {
    const { rows } = await this.db.query<LedgerRow>(
      `INSERT INTO credit_transactions (id, credit_line_id, type, amount, interest_amount, principal_amount, utilized_after, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [
        entry.id,
        entry.creditLineId,
        entry.type,
        entry.amount.toString(),
        entry.interestAmount.toString(),
        entry.principalAmount.toString(),
        entry.utilizedAfter.toString(),
        entry.createdAt,
      ],
    );
    return toEntry(rows[0]!);
  }

  async appendMany(entries: Omit<LedgerEntry, 'seq'>[]): Promise<void> {
    if (entries.length === 0) return;
    // WITH ORDINALITY keeps the given order, so seq (identity) follows it.
    await this.db.query(
      `INSERT INTO credit_transactions (id, credit_line_id, type, amount, interest_amount, principal_amount, utilized_after, created_at)
       SELECT id, credit_line_id, type, amount, interest_amount, principal_amount, utilized_after, created_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::timestamptz[])
              WITH ORDINALITY AS t(id, credit_line_id, type, amount, interest_amount, principal_amount, utilized_after, created_at, n)
        ORDER BY n`,
      [
        entries.map((e) => e.id),
        entries.map((e) => e.creditLineId),
        entries.map((e) => e.type),
        entries.map((e) => e.amount.toString()),
        entries.map((e) => e.interestAmount.toString()),
        entries.map((e) => e.principalAmount.toString()),
        entries.map((e) => e.utilizedAfter.toString()),
        entries.map((e) => e.createdAt),
      ],
    );
  }

  async listByLine(creditLineId: string, page: Page<bigint>): Promise<LedgerEntry[]> {
    const params: unknown[] = [creditLineId, page.limit];
    let after = '';
    if (page.after !== undefined) {
      params.push(page.after.toString());
      after = 'AND seq < $3';
    }
    const { rows } = await this.db.query<LedgerRow>(
      `SELECT ${COLUMNS} FROM credit_transactions WHERE credit_line_id = $1 ${after} ORDER BY seq DESC LIMIT $2`,
      params,
    );
    return rows.map(toEntry);
  }
}
