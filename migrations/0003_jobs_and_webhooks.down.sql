DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_endpoints;
DROP INDEX IF EXISTS domain_events_pending_fanout_idx;
ALTER TABLE domain_events DROP COLUMN IF EXISTS fanned_out_at;
DROP TABLE IF EXISTS jobs;
