import { duplicateOpenLine, type CreditLine, type CreditLineStatus } from '../../domain/creditLine.js';
import { constraintName, pgErrorCode, PgErrorCode, type Queryable } from '../../db/db.js';
import type { CreditLineCursor, CreditLineFilter, CreditLineRepository, Page } from '../repositories.js';

interface CreditLineRow {
  id: string;
  wallet_address: string;
  currency: string;
  credit_limit: string;
  interest_rate_bps: number;
  utilized: string;
  accrued_interest: string;
  status: CreditLineStatus;
  last_accrual_at: Date;
  contract_id: string | null;
  risk_score: number | null;
  rate_updated_at: Date | null;
  collateral_backed: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, wallet_address, currency, credit_limit, interest_rate_bps, utilized, accrued_interest, status, last_accrual_at, created_at, updated_at, contract_id, risk_score, rate_updated_at, collateral_backed';

const toLine = (row: CreditLineRow): CreditLine => ({
  id: row.id,
  walletAddress: row.wallet_address,
  currency: row.currency,
  creditLimit: BigInt(row.credit_limit),
  interestRateBps: row.interest_rate_bps,
  utilized: BigInt(row.utilized),
  accruedInterest: BigInt(row.accrued_interest),
  status: row.status,
  lastAccrualAt: new Date(row.last_accrual_at),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  contractId: row.contract_id,
  riskScore: row.risk_score,
  rateUpdatedAt: row.rate_updated_at ? new Date(row.rate_updated_at) : null,
  collateralBacked: row.collateral_backed,
});

/** Either index means the wallet already has a line: open anywhere, or bound to this contract. */
const DUPLICATE_LINE_CONSTRAINTS = new Set(['credit_lines_one_open_per_wallet', 'credit_lines_chain_identity']);


export class PostgresCreditLineRepository implements CreditLineRepository {
  constructor(private readonly db: Queryable) {}

  async insert(line: CreditLine): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO credit_lines (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          line.id,
          line.walletAddress,
          line.currency,
          line.creditLimit.toString(),
          line.interestRateBps,
          line.utilized.toString(),
          line.accruedInterest.toString(),
          line.status,
          line.lastAccrualAt,
          line.createdAt,
          line.updatedAt,
          line.contractId,
          line.riskScore,
          line.rateUpdatedAt,
          line.collateralBacked,
        ],
      );
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.uniqueViolation && DUPLICATE_LINE_CONSTRAINTS.has(constraintName(error) ?? '')) {
        throw duplicateOpenLine();
      }
      throw error;
    }
  }

  async findById(id: string): Promise<CreditLine | null> {
    const { rows } = await this.db.query<CreditLineRow>(`SELECT ${COLUMNS} FROM credit_lines WHERE id = $1`, [id]);
    return rows[0] ? toLine(rows[0]) : null;
  }

  async findOpenByWallet(walletAddress: string): Promise<CreditLine | null> {
    const { rows } = await this.db.query<CreditLineRow>(`SELECT ${COLUMNS} FROM credit_lines WHERE wallet_address = $1 AND status <> 'closed' LIMIT 1`, [walletAddress]);
    return rows[0] ? toLine(rows[0]) : null;
  }

  async findByIdForUpdate(id: string): Promise<CreditLine | null> {
    const { rows } = await this.db.query<CreditLineRow>(`SELECT ${COLUMNS} FROM credit_lines WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toLine(rows[0]) : null;
  }

  async update(line: CreditLine): Promise<void> {
    try {
      await this.db.query(
        `UPDATE credit_lines
            SET credit_limit = $2, interest_rate_bps = $3, utilized = $4, accrued_interest = $5,
                status = $6, last_accrual_at = $7, updated_at = $8, contract_id = $9, risk_score = $10, rate_updated_at = $11
          WHERE id = $1`,
        [
          line.id,
          line.creditLimit.toString(),
          line.interestRateBps,
          line.utilized.toString(),
          line.accruedInterest.toString(),
          line.status,
          line.lastAccrualAt,
          line.updatedAt,
          line.contractId,
          line.riskScore,
          line.rateUpdatedAt,
        ],
      );
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.uniqueViolation) throw duplicateOpenLine();
      throw error;
    }
  }

  async findByChainIdentityForUpdate(contractId: string, walletAddress: string): Promise<CreditLine | null> {
    const { rows } = await this.db.query<CreditLineRow>(
      `SELECT ${COLUMNS} FROM credit_lines WHERE contract_id = $1 AND wallet_address = $2 FOR UPDATE`,
      [contractId, walletAddress],
    );
    return rows[0] ? toLine(rows[0]) : null;
  }

  async listOwing(page: { limit: number; afterId?: string }): Promise<CreditLine[]> {
    const { rows } = await this.db.query<CreditLineRow>(
      `SELECT ${COLUMNS} FROM credit_lines WHERE utilized > 0 AND status <> 'closed' AND ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2`,
      [page.afterId ?? null, page.limit],
    );
    return rows.map(toLine);
  }

  async listBound(contractId: string, page: { limit: number; afterId?: string }): Promise<CreditLine[]> {
    const { rows } = await this.db.query<CreditLineRow>(
      `SELECT ${COLUMNS} FROM credit_lines WHERE contract_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
      [contractId, page.afterId ?? null, page.limit],
    );
    return rows.map(toLine);
  }

  async list(filter: CreditLineFilter, page: Page<CreditLineCursor>): Promise<CreditLine[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      params.push(filter.status);
      conditions.push(`status = $${params.length}`);
    }
    if (filter.walletAddress) {
      params.push(filter.walletAddress);
      conditions.push(`wallet_address = $${params.length}`);
    }
    if (page.after) {
      params.push(page.after.createdAt, page.after.id);
      conditions.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(page.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.db.query<CreditLineRow>(
      `SELECT ${COLUMNS} FROM credit_lines ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toLine);
  }
}
