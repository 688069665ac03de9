/**
 * The OpenAPI paths of the Explorer and Segmentation routes (routes/explore.ts), built from the
 * same zod schemas the routes validate with; openapi.ts adds them to /openapi.json.
 */
import { z } from 'zod';
import {
  CellParams,
  CohortParams,
  DrillRequest,
  MigrationParams,
  RollUpRequest,
  RunParams,
} from './explore.ts';

type Schema = (s: z.ZodType) => Record<string, unknown>;
type Json = (s: z.ZodType, description: string) => { description: string; content: object };
type Op = (
  summary: string,
  role: string | null,
  ok: { description: string; content: object },
  extra?: object,
) => object;

const Answer = z.record(z.string(), z.unknown());
const QueryAnswer = z.object({ query: z.record(z.string(), z.unknown()) });

export function explorePaths(h: { op: Op; json: Json; schema: Schema }): Record<string, unknown> {
  const region = {
    name: 'region',
    in: 'query',
    required: false,
    description: 'narrow to these regions (repeatable); never wider than the token allows',
    schema: { type: 'string' },
  };
  const params = (shape: z.ZodObject) => ({
    parameters: [
      ...Object.entries(shape.shape).map(([name, s]) => ({
        name,
        in: 'query',
        required: !(s as z.ZodType).safeParse(undefined).success,
        schema: h.schema(s as z.ZodType),
      })),
      region,
    ],
  });
  const get = (summary: string, shape: z.ZodObject) => ({
    get: h.op(summary, 'executive', h.json(Answer, 'the figures'), params(shape)),
  });
  const post = (summary: string, body: z.ZodType) => ({
    post: h.op(summary, 'executive', h.json(QueryAnswer, 'the next query'), {
      requestBody: { required: true, content: { 'application/json': { schema: h.schema(body) } } },
    }),
  });
  return {
    '/v1/explore/drill': post(
      'drill down: the clicked value becomes a filter, one level finer',
      DrillRequest,
    ),
    '/v1/explore/rollup': post('roll up: one level coarser, the drill filter removed', RollUpRequest),
    '/v1/segmentation/rfm-grid': get(
      'RFM grid: customers and value per (recency, frequency) score',
      RunParams,
    ),
    '/v1/segmentation/rfm-grid/customers': get('customers of one RFM grid cell', CellParams),
    '/v1/segmentation/segments': get('RFM segment cards: size, shares, mean scores', RunParams),
    '/v1/segmentation/clusters': get('cluster profiles of a run', RunParams),
    '/v1/segmentation/migration': get('segment migration matrix between two runs', MigrationParams),
    '/v1/segmentation/cohorts': get('cohort retention: first-purchase month × months since', CohortParams),
  };
}
