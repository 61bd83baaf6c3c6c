DROP TABLE chain_accounts;
DROP TABLE chain_transactions;
