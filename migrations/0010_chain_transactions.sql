-- Acting on the Credit contract: the transactions we build, sign or hand out, and track to their outcome.

-- One row per intended contract call. A borrower's call waits for the wallet's signature; an operator's call is
-- signed and submitted at once. The row's hash always names the envelope last submitted (a fee bump has its own).
CREATE TABLE chain_transactions (
  id              uuid PRIMARY KEY,
  credit_line_id  uuid REFERENCES credit_lines (id),
  contract_id     text NOT NULL,
  wallet_address  text NOT NULL,
  action          text NOT NULL CHECK (action IN ('open', 'draw', 'repay', 'update_terms', 'suspend', 'reinstate', 'close', 'default', 'liquidate')),
  function_name   text NOT NULL,
  arguments       jsonb NOT NULL,
  signer          text NOT NULL CHECK (signer IN ('operator', 'borrower')),
  source_account  text NOT NULL,
  status          text NOT NULL CHECK (status IN ('awaiting_signature', 'pending', 'confirmed', 'failed', 'expired')),
  envelope_xdr    text NOT NULL,
  tx_hash         text NOT NULL,
  sequence        numeric(20, 0) NOT NULL CHECK (sequence > 0),
  fee             numeric(20, 0) NOT NULL CHECK (fee > 0),
  valid_until     timestamptz NOT NULL,
  submit_attempts integer NOT NULL DEFAULT 0 CHECK (submit_attempts >= 0),
  resubmissions   integer NOT NULL DEFAULT 0 CHECK (resubmissions >= 0),
  error_code      text,
  error_name      text,
  error_message   text,
  ledger          integer,
  requested_by    text NOT NULL,
  request_id      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  submitted_at    timestamptz,
  settled_at      timestamptz
);
CREATE INDEX chain_transactions_hash_idx ON chain_transactions (tx_hash);
CREATE INDEX chain_transactions_line_idx ON chain_transactions (credit_line_id, created_at DESC, id DESC);
CREATE INDEX chain_transactions_pending_idx ON chain_transactions (submitted_at, id) WHERE status = 'pending';

-- The next sequence number of each account we sign with, handed out under a row lock: two submissions (from any
-- instance) never build transactions with the same sequence.
CREATE TABLE chain_accounts (
  public_key  text PRIMARY KEY,
  sequence    numeric(20, 0),
  updated_at  timestamptz NOT NULL
);
