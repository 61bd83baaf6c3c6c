import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { FakeStripeControl } from './control.js';
import { StripeApiError } from './errors.js';
import { readBody, send, serialize } from './http.js';

/**
 * The control surface over HTTP, for a backend under test in another process: `POST /_fake/<action>` with a
 * JSON body (snake_case, like the API), answering JSON. Unauthenticated — it listens on loopback only.
 *
 *   succeed        { intent, amount_received? }               → the payment_intent.succeeded event
 *   fail           { intent, message?, code?, decline_code? } → the payment_intent.payment_failed event
 *   refund         { charge, amount?, reason? }               → { refund, event }
 *   dispute        { charge, amount?, reason? }               → the charge.dispute.created event
 *   payout         { amount, currency, arrival_date?, created?, status? } → the payout
 *   inject_charge  { amount, currency, created?, metadata?, payment_intent?, status? } → the charge
 *   tamper_charge  { charge, amount?, currency?, metadata?, status? } → the charge
 *   sign           { event | event_id, timestamp?, secret? }  → { payload, headers }
 *   deliver        { url, event | event_id, timestamp?, secret? } → { status, ok, body, delivery }
 *   faults         { latency_ms?, fail_next?: { count?, status? } } → { latency_ms, pending }
 *   reset          {}                                          → {}
 */

export interface ControlAnswer {
  status: number;
  body: unknown;
}

type Body = Record<string, unknown>;

class BadControlRequest extends Error {}

const opt = <T>(body: Body, key: string, type: 'number' | 'string' | 'object'): T | undefined => {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw new BadControlRequest(`${key} must be a ${type}`);
  return value as T;
};

function req<T>(body: Body, key: string, type: 'number' | 'string' | 'object'): T {
  const value = opt<T>(body, key, type);
  if (value === undefined) throw new BadControlRequest(`${key} is required`);
  return value;
}

function eventFrom(control: FakeStripeControl, body: Body): unknown {
  const id = opt<string>(body, 'event_id', 'string');
  if (id === undefined) return req<object>(body, 'event', 'object');
  const event = control.state.events.get(id);
  if (!event) throw new StripeApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such event: '${id}'` });
  return event;
}

const signOptions = (body: Body) => ({ timestamp: opt<number>(body, 'timestamp', 'number'), secret: opt<string>(body, 'secret', 'string') });

const actions: Record<string, (control: FakeStripeControl, body: Body) => unknown> = {
  succeed: (c, b) => c.succeed(req(b, 'intent', 'string'), { amountReceived: opt(b, 'amount_received', 'number') }),
  fail: (c, b) =>
    c.fail(req(b, 'intent', 'string'), opt(b, 'message', 'string'), { code: opt(b, 'code', 'string'), declineCode: opt(b, 'decline_code', 'string') }),
  refund: (c, b) => c.refund(req(b, 'charge', 'string'), opt(b, 'amount', 'number'), { reason: opt<Stripe.Refund.Reason>(b, 'reason', 'string') }),
  dispute: (c, b) => c.dispute(req(b, 'charge', 'string'), opt(b, 'amount', 'number'), { reason: opt(b, 'reason', 'string') }),
  payout: (c, b) =>
    c.payout(req(b, 'amount', 'number'), req(b, 'currency', 'string'), {
      arrivalDate: opt(b, 'arrival_date', 'number'),
      created: opt(b, 'created', 'number'),
      status: opt(b, 'status', 'string'),
    }),
  inject_charge: (c, b) =>
    c.injectCharge({
      amount: req(b, 'amount', 'number'),
      currency: req(b, 'currency', 'string'),
      created: opt(b, 'created', 'number'),
      metadata: opt(b, 'metadata', 'object'),
      paymentIntent: opt(b, 'payment_intent', 'string'),
      status: opt(b, 'status', 'string'),
    }),
  tamper_charge: (c, b) =>
    c.tamperCharge(req(b, 'charge', 'string'), {
      amount: opt(b, 'amount', 'number'),
      currency: opt(b, 'currency', 'string'),
      metadata: opt(b, 'metadata', 'object'),
      status: opt(b, 'status', 'string'),
    }),
  sign: (c, b) => c.signedDelivery(eventFrom(c, b), signOptions(b)),
  deliver: (c, b) => c.deliver(req(b, 'url', 'string'), eventFrom(c, b), signOptions(b)),
  faults: (c, b) => {
    const latency = opt<number>(b, 'latency_ms', 'number');
    if (latency !== undefined) c.faults.latencyMs = latency;
    const next = opt<Body>(b, 'fail_next', 'object');
    if (next) c.faults.failNext(opt(next, 'count', 'number'), opt(next, 'status', 'number'));
    return { latency_ms: c.faults.latencyMs, pending: c.faults.pending };
  },
  reset: (c) => {
    c.reset();
    return {};
  },
};

export async function handleControl(control: FakeStripeControl, action: string, body: Body): Promise<ControlAnswer> {
  const run = actions[action];
  if (!run) return { status: 404, body: { error: { type: 'invalid_request_error', message: `unknown control action: ${action}` } } };
  try {
    return { status: 200, body: await run(control, body) };
  } catch (error) {
    if (error instanceof StripeApiError) return { status: error.status, body: error.toJSON() };
    if (error instanceof BadControlRequest || error instanceof RangeError) {
      return { status: 400, body: { error: { type: 'invalid_request_error', message: error.message } } };
    }
    throw error;
  }
}

export const CONTROL_PREFIX = '/_fake/';

/** POST /_fake/<action> with a JSON body. */
export async function serveControl(control: FakeStripeControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (answer: ControlAnswer) => send(res, answer.status, serialize(answer.body), {});
  const action = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.slice(CONTROL_PREFIX.length);
  if (req.method !== 'POST') return reply({ status: 405, body: { error: { type: 'invalid_request_error', message: 'control actions are POST' } } });
  const text = await readBody(req);
  let body: Body;
  try {
    body = text.trim() === '' ? {} : (JSON.parse(text) as Body);
  } catch {
    return reply({ status: 400, body: { error: { type: 'invalid_request_error', message: 'control bodies are JSON' } } });
  }
  reply(await handleControl(control, action, body));
}
