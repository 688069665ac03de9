/**
 * The JSON outputs of the command line, as zod schemas. `npm run schemas` writes them as JSON
 * Schema files to schemas/ (a test keeps those files in step with the code).
 */
import { z } from 'zod';
import { LoadHistorySchema, QuarantineSchema, RejectsExportSchema } from './api/routes/data-schemas.ts';
import {
  AudienceChangesSchema,
  AudienceExportResultSchema,
  AudienceListSchema,
  AudienceSummarySchema,
  LiftReportSchema,
  SavedAudienceSchema,
} from './campaigns/output-schemas.ts';
import { SyncResultSchema } from './cli/sync.ts';
import { LoadResultSchema } from './etl/load.ts';
import { ResolveResultSchema } from './identity/resolve.ts';
import { MiningRunSummarySchema } from './mining/steps/mine.ts';

export const OUTPUT_SCHEMAS: Record<string, z.ZodType> = {
  'load-history': LoadHistorySchema,
  'load-result': LoadResultSchema,
  'mining-run': MiningRunSummarySchema,
  quarantine: QuarantineSchema,
  'rejects-export': RejectsExportSchema,
  'resolve-result': ResolveResultSchema,
  'sync-result': SyncResultSchema,
  'audience-changes': AudienceChangesSchema,
  'audience-count': AudienceSummarySchema,
  'audience-export': AudienceExportResultSchema,
  'audience-lift': LiftReportSchema,
  'audience-list': AudienceListSchema,
  'audience-save': SavedAudienceSchema,
};

export function jsonSchemaOf(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { target: 'draft-2020-12' });
}
