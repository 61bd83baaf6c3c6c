import type { Queryable } from '../../db/db.js';
import type { WebhookAttempt, WebhookEndpoint, WebhookRepository } from '../repositories.js';

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface AttemptRow {
  id: string;
  job_id: string;
  endpoint_id: string;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  created_at: Date;
}

const COLUMNS =
  'id, url, description, event_types, enabled, secret, previous_secret, previous_secret_expires_at, disabled_reason, failing_since, created_at, updated_at';

const date = (value: Date | null) => (value === null ? null : new Date(value));

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.event_types,
  enabled: row.enabled,
  secret: row.secret,
  previousSecret: row.previous_secret,
  previousSecretExpiresAt: date(row.previous_secret_expires_at),
  disabledReason: row.disabled_reason,
  failingSince: date(row.failing_since),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const toAttempt = (row: AttemptRow): WebhookAttempt => ({
  id: row.id,
  jobId: row.job_id,
  endpointId: row.endpoint_id,
  statusCode: row.status_code,
  error: row.error,
  latencyMs: row.latency_ms,
  createdAt: new Date(row.created_at),
});

const endpointParams = (e: WebhookEndpoint) => [
  e.id,
  e.url,
  e.description,
  e.eventTypes,
  e.enabled,
  e.secret,
  e.previousSecret,
  e.previousSecretExpiresAt,
  e.disabledReason,
  e.failingSince,
  e.createdAt,
  e.updatedAt,
];

export class PostgresWebhookRepository implements WebhookRepository {
  constructor(private readonly db: Queryable) {}

  async insert(endpoint: WebhookEndpoint): Promise<void> {
    await this.db.query(`INSERT INTO webhook_endpoints (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, endpointParams(endpoint));
  }

  async update(endpoint: WebhookEndpoint): Promise<void> {
    await this.db.query(
      `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, enabled = $5, secret = $6, previous_secret = $7,
              previous_secret_expires_at = $8, disabled_reason = $9, failing_since = $10, created_at = $11, updated_at = $12
        WHERE id = $1`,
      endpointParams(endpoint),
    );
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
    return rowCount > 0;
  }

  async findById(id: string): Promise<WebhookEndpoint | null> {
    const { rows } = await this.db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async list(): Promise<WebhookEndpoint[]> {
    const { rows } = await this.db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`);
    return rows.map(toEndpoint);
  }

  async listSubscribed(eventType: string): Promise<WebhookEndpoint[]> {
    const { rows } = await this.db.query<EndpointRow>(
      `SELECT ${COLUMNS} FROM webhook_endpoints
        WHERE enabled AND (cardinality(event_types) = 0 OR $1 = ANY(event_types))
        ORDER BY created_at, id`,
      [eventType],
    );
    return rows.map(toEndpoint);
  }

  async updateHealth(id: string, health: { failingSince?: Date | null; enabled?: boolean; disabledReason?: string | null }, at: Date): Promise<WebhookEndpoint | null> {
    const { rows } = await this.db.query<EndpointRow>(
      `UPDATE webhook_endpoints
          SET failing_since = CASE WHEN $2 THEN $3::timestamptz ELSE failing_since END,
              enabled = COALESCE($4, enabled),
              disabled_reason = CASE WHEN $5 THEN $6 ELSE disabled_reason END,
              updated_at = $7
        WHERE id = $1
        RETURNING ${COLUMNS}`,
      [id, 'failingSince' in health, health.failingSince ?? null, health.enabled ?? null, 'disabledReason' in health, health.disabledReason ?? null, at],
    );
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async recordAttempt(attempt: WebhookAttempt): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_attempts (id, job_id, endpoint_id, status_code, error, latency_ms, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [attempt.id, attempt.jobId, attempt.endpointId, attempt.statusCode, attempt.error, attempt.latencyMs, attempt.createdAt],
    );
  }

  async recordDelivered(attempt: WebhookAttempt, worker: string): Promise<void> {
    await this.db.query(
      `WITH attempt AS (
         INSERT INTO webhook_attempts (id, job_id, endpoint_id, status_code, error, latency_ms, created_at)
         VALUES ($1, $2, $3, $4, NULL, $5, $6))
       UPDATE jobs SET status = 'done', locked_until = NULL, updated_at = $6, finished_at = $6, last_error = NULL
        WHERE id = $2 AND status = 'running' AND locked_by = $7`,
      [attempt.id, attempt.jobId, attempt.endpointId, attempt.statusCode, attempt.latencyMs, attempt.createdAt, worker],
    );
  }

  async lastAttempts(jobIds: string[]): Promise<Map<string, WebhookAttempt>> {
    if (jobIds.length === 0) return new Map();
    const { rows } = await this.db.query<AttemptRow>(
      `SELECT DISTINCT ON (job_id) id, job_id, endpoint_id, status_code, error, latency_ms, created_at
         FROM webhook_attempts WHERE job_id = ANY($1::uuid[])
        ORDER BY job_id, created_at DESC, id DESC`,
      [jobIds],
    );
    return new Map(rows.map((row) => [row.job_id, toAttempt(row)]));
  }
}
