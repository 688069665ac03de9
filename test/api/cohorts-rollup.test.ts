/**
 * Cohort retention through the model (cube cohort_activity): `GET /v1/segmentation/cohorts` and
 * `cohort_activity.customers` on /v1/load count golden customers (a record merged into another
 * counts as that customer, in its first month) under the golden customer's current region; once
 * the rollups are built the route reads `rollup.cohort_activity__retention` instead of the order
 * lines, with the cells the unrouted route gives and that a per-customer count written by hand
 * gives, for every caller, a Europe-only token, a region parameter and a date range alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

type Cell = { cohort: string; months_since: number; customers: number; size: number; retention: number };

let f: ApiFixture;
const unrouted = new Map<string, Cell[]>();
/** Each golden customer's buying months ('YYYY-MM') and its golden record's current region. */
const golden = new Map<number, { region: string | null; months: Set<string> }>();
let paths: string[] = [];

async function cells(path: string, token: string): Promise<Cell[]> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  const body = (await res.json()) as { months: number; cells: Cell[] };
  return body.cells;
}

/** The cells a per-customer count gives: cohorts in [from, to] (months 'YYYY-MM'), up to `months`. */
function expected(
  visible: (region: string | null) => boolean,
  months: number,
  from = '0000-00',
  to = '9999-99',
) {
  const index = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
  const counts = new Map<string, number>();
  for (const g of golden.values()) {
    if (!visible(g.region)) continue;
    const first = [...g.months].sort()[0] as string;
    if (first < from || first > to) continue;
    for (const m of g.months) {
      const k = index(m) - index(first);
      if (k <= months) counts.set(`${first}/${k}`, (counts.get(`${first}/${k}`) ?? 0) + 1);
    }
  }
  return counts;
}

beforeAll(async () => {
  f = await apiFixture();
  // identity resolution's outcome, by hand: pairs of buying customers of different regions become
  // one golden customer (the first of the pair); the merged record carries the golden region
  const buyers = await f.db.all(
    `SELECT c.customer_durable_key AS k, c.region
     FROM core.dim_customer c
     WHERE c.is_current AND c.customer_durable_key IN (SELECT customer_durable_key FROM core.fact_order_line WHERE revenue > 0)
     ORDER BY k`,
  );
  const europe = buyers.filter((b) => b.region === 'Europe').map((b) => Number(b.k));
  const others = buyers.filter((b) => b.region !== 'Europe');
  expect(europe.length).toBeGreaterThan(20);
  expect(others.length).toBeGreaterThan(20);
  const pairs: [number, number, string][] = [];
  // ten non-Europe records merged into Europe customers, ten Europe records into others
  for (let i = 0; i < 10; i++) pairs.push([europe[i] as number, Number(others[i]?.k), 'Europe']);
  for (let i = 10; i < 20; i++)
    pairs.push([Number(others[i]?.k), europe[i] as number, String(others[i]?.region)]);
  for (const [into, merged, region] of pairs)
    await f.db.run(
      `UPDATE core.dim_customer SET golden_customer_key = $1, access_region = $2
       WHERE customer_durable_key = $3 AND is_current`,
      [into, region, merged],
    );
  const lines = await f.db.all(
    `SELECT coalesce(c.golden_customer_key, o.customer_durable_key) AS g, gc.region,
            strftime(o.ordered_at AT TIME ZONE 'UTC', '%Y-%m') AS m
     FROM core.fact_order_line o
     LEFT JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
     LEFT JOIN core.dim_customer gc
       ON gc.customer_durable_key = coalesce(c.golden_customer_key, o.customer_durable_key) AND gc.is_current
     WHERE o.revenue > 0 AND o.customer_durable_key IS NOT NULL`,
  );
  for (const l of lines) {
    const g = golden.get(Number(l.g)) ?? {
      region: l.region === null ? null : String(l.region),
      months: new Set(),
    };
    g.months.add(String(l.m));
    golden.set(Number(l.g), g);
  }
  const cohorts = [...new Set([...golden.values()].map((g) => [...g.months].sort()[0] as string))].sort();
  expect(cohorts.length).toBeGreaterThan(6);
  // a range from mid-month to mid-month: whole cohort months from the first to the last
  paths = [
    '/v1/segmentation/cohorts',
    '/v1/segmentation/cohorts?months=3',
    '/v1/segmentation/cohorts?months=2&region=Europe',
    `/v1/segmentation/cohorts?months=4&from=${cohorts[2]}-15&to=${cohorts[5]}-10`,
    `/v1/segmentation/cohorts?from=${cohorts[3]}-01`,
    `/v1/segmentation/cohorts?to=${cohorts[1]}-28`,
  ];
  for (const path of paths)
    for (const [who, token] of Object.entries({ all: f.tokens.executive, europe: f.tokens.europe }))
      unrouted.set(`${who} ${path}`, await cells(path, token));
  await buildRollups(f.db, f.model);
}, 120_000);
afterAll(() => f?.cleanup());

