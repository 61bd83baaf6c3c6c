import type { Queryable } from '../../db/db.js';
import type { CollateralMovement, CollateralPosition, MovementType } from '../../domain/collateral/records.js';
import type { CollateralAccount, CollateralPositionRepository, Page } from '../repositories.js';

interface PositionRow {
  id: string;
  wallet_address: string;
  asset_code: string;
  quantity: string;
  yield_earned: string;
  yield_checkpoint_at: Date;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, wallet_address, asset_code, quantity, yield_earned, yield_checkpoint_at, created_at, updated_at';

const toPosition = (row: PositionRow): CollateralPosition => ({
  id: row.id,
  walletAddress: row.wallet_address,
  assetCode: row.asset_code,
  quantity: BigInt(row.quantity),
  yieldEarned: BigInt(row.yield_earned),
  yieldCheckpointAt: new Date(row.yield_checkpoint_at),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

interface MovementRow {
  id: string;
  seq: string;
  position_id: string;
  type: MovementType;
  quantity: string;
  quantity_after: string;
  execution_id: string | null;
  created_at: Date;
}

const toMovement = (row: MovementRow): CollateralMovement => ({
  id: row.id,
  seq: BigInt(row.seq),
  positionId: row.position_id,
  type: row.type,
  quantity: BigInt(row.quantity),
  quantityAfter: BigInt(row.quantity_after),
  executionId: row.execution_id,
  createdAt: new Date(row.created_at),
});

export class PostgresCollateralPositionRepository implements CollateralPositionRepository {
  constructor(private readonly db: Queryable) {}

  async listByWalletForUpdate(walletAddress: string): Promise<CollateralPosition[]> {
    const { rows } = await this.db.query<PositionRow>(`SELECT ${COLUMNS} FROM collateral_positions WHERE wallet_address = $1 ORDER BY asset_code FOR UPDATE`, [walletAddress]);
    return rows.map(toPosition);
  }

  async listByWallet(walletAddress: string): Promise<CollateralPosition[]> {
    const { rows } = await this.db.query<PositionRow>(`SELECT ${COLUMNS} FROM collateral_positions WHERE wallet_address = $1 ORDER BY asset_code`, [walletAddress]);
    return rows.map(toPosition);
  }

  async findById(id: string): Promise<CollateralPosition | null> {
    const { rows } = await this.db.query<PositionRow>(`SELECT ${COLUMNS} FROM collateral_positions WHERE id = $1`, [id]);
    return rows[0] ? toPosition(rows[0]) : null;
  }

  async insert(p: CollateralPosition): Promise<void> {
    await this.db.query(`INSERT INTO collateral_positions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      p.id,
      p.walletAddress,
      p.assetCode,
      p.quantity.toString(),
      p.yieldEarned.toString(),
      p.yieldCheckpointAt,
      p.createdAt,
      p.updatedAt,
    ]);
  }

  async update(p: CollateralPosition): Promise<void> {
    await this.db.query('UPDATE collateral_positions SET quantity = $2, yield_earned = $3, yield_checkpoint_at = $4, updated_at = $5 WHERE id = $1', [
      p.id,
      p.quantity.toString(),
      p.yieldEarned.toString(),
      p.yieldCheckpointAt,
      p.updatedAt,
    ]);
  }

  async appendMovement(m: Omit<CollateralMovement, 'seq'>): Promise<CollateralMovement> {
    const { rows } = await this.db.query<MovementRow>(
      `INSERT INTO collateral_movements (id, position_id, type, quantity, quantity_after, execution_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING id, seq, position_id, type, quantity, quantity_after, execution_id, created_at`,
      [m.id, m.positionId, m.type, m.quantity.toString(), m.quantityAfter.toString(), m.executionId, m.createdAt],
    );
    return toMovement(rows[0]!);
  }

  async movements(positionId: string, page: Page<bigint>): Promise<CollateralMovement[]> {
    const { rows } = await this.db.query<MovementRow>(
      `SELECT id, seq, position_id, type, quantity, quantity_after, execution_id, created_at FROM collateral_movements
        WHERE position_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint) ORDER BY seq DESC LIMIT $3`,
      [positionId, page.after?.toString() ?? null, page.limit],
    );
    return rows.map(toMovement);
  }

  async holdersOf(assetCode: string, page: { limit: number; afterWallet?: string }): Promise<string[]> {
    const { rows } = await this.db.query<{ wallet_address: string }>(
      `SELECT wallet_address FROM collateral_positions
        WHERE asset_code = $1 AND quantity > 0 AND ($2::text IS NULL OR wallet_address > $2)
        ORDER BY wallet_address LIMIT $3`,
      [assetCode, page.afterWallet ?? null, page.limit],
    );
    return rows.map((row) => row.wallet_address);
  }

  async accounts(walletAddresses: string[], span?: { first: string; last: string }): Promise<Map<string, CollateralAccount>> {
    const result = new Map<string, CollateralAccount>();
    if (walletAddresses.length === 0) return result;
    for (const wallet of walletAddresses) result.set(wallet, { positions: [], debt: 0n, lineId: null, interestRateBps: null, lastAccrualAt: null });
    // One statement, so positions and debt come from one snapshot. For a batch, the key range the joins imply is spelled
    // out: without it the planner prices 2,000 index probes above scanning both tables whole (44.7 ms against 4.1 ms
    // for 2,000 of 100,000 accounts).
    const inSpan = (column: string) => (span ? `AND ${column} BETWEEN $2 AND $3` : '');
    const { rows } = await this.db.query<Omit<PositionRow, 'id' | 'wallet_address'> & { id: string | null; wallet: string; line_id: string | null; utilized: string | null; interest_rate_bps: number | null; last_accrual_at: Date | null }>(
      `SELECT w.wallet, l.id AS line_id, l.utilized, l.interest_rate_bps, l.last_accrual_at,
              p.id, p.asset_code, p.quantity, p.yield_earned, p.yield_checkpoint_at, p.created_at, p.updated_at
         FROM (SELECT DISTINCT unnest($1::text[]) AS wallet) w
         LEFT JOIN credit_lines l ON l.wallet_address = w.wallet AND l.collateral_backed AND l.status <> 'closed' ${inSpan('l.wallet_address')}
         LEFT JOIN collateral_positions p ON p.wallet_address = w.wallet ${inSpan('p.wallet_address')}
        ORDER BY w.wallet, p.asset_code`,
      span ? [walletAddresses, span.first, span.last] : [walletAddresses],
    );
    for (const row of rows) {
      const account = result.get(row.wallet)!;
      if (row.line_id !== null) {
        account.debt = BigInt(row.utilized!);
        account.lineId = row.line_id;
        account.interestRateBps = row.interest_rate_bps;
        account.lastAccrualAt = new Date(row.last_accrual_at!);
      }
      if (row.id !== null) account.positions.push(toPosition({ ...row, id: row.id, wallet_address: row.wallet }));
    }
    return result;
  }
}
