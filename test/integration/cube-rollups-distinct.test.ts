/**
 * Rollups that store a distinct count per row (`determined_by_key`) and rollups read row by row
 * (a query grouped by the cube's primary key): what the executive and CLV pages and the region
 * list read. A golden customer with records in two regions, channels and signup years (record 7,
 * merged into customer 2) is where a wrongly re-added distinct count would count twice: each query
 * is answered from its rollup with the rows the unrouted query gives and hand-written SQL gives,
 * for every caller and a North-only one; a query that would re-add the count over a dimension the
 * key does not decide is not routed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/cube/compile.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel, NOW, sorted } from '../golden/helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
  // record 7: a second record of golden customer 2 (North), in South, by web, signed up in 2024,
  // with an order in January 2024 (customer 2 also bought that month)
  await db.run(`INSERT INTO core.dim_customer
    (customer_key, customer_durable_key, source, customer_id, name, email, region, country, city, channel, signup_date,
     valid_from, valid_to, is_current, load_id, golden_customer_key, access_region) VALUES
    (71, 7, 'shop', 'S7', 'Ben B.', 'ben@example.com', 'South', 'IT', 'Rome', 'web', '2024-03-01',
     '1900-01-01', '9999-12-31', true, 1, 2, 'North')`);
  await db.run(`INSERT INTO core.fact_order_line
    (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
     quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
    ('shop', 's1', 1, 71, 7, 1, '2024-01-20 10:00:00+00', '2024-01-20', 'sale', 'web', 1, 100, 0, 100, 60, 40, 1)`);
  await buildRollups(db, model);
});
afterAll(() => db.close());

const CALLERS: [string, { security?: { regions: string[] } }][] = [
  ['every region', {}],
  ['North only', { security: { regions: ['North'] } }],
];

function round(rows: readonly Record<string, unknown>[]) {
  return sorted(
    rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v instanceof Date ? v.toISOString() : v,
        ]),
      ),
    ),
  );
}

async function routedAndRaw(query: Record<string, unknown>, options: { security?: { regions: string[] } }) {
  const all = new Set(model.preAggregations.map((p) => p.fullName));
  const routed = compileQuery(model, query, { now: NOW, rollups: all, ...options });
  const via = (await runQuery(db, model, query, { now: NOW, rollups: all, ...options })) as LoadResponse;
  const raw = (await runQuery(db, model, query, { now: NOW, useRollups: false, ...options })) as LoadResponse;
  return { rollup: routed.rollup, sql: routed.sql, via: round(via.data), raw: round(raw.data) };
}

/** The caller's golden customers' records, by hand: a golden customer's region decides who sees it. */
function visible(regions: readonly string[] | null): string {
  const golden = 'coalesce(c.golden_customer_key, c.customer_durable_key)';
  const access = `CASE WHEN ${golden} = c.customer_durable_key THEN c.region ELSE c.access_region END`;
  return regions === null ? 'true' : `${access} IN (${regions.map((r) => `'${r}'`).join(', ')})`;
}

