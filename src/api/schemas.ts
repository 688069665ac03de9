/**
 * Request and response schemas of the HTTP API. Requests are validated with these at the edge, and
 * /openapi.json is generated from the same objects (z.toJSONSchema).
 */
import { z } from 'zod';
import { RoleSchema } from '../db/token-store.ts';

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

/** A Cube query (validated in depth by the cube layer), as an object or JSON text. */
export const CubeQuery = z.union([
  z.record(z.string(), z.unknown()),
  z.array(z.record(z.string(), z.unknown())),
]);

export const LoadRequest = z.looseObject({ query: z.union([CubeQuery, z.string()]) }).meta({
  description: 'A Cube query, as Cube REST clients send it (other keys, e.g. queryType, are ignored)',
});

export const LoadResponse = z
  .object({
    query: z.record(z.string(), z.unknown()).optional(),
    data: z.array(z.record(z.string(), z.unknown())).optional(),
    annotation: z.record(z.string(), z.unknown()).optional(),
    results: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .meta({ description: "Cube's /v1/load response (or a compareDateRange response with `results`)" });

export const SqlResponse = z.object({
  sql: z.object({
    sql: z.tuple([z.string(), z.array(z.unknown())]),
    rollup: z.string().nullable(),
  }),
});

export const MetaResponse = z.object({ cubes: z.array(z.record(z.string(), z.unknown())) });

export const HealthResponse = z.object({
  status: z.enum(['ok']),
  schema_version: z.number(),
  last_load: z
    .object({ load_id: z.number(), finished_at: z.string().nullable(), status: z.string() })
    .nullable(),
  /** ISO 4217 code of the money amounts when every source naming one agrees (docs/dashboards.md). */
  currency: z.string().nullable(),
  /** Freshness per source system (see docs/postgres.md). */
  sources: z.array(
    z.object({
      source: z.string(),
      profile: z.string(),
      currency: z.string().nullable(),
      last_success: z.object({
        load_id: z.number(),
        finished_at: z.string().nullable(),
        lag_seconds: z.number().nullable(),
      }),
      watermark: z.object({ at: z.string(), lag_seconds: z.number() }).nullable(),
    }),
  ),
});

export const AdhocRequest = z.object({
  sql: z.string().min(1).max(100_000),
  /** json (default): the rows in the body; csv or parquet: the whole result as a file to save. */
  format: z.enum(['json', 'csv', 'parquet']).default('json'),
});

export const AdhocResponse = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.unknown())),
  truncated: z.boolean(),
  ms: z.number(),
});

export const MiningRunResponse = z.object({
  run_id: z.number(),
  as_of: z.string(),
  kind: z.string(),
  params: z.unknown(),
  metrics: z.unknown(),
  created_at: z.string(),
  /** Parts of the record left out for this caller (paths, code version; figures over other regions). */
  withheld: z.array(z.string()).optional(),
});

export const MiningRunsResponse = z.object({ runs: z.array(MiningRunResponse) });

/** `GET /v1/me`: the caller's role and the regions its token is limited to (null: every region). */
export const MeResponse = z.object({
  role: RoleSchema,
  regions: z.array(z.string()).nullable(),
});

export const SegmentsResponse = z.object({
  segments: z.array(
    z.object({
      kind: z.enum(['rfm_segment', 'cluster']),
      name: z.string(),
      run_id: z.number(),
      customers: z.number(),
    }),
  ),
});

const Rows = z.array(z.record(z.string(), z.unknown()));

export const CustomerResponse = z.object({
  customer: z.record(z.string(), z.unknown()),
  history: Rows,
  orders: Rows,
  tickets: Rows,
  campaign_touches: Rows,
  scores: z.object({
    rfm: z.record(z.string(), z.unknown()).nullable(),
    segment: z.record(z.string(), z.unknown()).nullable(),
    churn: z.record(z.string(), z.unknown()).nullable(),
    clv: z.record(z.string(), z.unknown()).nullable(),
  }),
});

export const CustomerParams = z.object({ id: z.string().min(1).max(200) });
