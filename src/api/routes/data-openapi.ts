/**
 * The OpenAPI paths of the data-quality routes (routes/data.ts); openapi.ts adds them to
 * /openapi.json. docs/data-quality.md lists the answers' fields.
 */
import { z } from 'zod';
import { LoadHistorySchema, QuarantineSchema } from './data-schemas.ts';
import type { Json, Op } from './insights-openapi.ts';

const Answer = z.record(z.string(), z.unknown());

const query = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type },
});

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

export function dataPaths(h: { op: Op; json: Json }): Record<string, unknown> {
  const csv = {
    description: 'CSV in the source file’s layout',
    content: { 'text/csv': { schema: { type: 'string' } } },
  };
  return {
    '/v1/data/loads': {
      get: h.op(
        'load history, reject counts by reason, freshness per source',
        'executive',
        h.json(LoadHistorySchema, 'the loads'),
        {
          parameters: [query('source', 'source system'), ...paging],
        },
      ),
    },
    '/v1/data/rejects': {
      get: h.op(
        'the quarantine: counts by reason, column, file, load, status; raw rows for analyst and admin',
        'executive',
        h.json(QuarantineSchema.extend({ limit: z.number().int(), offset: z.number().int() }), 'the rejects'),
        { parameters: [...rejectFilters, ...paging] },
      ),
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
      get: h.op(
        'quality checks per source and their trend across loads, with warning limits',
        'executive',
        h.json(Answer, 'the checks'),
      ),
    },
  };
}
