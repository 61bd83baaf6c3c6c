import type { RequestMeta } from '../events.js';
import type { FormObject } from '../form.js';
import type { FakeStripeState } from '../state.js';

/** The API's routing table: method + path pattern → handler returning the JSON body (status 200). */

export interface ApiContext {
  state: FakeStripeState;
  params: FormObject;
  request: RequestMeta;
  /** The request path, e.g. `/v1/charges` (a list's `url`). */
  path: string;
  /** The `Stripe-Version` the client asked for, or the account default. */
  apiVersion: string;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handle(ctx: ApiContext, ...captures: string[]): unknown;
}

export interface Match {
  route: Route;
  captures: string[];
}

/** Unknown paths and known paths with another method are both "Unrecognized request URL" on Stripe. */
export function match(routes: readonly Route[], method: string, path: string): Match | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m) return { route, captures: m.slice(1).map((c) => decodeURIComponent(c)) };
  }
  return undefined;
}

/** Path segment of an object id, e.g. the `pi_…` in /v1/payment_intents/pi_…; ids never contain a slash. */
export const ID = '([^/]+)';
