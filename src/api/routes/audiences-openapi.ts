/**
 * The OpenAPI paths of the audience routes (routes/audiences.ts); openapi.ts adds them to
 * /openapi.json. docs/campaigns.md describes the definition and the answers.
 */
import { z } from 'zod';
import { CountRequest, ExportRequest, LiftQuery, SaveRequest } from './audiences.ts';
import type { Json, Op } from './insights-openapi.ts';

type Schema = (s: z.ZodType) => Record<string, unknown>;

const Answer = z.record(z.string(), z.unknown());
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

export function audiencePaths(h: { op: Op; json: Json; schema: Schema }): Record<string, unknown> {
  const body = (s: z.ZodType) => ({
    requestBody: { required: true, content: { 'application/json': { schema: h.schema(s) } } },
  });
  const liftParams = Object.keys(LiftQuery.shape).map((name) => ({
    name,
    in: 'query',
    required: name === 'after',
    schema: { type: 'string' },
  }));
  return {
    '/v1/audiences': {
      get: h.op(
        'saved audiences with the members the caller can see',
        'executive',
        h.json(Answer, 'audiences'),
      ),
      post: h.op(
        'save an audience: members frozen, a seeded control group held out (default 10%)',
        'marketing',
        h.json(Answer, 'the saved audience'),
        body(SaveRequest),
      ),
    },
    '/v1/audiences/count': {
      post: h.op(
        'live count of an audience: customers, total CLV, expected revenue',
        'executive',
        h.json(Answer, 'the summary'),
        body(CountRequest),
      ),
    },
    '/v1/audiences/export': {
      post: h.op(
        'export an audience (or the treated members of a saved one) as CSV or Parquet; logged',
        'marketing',
        {
          description: 'the file',
          content: {
            'text/csv': { schema: { type: 'string' } },
            'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
          },
        },
        body(ExportRequest),
      ),
    },
    '/v1/audiences/{id}/changes': {
      get: h.op(
        'who joined and who left a saved audience on the latest run',
        'executive',
        h.json(Answer, 'changes'),
        {
          parameters: [idParam],
        },
      ),
    },
    '/v1/audiences/{id}/lift': {
      get: h.op(
        "lift report: treated vs control after a date (Welch's t, 95%)",
        'executive',
        h.json(Answer, 'the report'),
        {
          parameters: [idParam, ...liftParams],
        },
      ),
    },
  };
}
