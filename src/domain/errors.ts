/**
 * Errors are values with a code. Domain and service code throw these; one HTTP middleware maps
 * them to a status and the `{ data: null, error }` envelope. Anything else is a 500 that leaks nothing.
 */
export type ErrorDetails = Record<string, unknown> | ReadonlyArray<Record<string, unknown>>;

export abstract class AppError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  field: string;
  rule: string;
  message: string;
}

export class ValidationError extends AppError {
  readonly status = 400;
  constructor(problems: FieldProblem[], message = describeProblems(problems)) {
    super('validation_failed', message, problems as unknown as ReadonlyArray<Record<string, unknown>>);
  }
}

function describeProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.field} ${p.message}`).join('; ') || 'Invalid request';
}

export class BadRequestError extends AppError {
  readonly status = 400;
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
}

export class ForbiddenError extends AppError {
  readonly status = 403;
}

export class NotFoundError extends AppError {
  readonly status = 404;
  constructor(resource: string, id?: string) {
    super('not_found', id === undefined ? `${resource} not found` : `${resource} ${id} not found`, { resource });
  }
}

export class ConflictError extends AppError {
  readonly status = 409;
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
}

/** The request is well-formed but the business rules refuse it (insufficient credit, over-payment ...). */
export class UnprocessableError extends AppError {
  readonly status = 422;
}

export class RateLimitedError extends AppError {
  readonly status = 429;
}

export class ServiceUnavailableError extends AppError {
  readonly status = 503;
}

/** A dependency we called (Horizon, an external risk provider) failed or answered something unusable. */
export class BadGatewayError extends AppError {
  readonly status = 502;
}

/** A dependency we called did not answer in time. */
export class GatewayTimeoutError extends AppError {
  readonly status = 504;
}
