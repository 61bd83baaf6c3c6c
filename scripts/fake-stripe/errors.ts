/**
 * Stripe's v1 error responses: `{ error: { type, message, code?, param?, doc_url? } }` with the HTTP status
 * the SDK maps to its error classes (400/404 → StripeInvalidRequestError, or StripeIdempotencyError when
 * `type` is `idempotency_error`; 401 → StripeAuthenticationError; 402 → StripeCardError; 5xx → StripeAPIError).
 */

export type StripeErrorType = 'invalid_request_error' | 'idempotency_error' | 'card_error' | 'api_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
  request_log_url?: string;
}

export class StripeApiError extends Error {
  override name = 'StripeApiError';
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`;

function invalid(status: number, code: string | undefined, message: string, param?: string): StripeApiError {
  return new StripeApiError(status, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code, doc_url: docUrl(code) } : {}),
    ...(param ? { param } : {}),
  });
}

export const missingParam = (param: string) => invalid(400, 'parameter_missing', `Missing required param: ${param}.`, param);
export const unknownParam = (param: string, hint = 'Did you mean to use a different parameter?') =>
  invalid(400, 'parameter_unknown', `Received unknown parameter: ${param}. ${hint}`, param);
export const invalidInteger = (param: string, value: unknown) =>
  invalid(400, 'parameter_invalid_integer', `Invalid integer: ${typeof value === 'string' ? value : JSON.stringify(value)}`, param);
export const invalidString = (param: string) => invalid(400, 'parameter_invalid_string', `Invalid string: expected a string for ${param}.`, param);
export const invalidParam = (param: string, message: string) => invalid(400, undefined, message, param);
export const onlyOneOf = (...params: string[]) =>
  invalid(400, undefined, `You may only specify one of these parameters: ${params.join(', ')}.`, params[0]);
export const resourceMissing = (kind: string, id: string, param: string) =>
  invalid(404, 'resource_missing', `No such ${kind}: '${id}'`, param);
export const unexpectedState = (code: string, message: string) => invalid(400, code, message);
export const malformedRequest = (message: string) => invalid(400, undefined, message);

export const unrecognizedUrl = (method: string, path: string) =>
  invalid(404, undefined, `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`);

export const noApiKey = () =>
  invalid(
    401,
    undefined,
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
  );

/** Stripe echoes the wrong key with its middle starred out. */
export const invalidApiKey = (key: string) => {
  const shown = key.length <= 12 ? '*'.repeat(key.length) : `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
  return invalid(401, undefined, `Invalid API Key provided: ${shown}`);
};

export const idempotencyEndpointMismatch = (key: string, first: string, now: string) =>
  new StripeApiError(400, {
    type: 'idempotency_error',
    message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${first}' vs '${now}'). Try using a key other than '${key}' if you meant to execute a different request.`,
  });

export const idempotencyParamsMismatch = (key: string) =>
  new StripeApiError(400, {
    type: 'idempotency_error',
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  });

export const injectedFault = (status: number) =>
  new StripeApiError(status, {
    type: status === 429 ? 'invalid_request_error' : 'api_error',
    message:
      status === 429
        ? 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.'
        : 'An unknown error occurred (fake-stripe injected fault).',
    ...(status === 429 ? { code: 'rate_limit', doc_url: docUrl('rate_limit') } : {}),
  });
