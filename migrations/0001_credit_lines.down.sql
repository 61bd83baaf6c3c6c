DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS domain_events;
DROP TABLE IF EXISTS credit_transactions;
DROP TABLE IF EXISTS credit_lines;
