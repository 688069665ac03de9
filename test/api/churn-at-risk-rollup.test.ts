/**
 * `GET /v1/insights/churn/at-risk` once the rollups are built: answered from
 * `rollup.customer_scores__at_risk_list` (no score table read), with the answer the unrouted route
 * gives and the ranking and totals hand-written SQL gives, for every caller, a Europe-only token and
 * the page's region and segment filters alike. CLVs and churn probabilities are rounded first, so
 * many customers share their value at risk and the ranking's tie-break (customer id) decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, largestRfmSegment, quietApp } from './fixture.ts';

interface AtRisk {
  total_value_at_risk: number | null;
  at_risk_customers: number;
  customers: { customer_id: string; region: string; value_at_risk: number; clv: number }[];
}

let f: ApiFixture;
let segment: string;
const unrouted = new Map<string, AtRisk>();
const paths = () => [
  '/v1/insights/churn/at-risk?limit=40',
  '/v1/insights/churn/at-risk?limit=25&region=Europe',
  `/v1/insights/churn/at-risk?limit=25&segment=${encodeURIComponent(segment)}`,
];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });

async function atRisk(path: string, token: string): Promise<AtRisk> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as AtRisk;
}

beforeAll(async () => {
  f = await apiFixture();
  await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
  await f.db.run('UPDATE mining.customer_churn SET churn_probability = round(churn_probability, 1)');
  await f.db.run('UPDATE mining.customer_clv SET clv = round(clv / 50) * 50');
  segment = await largestRfmSegment(f.db);
  for (const path of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, await atRisk(path, token));
  await buildRollups(f.db, f.model);
}, 180_000);
afterAll(() => f?.cleanup());

describe('the at-risk ranking from the rollup load and mine build', () => {
  it('reads rollup.customer_scores__at_risk_list, not the score tables', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      await atRisk(paths()[1] as string, f.tokens.europe);
    });
    expect(sql.filter((s) => s.includes('customer_scores__at_risk_list')).length).toBe(2);
    for (const s of sql) {
      expect(s).not.toContain('customer_churn');
      expect(s).not.toContain('customer_clv');
    }
  });

  it('gives the unrouted answer for every caller and filter', async () => {
    for (const path of paths())
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`) as AtRisk;
        expect(want.customers.length, `${who} ${path}`).toBeGreaterThan(0);
        expect(await atRisk(path, token), `${who} ${path}`).toEqual(want);
      }
  });

  it('ranks and totals as hand-written SQL does, ties broken by customer id', async () => {
    const latest = 'SELECT run_id FROM mining.latest_run';
    for (const [path, token, where, limit] of [
      [paths()[0], f.tokens.executive, 'true', 40],
      [paths()[0], f.tokens.europe, `c.region = 'Europe'`, 40],
      [paths()[1], f.tokens.executive, `c.region = 'Europe'`, 25],
      [paths()[2], f.tokens.executive, `r.rfm_segment = $1`, 25],
    ] as const) {
      const rows = await f.db.all(
        `SELECT c.customer_id, v.clv * ch.churn_probability AS var, ch.churn_probability AS p
         FROM core.dim_customer c
         JOIN mining.customer_clv v ON v.customer_durable_key = c.customer_durable_key AND v.run_id = (${latest})
         JOIN mining.customer_churn ch
           ON ch.customer_durable_key = c.customer_durable_key AND ch.run_id = (${latest})
         LEFT JOIN mining.customer_rfm r
           ON r.customer_durable_key = c.customer_durable_key AND r.run_id = (${latest})
         WHERE c.is_current AND v.clv IS NOT NULL AND ch.churn_probability IS NOT NULL AND ${where}
         ORDER BY var DESC, c.customer_id`,
        where.includes('$1') ? [segment] : [],
      );
      const got = await atRisk(path as string, token);
      const top = rows.slice(0, limit);
      // ties: customers of the list share their value at risk, so the customer id orders them
      expect(new Set(top.map((r) => Number(r.var))).size, path).toBeLessThan(top.length);
      expect(got.customers.map((c) => c.customer_id)).toEqual(top.map((r) => String(r.customer_id)));
      got.customers.forEach((c, i) => {
        expect(c.value_at_risk).toBeCloseTo(Number(top[i]?.var), 9);
      });
      expect(got.total_value_at_risk).toBeCloseTo(
        rows.reduce((a, r) => a + Number(r.var), 0),
        6,
      );
      expect(got.at_risk_customers).toBe(rows.filter((r) => Number(r.p) >= 0.5).length);
    }
  });
});
