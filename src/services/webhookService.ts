import { randomUUID } from 'node:crypto';
import { retryDelay } from '../domain/backoff.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../domain/errors.js';
import { pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { Logger } from '../lib/logger.js';
import type { DomainEvent, Job, NewJob, Repositories, Store, WebhookAttempt, WebhookEndpoint } from '../repositories/repositories.js';
import type { SendResult, WebhookHttpSender } from '../webhooks/httpSender.js';
import { generateSecret, signatureHeaders } from '../webhooks/signing.js';
import { assertUrlResolvesPublic, assertUrlShape, UnsafeUrlError, type UrlPolicy } from '../webhooks/urlSafety.js';
import { auditRow } from './audit.js';
import type { RequestMeta } from './creditLineService.js';

export const DELIVERY_QUEUE = 'webhook.delivery';

export interface WebhookSettings {
  urlPolicy: UrlPolicy;
  /** Delays before each retry; a delivery gets 1 + schedule.length attempts, then is dead-lettered. */
  retrySchedule: readonly number[];
  /** An endpoint failing continuously for this long is disabled. */
  disableAfterMs: number;
  /** A rotated-out secret keeps signing for this long. */
  secretOverlapMs: number;
  /** How long a claimed delivery is leased before another dispatcher may take it. */
  leaseMs: number;
  /** The longest one send may take (WEBHOOK_TIMEOUT_MS): the lease is renewed before it could run out mid-send. */
  sendTimeoutMs: number;
}

/** The body every subscriber receives; `id` is the domain event's id, stable across retries. */
export interface WebhookMessage {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown>;
}

export interface Delivery {
  job: Job;
  lastAttempt: WebhookAttempt | null;
}

export interface EndpointInput {
  url: string;
  eventTypes?: string[];
  description?: string | null;
  enabled?: boolean;
}

const messageOf = (event: DomainEvent): WebhookMessage => ({
  id: event.id,
  type: event.type,
  createdAt: event.createdAt.toISOString(),
  data: event.payload,
});

/**
 * Signed webhook fan-out. Domain events (the outbox) become one delivery job per subscribed endpoint; the
 * dispatcher leases due deliveries, signs them per Standard Webhooks, and records every attempt. A delivery is
 * keyed by (endpoint, event) so it exists once, however often fan-out runs.
 */
export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly sender: WebhookHttpSender,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
  ) {}

  // ----------------------------------------------------------------------------------------- admin

  async create(input: EndpointInput, meta: RequestMeta): Promise<WebhookEndpoint> {
    await this.assertSafeUrl(input.url);
    const now = this.clock();
    const endpoint: WebhookEndpoint = {
      id: randomUUID(),
      url: input.url,
      description: input.description ?? null,
      eventTypes: [...new Set(input.eventTypes ?? [])],
      enabled: input.enabled ?? true,
      secret: generateSecret(),
      previousSecret: null,
      previousSecretExpiresAt: null,
      disabledReason: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.transaction(async (repos) => {
      await repos.webhooks.insert(endpoint);
      await repos.audit.append(auditRow(meta, 'webhook.create', { type: 'webhook_endpoint', id: endpoint.id }, { before: null, after: publicView(endpoint) }, now));
    });
    return endpoint;
  }

  list(): Promise<WebhookEndpoint[]> {
    return this.store.repos.webhooks.list();
  }

  async get(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.store.repos.webhooks.findById(id);
    if (!endpoint) throw new NotFoundError('Webhook endpoint', id);
    return endpoint;
  }

  async update(id: string, patch: Partial<EndpointInput>, meta: RequestMeta): Promise<WebhookEndpoint> {
    if (patch.url !== undefined) await this.assertSafeUrl(patch.url);
    return this.store.transaction(async (repos) => {
      const before = await repos.webhooks.findById(id);
      if (!before) throw new NotFoundError('Webhook endpoint', id);
      const now = this.clock();
      const reenabled = patch.enabled === true && !before.enabled;
      const after: WebhookEndpoint = {
        ...before,
        url: patch.url ?? before.url,
        description: patch.description === undefined ? before.description : patch.description,
        eventTypes: patch.eventTypes ? [...new Set(patch.eventTypes)] : before.eventTypes,
        enabled: patch.enabled ?? before.enabled,
        disabledReason: reenabled ? null : before.disabledReason,
        failingSince: reenabled ? null : before.failingSince,
        updatedAt: now,
      };
      await repos.webhooks.update(after);
      await repos.audit.append(auditRow(meta, 'webhook.update', { type: 'webhook_endpoint', id }, { before: publicView(before), after: publicView(after) }, now));
      return after;
    });
  }

  async remove(id: string, meta: RequestMeta): Promise<void> {
    await this.store.transaction(async (repos) => {
      const before = await repos.webhooks.findById(id);
      if (!before) throw new NotFoundError('Webhook endpoint', id);
      const now = this.clock();
      await repos.jobs.cancelSubject(DELIVERY_QUEUE, id, now);
      await repos.webhooks.delete(id);
      await repos.audit.append(auditRow(meta, 'webhook.delete', { type: 'webhook_endpoint', id }, { before: publicView(before), after: null }, now));
    });
  }

  /** A new secret signs from now on; the old one keeps signing alongside it for the overlap (24 h). */
  async rotateSecret(id: string, meta: RequestMeta): Promise<WebhookEndpoint> {
    return this.store.transaction(async (repos) => {
      const before = await repos.webhooks.findById(id);
      if (!before) throw new NotFoundError('Webhook endpoint', id);
      const now = this.clock();
      const after: WebhookEndpoint = {
        ...before,
        secret: generateSecret(),
        previousSecret: before.secret,
        previousSecretExpiresAt: new Date(now.getTime() + this.settings.secretOverlapMs),
        updatedAt: now,
      };
      await repos.webhooks.update(after);
      await repos.audit.append(auditRow(meta, 'webhook.rotate_secret', { type: 'webhook_endpoint', id }, { before: null, after: { previousSecretExpiresAt: after.previousSecretExpiresAt!.toISOString() } }, now));
      return after;
    });
  }

  /** Sends a `webhook.test` event now, outside the queue, and reports what the receiver answered. */
  async test(id: string): Promise<SendResult & { eventId: string }> {
    const endpoint = await this.get(id);
    const now = this.clock();
    const message: WebhookMessage = { id: randomUUID(), type: 'webhook.test', createdAt: now.toISOString(), data: { endpointId: endpoint.id } };
    const result = await this.send(endpoint, message, now);
    return { ...result, eventId: message.id };
  }

  async deliveries(endpointId: string, page: PageRequest): Promise<PageResult<Delivery>> {
    await this.get(endpointId);
    const jobs = await pageBySeq(page, (p) => this.store.repos.jobs.list({ queue: DELIVERY_QUEUE, subject: endpointId }, p));
    const attempts = await this.store.repos.webhooks.lastAttempts(jobs.items.map((job) => job.id));
    return { items: jobs.items.map((job) => ({ job, lastAttempt: attempts.get(job.id) ?? null })), nextCursor: jobs.nextCursor };
  }

  async replay(deliveryId: string): Promise<Delivery> {
    const job = await this.store.repos.jobs.findById(deliveryId);
    if (!job || job.queue !== DELIVERY_QUEUE) throw new NotFoundError('Webhook delivery', deliveryId);
    const endpoint = job.subject ? await this.store.repos.webhooks.findById(job.subject) : null;
    if (!endpoint) throw new ConflictError('endpoint_missing', 'The endpoint of this delivery was deleted');
    const requeued = await this.store.repos.jobs.requeue(deliveryId, this.clock());
    if (!requeued) throw new ConflictError('delivery_pending', `Delivery ${deliveryId} is ${job.status}; only delivered or dead deliveries can be replayed`, { currentStatus: job.status });
    return { job: requeued, lastAttempt: (await this.store.repos.webhooks.lastAttempts([deliveryId])).get(deliveryId) ?? null };
  }

  // ----------------------------------------------------------------------------------------- workers

  /** Turns the next batch of unread domain events into delivery jobs. Returns how many events it read. */
  async fanOut(batchSize = 500): Promise<number> {
    return this.store.transaction(async (repos) => {
      const events = await repos.events.claimForFanOut(batchSize);
      if (events.length === 0) return 0;
      const endpoints = (await repos.webhooks.list()).filter((e) => e.enabled);
      const now = this.clock();
      const jobs: NewJob[] = [];
      for (const event of events) {
        for (const endpoint of endpoints) {
          if (endpoint.eventTypes.length > 0 && !endpoint.eventTypes.includes(event.type)) continue;
          jobs.push({
            id: randomUUID(),
            queue: DELIVERY_QUEUE,
            dedupeKey: `${endpoint.id}:${event.id}`,
            subject: endpoint.id,
            payload: { endpointId: endpoint.id, message: messageOf(event) },
            maxAttempts: this.settings.retrySchedule.length + 1,
            runAt: now,
            createdAt: now,
          });
        }
      }
      await repos.jobs.enqueue(jobs);
      await repos.events.markFannedOut(
        events.map((e) => e.id),
        now,
      );
      return events.length;
    });
  }

  /**
   * Leases due deliveries and sends them: one endpoint's deliveries one after another in event order,
   * different endpoints in parallel, renewing the lease on the endpoint's remaining jobs whenever a send might
   * outlast it. Returns how many it attempted.
   */
  async dispatch(worker: string, batchSize = 100): Promise<number> {
    const now = this.clock();
    const jobs = await this.store.repos.jobs.claim(DELIVERY_QUEUE, {
      limit: batchSize,
      now,
      leaseUntil: new Date(now.getTime() + this.settings.leaseMs),
      worker,
    });
    const bySubject = new Map<string, Job[]>();
    for (const job of jobs) bySubject.set(job.subject ?? '', [...(bySubject.get(job.subject ?? '') ?? []), job]);
    await Promise.all(
      [...bySubject.entries()].map(async ([endpointId, queue]) => {
        let leaseUntil = now.getTime() + this.settings.leaseMs;
        for (let i = 0; i < queue.length; i++) {
          const renewAt = this.clock();
          // Renewed only when what is left of the lease might not cover the next send (with margin): a fast
          // receiver never pays for it, a slow batch is never picked up and sent again by another dispatcher.
          if (leaseUntil - renewAt.getTime() < this.settings.sendTimeoutMs * 1.5) {
            leaseUntil = renewAt.getTime() + this.settings.leaseMs;
            const held = await this.store.repos.jobs.extendLease(queue.slice(i).map((job) => job.id), worker, new Date(leaseUntil), renewAt);
            if (!held.includes(queue[i]!.id)) return; // the lease was lost (e.g. a long pause): the rest belongs to another dispatcher now
          }
          // Read fresh each time: an admin may disable, re-point or rotate the endpoint between two deliveries.
          await this.deliver(queue[i]!, await this.store.repos.webhooks.findById(endpointId), worker);
        }
      }),
    );
    return jobs.length;
  }

  private async deliver(job: Job, endpoint: WebhookEndpoint | null, worker: string): Promise<void> {
    const now = this.clock();
    if (!endpoint || !endpoint.enabled) {
      await this.store.repos.jobs.bury(job.id, worker, { error: endpoint ? `endpoint disabled: ${endpoint.disabledReason ?? 'by an admin'}` : 'endpoint deleted', now });
      return;
    }
    const result = await this.send(endpoint, job.payload.message as WebhookMessage, now);
    const done = this.clock();
    const attempt = { id: randomUUID(), jobId: job.id, endpointId: endpoint.id, statusCode: result.statusCode, latencyMs: result.latencyMs, createdAt: done };
    if (result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
      // Health is judged from the read made just before the send; only the health column is written.
      await this.store.repos.webhooks.recordDelivered({ ...attempt, error: null }, worker);
      if (endpoint.failingSince) await this.store.repos.webhooks.updateHealth(endpoint.id, { failingSince: null }, done);
      return;
    }
    const error = result.error ?? `HTTP ${result.statusCode}`;

    await this.store.transaction(async (repos) => {
      await repos.webhooks.recordAttempt({ ...attempt, error });
      // A failure is judged on the endpoint as it is now, and only the health columns are written.
      const current = await repos.webhooks.findById(endpoint.id);
      if (result.statusCode === 410) {
        await repos.jobs.bury(job.id, worker, { error: 'receiver answered 410 Gone', now: done });
        if (current?.enabled) await this.disable(repos, current, 'receiver answered 410 Gone', done);
        return;
      }
      const delay = retryDelay(this.settings.retrySchedule, job.attempts, this.random);
      if (delay === undefined || job.attempts >= job.maxAttempts) {
        await repos.jobs.bury(job.id, worker, { error: `${error} (after ${job.attempts} attempts)`, now: done });
      } else {
        await repos.jobs.retryLater(job.id, worker, { error, runAt: new Date(done.getTime() + delay), now: done });
      }
      if (!current) return;
      const failingSince = current.failingSince ?? done;
      if (current.enabled && done.getTime() - failingSince.getTime() >= this.settings.disableAfterMs) {
        await this.disable(repos, current, `failing since ${failingSince.toISOString()}`, done);
      } else if (!current.failingSince) {
        await repos.webhooks.updateHealth(endpoint.id, { failingSince }, done);
      }
    });
  }

  private async disable(repos: Repositories, endpoint: WebhookEndpoint, reason: string, now: Date): Promise<void> {
    await repos.webhooks.updateHealth(endpoint.id, { enabled: false, disabledReason: reason }, now);
    await repos.events.append({
      id: randomUUID(),
      type: 'webhook.endpoint_disabled',
      aggregateType: 'webhook_endpoint',
      aggregateId: endpoint.id,
      payload: { endpointId: endpoint.id, url: endpoint.url, reason },
      createdAt: now,
    });
    this.logger.warn({ endpointId: endpoint.id, reason }, 'webhook endpoint disabled');
  }

  private send(endpoint: WebhookEndpoint, message: WebhookMessage, now: Date): Promise<SendResult> {
    const body = JSON.stringify(message);
    const secrets = [endpoint.secret];
    if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) secrets.push(endpoint.previousSecret);
    return this.sender.post(endpoint.url, signatureHeaders(secrets, message.id, Math.floor(now.getTime() / 1000), body), body);
  }

  private async assertSafeUrl(raw: string): Promise<void> {
    try {
      await assertUrlResolvesPublic(assertUrlShape(raw, this.settings.urlPolicy), this.settings.urlPolicy);
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw new UnprocessableError('unsafe_webhook_url', `url ${error.message}`, { field: 'url' });
      throw error;
    }
  }
}

/** What an endpoint looks like to anyone but its creator: never the secrets. */
export function publicView(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}
