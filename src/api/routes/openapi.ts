/**
 * `GET /openapi.json`: the OpenAPI 3.1 document, built from the zod schemas the routes validate with.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../auth.ts';
import * as S from '../schemas.ts';
import { audiencePaths } from './audiences-openapi.ts';
import { BatchRequest } from './batch.ts';
import { dataPaths } from './data-openapi.ts';
import { explorePaths } from './explore-openapi.ts';
import { insightPaths } from './insights-openapi.ts';

function schema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any' });
  return rest;
}

const json = (s: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schema(s) } },
});

const errors = {
  '400': json(S.ErrorResponse, 'bad request'),
  '401': json(S.ErrorResponse, 'no or unknown token'),
  '403': json(S.ErrorResponse, 'the role may not do this'),
};

function op(
  summary: string,
  role: string | null,
  ok: { description: string; content: object },
  extra: object = {},
) {
  return {
    summary: role ? `${summary} (role: ${role} or above)` : summary,
    ...(role ? {} : { security: [] }),
    ...extra,
    responses: { '200': ok, ...(role ? errors : {}) },
  };
}

export function openApiDocument(): Record<string, unknown> {
  const queryParam = {
    name: 'query',
    in: 'query',
    required: true,
    description: 'the Cube query as JSON',
    schema: { type: 'string' },
  };
  const loadBody = {
    requestBody: { required: true, content: { 'application/json': { schema: schema(S.LoadRequest) } } },
  };
  const loadOk = {
    description:
      'Cube response; CSV with Accept: text/csv, Arrow IPC stream with Accept: application/vnd.apache.arrow.stream',
    content: {
      'application/json': { schema: schema(S.LoadResponse) },
      'text/csv': { schema: { type: 'string' } },
      'application/vnd.apache.arrow.stream': { schema: { type: 'string', format: 'binary' } },
    },
  };
  const paths: Record<string, unknown> = {
    '/healthz': { get: op('health, schema version and last load', null, json(S.HealthResponse, 'ok')) },
    '/v1/customers/{id}': {
      get: op('customer 360', 'executive', json(S.CustomerResponse, 'the customer'), {
        parameters: [{ name: 'id', in: 'path', required: true, schema: schema(S.CustomerParams.shape.id) }],
      }),
    },
    '/v1/mining/runs': {
      get: op(
        'mining runs, latest first (newest as-of, then newest created); region-limited tokens get run settings only',
        'executive',
        json(S.MiningRunsResponse, 'runs'),
      ),
    },
    '/v1/mining/runs/{id}': {
      get: op('one mining run, as the caller may see it', 'executive', json(S.MiningRunResponse, 'the run'), {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      }),
    },
    '/v1/me': {
      get: op(
        "the caller's role and the regions its token is limited to (null: every region)",
        'executive',
        json(S.MeResponse, 'role and regions'),
      ),
    },
    '/v1/segments': {
      get: op(
        'RFM segments and clusters of the latest run with their sizes (through the cube)',
        'executive',
        json(S.SegmentsResponse, 'segments'),
      ),
    },
    '/v1/segments/{name}/audience.csv': {
      get: op(
        'audience of an RFM segment or cluster (latest run) as CSV',
        'marketing',
        { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
        { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] },
      ),
    },
    '/v1/adhoc': {
      post: op(
        'read-only ad hoc SQL (one SELECT; rows capped); format csv or parquet: the result as a file',
        'analyst',
        {
          description: 'rows (json), or the result as a file (csv, parquet)',
          content: {
            ...json(S.AdhocResponse, 'rows').content,
            'text/csv': { schema: { type: 'string' } },
            'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
          },
        },
        {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schema(S.AdhocRequest) } },
          },
        },
      ),
    },
    '/v1/batch': {
      post: op(
        'several reads in one request (GET under /v1, POST /v1/load or /v1/audiences/count), each answered as the same request alone, as it completes',
        'executive',
        {
          description:
            'NDJSON, one line per read in the order they complete: {"i": index, "status": HTTP status, "retry_after"?: seconds, "body": the JSON answer}',
          content: { 'application/x-ndjson': { schema: { type: 'string' } } },
        },
        {
          requestBody: { required: true, content: { 'application/json': { schema: schema(BatchRequest) } } },
        },
      ),
    },
    ...explorePaths({ op, json, schema }),
    ...insightPaths({ op, json }),
    ...dataPaths({ op, json }),
    ...audiencePaths({ op, json, schema }),
  };
  for (const prefix of ['/v1', '/cubejs-api/v1']) {
    paths[`${prefix}/meta`] = { get: op('cubes and members', 'executive', json(S.MetaResponse, 'meta')) };
    paths[`${prefix}/load`] = {
      get: op('run a Cube query', 'executive', loadOk, { parameters: [queryParam] }),
      post: op('run a Cube query', 'executive', loadOk, loadBody),
    };
    paths[`${prefix}/sql`] = {
      get: op('compile a Cube query (dry run)', 'executive', json(S.SqlResponse, 'SQL and parameters'), {
        parameters: [queryParam],
      }),
      post: op(
        'compile a Cube query (dry run)',
        'executive',
        json(S.SqlResponse, 'SQL and parameters'),
        loadBody,
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'crm-bi API', version: '0.1.0' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: schema(S.ErrorResponse) },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

export function openApiRoutes(): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const doc = openApiDocument();
  app.get('/openapi.json', function openApi(c) {
    return c.json(doc);
  });
  return app;
}
