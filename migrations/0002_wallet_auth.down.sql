DROP TABLE IF EXISTS wallet_controllers;
DROP TABLE IF EXISTS revoked_tokens;
DROP TABLE IF EXISTS auth_challenges;
