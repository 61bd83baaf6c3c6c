-- Durable jobs and webhook fan-out.

-- A generic job table: claimed with FOR UPDATE SKIP LOCKED; a running job whose lease (locked_until) ran out
-- is claimable again, so a crashed worker loses nothing.
CREATE TABLE jobs (
  id           uuid PRIMARY KEY,
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  queue        text NOT NULL,
  -- At most one job per (queue, dedupe_key): enqueueing the same work twice is a no-op.
  dedupe_key   text,
  -- What the job is about (e.g. a webhook endpoint id): jobs of one subject run in order.
  subject      text,
  payload      jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL CHECK (max_attempts > 0),
  run_at       timestamptz NOT NULL,
  locked_until timestamptz,
  locked_by    text,
  last_error   text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  finished_at  timestamptz
);
CREATE UNIQUE INDEX jobs_queue_dedupe_key ON jobs (queue, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_claimable_idx ON jobs (queue, run_at, seq) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_subject_idx ON jobs (subject, seq DESC);
CREATE INDEX jobs_dead_idx ON jobs (queue, seq DESC) WHERE status = 'dead';

-- Domain events not yet fanned out to webhook endpoints (the outbox's unread part).
ALTER TABLE domain_events ADD COLUMN fanned_out_at timestamptz;
CREATE INDEX domain_events_pending_fanout_idx ON domain_events (seq) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_endpoints (
  id                          uuid PRIMARY KEY,
  url                         text NOT NULL,
  description                 text,
  -- Empty means every event type.
  event_types                 text[] NOT NULL DEFAULT '{}',
  enabled                     boolean NOT NULL,
  secret                      text NOT NULL,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  disabled_reason             text,
  failing_since               timestamptz,
  created_at                  timestamptz NOT NULL,
  updated_at                  timestamptz NOT NULL
);

-- One row per delivery attempt: what the receiver answered and how long it took.
CREATE TABLE webhook_attempts (
  id          uuid PRIMARY KEY,
  job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL,
  status_code integer,
  error       text,
  latency_ms  integer NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX webhook_attempts_job_idx ON webhook_attempts (job_id, created_at DESC);
