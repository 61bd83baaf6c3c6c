import { z } from 'zod';
import { ValidationError, type FieldProblem } from '../../domain/errors.js';
import { AmountFormatError, parsePositiveAmount } from '../../domain/money.js';
import { isStellarAddress } from '../../domain/stellarAddress.js';

const RULE_BY_CODE: Record<string, string> = {
  invalid_type: 'type',
  too_small: 'min',
  too_big: 'max',
  invalid_format: 'format',
  invalid_value: 'enum',
  unrecognized_keys: 'unknown_field',
};

function toProblems(error: z.ZodError, location: string): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    const field = issue.path.length > 0 ? issue.path.join('.') : location;
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: key, rule: 'unknown_field', message: 'is not a recognised field' }));
    }
    const rule = (issue.code === 'custom' && (issue.params as { rule?: string } | undefined)?.rule) || RULE_BY_CODE[issue.code] || issue.code;
    return [{ field, rule, message: issue.message }];
  });
}

/** Parses a request part with a zod schema; failures are a 400 naming each field and the rule it broke. */
export function parse<Schema extends z.ZodType>(schema: Schema, value: unknown, location: 'body' | 'query' | 'params'): z.output<Schema> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ValidationError(toProblems(result.error, location));
  return result.data;
}

/** A positive token amount as a decimal string ("125.5"), parsed to base units. */
export const amountSchema = z
  .string({ error: 'must be a decimal string such as "125.5" (JSON numbers are not accepted for money)' })
  .transform((value, ctx) => {
    try {
      return parsePositiveAmount(value);
    } catch (error) {
      if (!(error instanceof AmountFormatError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, params: { rule: error.rule } });
      return z.NEVER;
    }
  });

export const stellarAddressSchema = z
  .string({ error: 'must be a string' })
  .refine(isStellarAddress, { message: 'must be a valid Stellar account (G...) or contract (C...) address', params: { rule: 'stellar_address' } });

export const interestRateBpsSchema = z
  .number({ error: 'must be an integer number of basis points' })
  .int({ error: 'must be an integer number of basis points' })
  .min(0, { error: 'must be between 0 and 10000 basis points' })
  .max(10_000, { error: 'must be between 0 and 10000 basis points' });

export const paginationSchema = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, { error: 'must be an integer from 1 to 100' })
    .optional()
    .transform((value) => (value === undefined ? 20 : Number(value)))
    .pipe(z.number().int().min(1, { error: 'must be an integer from 1 to 100' }).max(100, { error: 'must be an integer from 1 to 100' })),
  cursor: z.string().min(1).max(512).optional(),
});

export const uuidParam = z.strictObject({ id: z.uuid({ error: 'must be a UUID' }) });
