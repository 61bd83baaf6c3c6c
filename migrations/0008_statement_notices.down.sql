DROP TABLE statement_notices;
