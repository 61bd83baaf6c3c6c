import type { Response } from 'express';
import { z } from 'zod';
import { EVENT_TYPES, isEventType } from '../../domain/eventCatalog.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import { publicView, type Delivery, type WebhookMessage, type WebhookService } from '../../services/webhookService.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const eventTypes = z
  .array(z.string().refine(isEventType, { message: `must be one of ${EVENT_TYPES.join(', ')}`, params: { rule: 'enum' } }), { error: 'must be an array of event types' })
  .max(50);

const createBody = z.strictObject({
  url: z.string({ error: 'must be a URL' }).max(2048),
  eventTypes: eventTypes.optional(),
  description: z.string().max(500).nullable().optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
});

const updateBody = createBody.partial().refine((body) => Object.keys(body).length > 0, { message: 'must change at least one field', params: { rule: 'at_least_one' } });

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId });

/** Admin-facing state of one delivery: derived from its job and its last attempt. */
function deliveryToJson({ job, lastAttempt }: Delivery) {
  const message = job.payload.message as WebhookMessage;
  const status =
    job.status === 'done' ? 'delivered' : job.status === 'dead' ? 'dead' : job.status === 'running' ? 'delivering' : job.attempts > 0 ? 'retrying' : 'pending';
  return {
    id: job.id,
    endpointId: job.subject,
    eventId: message.id,
    eventType: message.type,
    status,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    lastResponseCode: lastAttempt?.statusCode ?? null,
    lastError: job.lastError,
    lastAttemptAt: lastAttempt?.createdAt.toISOString() ?? null,
    nextAttemptAt: job.status === 'queued' ? job.runAt.toISOString() : null,
    createdAt: job.createdAt.toISOString(),
  };
}

export function webhookRoutes(webhooks: WebhookService): RouteDefinition[] {
  return [
    {
      method: 'post',
      path: '/api/webhooks',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const endpoint = await webhooks.create(parse(createBody, req.body, 'body'), meta(res));
        // The only time the secret is shown.
        sendData(res, 201, { ...publicView(endpoint), secret: endpoint.secret });
      },
    },
    {
      method: 'get',
      path: '/api/webhooks',
      access: 'admin',
      async handler(req, res) {
        parse(z.strictObject({}), req.query, 'query');
        sendData(res, 200, { items: (await webhooks.list()).map(publicView) });
      },
    },
    {
      method: 'get',
      path: '/api/webhooks/:id',
      access: 'admin',
      async handler(req, res) {
        sendData(res, 200, publicView(await webhooks.get(parse(uuidParam, req.params, 'params').id)));
      },
    },
    {
      method: 'patch',
      path: '/api/webhooks/:id',
      access: 'admin',
      async handler(req, res) {
        const { id } = parse(uuidParam, req.params, 'params');
        sendData(res, 200, publicView(await webhooks.update(id, parse(updateBody, req.body, 'body'), meta(res))));
      },
    },
    {
      method: 'delete',
      path: '/api/webhooks/:id',
      access: 'admin',
      async handler(req, res) {
        const { id } = parse(uuidParam, req.params, 'params');
        await webhooks.remove(id, meta(res));
        sendData(res, 200, { id, deleted: true });
      },
    },
    {
      method: 'post',
      path: '/api/webhooks/:id/rotate-secret',
      access: 'admin',
      async handler(req, res) {
        const endpoint = await webhooks.rotateSecret(parse(uuidParam, req.params, 'params').id, meta(res));
        sendData(res, 200, { ...publicView(endpoint), secret: endpoint.secret });
      },
    },
    {
      method: 'post',
      path: '/api/webhooks/:id/test',
      access: 'admin',
      async handler(req, res) {
        const result = await webhooks.test(parse(uuidParam, req.params, 'params').id);
        const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
        sendData(res, 200, { eventId: result.eventId, ok, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error });
      },
    },
    {
      method: 'get',
      path: '/api/webhooks/:id/deliveries',
      access: 'admin',
      async handler(req, res) {
        const { id } = parse(uuidParam, req.params, 'params');
        const page = await webhooks.deliveries(id, parse(paginationSchema, req.query, 'query'));
        sendData(res, 200, { items: page.items.map(deliveryToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'post',
      path: '/api/webhooks/deliveries/:id/replay',
      access: 'admin',
      async handler(req, res) {
        sendData(res, 202, deliveryToJson(await webhooks.replay(parse(uuidParam, req.params, 'params').id)));
      },
    },
  ];
}
