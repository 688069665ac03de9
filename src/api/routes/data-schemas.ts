/**
 * The shapes of the data-quality answers as zod schemas: `crm-bi loads --json` (load-history),
 * `crm-bi loads rejects --json` (quarantine) and `crm-bi loads rejects --csv FILE --json`
 * (rejects-export) print through them, `npm run schemas` writes them to schemas/, and
 * /openapi.json describes `/v1/data/loads` and `/v1/data/rejects` with them.
 */
import { z } from 'zod';

const count = z.number().int().min(0);
const text = z.string().nullable();
const byReason = z.record(z.string(), count);

export const LoadSchema = z.object({
  load_id: z.number().int(),
  source: text.describe('the path or URL loaded'),
  source_system: text,
  profile: text,
  status: z.enum(['succeeded', 'failed', 'skipped']),
  message: text.describe('why a load failed or was skipped'),
  started_at: text,
  finished_at: text,
  seconds: z.number().nullable(),
  rows_read: count.nullable().describe('null for a region-limited caller'),
  rows_loaded: count.nullable().describe('null for a region-limited caller'),
  rows_rejected: count.nullable(),
  reject_rate: z.number().nullable().describe('rows rejected / rows read'),
  rejects_by_reason: byReason,
  warnings_by_reason: byReason.nullable(),
});

export const FreshnessSchema = z.object({
  source: z.string(),
  last_success_at: text.describe('when the newest succeeded or skipped load finished (ISO UTC)'),
  lag_seconds: z.number().nullable(),
  watermark_at: text.describe(
    'an incremental PostgreSQL source: its stalest table watermark, the newest change read (ISO UTC)',
  ),
  watermark_lag_seconds: z.number().nullable(),
});

export const LoadHistorySchema = z.object({
  loads: z.array(LoadSchema).describe('newest first'),
  total: count.describe('loads matching the filter (all pages)'),
  freshness: z.array(FreshnessSchema),
});

const facet = z
  .array(z.object({ value: z.union([z.string(), z.number(), z.null()]), count }))
  .describe('largest count first');

export const RejectRowSchema = z.object({
  load_id: z.number().int().nullable(),
  source_file: text,
  line: z.number().int().nullable().describe('line in the file, the header being line 1'),
  source_key: text.describe('row key of a PostgreSQL source'),
  entity: text,
  reason: z.string(),
  column_name: text,
  raw: text.describe('the source row as text'),
  header: z.array(z.string()).nullable().describe("the source file's column names"),
  fields: z.array(z.string()).nullable().describe('the raw row split into the fields of header'),
  bad_fields: z.array(z.number().int()).describe('indexes of the fields that broke the rule'),
  rule: z.string().describe('the rule the row broke, in words'),
  customer_id: text,
  natural_key: text,
  status: z.enum(['resolved', 'standing']),
  resolved_by_load: z.number().int().nullable(),
});

export const QuarantineSchema = z.object({
  total: count,
  counts: z
    .object({ load_id: facet, source_file: facet, reason: facet, column_name: facet, status: facet })
    .describe("counts of each facet under the other facets' filters"),
  rows: z.array(RejectRowSchema).nullable().describe('null for a role that sees counts only'),
});

export const RejectsExportSchema = z.object({
  file: z.string().describe('the CSV file written'),
  source_file: z.string().describe('the name of the source file whose layout it has'),
  rows: count,
});
