-- Risk evaluations: the score that sets a wallet's limit and rate, with everything needed to explain it.

-- When a line's rate last changed: the rate-change guard (maximum step, minimum interval) reads it, as the
-- contract's RateChangeConfig does. NULL means the rate has not changed since the line opened.
ALTER TABLE credit_lines ADD COLUMN rate_updated_at timestamptz;

CREATE TABLE risk_evaluations (
  id                 uuid PRIMARY KEY,
  seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  wallet_address     text NOT NULL,
  provider           text NOT NULL,
  model_version      text NOT NULL,
  score              integer NOT NULL CHECK (score BETWEEN 0 AND 100),
  band               text NOT NULL,
  decision           text NOT NULL CHECK (decision IN ('approve', 'decline')),
  credit_limit       NUMERIC(39,0) NOT NULL CHECK (credit_limit >= 0),
  interest_rate_bps  integer NOT NULL CHECK (interest_rate_bps BETWEEN 0 AND 10000),
  -- Each signal's raw value, transform, weight and contribution, and the raw inputs they came from.
  signals            jsonb NOT NULL,
  inputs             jsonb NOT NULL,
  evaluated_at       timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  applied_at         timestamptz,
  applied_by         text,
  applied_to_line_id uuid REFERENCES credit_lines (id),
  applied_terms      jsonb,
  CHECK ((applied_at IS NULL) = (applied_by IS NULL))
);
-- History and the cached latest evaluation per wallet are both newest-first scans of this index.
CREATE INDEX risk_evaluations_wallet_seq_idx ON risk_evaluations (wallet_address, seq DESC);
