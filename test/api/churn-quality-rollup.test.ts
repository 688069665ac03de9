/**
 * `GET /v1/insights/churn/quality` (the backtest) once the rollups are built: answered from
 * `rollup.churn_outcomes__backtest` (no order line read), with the figures the unrouted route gives
 * and the figures the per-customer computation gives (every score and outcome read one row per
 * customer in score order, then outcome, as the route did before the rollup), for every caller, a
 * Europe-only token and the page's region and segment filters alike. Scores are rounded to one
 * decimal first, so most customers share their score with others and the equal-count deciles of
 * the calibration and lift tables cut through groups of ties.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { calibrationTable, liftTable, rocAuc } from '../../src/mining/models/evaluate.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, largestRfmSegment, quietApp } from './fixture.ts';

type Quality = Record<string, unknown> & { available: boolean; run_id?: number; customers?: number };

let f: ApiFixture;
let segment: string;
const unrouted = new Map<string, Quality>();
const paths = () => [
  '/v1/insights/churn/quality?region=Europe',
  '/v1/insights/churn/quality?region=Europe&region=North%20America',
  `/v1/insights/churn/quality?segment=${encodeURIComponent(segment)}`,
];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });

async function quality(path: string, token: string): Promise<Quality> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Quality;
}

beforeAll(async () => {
  f = await apiFixture();
  await runMining(f.db, { asOf: '2024-03-31', seed: 1, progress: () => {} });
  await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
  await f.db.run('UPDATE mining.customer_churn SET churn_probability = round(churn_probability, 1)');
  segment = await largestRfmSegment(f.db);
  for (const path of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, await quality(path, token));
  await buildRollups(f.db, f.model);
}, 180_000);
afterAll(() => f?.cleanup());

describe('churn quality from the rollup load and mine build', () => {
  it('reads rollup.churn_outcomes__backtest, not the order lines', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      await quality(paths()[0] as string, f.tokens.europe);
    });
    expect(sql.filter((s) => s.includes('churn_outcomes__backtest')).length).toBe(2);
    for (const s of sql) expect(s).not.toContain('fact_order_line');
  });

  it('gives the unrouted figures for every caller and filter', async () => {
    for (const path of paths())
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`) as Quality;
        expect(want.available, `${who} ${path}`).toBe(true);
        expect(await quality(path, token), `${who} ${path}`).toEqual(want);
      }
  });

  it('gives the per-customer figures, deciles cut through ties as before', async () => {
    // the latest backtestable run: as of 2024-06-30 (the data ends 2024-12-30)
    const run = Number(
      await f.db.scalar(`SELECT run_id FROM mining.mining_run WHERE as_of = DATE '2024-06-30'`),
    );
    for (const [path, token, where] of [
      [paths()[0], f.tokens.executive, `c.region = 'Europe'`],
      [paths()[1], f.tokens.europe, `c.region = 'Europe'`],
      [paths()[2], f.tokens.executive, `r.rfm_segment = $2`],
    ] as const) {
      const rows = await f.db.all(
        `WITH later AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
                        WHERE revenue > 0 AND ordered_at >= TIMESTAMPTZ '2024-07-01 00:00:00+00')
         SELECT ch.churn_probability AS p, CASE WHEN later.customer_durable_key IS NULL THEN 1 ELSE 0 END AS y
         FROM mining.customer_churn ch
         JOIN core.dim_customer c ON c.customer_durable_key = ch.customer_durable_key AND c.is_current
         LEFT JOIN mining.customer_rfm r
           ON r.customer_durable_key = ch.customer_durable_key AND r.run_id = (SELECT run_id FROM mining.latest_run)
         LEFT JOIN later ON later.customer_durable_key = ch.customer_durable_key
         WHERE ch.run_id = $1 AND ch.churn_probability IS NOT NULL AND ${where}
         ORDER BY p, y`,
        where.includes('$2') ? [run, segment] : [run],
      );
      const p = Float64Array.from(rows, (r) => Number(r.p));
      const y = Uint8Array.from(rows, (r) => Number(r.y));
      // most scores are shared: the deciles split groups of ties
      expect(new Set(p).size).toBeLessThan(12);
      expect(p.length).toBeGreaterThan(30);
      const got = await quality(path as string, token);
      expect(got.run_id, path).toBe(run);
      expect(got.customers, path).toBe(p.length);
      expect(got.churn_rate).toBeCloseTo(y.reduce((a, b) => a + b, 0) / y.length, 12);
      expect(got.auc).toBe(rocAuc(p, y));
      expect(got.calibration).toEqual(JSON.parse(JSON.stringify(calibrationTable(p, y, 10))));
      expect(got.lift).toEqual(JSON.parse(JSON.stringify(liftTable(p, y, 10))));
      // the AUC by pairs: P(score of a churned > score of a retained), ties half
      let pairs = 0;
      let wins = 0;
      for (let i = 0; i < p.length; i++)
        for (let j = 0; j < p.length; j++)
          if (y[i] === 1 && y[j] === 0) {
            pairs += 1;
            wins += (p[i] as number) > (p[j] as number) ? 1 : p[i] === p[j] ? 0.5 : 0;
          }
      expect(got.auc).toBeCloseTo(wins / pairs, 12);
    }
  });
});
