-- SEP-10 wallet authentication: single-use challenges, revoked tokens, contract wallets bound to a controller.

CREATE TABLE auth_challenges (
  nonce       text PRIMARY KEY,
  account     text NOT NULL,
  expires_at  timestamptz NOT NULL,
  consumed_at timestamptz,
  created_at  timestamptz NOT NULL
);
CREATE INDEX auth_challenges_expires_idx ON auth_challenges (expires_at);

CREATE TABLE revoked_tokens (
  jti        text PRIMARY KEY,
  revoked_by text NOT NULL,
  reason     text,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- A contract (C...) wallet acts through a classic (G...) controller account that signs SEP-10 challenges.
CREATE TABLE wallet_controllers (
  contract_address   text PRIMARY KEY CHECK (contract_address ~ '^C[A-Z2-7]{55}$'),
  controller_account text NOT NULL CHECK (controller_account ~ '^G[A-Z2-7]{55}$'),
  bound_by           text NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX wallet_controllers_controller_idx ON wallet_controllers (controller_account);
