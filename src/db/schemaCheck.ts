import type { Queryable } from './db.js';

/**
 * What the repositories rely on. The boot refuses to start when any of it is missing, so a
 * half-migrated or hand-edited database fails loudly at start instead of at the first request.
 */
export const EXPECTED_SCHEMA: Record<string, { columns: string[]; indexes?: string[] }> = {
  schema_migrations: { columns: ['name', 'checksum', 'applied_at'] },
  credit_lines: {
    columns: ['id', 'wallet_address', 'currency', 'credit_limit', 'interest_rate_bps', 'utilized', 'accrued_interest', 'status', 'last_accrual_at', 'created_at', 'updated_at', 'contract_id', 'risk_score', 'rate_updated_at', 'collateral_backed'],
    indexes: ['credit_lines_one_open_per_wallet', 'credit_lines_created_idx', 'credit_lines_wallet_created_idx', 'credit_lines_status_created_idx', 'credit_lines_chain_identity'],
  },
  credit_transactions: {
    columns: ['id', 'seq', 'credit_line_id', 'type', 'amount', 'interest_amount', 'principal_amount', 'utilized_after', 'created_at'],
    indexes: ['credit_transactions_line_seq_idx'],
  },
  domain_events: {
    columns: ['id', 'seq', 'type', 'aggregate_type', 'aggregate_id', 'payload', 'created_at', 'fanned_out_at'],
    indexes: ['domain_events_aggregate_idx', 'domain_events_pending_fanout_idx'],
  },
  audit_log: {
    columns: ['id', 'seq', 'actor', 'action', 'target_type', 'target_id', 'before', 'after', 'request_id', 'created_at'],
    indexes: ['audit_log_target_idx'],
  },
  idempotency_keys: {
    columns: ['principal', 'key', 'request_hash', 'status', 'response_status', 'response_body', 'created_at', 'expires_at'],
    indexes: ['idempotency_keys_expires_idx'],
  },
  auth_challenges: {
    columns: ['nonce', 'account', 'expires_at', 'consumed_at', 'created_at'],
    indexes: ['auth_challenges_expires_idx'],
  },
  revoked_tokens: {
    columns: ['jti', 'revoked_by', 'reason', 'expires_at', 'revoked_at'],
    indexes: ['revoked_tokens_expires_idx'],
  },
  wallet_controllers: {
    columns: ['contract_address', 'controller_account', 'bound_by', 'created_at', 'updated_at'],
    indexes: ['wallet_controllers_controller_idx'],
  },
  jobs: {
    columns: ['id', 'seq', 'queue', 'dedupe_key', 'subject', 'payload', 'status', 'attempts', 'max_attempts', 'run_at', 'locked_until', 'locked_by', 'last_error', 'created_at', 'updated_at', 'finished_at'],
    indexes: ['jobs_queue_dedupe_key', 'jobs_claimable_idx', 'jobs_subject_idx', 'jobs_dead_idx', 'jobs_running_subject_idx'],
  },
  webhook_endpoints: {
    columns: ['id', 'url', 'description', 'event_types', 'enabled', 'secret', 'previous_secret', 'previous_secret_expires_at', 'disabled_reason', 'failing_since', 'created_at', 'updated_at'],
  },
  chain_events: {
    columns: ['event_id', 'contract_id', 'ledger', 'ledger_closed_at', 'tx_hash', 'topic', 'name', 'payload', 'raw_value', 'status', 'error', 'ingested_at'],
    indexes: ['chain_events_ledger_idx', 'chain_events_attention_idx'],
  },
  chain_cursors: { columns: ['name', 'cursor', 'last_ledger', 'updated_at'] },
  chain_gaps: { columns: ['id', 'source', 'from_ledger', 'to_ledger', 'detected_at', 'reconciliation_run_id'] },
  reconciliation_runs: {
    columns: ['id', 'trigger', 'status', 'contract_id', 'lines_checked', 'drift_count', 'error', 'started_at', 'finished_at'],
    indexes: ['reconciliation_runs_started_idx'],
  },
  reconciliation_drifts: {
    columns: ['id', 'run_id', 'credit_line_id', 'wallet_address', 'field', 'db_value', 'chain_value', 'severity', 'created_at'],
    indexes: ['reconciliation_drifts_run_idx'],
  },
  incoming_payments: {
    columns: ['id', 'paging_token', 'tx_hash', 'from_account', 'to_account', 'asset_code', 'asset_issuer', 'amount', 'memo', 'memo_type', 'created_at', 'status', 'recorded_at'],
    indexes: ['incoming_payments_memo_idx'],
  },
  risk_evaluations: {
    columns: ['id', 'seq', 'wallet_address', 'provider', 'model_version', 'score', 'band', 'decision', 'credit_limit', 'interest_rate_bps', 'signals', 'inputs', 'evaluated_at', 'expires_at', 'applied_at', 'applied_by', 'applied_to_line_id', 'applied_terms'],
    indexes: ['risk_evaluations_wallet_seq_idx'],
  },
  collateral_assets: { columns: ['code', 'decimals', 'price_source', 'created_at'] },
  collateral_asset_params: {
    columns: ['asset_code', 'version', 'base_ltv_bps', 'liquidation_threshold_bps', 'liquidation_bonus_bps', 'k_bps', 'horizon_days', 'min_ltv_bps', 'close_factor_bps', 'stop_loss_trigger_hf_bps', 'target_hf_bps', 'max_slippage_bps', 'max_price_age_seconds', 'yield_apr_bps', 'protocol_fee_share_bps', 'fallback_volatility_bps', 'created_by', 'effective_from'],
  },
  price_observations: { columns: ['id', 'asset_code', 'price', 'source', 'observed_at', 'recorded_at'], indexes: ['price_observations_latest_idx'] },
  volatility_observations: { columns: ['asset_code', 'window_days', 'sigma_bps', 'returns', 'computed_at'] },
  collateral_positions: {
    columns: ['id', 'wallet_address', 'asset_code', 'quantity', 'yield_earned', 'yield_checkpoint_at', 'created_at', 'updated_at'],
    indexes: ['collateral_positions_asset_idx'],
  },
  collateral_movements: {
    columns: ['id', 'seq', 'position_id', 'type', 'quantity', 'quantity_after', 'execution_id', 'created_at'],
    indexes: ['collateral_movements_position_idx'],
  },
  stop_loss_settings: { columns: ['wallet_address', 'enabled', 'asset_priority', 'max_slippage_bps', 'updated_at'] },
  account_risk_states: { columns: ['wallet_address', 'band', 'health_factor_bps', 'updated_at'] },
  risk_executions: {
    columns: ['id', 'wallet_address', 'credit_line_id', 'kind', 'trigger', 'status', 'plan', 'fill', 'params_versions', 'created_by', 'created_at', 'settled_at', 'cancel_reason'],
    indexes: ['risk_executions_one_pending_idx', 'risk_executions_wallet_idx'],
  },
  statement_notices: { columns: ['credit_line_id', 'statement_date', 'kind', 'sent_at'] },
  repayments: {
    columns: ['id', 'credit_line_id', 'wallet_address', 'provider', 'provider_ref', 'status', 'currency', 'fiat_amount', 'fx_rate', 'amount', 'applied_amount', 'credited_amount', 'reversed_amount', 'failure_reason', 'parked_reason', 'created_at', 'updated_at'],
    indexes: ['repayments_line_idx', 'repayments_settled_idx', 'repayments_status_created_idx'],
  },
  provider_events: { columns: ['provider', 'event_id', 'type', 'outcome', 'repayment_id', 'payload', 'received_at'] },
  provider_deliveries: { columns: ['provider', 'delivery_id', 'received_at'], indexes: ['provider_deliveries_received_at'] },
  settlement_runs: {
    columns: ['id', 'window_from', 'window_to', 'status', 'charges_checked', 'payouts_checked', 'finding_count', 'error', 'started_at', 'finished_at'],
    indexes: ['settlement_runs_started_idx'],
  },
  settlement_findings: { columns: ['id', 'run_id', 'kind', 'severity', 'provider_ref', 'repayment_id', 'expected', 'actual', 'created_at'], indexes: ['settlement_findings_run_idx'] },
  chain_transactions: {
    columns: ['id', 'credit_line_id', 'contract_id', 'wallet_address', 'action', 'function_name', 'arguments', 'signer', 'source_account', 'status', 'envelope_xdr', 'tx_hash', 'sequence', 'fee', 'valid_until', 'submit_attempts', 'resubmissions', 'error_code', 'error_name', 'error_message', 'ledger', 'requested_by', 'request_id', 'created_at', 'updated_at', 'submitted_at', 'settled_at'],
    indexes: ['chain_transactions_hash_idx', 'chain_transactions_line_idx', 'chain_transactions_pending_idx'],
  },
  chain_accounts: { columns: ['public_key', 'sequence', 'updated_at'] },
  webhook_attempts: {
    columns: ['id', 'job_id', 'endpoint_id', 'status_code', 'error', 'latency_ms', 'created_at'],
    indexes: ['webhook_attempts_job_idx'],
  },
};

