-- Fiat (and anchor) repayments through a payment provider: the repayment, every provider event exactly once,
-- and the daily settlement reconciliation against the provider's charges and payouts.

-- A payment given back (a refund or a lost dispute) puts the repaid amount back on the line.
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_type_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_type_check
  CHECK (type IN ('draw', 'repay', 'interest', 'write_off', 'collateral_repay', 'repay_reversal'));

CREATE TABLE repayments (
  id               uuid PRIMARY KEY,
  credit_line_id   uuid NOT NULL REFERENCES credit_lines (id),
  wallet_address   text NOT NULL,
  provider         text NOT NULL CHECK (provider IN ('stripe', 'anchor')),
  provider_ref     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'parked')),
  currency         text NOT NULL,
  fiat_amount      NUMERIC(39,0) NOT NULL CHECK (fiat_amount > 0),
  fx_rate          NUMERIC(39,0) NOT NULL CHECK (fx_rate > 0),
  amount           NUMERIC(39,0) NOT NULL CHECK (amount >= 0),
  applied_amount   NUMERIC(39,0) NOT NULL DEFAULT 0 CHECK (applied_amount >= 0),
  credited_amount  NUMERIC(39,0) NOT NULL DEFAULT 0 CHECK (credited_amount >= 0),
  reversed_amount  NUMERIC(39,0) NOT NULL DEFAULT 0 CHECK (reversed_amount >= 0),
  failure_reason   text,
  parked_reason    text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (provider, provider_ref)
);
CREATE INDEX repayments_line_idx ON repayments (credit_line_id, created_at DESC, id DESC);
CREATE INDEX repayments_settled_idx ON repayments (provider, updated_at) WHERE status IN ('succeeded', 'refunded');

-- Each provider event is processed once: its id is claimed in the transaction that applies it.
CREATE TABLE provider_events (
  provider       text NOT NULL,
  event_id       text NOT NULL,
  type           text NOT NULL,
  outcome        text NOT NULL,
  repayment_id   uuid,
  payload        jsonb NOT NULL,
  received_at    timestamptz NOT NULL,
  PRIMARY KEY (provider, event_id)
);

CREATE TABLE settlement_runs (
  id               uuid PRIMARY KEY,
  window_from      timestamptz NOT NULL,
  window_to        timestamptz NOT NULL,
  status           text NOT NULL CHECK (status IN ('running', 'clean', 'mismatch_found', 'failed')),
  charges_checked  integer NOT NULL DEFAULT 0,
  payouts_checked  integer NOT NULL DEFAULT 0,
  finding_count    integer NOT NULL DEFAULT 0,
  error            text,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz
);
CREATE INDEX settlement_runs_started_idx ON settlement_runs (started_at DESC, id DESC);

CREATE TABLE settlement_findings (
  id            uuid PRIMARY KEY,
  run_id        uuid NOT NULL REFERENCES settlement_runs (id),
  kind          text NOT NULL CHECK (kind IN ('missing_in_ledger', 'missing_at_provider', 'amount_mismatch', 'currency_mismatch')),
  severity      text NOT NULL CHECK (severity IN ('critical', 'warning')),
  provider_ref  text,
  repayment_id  uuid,
  expected      text,
  actual        text,
  created_at    timestamptz NOT NULL
);
CREATE INDEX settlement_findings_run_idx ON settlement_findings (run_id);
