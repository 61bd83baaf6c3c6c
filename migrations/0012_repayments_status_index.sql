-- Repayments listed for review by status (GET /api/repayment?status=parked), newest first.
CREATE INDEX repayments_status_created_idx ON repayments (status, created_at DESC, id DESC);
