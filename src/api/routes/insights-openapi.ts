/**
 * The OpenAPI paths of the insights routes (routes/insights.ts and its topic modules under
 * routes/insights/); openapi.ts adds them to /openapi.json. Answers are described as JSON objects;
 * docs/api.md lists their fields.
 */
import { z } from 'zod';

export type Json = (s: z.ZodType, description: string) => { description: string; content: object };
export type Op = (
  summary: string,
  role: string | null,
  ok: { description: string; content: object },
  extra?: object,
) => object;

const Answer = z.record(z.string(), z.unknown());

const filterParams = [
  {
    name: 'region',
    description: 'customer regions (repeatable or comma list); never wider than the token allows',
  },
  { name: 'segment', description: 'RFM segments of the latest run (repeatable or comma list)' },
].map((p) => ({ ...p, in: 'query', required: false, schema: { type: 'string' } }));

const query = (name: string, description: string, required = false, type = 'string') => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type },
});
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export function insightPaths(h: { op: Op; json: Json }): Record<string, unknown> {
  const get = (summary: string, parameters: object[]) => ({
    get: h.op(summary, 'executive', h.json(Answer, 'the figures'), { parameters }),
  });
  return {
    '/v1/insights/overview': get('period KPIs: active, new, returning, retained customers; mean CLV by run', [
      query('from', 'first day, YYYY-MM-DD', true),
      query('to', 'last day, YYYY-MM-DD', true),
      ...filterParams,
    ]),
    '/v1/insights/distribution': get('histogram of a latest-run score', [
      query('measure', 'clv, p_alive or churn_probability', true),
      query('bins', 'number of bins, 2–200 (default 20)', false, 'integer'),
      ...filterParams,
    ]),
    '/v1/insights/clv/pareto': get('share of customers vs. share of CLV', filterParams),
    '/v1/insights/clv/report-card': get(
      'holdout check of the CLV model: tracking curve, MAE, bias (withheld from a region-limited token)',
      [],
    ),
    '/v1/insights/clv/alive-matrix': get('mean P(alive) by repeat purchases × recency', filterParams),
    '/v1/insights/churn/at-risk': get('customers ranked by CLV × churn probability', [
      query('limit', 'rows, 1–1000 (default 50)', false, 'integer'),
      ...filterParams,
    ]),
    '/v1/insights/churn/quality': get('AUC, calibration and lift of the churn scores', filterParams),
    '/v1/insights/customers/{id}/churn-reasons': get('why a customer’s churn score is what it is', [idParam]),
    '/v1/insights/customers/{id}/scores': get('every mining run’s scores for a customer', [idParam]),
  };
}
