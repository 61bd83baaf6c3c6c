-- Statements are derived from the ledger (src/domain/repayment/schedule.ts) and never stored; what is stored is
-- which notices went out, so each `repayment.due_soon` and `repayment.late` is sent once per statement.
CREATE TABLE statement_notices (
  credit_line_id  uuid NOT NULL REFERENCES credit_lines (id),
  statement_date  timestamptz NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('due_soon', 'late')),
  sent_at         timestamptz NOT NULL,
  PRIMARY KEY (credit_line_id, statement_date, kind)
);
