/**
 * `GET /v1/insights/distribution?measure=p_alive&bins=20` (the churn page's histogram) once the
 * rollups are built: answered from `rollup.churn_latest__p_alive_bins` (no score read per
 * customer), with the figures the unrouted route gives and the histogram of every customer's
 * P(alive) read one row per customer, for every caller, a Europe-only token and the page's region
 * and segment filters alike. Some scores are set on bin edges (0.15 is just below 3 × 0.05 in
 * doubles), to 1, above 1 and to NaN, where a bin computed another way would differ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogram } from '../../src/api/routes/insights/curves.ts';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, largestRfmSegment, quietApp } from './fixture.ts';

interface Histogram {
  measure: string;
  customers: number;
  above_range: number;
  bins: { x1: number; x2: number; count: number }[];
}

let f: ApiFixture;
let segment: string;
const unrouted = new Map<string, Histogram>();
const base = '/v1/insights/distribution?measure=p_alive&bins=20';
const paths = () => [
  base,
  `${base}&region=Europe`,
  `${base}&region=Europe&region=North%20America`,
  `${base}&segment=${encodeURIComponent(segment)}`,
];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });

async function distribution(path: string, token: string): Promise<Histogram> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Histogram;
}

beforeAll(async () => {
  f = await apiFixture();
  await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
  await f.db.run(
    `UPDATE mining.customer_churn SET p_alive = CASE customer_durable_key % 9
       WHEN 0 THEN 0.15 WHEN 1 THEN 0.35 WHEN 2 THEN 1 WHEN 3 THEN 0 WHEN 4 THEN 0.05
       WHEN 5 THEN 1.25 ELSE p_alive END`,
  );
  await f.db.run(
    `UPDATE mining.customer_churn SET p_alive = 'NaN'::DOUBLE
     WHERE customer_durable_key = (SELECT min(customer_durable_key) FROM mining.customer_churn WHERE customer_durable_key % 9 = 7)`,
  );
  segment = await largestRfmSegment(f.db);
  for (const path of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, await distribution(path, token));
  await buildRollups(f.db, f.model);
}, 180_000);
afterAll(() => f?.cleanup());

describe('the P(alive) histogram from the rollup load and mine build', () => {
  it('reads rollup.churn_latest__p_alive_bins, not every customer’s score', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      await distribution(paths()[1] as string, f.tokens.europe);
    });
    expect(sql.filter((s) => s.includes('churn_latest__p_alive_bins'))).toHaveLength(1);
    for (const s of sql) expect(s).not.toContain('mining.customer_churn');
  });

  it('gives the unrouted figures for every caller and filter', async () => {
    for (const path of paths())
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`) as Histogram;
        expect(await distribution(path, token), `${who} ${path}`).toEqual(want);
      }
  });

  it('gives the histogram of every customer’s P(alive), edges, 1, above 1 and NaN included', async () => {
    for (const [path, token, where] of [
      [paths()[0], f.tokens.executive, 'TRUE'],
      [paths()[1], f.tokens.executive, `c.region = 'Europe'`],
      [paths()[2], f.tokens.europe, `c.region = 'Europe'`],
      [paths()[3], f.tokens.executive, `r.rfm_segment = $1`],
    ] as const) {
      const rows = await f.db.all(
        `SELECT ch.p_alive AS p
         FROM mining.customer_churn ch
         JOIN core.dim_customer c ON c.customer_durable_key = ch.customer_durable_key AND c.is_current
         LEFT JOIN mining.customer_rfm r ON r.customer_durable_key = ch.customer_durable_key AND r.run_id = ch.run_id
         WHERE ch.run_id = (SELECT run_id FROM mining.latest_run) AND ch.p_alive IS NOT NULL AND ${where}`,
        where.includes('$1') ? [segment] : [],
      );
      const p = Float64Array.from(rows, (r) => Number(r.p));
      expect(p.length, path).toBeGreaterThan(30);
      const got = await distribution(path as string, token);
      expect(got, path).toEqual({ measure: 'p_alive', ...histogram(p, 20, 0, 1) });
      // by hand: 0.15 falls in [0.10, 0.15) as floor(0.15 / 0.05) = 2 in doubles; 1 and 1.25 in the
      // last bin, 1.25 above the range; NaN among the customers only
      const count = (v: number) => p.filter((x) => x === v).length;
      expect(got.above_range, path).toBe(count(1.25));
      expect(got.bins[19]?.count, path).toBeGreaterThanOrEqual(count(1) + count(1.25));
      expect(
        got.bins.reduce((a, b) => a + b.count, 0),
        path,
      ).toBe(p.length - p.filter(Number.isNaN).length);
      expect(got.bins[2]?.count, path).toBeGreaterThanOrEqual(count(0.15));
    }
  });
});
