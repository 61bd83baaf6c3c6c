-- Each signed request of the provider's webhook, by a digest of what was signed (timestamp and body). The same
-- signed request sent again is a replay and is refused; the provider signs each of its own deliveries anew. A row
-- is only needed while its signature could still pass the age check, so old rows are deleted as new ones arrive.
CREATE TABLE provider_deliveries (
  provider TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (provider, delivery_id)
);

CREATE INDEX provider_deliveries_received_at ON provider_deliveries (received_at);
