/**
 * The filter bar's segment choices (web/filters.ts CHOICE_QUERIES, asked by every page) once mine
 * has built the rollups: read from customer_scores.alive_matrix, with the segments and sizes of
 * customers.count by RFM segment and of hand-written SQL over the latest run, largest first, for
 * every caller and for a Europe-only token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { CHOICE_QUERIES } from '../../web/filters.ts';
import { type ApiFixture, apiFixture, postJson, quietApp } from './fixture.ts';

type Load = { data: Record<string, unknown>[]; usedPreAggregations: Record<string, unknown> };

let f: ApiFixture;
let latest: number;
beforeAll(async () => {
  f = await apiFixture();
  latest = (await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} })).run_id;
  await buildRollups(f.db, f.model);
}, 120_000);
afterAll(() => f?.cleanup());

async function load(query: object, token: string): Promise<Load> {
  const res = await quietApp(f).request('/v1/load', postJson({ query }, token));
  expect(res.status).toBe(200);
  return (await res.json()) as Load;
}

const pairs = (rows: Record<string, unknown>[], measure: string) =>
  rows
    .filter((r) => r['customers.rfm_segment'] !== null)
    .map((r) => [String(r['customers.rfm_segment']), Number(r[measure])] as const);

describe('the filter bar’s segment choices', () => {
  it('come from the alive_matrix rollup with the sizes customers.count and hand-written SQL give', async () => {
    for (const [token, region] of [
      [f.tokens.executive, null],
      [f.tokens.europe, 'Europe'],
    ] as const) {
      const got = await load(CHOICE_QUERIES.segment, token);
      expect(Object.keys(got.usedPreAggregations)).toEqual(['customer_scores.alive_matrix']);
      const choices = pairs(got.data, 'customer_scores.count');
      expect(choices.length).toBeGreaterThan(3);
      const sizes = choices.map(([, n]) => n);
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      const old = await load(
        {
          dimensions: ['customers.rfm_segment'],
          measures: ['customers.count'],
          order: { 'customers.count': 'desc' },
        },
        token,
      );
      const byName = (p: readonly (readonly [string, number])[]) =>
        [...p].sort((a, b) => a[0].localeCompare(b[0]));
      expect(byName(choices)).toEqual(byName(pairs(old.data, 'customers.count')));
      const hand = await f.db.all(
        `SELECT r.rfm_segment, count(*) AS n FROM mining.customer_rfm r
         JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
         WHERE r.run_id = $1 AND ($2::VARCHAR IS NULL OR c.access_region = $2) GROUP BY 1`,
        [latest, region],
      );
      expect(byName(choices)).toEqual(byName(hand.map((h) => [String(h.rfm_segment), Number(h.n)] as const)));
    }
  });
});