export class SchemaMismatchError extends Error {
  override name = 'SchemaMismatchError';
  constructor(readonly missing: string[]) {
    super(`Database schema is missing: ${missing.join(', ')}. Run "npm run db:migrate".`);
  }
}

export async function checkSchema(db: Queryable, expected = EXPECTED_SCHEMA): Promise<void> {
  const tables = Object.keys(expected);
  const columns = await db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)`,
    [tables],
  );
  const indexes = await db.query<{ indexname: string }>(
    'SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY($1)',
    [tables],
  );
  const present = new Set(columns.rows.map((row) => `${row.table_name}.${row.column_name}`));
  const presentTables = new Set(columns.rows.map((row) => row.table_name));
  const presentIndexes = new Set(indexes.rows.map((row) => row.indexname));

  const missing: string[] = [];
  for (const [table, spec] of Object.entries(expected)) {
    if (!presentTables.has(table)) {
      missing.push(`table ${table}`);
      continue;
    }
    for (const column of spec.columns) if (!present.has(`${table}.${column}`)) missing.push(`column ${table}.${column}`);
    for (const index of spec.indexes ?? []) if (!presentIndexes.has(index)) missing.push(`index ${index}`);
  }
  if (missing.length > 0) throw new SchemaMismatchError(missing);
}
