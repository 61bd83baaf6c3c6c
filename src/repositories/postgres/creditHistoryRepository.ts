import type { Queryable } from '../../db/db.js';
import type { CreditLineStatus } from '../../domain/creditLine.js';
import type { LedgerEntryType } from '../../domain/ledger.js';
import type { LineHistory } from '../../domain/risk/creditHistory.js';
import type { CreditHistoryRepository } from '../repositories.js';

interface HistoryRow {
  line_id: string;
  created_at: Date;
  status: CreditLineStatus;
  credit_limit: string;
  utilized: string;
  type: LedgerEntryType | null;
  amount: string | null;
  utilized_after: string | null;
  entry_at: Date | null;
}

export class PostgresCreditHistoryRepository implements CreditHistoryRepository {
  constructor(private readonly db: Queryable) {}

  async forWallet(walletAddress: string): Promise<{ lines: LineHistory[]; defaults: number; liquidations: number }> {
    // One round trip for lines and their ledgers, one for the event counts.
    const { rows } = await this.db.query<HistoryRow>(
      `SELECT l.id AS line_id, l.created_at, l.status, l.credit_limit, l.utilized, t.type, t.amount, t.utilized_after, t.created_at AS entry_at
         FROM credit_lines l
         LEFT JOIN credit_transactions t ON t.credit_line_id = l.id
        WHERE l.wallet_address = $1
        ORDER BY l.created_at, l.id, t.seq`,
      [walletAddress],
    );
    const lines = new Map<string, LineHistory>();
    for (const row of rows) {
      let history = lines.get(row.line_id);
      if (!history) {
        history = {
          line: { id: row.line_id, createdAt: new Date(row.created_at), status: row.status, creditLimit: BigInt(row.credit_limit), utilized: BigInt(row.utilized) },
          entries: [],
        };
        lines.set(row.line_id, history);
      }
      if (row.type && row.amount !== null && row.utilized_after !== null && row.entry_at) {
        history.entries.push({ type: row.type, amount: BigInt(row.amount), utilizedAfter: BigInt(row.utilized_after), createdAt: new Date(row.entry_at) });
      }
    }
    if (lines.size === 0) return { lines: [], defaults: 0, liquidations: 0 };
    const { rows: counts } = await this.db.query<{ defaults: string; liquidations: string }>(
      `SELECT count(*) FILTER (WHERE type = 'credit_line.defaulted') AS defaults,
              count(*) FILTER (WHERE type = 'liquidation.executed') AS liquidations
         FROM domain_events
        WHERE aggregate_type = 'credit_line' AND aggregate_id = ANY($1::text[])`,
      [[...lines.keys()]],
    );
    return { lines: [...lines.values()], defaults: Number(counts[0]?.defaults ?? 0), liquidations: Number(counts[0]?.liquidations ?? 0) };
  }
}