const LATEST = 'run_id = (SELECT max(run_id) FROM mining.mining_run)';
const CASES: {
  name: string;
  rollup: string;
  query: Record<string, unknown>;
  hand: (where: string) => string;
}[] = [
  {
    name: 'the region list: golden customers per record region',
    rollup: 'customers.by_region',
    query: { dimensions: ['customers.region'], measures: ['customers.count'] },
    hand: (where) => `SELECT c.region AS "customers.region",
        count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count"
      FROM core.dim_customer c WHERE c.is_current AND ${where} GROUP BY 1`,
  },
  {
    name: 'CLV by acquisition channel',
    rollup: 'customers.by_channel',
    query: {
      dimensions: ['customers.channel'],
      measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
    },
    hand: (where) => `SELECT c.channel AS "customers.channel",
        sum(v.clv) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.total_clv",
        avg(v.clv) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.avg_clv",
        count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count"
      FROM core.dim_customer c
      LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v
        ON v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND ${where} GROUP BY 1`,
  },
  {
    name: 'CLV by signup year',
    rollup: 'customers.by_signup_year',
    query: {
      measures: ['customers.total_clv', 'customers.count'],
      timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'year' }],
    },
    hand: (
      where,
    ) => `SELECT strftime(date_trunc('year', c.signup_date), '%Y-%m-%dT%H:%M:%S.000') AS "customers.signup_date.year",
        sum(v.clv) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.total_clv",
        count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count"
      FROM core.dim_customer c
      LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v
        ON v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND ${where} GROUP BY 1`,
  },
  {
    name: 'churn by signup quarter (record 7 signed up in another quarter than its golden customer)',
    rollup: 'customers.by_signup_quarter',
    query: {
      measures: ['customers.avg_churn_probability', 'customers.count'],
      timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'quarter' }],
    },
    hand: (
      where,
    ) => `SELECT strftime(date_trunc('quarter', c.signup_date), '%Y-%m-%dT%H:%M:%S.000') AS "customers.signup_date.quarter",
        avg(ch.churn_probability) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.avg_churn_probability",
        count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count"
      FROM core.dim_customer c
      LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) ch
        ON ch.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND ${where} GROUP BY 1`,
  },
  {
    name: 'the scored customers (the scored segment, stored as is_scored)',
    rollup: 'customers.by_scored',
    query: {
      measures: [
        'customers.total_clv',
        'customers.avg_clv',
        'customers.count',
        'customers.avg_churn_probability',
      ],
      segments: ['customers.scored'],
    },
    hand: (where) => `SELECT
        sum(v.clv) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.total_clv",
        avg(v.clv) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.avg_clv",
        count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count",
        avg(ch.churn_probability) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.avg_churn_probability"
      FROM core.dim_customer c
      JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v
        ON v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) ch
        ON ch.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND v.clv IS NOT NULL AND ${where}`,
  },
  {
    name: 'golden customers in all (re-added over RFM segment and access region, both the key decides)',
    rollup: 'customers.by_segment',
    query: { measures: ['customers.count', 'customers.avg_churn_probability'] },
    hand: (
      where,
    ) => `SELECT count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS "customers.count",
        avg(ch.churn_probability) FILTER (WHERE c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key) AS "customers.avg_churn_probability"
      FROM core.dim_customer c
      LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) ch
        ON ch.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND ${where}`,
  },
  {
    name: 'the monthly trend with buying customers',
    rollup: 'sales.monthly_by_region',
    query: {
      measures: ['sales.revenue', 'sales.margin', 'sales.customer_count'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
    },
    hand: (
      where,
    ) => `SELECT strftime(date_trunc('month', f.ordered_at AT TIME ZONE 'UTC'), '%Y-%m-%dT%H:%M:%S.000') AS "sales.ordered_at.month",
        sum(f.revenue) AS "sales.revenue", sum(f.margin) AS "sales.margin",
        count(DISTINCT f.customer_durable_key) AS "sales.customer_count"
      FROM core.fact_order_line f
      LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
      WHERE ${where === 'true' ? 'true' : `c.customer_durable_key IS NOT NULL AND ${where}`} GROUP BY 1`,
  },
  {
    name: 'the top customers by CLV, row by row',
    rollup: 'customers.clv_list',
    query: {
      dimensions: ['customers.customer_durable_key', 'customers.customer_id', 'customers.region'],
      measures: ['customers.total_clv', 'customers.avg_churn_probability'],
      order: { 'customers.total_clv': 'desc', 'customers.customer_id': 'asc' },
      limit: 3,
    },
    hand: (
      where,
    ) => `SELECT c.customer_durable_key AS "customers.customer_durable_key", c.customer_id AS "customers.customer_id",
        c.region AS "customers.region",
        CASE WHEN c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key THEN v.clv END AS "customers.total_clv",
        CASE WHEN c.golden_customer_key IS NULL OR c.golden_customer_key = c.customer_durable_key THEN ch.churn_probability END AS "customers.avg_churn_probability"
      FROM core.dim_customer c
      LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v
        ON v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) ch
        ON ch.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current AND ${where}
      ORDER BY 4 DESC NULLS LAST, 2 LIMIT 3`,
  },
];

