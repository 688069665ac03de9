/**
 * The OpenAPI paths of the audience routes (routes/audiences.ts); openapi.ts adds them to
 * /openapi.json. The answers are the `crm-bi audience --json` outputs (campaigns/output-schemas.ts);
 * docs/campaigns.md describes the definition and the answers.
 */
import {
  AudienceChangesSchema,
  AudienceListSchema,
  AudienceSummarySchema,
  LiftReportSchema,
  SavedAudienceSchema,
} from '../../campaigns/output-schemas.ts';
import { CountRequest, ExportRequest, LiftQuery, SaveRequest } from './audiences.ts';
import { jsonBody, jsonOp, type OpenApiHelpers, queryParam } from './openapi-ops.ts';

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

export function audiencePaths(h: OpenApiHelpers): Record<string, unknown> {
  const liftParams = Object.keys(LiftQuery.shape).map((name) =>
    queryParam(
      name,
      name === 'cost' ? "the campaign's cost" : 'a day, YYYY-MM-DD',
      'string',
      name === 'after',
    ),
  );
  return {
    '/v1/audiences': {
      get: jsonOp(h, {
        summary: 'saved audiences with the members the caller can see',
        role: 'executive',
        description: 'audiences',
        answer: AudienceListSchema,
      }),
      post: jsonOp(h, {
        summary: 'save an audience: members frozen, a seeded control group held out (default 10%)',
        role: 'marketing',
        description: 'the saved audience',
        status: 201,
        answer: SavedAudienceSchema,
        body: SaveRequest,
      }),
    },
    '/v1/audiences/count': {
      post: jsonOp(h, {
        summary: 'live count of an audience: customers, total CLV, expected revenue',
        role: 'executive',
        description: 'the summary',
        answer: AudienceSummarySchema,
        body: CountRequest,
      }),
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
        { requestBody: jsonBody(h, ExportRequest) },
      ),
    },
    '/v1/audiences/{id}/changes': {
      get: jsonOp(h, {
        summary: 'who joined and who left a saved audience on the latest run',
        role: 'executive',
        description: 'changes',
        answer: AudienceChangesSchema,
        parameters: [idParam],
      }),
    },
    '/v1/audiences/{id}/lift': {
      get: jsonOp(h, {
        summary: "lift report: treated vs control after a date (Welch's t, 95%)",
        role: 'executive',
        description: 'the report',
        answer: LiftReportSchema,
        parameters: [idParam, ...liftParams],
      }),
    },
  };
}
