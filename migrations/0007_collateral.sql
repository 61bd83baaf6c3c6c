-- Collateral and the risk engine: assets with versioned risk parameters, prices, volatility, positions, the
-- monitor's last verdict per account, and the stop-loss and liquidation orders it hands to an executor.

-- A line backed by collateral: its limit is the smaller of its own (behavioural) limit and the collateral's.
ALTER TABLE credit_lines ADD COLUMN collateral_backed boolean NOT NULL DEFAULT false;

-- Debt repaid from the borrower's collateral (a stop-loss sale or a liquidation), apart from the borrower's own
-- repayments: the risk model must not count a liquidation as a repayment made on time.
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_type_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_type_check
  CHECK (type IN ('draw', 'repay', 'interest', 'write_off', 'collateral_repay'));

CREATE TABLE collateral_assets (
  code          text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{1,12}$'),
  decimals      integer NOT NULL CHECK (decimals BETWEEN 0 AND 18),
  -- Where its price comes from: {"kind":"reflector",...} | {"kind":"horizon",...} | {"kind":"manual"}.
  price_source  jsonb NOT NULL,
  created_at    timestamptz NOT NULL
);

-- Every change of an asset's parameters is a new version; assessments and executions name the one they used.
CREATE TABLE collateral_asset_params (
  asset_code                 text NOT NULL REFERENCES collateral_assets (code),
  version                    integer NOT NULL CHECK (version > 0),
  base_ltv_bps               integer NOT NULL CHECK (base_ltv_bps BETWEEN 0 AND 10000),
  liquidation_threshold_bps  integer NOT NULL CHECK (liquidation_threshold_bps BETWEEN 1 AND 10000),
  liquidation_bonus_bps      integer NOT NULL CHECK (liquidation_bonus_bps BETWEEN 0 AND 10000),
  k_bps                      integer NOT NULL CHECK (k_bps >= 0),
  horizon_days               integer NOT NULL CHECK (horizon_days > 0),
  min_ltv_bps                integer NOT NULL CHECK (min_ltv_bps BETWEEN 0 AND 10000),
  close_factor_bps           integer NOT NULL CHECK (close_factor_bps BETWEEN 1 AND 10000),
  stop_loss_trigger_hf_bps   integer NOT NULL CHECK (stop_loss_trigger_hf_bps >= 10000),
  target_hf_bps              integer NOT NULL,
  max_slippage_bps           integer NOT NULL CHECK (max_slippage_bps BETWEEN 0 AND 10000),
  max_price_age_seconds      integer NOT NULL CHECK (max_price_age_seconds > 0),
  yield_apr_bps              integer NOT NULL CHECK (yield_apr_bps BETWEEN 0 AND 100000),
  protocol_fee_share_bps     integer NOT NULL CHECK (protocol_fee_share_bps BETWEEN 0 AND 10000),
  fallback_volatility_bps    integer NOT NULL CHECK (fallback_volatility_bps >= 0),
  created_by                 text NOT NULL,
  effective_from             timestamptz NOT NULL,
  PRIMARY KEY (asset_code, version),
  CHECK (target_hf_bps > stop_loss_trigger_hf_bps)
);

-- Append-only; the latest per asset is what values collateral, and it is stale past max_price_age_seconds.
CREATE TABLE price_observations (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asset_code   text NOT NULL REFERENCES collateral_assets (code),
  price        NUMERIC(39,0) NOT NULL CHECK (price > 0),
  source       text NOT NULL,
  observed_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL
);
CREATE INDEX price_observations_latest_idx ON price_observations (asset_code, observed_at DESC, id DESC);

CREATE TABLE volatility_observations (
  asset_code   text NOT NULL REFERENCES collateral_assets (code),
  window_days  integer NOT NULL CHECK (window_days IN (7, 30)),
  sigma_bps    integer NOT NULL CHECK (sigma_bps >= 0),
  returns      integer NOT NULL,
  computed_at  timestamptz NOT NULL,
  PRIMARY KEY (asset_code, window_days, computed_at)
);

CREATE TABLE collateral_positions (
  id                   uuid PRIMARY KEY,
  wallet_address       text NOT NULL,
  asset_code           text NOT NULL REFERENCES collateral_assets (code),
  -- Base units held, yield accrued so far included.
  quantity             NUMERIC(39,0) NOT NULL CHECK (quantity >= 0),
  yield_earned         NUMERIC(39,0) NOT NULL DEFAULT 0 CHECK (yield_earned >= 0),
  yield_checkpoint_at  timestamptz NOT NULL,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  UNIQUE (wallet_address, asset_code)
);
-- Re-pricing after an observation walks the holders of that asset.
CREATE INDEX collateral_positions_asset_idx ON collateral_positions (asset_code, wallet_address) WHERE quantity > 0;

CREATE TABLE collateral_movements (
  id              uuid PRIMARY KEY,
  seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  position_id     uuid NOT NULL REFERENCES collateral_positions (id),
  type            text NOT NULL CHECK (type IN ('deposit', 'withdrawal', 'yield', 'stop_loss_sale', 'liquidation_seizure')),
  quantity        NUMERIC(39,0) NOT NULL CHECK (quantity > 0),
  quantity_after  NUMERIC(39,0) NOT NULL CHECK (quantity_after >= 0),
  execution_id    uuid,
  created_at      timestamptz NOT NULL
);
CREATE INDEX collateral_movements_position_idx ON collateral_movements (position_id, seq DESC);

CREATE TABLE stop_loss_settings (
  wallet_address    text PRIMARY KEY,
  enabled           boolean NOT NULL,
  asset_priority    text[] NOT NULL DEFAULT '{}',
  max_slippage_bps  integer CHECK (max_slippage_bps BETWEEN 0 AND 10000),
  updated_at        timestamptz NOT NULL
);

-- The monitor's last verdict per account: a band change is an event, a repeat is not.
CREATE TABLE account_risk_states (
  wallet_address     text PRIMARY KEY,
  band               text NOT NULL CHECK (band IN ('healthy', 'warning', 'stop_loss', 'liquidatable')),
  health_factor_bps  integer,
  updated_at         timestamptz NOT NULL
);

-- Orders handed to an executor, filled by a keeper. One pending order per account: a plan runs once.
CREATE TABLE risk_executions (
  id              uuid PRIMARY KEY,
  wallet_address  text NOT NULL,
  credit_line_id  uuid NOT NULL REFERENCES credit_lines (id),
  kind            text NOT NULL CHECK (kind IN ('stop_loss', 'liquidation', 'bad_debt')),
  trigger         text NOT NULL CHECK (trigger IN ('monitor', 'admin')),
  status          text NOT NULL CHECK (status IN ('pending', 'filled', 'cancelled')),
  plan            jsonb NOT NULL,
  fill            jsonb,
  params_versions jsonb NOT NULL,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL,
  settled_at      timestamptz,
  cancel_reason   text
);
CREATE UNIQUE INDEX risk_executions_one_pending_idx ON risk_executions (wallet_address) WHERE status = 'pending';
CREATE INDEX risk_executions_wallet_idx ON risk_executions (wallet_address, created_at DESC);
