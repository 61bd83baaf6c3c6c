-- Credit lines, their ledger, the domain-event outbox, the admin audit log and idempotency keys.
-- Money is NUMERIC(39,0) in base units (7 decimals): it holds the full i128 range of the contract.

CREATE TABLE credit_lines (
  id                uuid PRIMARY KEY,
  wallet_address    text NOT NULL CHECK (wallet_address ~ '^[GC][A-Z2-7]{55}$'),
  currency          text NOT NULL,
  credit_limit      numeric(39,0) NOT NULL CHECK (credit_limit > 0),
  interest_rate_bps integer NOT NULL CHECK (interest_rate_bps BETWEEN 0 AND 10000),
  utilized          numeric(39,0) NOT NULL DEFAULT 0 CHECK (utilized >= 0),
  accrued_interest  numeric(39,0) NOT NULL DEFAULT 0 CHECK (accrued_interest >= 0 AND accrued_interest <= utilized),
  status            text NOT NULL CHECK (status IN ('active', 'suspended', 'defaulted', 'closed')),
  last_accrual_at   timestamptz NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);

-- One open line per wallet: a second one races into this index and loses with a unique violation.
CREATE UNIQUE INDEX credit_lines_one_open_per_wallet ON credit_lines (wallet_address) WHERE status <> 'closed';
CREATE INDEX credit_lines_created_idx ON credit_lines (created_at DESC, id DESC);
CREATE INDEX credit_lines_wallet_created_idx ON credit_lines (wallet_address, created_at DESC, id DESC);
CREATE INDEX credit_lines_status_created_idx ON credit_lines (status, created_at DESC, id DESC);

CREATE TABLE credit_transactions (
  id               uuid PRIMARY KEY,
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  credit_line_id   uuid NOT NULL REFERENCES credit_lines (id),
  type             text NOT NULL CHECK (type IN ('draw', 'repay', 'interest', 'write_off')),
  amount           numeric(39,0) NOT NULL CHECK (amount > 0),
  interest_amount  numeric(39,0) NOT NULL DEFAULT 0 CHECK (interest_amount >= 0),
  principal_amount numeric(39,0) NOT NULL DEFAULT 0 CHECK (principal_amount >= 0),
  utilized_after   numeric(39,0) NOT NULL CHECK (utilized_after >= 0),
  created_at       timestamptz NOT NULL
);
CREATE INDEX credit_transactions_line_seq_idx ON credit_transactions (credit_line_id, seq DESC);

-- Transactional outbox: written in the same transaction as the state change it describes.
CREATE TABLE domain_events (
  id             uuid PRIMARY KEY,
  seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  type           text NOT NULL,
  aggregate_type text NOT NULL,
  aggregate_id   text NOT NULL,
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL
);
CREATE INDEX domain_events_aggregate_idx ON domain_events (aggregate_type, aggregate_id, seq);

CREATE TABLE audit_log (
  id          uuid PRIMARY KEY,
  seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  actor       text NOT NULL,
  action      text NOT NULL,
  target_type text NOT NULL,
  target_id   text NOT NULL,
  before      jsonb,
  after       jsonb,
  request_id  text,
  created_at  timestamptz NOT NULL
);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, seq DESC);

CREATE TABLE idempotency_keys (
  principal       text NOT NULL,
  key             text NOT NULL,
  request_hash    text NOT NULL,
  status          text NOT NULL CHECK (status IN ('in_flight', 'completed')),
  response_status integer,
  response_body   jsonb,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
