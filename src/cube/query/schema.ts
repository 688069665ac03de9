/**
 * The shape of Cube's query JSON (plus our `subtotals` and `calculations`). Filters and order are
 * only shape-checked as arrays/objects here; parse.ts reads them with bounded depth and typed
 * values.
 */
import { z } from 'zod';

const member = z.string().max(200);
const range = z.union([z.string().max(100), z.array(z.string().max(100)).max(2)]);

export const rawQuerySchema = z.strictObject({
  measures: z.array(member).optional(),
  dimensions: z.array(member).optional(),
  segments: z.array(member).optional(),
  timeDimensions: z
    .array(
      z.strictObject({
        dimension: member,
        granularity: z.string().max(50).nullable().optional(),
        dateRange: range.optional(),
        compareDateRange: z.array(range).max(12).optional(),
      }),
    )
    .optional(),
  filters: z.array(z.unknown()).optional(),
  order: z.unknown().optional(),
  limit: z.number().int('must be a whole number').min(0).optional(),
  offset: z.number().int('must be a whole number').min(0).optional(),
  total: z.boolean().optional(),
  ungrouped: z.boolean().optional(),
  timezone: z.string().max(100).optional(),
  renewQuery: z.boolean().optional(),
  rowLimit: z.number().int().min(0).optional(),
  subtotals: z
    .union([
      z.enum(['rollup', 'cube']),
      z.strictObject({ rollup: z.array(member) }),
      z.strictObject({ cube: z.array(member) }),
      z.strictObject({ groupingSets: z.array(z.array(member)).max(64) }),
    ])
    .optional(),
  calculations: z
    .array(
      z.strictObject({
        measure: member,
        type: z.enum(['percentOfTotal', 'runningTotal', 'previousPeriod', 'periodOverPeriod']),
      }),
    )
    .optional(),
});

export type RawQueryShape = z.infer<typeof rawQuerySchema>;

export const QUERY_KEYS = Object.keys(rawQuerySchema.shape);
