DROP TABLE settlement_findings;
DROP TABLE settlement_runs;
DROP TABLE provider_events;
DROP TABLE repayments;
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_type_check;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_type_check
  CHECK (type IN ('draw', 'repay', 'interest', 'write_off', 'collateral_repay'));
