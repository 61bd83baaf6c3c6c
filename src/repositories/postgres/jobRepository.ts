import type { Queryable } from '../../db/db.js';
import type { Job, JobRepository, JobStatus, NewJob, Page } from '../repositories.js';

interface JobRow {
  id: string;
  seq: bigint;
  queue: string;
  dedupe_key: string | null;
  subject: string | null;
  payload: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_at: Date;
  locked_until: Date | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const COLUMNS =
  'id, seq, queue, dedupe_key, subject, payload, status, attempts, max_attempts, run_at, locked_until, locked_by, last_error, created_at, updated_at, finished_at';

const date = (value: Date | null) => (value === null ? null : new Date(value));

const toJob = (row: JobRow): Job => ({
  id: row.id,
  seq: BigInt(row.seq),
  queue: row.queue,
  dedupeKey: row.dedupe_key,
  subject: row.subject,
  payload: row.payload,
  status: row.status,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  runAt: new Date(row.run_at),
  lockedUntil: date(row.locked_until),
  lockedBy: row.locked_by,
  lastError: row.last_error,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  finishedAt: date(row.finished_at),
});

export class PostgresJobRepository implements JobRepository {
  constructor(private readonly db: Queryable) {}

  async enqueue(jobs: NewJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    // One statement for the whole batch: unnest keeps it a single round trip.
    const { rowCount } = await this.db.query(
      `INSERT INTO jobs (id, queue, dedupe_key, subject, payload, status, max_attempts, run_at, created_at, updated_at)
       SELECT id, queue, dedupe_key, subject, payload, 'queued', max_attempts, run_at, created_at, created_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::int[], $7::timestamptz[], $8::timestamptz[])
           AS t(id, queue, dedupe_key, subject, payload, max_attempts, run_at, created_at)
       ON CONFLICT (queue, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
      [
        jobs.map((j) => j.id),
        jobs.map((j) => j.queue),
        jobs.map((j) => j.dedupeKey ?? null),
        jobs.map((j) => j.subject ?? null),
        jobs.map((j) => JSON.stringify(j.payload)),
        jobs.map((j) => j.maxAttempts),
        jobs.map((j) => j.runAt),
        jobs.map((j) => j.createdAt),
      ],
    );
    return rowCount;
  }

  async claim(queue: string, options: { limit: number; now: Date; leaseUntil: Date; worker: string }): Promise<Job[]> {
    // Busy subjects are found once per claim (partial index on running jobs), not probed per candidate row.
    const { rows } = await this.db.query<JobRow>(
      `WITH busy AS (
         SELECT DISTINCT subject FROM jobs
          WHERE queue = $1 AND status = 'running' AND subject IS NOT NULL AND locked_until >= $2)
       UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $3, locked_by = $4, updated_at = $2
        WHERE id IN (
          SELECT j.id FROM jobs j
           WHERE j.queue = $1 AND j.run_at <= $2
             AND (j.status = 'queued' OR (j.status = 'running' AND j.locked_until < $2))
             AND (j.subject IS NULL OR j.subject NOT IN (SELECT subject FROM busy))
           ORDER BY j.run_at, j.seq
           LIMIT $5
           FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [queue, options.now, options.leaseUntil, options.worker, options.limit],
    );
    return rows.map(toJob).sort((a, b) => (a.seq < b.seq ? -1 : 1));
  }

  async complete(id: string, worker: string, now: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET status = 'done', locked_until = NULL, updated_at = $3, finished_at = $3, last_error = NULL
        WHERE id = $1 AND status = 'running' AND locked_by = $2`,
      [id, worker, now],
    );
    return rowCount > 0;
  }

  async retryLater(id: string, worker: string, outcome: { error: string; runAt: Date; now: Date }): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET status = 'queued', locked_until = NULL, last_error = $3, run_at = $4, updated_at = $5
        WHERE id = $1 AND status = 'running' AND locked_by = $2`,
      [id, worker, outcome.error, outcome.runAt, outcome.now],
    );
    return rowCount > 0;
  }

  async bury(id: string, worker: string, outcome: { error: string; now: Date }): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET status = 'dead', locked_until = NULL, last_error = $3, updated_at = $4, finished_at = $4
        WHERE id = $1 AND status = 'running' AND locked_by = $2`,
      [id, worker, outcome.error, outcome.now],
    );
    return rowCount > 0;
  }

  async findById(id: string): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async list(filter: { queue?: string; status?: JobStatus; subject?: string }, page: Page<bigint>): Promise<Job[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['queue', filter.queue],
      ['status', filter.status],
      ['subject', filter.subject],
    ] as const) {
      if (value !== undefined) {
        params.push(value);
        conditions.push(`${column} = $${params.length}`);
      }
    }
    if (page.after !== undefined) {
      params.push(page.after.toString());
      conditions.push(`seq < $${params.length}`);
    }
    params.push(page.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs ${where} ORDER BY seq DESC LIMIT $${params.length}`, params);
    return rows.map(toJob);
  }

  async requeue(id: string, now: Date): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, locked_until = NULL, locked_by = NULL,
                       finished_at = NULL, updated_at = $2
        WHERE id = $1 AND status IN ('dead', 'done')
        RETURNING ${COLUMNS}`,
      [id, now],
    );
    return rows[0] ? toJob(rows[0]) : null;
  }

  async extendLease(ids: string[], worker: string, leaseUntil: Date, now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE jobs SET locked_until = $3, updated_at = $4
        WHERE id = ANY($1::uuid[]) AND locked_by = $2 AND status = 'running'
        RETURNING id`,
      [ids, worker, leaseUntil, now],
    );
    return rows.map((r) => r.id);
  }

  async cancelSubject(queue: string, subject: string, now: Date): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs SET status = 'dead', last_error = 'cancelled: subject removed', locked_until = NULL, updated_at = $3, finished_at = $3
        WHERE queue = $1 AND subject = $2 AND status IN ('queued', 'running')`,
      [queue, subject, now],
    );
    return rowCount;
  }
}
