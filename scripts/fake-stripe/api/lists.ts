import type Stripe from 'stripe';
import { expand, readExpand } from '../expand.js';
import { onlyOneOf, resourceMissing } from '../errors.js';
import type { FormValue } from '../form.js';
import { LIST_PARAMS, paginate, readListQuery } from '../list.js';
import { range, rejectUnknown, string, stringArray } from '../params.js';
import type { Collection } from '../state.js';
import { ID, type ApiContext, type Route } from './router.js';

/** Read-only endpoints: list and retrieve for every resource the fake holds, with Stripe's list filters. */

type Item = { id: string; created: number };
type Filter<T> = (value: FormValue, param: string) => (item: T) => boolean;

const createdIn: Filter<Item> = (value, param) => {
  const test = range(value, param)!;
  return (item) => test(item.created);
};

function equals<T>(field: keyof T): Filter<T> {
  return (value, param) => {
    const wanted = string(value, param) ?? null;
    return (item) => {
      const v = item[field] as unknown;
      const id = v !== null && typeof v === 'object' && 'id' in v ? (v as { id: unknown }).id : v;
      return id === wanted;
    };
  };
}

function list<T extends Item>(ctx: ApiContext, collection: Collection<T>, kind: string, filters: Record<string, Filter<T>>) {
  rejectUnknown(ctx.params, [...LIST_PARAMS, ...Object.keys(filters)]);
  const query = readListQuery(ctx.params);
  const tests = Object.entries(filters)
    .filter(([param]) => ctx.params[param] !== undefined)
    .map(([param, make]) => make(ctx.params[param]!, param));
  const page = paginate(collection.all(), query, ctx.path, kind, (item) => tests.every((t) => t(item)));
  return expand(ctx.state, page, readExpand(ctx.params));
}

function retrieve<T extends Item>(ctx: ApiContext, collection: Collection<T>, kind: string, id: string, extraParams: string[] = []) {
  rejectUnknown(ctx.params, ['expand', ...extraParams]);
  const item = collection.get(id);
  if (!item) throw resourceMissing(kind, id, 'id');
  return expand(ctx.state, item, readExpand(ctx.params));
}

/** `type=charge.*` matches by prefix, like Stripe's events list. */
const eventType: Filter<Stripe.Event> = (value, param) => {
  const wanted = string(value, param) ?? '';
  return wanted.endsWith('*') ? (e) => e.type.startsWith(wanted.slice(0, -1)) : (e) => e.type === wanted;
};

const eventTypes: Filter<Stripe.Event> = (value, param) => {
  const wanted = new Set(stringArray(value, param));
  return (e) => wanted.has(e.type);
};

export const readRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/payment_intents$/,
    handle: (ctx) => list(ctx, ctx.state.paymentIntents, 'payment_intent', { created: createdIn, customer: equals('customer') }),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/payment_intents/${ID}$`),
    handle: (ctx, id) => retrieve(ctx, ctx.state.paymentIntents, 'payment_intent', id!, ['client_secret']),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/charges$/,
    handle: (ctx) =>
      list(ctx, ctx.state.charges, 'charge', {
        created: createdIn,
        payment_intent: equals('payment_intent'),
        customer: equals('customer'),
        transfer_group: equals('transfer_group'),
      }),
  },
  { method: 'GET', pattern: new RegExp(`^/v1/charges/${ID}$`), handle: (ctx, id) => retrieve(ctx, ctx.state.charges, 'charge', id!) },
  {
    method: 'GET',
    pattern: /^\/v1\/refunds$/,
    handle: (ctx) => list(ctx, ctx.state.refunds, 'refund', { created: createdIn, charge: equals('charge'), payment_intent: equals('payment_intent') }),
  },
  { method: 'GET', pattern: new RegExp(`^/v1/refunds/${ID}$`), handle: (ctx, id) => retrieve(ctx, ctx.state.refunds, 'refund', id!) },
  {
    method: 'GET',
    pattern: /^\/v1\/disputes$/,
    handle: (ctx) => list(ctx, ctx.state.disputes, 'dispute', { created: createdIn, charge: equals('charge'), payment_intent: equals('payment_intent') }),
  },
  { method: 'GET', pattern: new RegExp(`^/v1/disputes/${ID}$`), handle: (ctx, id) => retrieve(ctx, ctx.state.disputes, 'dispute', id!) },
  {
    method: 'GET',
    pattern: /^\/v1\/payouts$/,
    handle: (ctx) =>
      list(ctx, ctx.state.payouts, 'payout', {
        created: createdIn,
        arrival_date: (value, param) => {
          const test = range(value, param)!;
          return (p) => test(p.arrival_date);
        },
        status: equals('status'),
        destination: equals('destination'),
      }),
  },
  { method: 'GET', pattern: new RegExp(`^/v1/payouts/${ID}$`), handle: (ctx, id) => retrieve(ctx, ctx.state.payouts, 'payout', id!) },
  {
    method: 'GET',
    pattern: /^\/v1\/events$/,
    handle: (ctx) => {
      if (ctx.params.type !== undefined && ctx.params.types !== undefined) throw onlyOneOf('type', 'types');
      return list(ctx, ctx.state.events, 'event', {
        created: createdIn,
        type: eventType,
        types: eventTypes,
        // Every event counts as delivered: the fake delivers only on request (control.deliver).
        delivery_success: () => () => true,
      });
    },
  },
  { method: 'GET', pattern: new RegExp(`^/v1/events/${ID}$`), handle: (ctx, id) => retrieve(ctx, ctx.state.events, 'event', id!) },
];
