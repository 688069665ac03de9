import { z } from 'zod';
import { parseDate, SUPPORTED_DATES } from '../cube/time.ts';
import { apiError } from './errors.ts';

/** Parses input with a schema; a mismatch is a 400 naming the first problem's path. */
export function validate<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw apiError('bad_request', `invalid request${where}: ${issue?.message ?? 'does not match the schema'}`);
}

/**
 * A calendar day 'YYYY-MM-DD' within the dates every route supports (SUPPORTED_DATES, the same
 * range the cube accepts): 2024-02-30 and 9999-12-31 are 400s, not errors deep in a query.
 *
 * @example
 * validate(z.object({ from: IsoDate.optional() }), { from: '2024-02-30' }); // 400: not a calendar date
 */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD')
  .refine(
    (s) => parseDate(s) !== undefined,
    `not a calendar date between ${SUPPORTED_DATES.first} and ${SUPPORTED_DATES.last}`,
  );
