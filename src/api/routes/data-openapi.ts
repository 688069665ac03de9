/**
 * The OpenAPI paths of the data-quality routes (routes/data.ts); openapi.ts adds them to
 * /openapi.json. docs/data-quality.md lists the answers' fields.
 */
import { z } from 'zod';
import { LoadHistorySchema, QuarantineSchema } from './data-schemas.ts';
import { jsonOp, type OpenApiHelpers, queryParam as query } from './openapi-ops.ts';

const paging = [
  query('limit', 'rows, 1–1000 (default 100)', 'integer'),
  query('offset', 'rows to skip (default 0)', 'integer'),
];

const rejectFilters = [
  query('load', 'load id', 'integer'),
  query('file', 'source file, as listed in counts.source_file'),
  query('reason', 'reason code, e.g. invalid_date'),
  query('column', 'column the rule names'),
  query('status', 'resolved or standing'),
];

export function dataPaths(h: OpenApiHelpers): Record<string, unknown> {
  const csv = {
    description: 'CSV in the source file’s layout',
    content: { 'text/csv': { schema: { type: 'string' } } },
  };
  return {
    '/v1/data/loads': {
      get: jsonOp(h, {
        summary: 'load history, reject counts by reason, freshness per source',
        role: 'executive',
        description: 'the loads',
        answer: LoadHistorySchema,
        parameters: [query('source', 'source system'), ...paging],
      }),
    },
    '/v1/data/rejects': {
      get: jsonOp(h, {
        summary:
          'the quarantine: counts by reason, column, file, load, status; raw rows for analyst and admin',
        role: 'executive',
        description: 'the rejects',
        answer: QuarantineSchema.extend({ limit: z.number().int(), offset: z.number().int() }),
        parameters: [...rejectFilters, ...paging],
      }),
    },
    '/v1/data/rejects.csv': {
      get: h.op(
        'rejects of one source file as CSV, formula-safe, in the file’s own columns',
        'analyst',
        csv,
        {
          parameters: rejectFilters,
        },
      ),
    },
    '/v1/data/checks': {
      get: jsonOp(h, {
        summary: 'quality checks per source and their trend across loads, with warning limits',
        role: 'executive',
        description: 'the checks',
      }),
    },
  };
}
