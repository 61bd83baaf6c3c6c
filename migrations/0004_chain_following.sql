-- Following the Credit contract: lines bound to it, raw events, cursors, gaps, reconciliation, Horizon payments.

-- A line bound to the contract is a projection of the chain, where Restricted exists and settlement can leave
-- accrued interest above the balance; a database-ledger line keeps the stricter invariant.
ALTER TABLE credit_lines ADD COLUMN contract_id text;
ALTER TABLE credit_lines ADD COLUMN risk_score integer CHECK (risk_score BETWEEN 0 AND 100);
ALTER TABLE credit_lines DROP CONSTRAINT credit_lines_status_check;
ALTER TABLE credit_lines ADD CONSTRAINT credit_lines_status_check CHECK (status IN ('active', 'suspended', 'defaulted', 'closed', 'restricted'));
ALTER TABLE credit_lines DROP CONSTRAINT credit_lines_check;
ALTER TABLE credit_lines ADD CONSTRAINT credit_lines_accrued_within_balance
  CHECK (accrued_interest >= 0 AND (contract_id IS NOT NULL OR accrued_interest <= utilized));
CREATE UNIQUE INDEX credit_lines_chain_identity ON credit_lines (contract_id, wallet_address) WHERE contract_id IS NOT NULL;

-- Every contract event seen, exactly once (event_id is the RPC's globally unique id).
CREATE TABLE chain_events (
  event_id          text PRIMARY KEY,
  contract_id       text NOT NULL,
  ledger            integer NOT NULL,
  ledger_closed_at  timestamptz NOT NULL,
  tx_hash           text NOT NULL,
  topic             text[] NOT NULL,
  name              text NOT NULL,
  payload           jsonb,
  raw_value         text NOT NULL,
  status            text NOT NULL CHECK (status IN ('applied', 'recorded', 'unknown', 'parked')),
  error             text,
  ingested_at       timestamptz NOT NULL
);
CREATE INDEX chain_events_ledger_idx ON chain_events (ledger);
CREATE INDEX chain_events_attention_idx ON chain_events (status, ledger) WHERE status IN ('unknown', 'parked');

-- Where each follower is: the RPC cursor (or Horizon paging token) and the last ledger it covered.
CREATE TABLE chain_cursors (
  name        text PRIMARY KEY,
  cursor      text,
  last_ledger integer,
  updated_at  timestamptz NOT NULL
);

-- History the node no longer had when we asked for it: reconciled instead of skipped silently.
CREATE TABLE chain_gaps (
  id           uuid PRIMARY KEY,
  source       text NOT NULL,
  from_ledger  integer NOT NULL,
  to_ledger    integer NOT NULL,
  detected_at  timestamptz NOT NULL,
  reconciliation_run_id uuid
);

CREATE TABLE reconciliation_runs (
  id            uuid PRIMARY KEY,
  trigger       text NOT NULL,
  status        text NOT NULL CHECK (status IN ('running', 'clean', 'drift_found', 'failed')),
  contract_id   text,
  lines_checked integer NOT NULL DEFAULT 0,
  drift_count   integer NOT NULL DEFAULT 0,
  error         text,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz
);
CREATE INDEX reconciliation_runs_started_idx ON reconciliation_runs (started_at DESC, id DESC);

CREATE TABLE reconciliation_drifts (
  id             uuid PRIMARY KEY,
  run_id         uuid NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  credit_line_id uuid,
  wallet_address text NOT NULL,
  field          text NOT NULL,
  db_value       text,
  chain_value    text,
  severity       text NOT NULL CHECK (severity IN ('critical', 'warning')),
  created_at     timestamptz NOT NULL
);
CREATE INDEX reconciliation_drifts_run_idx ON reconciliation_drifts (run_id);

-- Incoming payments to the protocol's repayment account, as Horizon reported them.
CREATE TABLE incoming_payments (
  id               text PRIMARY KEY,
  paging_token     text NOT NULL,
  tx_hash          text NOT NULL,
  from_account     text NOT NULL,
  to_account       text NOT NULL,
  asset_code       text NOT NULL,
  asset_issuer     text,
  amount           numeric(39,0) NOT NULL CHECK (amount > 0),
  memo             text,
  memo_type        text,
  created_at       timestamptz NOT NULL,
  status           text NOT NULL CHECK (status IN ('received', 'applied', 'unmatched')),
  recorded_at      timestamptz NOT NULL
);
CREATE INDEX incoming_payments_memo_idx ON incoming_payments (memo) WHERE status = 'received';
