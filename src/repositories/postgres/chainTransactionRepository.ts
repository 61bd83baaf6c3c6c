import type { ChainTransaction } from '../../domain/chainTransaction.js';
import type { Queryable } from '../../db/db.js';
import type { ChainTransactionRepository, Page } from '../repositories.js';

interface Row {
  id: string;
  credit_line_id: string | null;
  contract_id: string;
  wallet_address: string;
  action: ChainTransaction['action'];
  function_name: string;
  arguments: ChainTransaction['arguments'];
  signer: ChainTransaction['signer'];
  source_account: string;
  status: ChainTransaction['status'];
  envelope_xdr: string;
  tx_hash: string;
  sequence: string;
  fee: string;
  valid_until: Date;
  submit_attempts: number;
  resubmissions: number;
  error_code: string | null;
  error_name: string | null;
  error_message: string | null;
  ledger: number | null;
  requested_by: string;
  request_id: string | null;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  settled_at: Date | null;
}

const date = (value: Date | string) => new Date(value);
const dateOrNull = (value: Date | string | null) => (value === null ? null : new Date(value));

const fromRow = (r: Row): ChainTransaction => ({
  id: r.id,
  creditLineId: r.credit_line_id,
  contractId: r.contract_id,
  walletAddress: r.wallet_address,
  action: r.action,
  functionName: r.function_name,
  arguments: r.arguments,
  signer: r.signer,
  sourceAccount: r.source_account,
  status: r.status,
  envelopeXdr: r.envelope_xdr,
  txHash: r.tx_hash,
  sequence: BigInt(r.sequence),
  fee: BigInt(r.fee),
  validUntil: date(r.valid_until),
  submitAttempts: r.submit_attempts,
  resubmissions: r.resubmissions,
  error: r.error_code === null ? null : { code: r.error_code, name: r.error_name, message: r.error_message ?? '' },
  ledger: r.ledger,
  requestedBy: r.requested_by,
  requestId: r.request_id,
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
  submittedAt: dateOrNull(r.submitted_at),
  settledAt: dateOrNull(r.settled_at),
});

const COLUMNS =
  'id, credit_line_id, contract_id, wallet_address, action, function_name, arguments, signer, source_account, status, envelope_xdr, tx_hash, sequence, fee, valid_until, submit_attempts, resubmissions, error_code, error_name, error_message, ledger, requested_by, request_id, created_at, updated_at, submitted_at, settled_at';

const values = (t: ChainTransaction) => [
  t.id,
  t.creditLineId,
  t.contractId,
  t.walletAddress,
  t.action,
  t.functionName,
  JSON.stringify(t.arguments),
  t.signer,
  t.sourceAccount,
  t.status,
  t.envelopeXdr,
  t.txHash,
  t.sequence.toString(),
  t.fee.toString(),
  t.validUntil,
  t.submitAttempts,
  t.resubmissions,
  t.error?.code ?? null,
  t.error?.name ?? null,
  t.error?.message ?? null,
  t.ledger,
  t.requestedBy,
  t.requestId,
  t.createdAt,
  t.updatedAt,
  t.submittedAt,
  t.settledAt,
];

export class PostgresChainTransactionRepository implements ChainTransactionRepository {
  constructor(private readonly db: Queryable) {}

  async insert(tx: ChainTransaction): Promise<void> {
    const params = values(tx);
    await this.db.query(`INSERT INTO chain_transactions (${COLUMNS}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')})`, params);
  }

  async findById(id: string): Promise<ChainTransaction | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM chain_transactions WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async findByIdForUpdate(id: string): Promise<ChainTransaction | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM chain_transactions WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async update(tx: ChainTransaction): Promise<void> {
    const params = values(tx);
    const assignments = COLUMNS.split(', ')
      .slice(1)
      .map((column, i) => `${column} = $${i + 2}`)
      .join(', ');
    await this.db.query(`UPDATE chain_transactions SET ${assignments} WHERE id = $1`, params);
  }

  async listByLine(creditLineId: string, page: Page<{ createdAt: Date; id: string }>): Promise<ChainTransaction[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM chain_transactions
       WHERE credit_line_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [creditLineId, page.after?.createdAt ?? null, page.after?.id ?? null, page.limit],
    );
    return rows.map(fromRow);
  }

  async listPending(limit: number): Promise<ChainTransaction[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM chain_transactions WHERE status = 'pending' ORDER BY submitted_at, id LIMIT $1`, [limit]);
    return rows.map(fromRow);
  }

  async confirmByHashes(confirmations: Array<{ txHash: string; ledger: number }>, at: Date): Promise<string[]> {
    if (confirmations.length === 0) return [];
    // An `open` learns its line here: the `opened` event applied in this same transaction created it.
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE chain_transactions t
       SET status = 'confirmed', ledger = c.ledger, settled_at = $3, updated_at = $3,
           credit_line_id = COALESCE(t.credit_line_id,
             (SELECT l.id FROM credit_lines l WHERE l.contract_id = t.contract_id AND l.wallet_address = t.wallet_address))
       FROM unnest($1::text[], $2::int[]) AS c (tx_hash, ledger)
       WHERE t.tx_hash = c.tx_hash AND t.status = 'pending'
       RETURNING t.id`,
      [confirmations.map((c) => c.txHash), confirmations.map((c) => c.ledger), at],
    );
    return rows.map((r) => r.id);
  }

  async lockAccountSequence(publicKey: string, now: Date): Promise<bigint | null> {
    await this.db.query('INSERT INTO chain_accounts (public_key, sequence, updated_at) VALUES ($1, NULL, $2) ON CONFLICT (public_key) DO NOTHING', [publicKey, now]);
    const { rows } = await this.db.query<{ sequence: string | null }>('SELECT sequence FROM chain_accounts WHERE public_key = $1 FOR UPDATE', [publicKey]);
    return rows[0]?.sequence == null ? null : BigInt(rows[0].sequence);
  }

  async saveAccountSequence(publicKey: string, sequence: bigint, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO chain_accounts (public_key, sequence, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (public_key) DO UPDATE SET sequence = EXCLUDED.sequence, updated_at = EXCLUDED.updated_at`,
      [publicKey, sequence.toString(), now],
    );
  }
}