describe('cohort retention through the model', () => {
  it('cohort_activity.customers counts golden customers under the golden region (/v1/load)', async () => {
    const query = {
      measures: ['cohort_activity.customers'],
      dimensions: ['cohort_activity.months_since'],
      timeDimensions: [{ dimension: 'cohort_activity.cohort_month', granularity: 'month' }],
      filters: [{ member: 'cohort_activity.months_since', operator: 'lte', values: ['5'] }],
      limit: 10000,
    };
    for (const [token, visible] of [
      [f.tokens.executive, () => true],
      [f.tokens.europe, (r: string | null) => r === 'Europe'],
    ] as const) {
      const res = await quietApp(f).request('/v1/load', postJson({ query }, token));
      expect(res.status).toBe(200);
      const data = ((await res.json()) as { data: Record<string, string | number>[] }).data;
      const got = new Map(
        data.map((r) => [
          `${String(r['cohort_activity.cohort_month.month']).slice(0, 7)}/${r['cohort_activity.months_since']}`,
          Number(r['cohort_activity.customers']),
        ]),
      );
      expect(got).toEqual(expected(visible, 5));
    }
  });

  it('reads rollup.cohort_activity__retention, not the order lines', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      await cells(paths[3] as string, f.tokens.europe);
      await cells(paths[0] as string, f.tokens.executive);
    });
    expect(sql.filter((s) => s.includes('cohort_activity__retention')).length).toBe(2);
    for (const s of sql) expect(s).not.toContain('fact_order_line');
  });

  it('gives the unrouted cells for every caller, region and date range', async () => {
    for (const path of paths)
      for (const [who, token] of Object.entries({ all: f.tokens.executive, europe: f.tokens.europe })) {
        const want = unrouted.get(`${who} ${path}`) as Cell[];
        expect(want.length, `${who} ${path}`).toBeGreaterThan(0);
        expect(await cells(path, token), `${who} ${path}`).toEqual(want);
      }
    expect(unrouted.get(`europe ${paths[0]}`)).not.toEqual(unrouted.get(`all ${paths[0]}`));
  });

  it('gives the cells a per-golden-customer count gives, with sizes and retention', async () => {
    const cohorts = [...new Set([...golden.values()].map((g) => [...g.months].sort()[0] as string))].sort();
    const cases = [
      { path: paths[1], token: f.tokens.executive, want: expected(() => true, 3) },
      { path: paths[1], token: f.tokens.europe, want: expected((r) => r === 'Europe', 3) },
      { path: paths[2], token: f.tokens.executive, want: expected((r) => r === 'Europe', 2) },
      {
        path: paths[3],
        token: f.tokens.executive,
        want: expected(() => true, 4, cohorts[2], cohorts[5]),
      },
      {
        path: paths[5],
        token: f.tokens.europe,
        want: expected((r) => r === 'Europe', 12, undefined, cohorts[1]),
      },
    ];
    for (const { path, token, want } of cases) {
      const got = await cells(path as string, token);
      expect(new Map(got.map((c) => [`${c.cohort}/${c.months_since}`, c.customers])), path).toEqual(want);
      for (const c of got) {
        expect(c.size).toBe(want.get(`${c.cohort}/0`));
        expect(c.retention).toBeCloseTo(c.customers / c.size, 12);
      }
      // cohorts in order, months since in order within each
      const keys = got.map((c) => `${c.cohort}/${String(c.months_since).padStart(3, '0')}`);
      expect(keys).toEqual([...keys].sort());
    }
  });
});
