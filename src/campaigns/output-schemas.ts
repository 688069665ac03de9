/**
 * The `--json` outputs of `crm-bi audience` (and the same bodies from /v1/audiences), as zod
 * schemas: the command prints each output through its schema, and `npm run schemas` writes them to
 * schemas/audience-*.json (src/schemas.ts).
 */
import { z } from 'zod';
import { LIFT_METHOD } from './lift.ts';

const count = z.number().int().min(0);
const id = z.number().int().min(1);

/** `audience count --json`, POST /v1/audiences/count. */
export const AudienceSummarySchema = z.strictObject({
  customers: count.describe('golden customers of the latest run that match, as the caller sees them'),
  total_clv: z.number().describe('sum of their CLV'),
  expected_revenue: z.number().describe('expected purchases × expected purchase value over the CLV horizon'),
});

/** `audience save --json`, POST /v1/audiences (201). */
export const SavedAudienceSchema = z.strictObject({
  audience_id: id,
  name: z.string(),
  run_id: id.describe('the mining run the members were frozen from'),
  created_by: z.string().describe("token:<id>, 'demo', or cli:<user>"),
  control_share: z.number().min(0).max(0.9),
  seed: z.number().int().min(0).describe('seed of the control draw (stored)'),
  members: count,
  control: count.describe('held out: never exported'),
  treated: count,
});

/** One saved audience in `audience list --json`, GET /v1/audiences. */
export const StoredAudienceSchema = z.strictObject({
  audience_id: id,
  name: z.string(),
  // an object here, not the recursive definition schema: its $ref would not resolve inside /openapi.json
  definition: z
    .record(z.string(), z.unknown())
    .describe('a condition { field, op, value | values } or { and | or: [...] } (docs/campaigns.md)'),
  run_id: id,
  created_at: z.string().describe('ISO timestamp'),
  created_by: z.string(),
  control_share: z.number().min(0).max(0.9),
  seed: z.number().int().min(0),
  members: count.describe('members the caller can see'),
  control: count,
});

export const AudienceListSchema = z.strictObject({ audiences: z.array(StoredAudienceSchema) });

/** `audience changes --json`, GET /v1/audiences/{id}/changes. */
export const AudienceChangesSchema = z.strictObject({
  audience_id: id,
  saved_run_id: id,
  latest_run_id: id,
  stayed: count,
  joined: count,
  left: count,
  joined_keys: z.array(z.number().int()).max(100).describe('up to 100 golden customer keys'),
  left_keys: z.array(z.number().int()).max(100),
});

/** `audience export --json` (needs --out). */
export const AudienceExportResultSchema = z.strictObject({
  rows: count.describe('customers written (treated members only for a saved audience)'),
  run_id: id,
  file_name: z.string(),
  audience_id: id.nullable().describe('null for an export of an unsaved definition'),
  out: z.string().describe('the file written'),
});

const interval = z.strictObject({
  difference: z.number().describe('mean treated − mean control, per customer'),
  standard_error: z.number(),
  df: z
    .number()
    .nullable()
    .describe('Welch–Satterthwaite degrees of freedom; null when both groups are constant'),
  t: z
    .number()
    .nullable()
    .describe('the t statistic (difference / standard error); null with a zero standard error'),
  low: z.number(),
  high: z.number(),
  confidence: z.number(),
});

const group = z.strictObject({
  customers: count,
  purchases_per_customer: z.number(),
  revenue_per_customer: z.number(),
  margin_per_customer: z.number(),
});

const scaled = z.strictObject({ estimate: z.number(), low: z.number(), high: z.number() });

/** `audience lift --json`, GET /v1/audiences/{id}/lift. */
export const LiftReportSchema = z.strictObject({
  audience_id: id,
  after: z.string().describe('first day counted, YYYY-MM-DD'),
  until: z.string().nullable().describe('last day counted, or null (open-ended)'),
  method: z.literal(LIFT_METHOD),
  treated: group,
  control: group,
  difference: z.strictObject({ purchases: interval, revenue: interval, margin: interval }),
  incremental_revenue: scaled.describe('revenue difference × treated customers'),
  incremental_margin: scaled,
  cost: z.number().nullable(),
  net_margin: z.number().nullable().describe('incremental margin − cost; null without a cost'),
  verdict: z.enum(['no measurable effect yet', 'measurable lift', 'measurable drop']),
});
