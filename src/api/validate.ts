import type { z } from 'zod';
import { apiError } from './errors.ts';

/** Parses input with a schema; a mismatch is a 400 naming the first problem's path. */
export function validate<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw apiError('bad_request', `invalid request${where}: ${issue?.message ?? 'does not match the schema'}`);
}
