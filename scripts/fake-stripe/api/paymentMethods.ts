import type Stripe from 'stripe';
import { invalidParam, onlyOneOf, StripeApiError } from '../errors.js';
import type { FormObject } from '../form.js';
import { boolean, string, stringArray } from '../params.js';
import type { PaymentMethodChoice } from '../paymentIntents.js';

/**
 * Which payment methods an intent accepts, by API version:
 * - up to 2026-09-30 (endive): `payment_method_types` (an explicit list) or `automatic_payment_methods`;
 * - from endive on (stripe-node 23 pins 2026-10-28.endive): `payment_method_types` is rejected with
 *   `payment_method_types_no_longer_supported`; use dynamic payment methods (the default), optionally
 *   narrowed by `excluded_payment_method_types`, or `allowed_payment_method_types`, which excludes the others.
 * Dynamic payment methods resolve to `['card']` here (there is no Dashboard to configure).
 */

const ENDIVE = '2026-09-30';
const DYNAMIC_TYPES = ['card'];

/** Stripe-Version values are `YYYY-MM-DD` or `YYYY-MM-DD.name`; the date orders them. */
export const onOrAfter = (apiVersion: string, date: string): boolean => apiVersion.slice(0, 10) >= date;

export const PAYMENT_METHOD_PARAMS = [
  'payment_method_types',
  'allowed_payment_method_types',
  'excluded_payment_method_types',
  'automatic_payment_methods',
] as const;

function automaticParam(value: FormObject[string] | undefined): Stripe.PaymentIntent.AutomaticPaymentMethods | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParam('automatic_payment_methods', 'Invalid hash');
  const enabled = boolean(value.enabled, 'automatic_payment_methods[enabled]');
  if (enabled === undefined) throw invalidParam('automatic_payment_methods[enabled]', 'Missing required param: automatic_payment_methods[enabled].');
  const redirects = string(value.allow_redirects, 'automatic_payment_methods[allow_redirects]') ?? 'always';
  if (redirects !== 'always' && redirects !== 'never') {
    throw invalidParam('automatic_payment_methods[allow_redirects]', 'Invalid automatic_payment_methods[allow_redirects]: must be one of always or never');
  }
  return enabled ? { allow_redirects: redirects, enabled } : { enabled };
}

export function choosePaymentMethods(params: FormObject, apiVersion: string): PaymentMethodChoice {
  const explicit = stringArray(params.payment_method_types, 'payment_method_types');
  const allowed = stringArray(params.allowed_payment_method_types, 'allowed_payment_method_types');
  const excluded = stringArray(params.excluded_payment_method_types, 'excluded_payment_method_types');
  const automatic = automaticParam(params.automatic_payment_methods);

  if (explicit !== undefined && onOrAfter(apiVersion, ENDIVE)) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_method_types_no_longer_supported',
      param: 'payment_method_types',
      message: `payment_method_types is no longer supported on API version ${apiVersion}. Use dynamic payment methods, excluded_payment_method_types or allowed_payment_method_types instead.`,
    });
  }
  if (allowed !== undefined) {
    const clash = PAYMENT_METHOD_PARAMS.find((p) => p !== 'allowed_payment_method_types' && params[p] !== undefined);
    if (clash) throw onlyOneOf('allowed_payment_method_types', clash);
  }
  if (explicit !== undefined && automatic !== undefined) throw onlyOneOf('automatic_payment_methods', 'payment_method_types');

  for (const [list, param] of [[explicit, 'payment_method_types'], [allowed, 'allowed_payment_method_types']] as const) {
    if (list?.length === 0) throw invalidParam(param, `${param} must not be empty.`);
  }
  if (explicit) return { types: explicit, allowed: null, excluded: excluded ?? null, automatic: null };
  if (allowed) return { types: allowed, allowed, excluded: null, automatic: null };
  if (automatic && !automatic.enabled) return { types: DYNAMIC_TYPES, allowed: null, excluded: excluded ?? null, automatic };
  return {
    types: DYNAMIC_TYPES.filter((t) => !excluded?.includes(t)),
    allowed: null,
    excluded: excluded ?? null,
    automatic: automatic ?? { allow_redirects: 'always', enabled: true },
  };
}
