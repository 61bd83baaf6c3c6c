import type Stripe from 'stripe';
import { newId } from './ids.js';

/**
 * Stripe `event` objects. `data.object` is a snapshot (a deep copy) of the object at the moment of the
 * event, as on the real API — later changes to the charge do not rewrite old events. Events caused by an
 * API call carry that call's request id and idempotency key; events caused by the control surface (a
 * customer paying, a bank disputing) are "automatic" and carry `request: { id: null, idempotency_key: null }`.
 */

export interface RequestMeta {
  id: string;
  idempotencyKey: string | null;
}

export interface EventContext {
  created: number;
  apiVersion: string;
  request?: RequestMeta;
  previousAttributes?: Record<string, unknown>;
}

export function buildEvent<E extends Stripe.Event>(type: E['type'], object: E['data']['object'], context: EventContext): E {
  const event = {
    id: newId('evt'),
    object: 'event',
    api_version: context.apiVersion,
    created: context.created,
    data: {
      object: structuredClone(object),
      ...(context.previousAttributes ? { previous_attributes: structuredClone(context.previousAttributes) } : {}),
    },
    livemode: false,
    // One endpoint is assumed to be subscribed (the backend under test); nothing is delivered automatically.
    pending_webhooks: 1,
    request: { id: context.request?.id ?? null, idempotency_key: context.request?.idempotencyKey ?? null },
    type,
  };
  return event as unknown as E;
}
