/**
 * The query parameters of the data-quality routes, parsed with zod at the edge, and the quarantine
 * filters they become (cube filters on data_rejects; the token's region limit is the planner's).
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { RawQuery } from '../../cube/index.ts';
import type { ApiEnv } from '../auth.ts';
import { validate } from '../validate.ts';

const whole = (max: number) =>
  z
    .union([z.number(), z.string().regex(/^\d{1,15}$/, 'must be a whole number')])
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));
const id = whole(Number.MAX_SAFE_INTEGER).pipe(z.number().min(1, 'must be 1 or more'));
const text = z.string().min(1).max(1000);

const RejectQuery = z.strictObject({
  load: id.optional(),
  file: text.optional(),
  reason: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a reason is a snake_case code')
    .optional(),
  column: text.optional(),
  status: z.enum(['resolved', 'standing']).optional(),
  limit: whole(1000).pipe(z.number().min(1, 'must be 1 or more')).default(100),
  offset: whole(100_000_000).default(0),
});
export type RejectFilter = z.infer<typeof RejectQuery>;

const LoadQuery = z.strictObject({
  source: text.optional(),
  limit: whole(1000).pipe(z.number().min(1, 'must be 1 or more')).default(100),
  offset: whole(100_000_000).default(0),
});
export type LoadFilter = z.infer<typeof LoadQuery>;

/** The request's query parameters (each given once) as an object for zod. */
function params(c: Context<ApiEnv>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(c.req.query())) if (v !== '') out[k] = v;
  return out;
}

export const rejectFilterOf = (c: Context<ApiEnv>): RejectFilter => validate(RejectQuery, params(c));
export const loadFilterOf = (c: Context<ApiEnv>): LoadFilter => validate(LoadQuery, params(c));

/** The same filters from other callers (the CLI), checked by the same schemas. */
export const parseRejectFilter = (input: Record<string, unknown>): RejectFilter =>
  validate(RejectQuery, input);
export const parseLoadFilter = (input: Record<string, unknown>): LoadFilter => validate(LoadQuery, input);

/** The quarantine filters of a request as cube filters on data_rejects. */
export function rejectCubeFilters(f: RejectFilter): NonNullable<RawQuery['filters']> {
  const eq = (member: string, value: string | number | undefined) =>
    value === undefined
      ? []
      : [{ member: `data_rejects.${member}`, operator: 'equals', values: [String(value)] }];
  return [
    ...eq('load_id', f.load),
    ...eq('source_file', f.file),
    ...eq('reason', f.reason),
    ...eq('column_name', f.column),
    ...eq('status', f.status),
  ];
}
