DROP TABLE risk_evaluations;
ALTER TABLE credit_lines DROP COLUMN rate_updated_at;