describe('rollups the executive and CLV pages read cold', () => {
  for (const c of CASES)
    for (const [who, options] of CALLERS) {
      it(`${c.name} (${who}): from ${c.rollup}, the unrouted rows and hand-written SQL's`, async () => {
        const { rollup, sql, via, raw } = await routedAndRaw(c.query, options);
        expect(rollup).toBe(c.rollup);
        expect(sql).toContain(`"rollup"."${c.rollup.replace('.', '__')}"`);
        const hand = round(await db.all(c.hand(visible(options.security?.regions ?? null))));
        expect(hand.length).toBeGreaterThan(0);
        expect(via).toEqual(raw);
        // the cube adds the time dimension under its own name too: compare the columns the SQL gives
        const keys = Object.keys(hand[0] ?? {});
        expect(round(via.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null]))))).toEqual(hand);
      });
    }

  it('the merged customer counts once in all and once in each of its regions', async () => {
    const total = await routedAndRaw({ measures: ['customers.count'] }, {});
    expect(total.via).toEqual([{ 'customers.count': 6 }]);
    const byRegion = await routedAndRaw(
      { dimensions: ['customers.region'], measures: ['customers.count'] },
      {},
    );
    // North: 2, 3; South: 1, 4 and 2 (record 7); West: 5, 6
    expect(byRegion.via).toEqual(
      sorted([
        { 'customers.region': 'North', 'customers.count': 2 },
        { 'customers.region': 'South', 'customers.count': 3 },
        { 'customers.region': 'West', 'customers.count': 2 },
      ]),
    );
  });

  it('the top-N list reads the rollup rows without grouping them', () => {
    const q = CASES.find((c) => c.rollup === 'customers.clv_list')?.query;
    const c = compileQuery(model, q, { rollups: new Set(['customers.clv_list']) });
    expect(c.rollup).toBe('customers.clv_list');
    expect(c.sql).not.toMatch(/GROUP BY/);
    expect(c.sql).toMatch(/ORDER BY [\s\S]*LIMIT/);
  });
});

describe('a stored distinct count is not re-added where a key could count twice', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    [
      'over the record region (all golden customers from the by-region rollup)',
      'customers.by_region',
      { measures: ['customers.count'] },
    ],
    [
      'over the record region, grouped by access region',
      'customers.by_region',
      {
        measures: ['customers.count'],
        dimensions: ['customers.access_region'],
      },
    ],
    [
      'over months into quarters (a customer buys in several months)',
      'sales.monthly_by_region',
      {
        measures: ['sales.customer_count'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'quarter' }],
      },
    ],
    [
      'over months in a date range without the month',
      'sales.monthly_by_region',
      {
        measures: ['sales.customer_count'],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-01-01', '2024-03-31'] }],
      },
    ],
    [
      'over quarters into years (the records of one golden customer may sign up in two quarters)',
      'customers.by_signup_quarter',
      {
        measures: ['customers.count'],
        timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'year' }],
      },
    ],
    [
      'with a segment the rollup does not store',
      'customers.by_scored',
      { measures: ['customers.count'], segments: ['customers.at_risk'] },
    ],
    [
      'with subtotals',
      'customers.by_segment',
      { measures: ['customers.count'], dimensions: ['customers.rfm_segment'], subtotals: 'rollup' },
    ],
  ];
  for (const [why, only, query] of cases) {
    it(why, async () => {
      expect(compileQuery(model, query, { now: NOW, rollups: new Set([only]) }).rollup).toBeNull();
    });
  }

  it('the same queries re-added anyway would count the merged customer twice', async () => {
    // what routing must avoid: golden customers summed over record regions
    const rows = await db.all(`SELECT sum("customers.count") AS n FROM "rollup"."customers__by_region"`);
    expect(Number(rows[0]?.n)).toBe(7);
    const raw = (await runQuery(
      db,
      model,
      { measures: ['customers.count'] },
      { useRollups: false },
    )) as LoadResponse;
    expect(raw.data).toEqual([{ 'customers.count': 6 }]);
  });
});
