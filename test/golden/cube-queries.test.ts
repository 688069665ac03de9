/**
 * Golden queries on the hand-made warehouse: the exact SQL and parameters, then the rows, compared
 * with hand-written SQL and with figures computed by hand (see fixture.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/cube/compile.ts';
import { loadModelFromSources } from '../../src/cube/model/load.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { CompareResponse, LoadResponse } from '../../src/cube/result/response.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from './fixture.ts';
import { cubeRows, defaultModel, handRows, NOW, pick, sorted, sqlOf } from './helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
});
afterAll(() => db.close());

describe('time dimensions', () => {
  const granularities = ['day', 'week', 'month', 'quarter', 'year'] as const;
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York'] as const;
  for (const zone of zones) {
    for (const g of granularities) {
      it(`revenue by ${g} in ${zone} equals date_trunc('${g}') of the local time`, async () => {
        const query = {
          measures: ['sales.revenue'],
          timeDimensions: [{ dimension: 'sales.ordered_at', granularity: g }],
          timezone: zone,
        };
        const { sql, params } = sqlOf(model, query);
        expect(sql).toBe(
          [
            `SELECT date_trunc('${g}', timezone($1, "sales"."ordered_at")) AS "sales.ordered_at.${g}", sum("sales"."revenue") AS "sales.revenue"`,
            'FROM "core"."fact_order_line" AS "sales"',
            `GROUP BY "sales.ordered_at.${g}"`,
            `ORDER BY "sales.ordered_at.${g}" ASC`,
            'LIMIT $2',
          ].join('\n'),
        );
        expect(params).toEqual([zone, 10_000]);
        const hand = await handRows(
          db,
          `SELECT date_trunc('${g}', timezone('${zone}', ordered_at)) AS "sales.ordered_at.${g}", sum(revenue) AS "sales.revenue"
           FROM core.fact_order_line GROUP BY 1 ORDER BY 1`,
        );
        const rows = await cubeRows(db, model, query);
        expect(pick(rows, [`sales.ordered_at.${g}`, 'sales.revenue'])).toEqual(hand);
        expect(rows.every((r) => r['sales.ordered_at'] === r[`sales.ordered_at.${g}`])).toBe(true);
      });
    }
  }

  it('a sale at 23:30 UTC lands on the next day in Berlin and stays in the month in New York', async () => {
    const month = async (timezone: string) =>
      (
        await cubeRows(db, model, {
          measures: ['sales.revenue'],
          timeDimensions: [
            { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-01', '2024-03-31'] },
          ],
          timezone,
        })
      ).map((r) => [r['sales.ordered_at.month'], r['sales.revenue']]);
    // UTC: o1 1300 + o2 500 in January; Berlin: o2 (Jan 31 23:30 UTC) moves to February and
    // o8 (Dec 31 23:30 UTC) moves into January; o4 (Mar 31 23:30 UTC) is April 1 in Berlin.
    expect(await month('UTC')).toEqual([
      ['2024-01-01T00:00:00.000', 1800],
      ['2024-02-01T00:00:00.000', 400],
      ['2024-03-01T00:00:00.000', 150],
    ]);
    expect(await month('Europe/Berlin')).toEqual([
      ['2024-01-01T00:00:00.000', 1320],
      ['2024-02-01T00:00:00.000', 900],
    ]);
    expect(await month('America/New_York')).toEqual([
      ['2024-01-01T00:00:00.000', 1800],
      ['2024-02-01T00:00:00.000', 400],
      ['2024-03-01T00:00:00.000', 150],
    ]);
  });

  it('weeks start on Monday in the query zone: Sunday evening in New York is Monday in UTC', async () => {
    const weeks = async (timezone: string) =>
      (
        await cubeRows(db, model, {
          measures: ['sales.revenue'],
          timeDimensions: [
            { dimension: 'sales.ordered_at', granularity: 'week', dateRange: ['2024-06-24', '2024-07-07'] },
          ],
          timezone,
        })
      ).map((r) => [r['sales.ordered_at.week'], r['sales.revenue']]);
    expect(await weeks('UTC')).toEqual([
      ['2024-06-24T00:00:00.000', 500],
      ['2024-07-01T00:00:00.000', 20],
    ]);
    expect(await weeks('America/New_York')).toEqual([['2024-06-24T00:00:00.000', 520]]);
  });

  it('a time dimension without granularity only filters (dateRange), and a date column is not shifted by the zone', async () => {
    const query = {
      measures: ['customers.count'],
      timeDimensions: [{ dimension: 'customers.signup_date', dateRange: ['2024-01-01', '2024-02-29'] }],
      timezone: 'America/New_York',
    };
    const { sql, params } = sqlOf(model, query);
    expect(sql).toMatchInlineSnapshot(`
      "SELECT count(DISTINCT coalesce("customers".golden_customer_key, "customers".customer_durable_key)) AS "customers.count"
      FROM (SELECT * FROM core.dim_customer WHERE is_current) AS "customers"
      WHERE ((CAST("customers"."signup_date" AS TIMESTAMP) >= CAST($1 AS TIMESTAMP)) AND (CAST("customers"."signup_date" AS TIMESTAMP) < CAST($2 AS TIMESTAMP)))
      ORDER BY "customers.count" DESC
      LIMIT $3"
    `);
    expect(params).toEqual(['2024-01-01T00:00:00.000', '2024-03-01T00:00:00.000', 10_000]);
    // Chloé signed up 2024-01-01, Dario 2024-02-15
    expect(await cubeRows(db, model, query)).toEqual([{ 'customers.count': 2 }]);
  });

  it("relative ranges resolve against the injected now: 'this year', 'last 12 months', 'last week'", async () => {
    const revenue = async (dateRange: string) =>
      (
        await cubeRows(db, model, {
          measures: ['sales.revenue'],
          timeDimensions: [{ dimension: 'sales.ordered_at', dateRange }],
        })
      )[0]?.['sales.revenue'];
    expect(await revenue('this year')).toBe(3880); // everything but o8 (2023)
    expect(await revenue('last 12 months')).toBe(2880); // 2023-07-01 .. 2024-06-30: H1 2024 (2860) and o8 (20)
    expect(await revenue('last week')).toBe(20); // Mon 2024-07-01 .. Sun 07-07: o7
    expect(await revenue('today')).toBeNull();
  });
});

describe('fan-out across joins', () => {
  it('sales.revenue and tickets.count by region: each aggregated at its own grain, then merged', async () => {
    const query = { measures: ['sales.revenue', 'tickets.count'], dimensions: ['customers.region'] };
    const { sql } = sqlOf(model, query);
    expect(sql).toMatchInlineSnapshot(`
      "WITH "q0" AS (
      SELECT "customers"."region" AS "customers.region", sum("sales"."revenue") AS "sales.revenue"
      FROM "core"."fact_order_line" AS "sales"
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "sales".customer_durable_key = "customers".customer_durable_key
      GROUP BY "customers.region"
      ),
      "q1" AS (
      SELECT "customers"."region" AS "customers.region", count(*) AS "tickets.count"
      FROM "core"."fact_ticket" AS "tickets"
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "tickets".customer_durable_key = "customers".customer_durable_key
      GROUP BY "customers.region"
      )
      SELECT "u"."customers.region" AS "customers.region", max("u"."sales.revenue") AS "sales.revenue", max("u"."tickets.count") AS "tickets.count"
      FROM (
      SELECT "customers.region", "sales.revenue", NULL AS "tickets.count"
      FROM "q0"
      UNION ALL
      SELECT "customers.region", NULL AS "sales.revenue", "tickets.count"
      FROM "q1"
      ) AS "u"
      GROUP BY "customers.region"
      ORDER BY "sales.revenue" DESC
      LIMIT $1"
    `);
    // A naive sales ⋈ customers ⋈ tickets join would report North 3970 (Ben's 1900 twice, he has 2 tickets).
    const naive = await handRows(
      db,
      `SELECT sum(s.revenue) AS r FROM core.fact_order_line s JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
       JOIN core.fact_ticket t ON t.customer_durable_key = c.customer_durable_key WHERE c.region = 'North'`,
    );
    expect(naive).toEqual([{ r: 3970 }]);
    expect(await cubeRows(db, model, query)).toEqual([
      { 'customers.region': 'North', 'sales.revenue': 2070, 'tickets.count': 3 },
      { 'customers.region': 'South', 'sales.revenue': 1300, 'tickets.count': 1 },
      { 'customers.region': 'West', 'sales.revenue': 520, 'tickets.count': null },
      { 'customers.region': null, 'sales.revenue': 10, 'tickets.count': null },
    ]);
  });

  it('customers.count and a customers-side sum stay exact when grouped by a product dimension (distinct keys)', async () => {
    const query = { measures: ['customers.count', 'customers.total_clv'], dimensions: ['products.category'] };
    const { sql } = sqlOf(model, query);
    expect(sql).toMatchInlineSnapshot(`
      "SELECT "k"."products.category" AS "products.category", count(DISTINCT "k"."__m0") AS "customers.count", sum("k"."__m1") FILTER (WHERE "k"."__f1") AS "customers.total_clv"
      FROM (
      SELECT DISTINCT "products"."category" AS "products.category", "customers"."customer_durable_key" AS "__pk0", coalesce("customers".golden_customer_key, "customers".customer_durable_key) AS "__m0", "clv_scores"."clv" AS "__m1", ("customers".customer_durable_key = coalesce("customers".golden_customer_key, "customers".customer_durable_key)) AS "__f1"
      FROM (SELECT * FROM core.dim_customer WHERE is_current) AS "customers"
      LEFT JOIN "core"."fact_order_line" AS "sales" ON "sales".customer_durable_key = "customers".customer_durable_key
      LEFT JOIN (SELECT * FROM mining.customer_clv WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS "clv_scores" ON coalesce("customers".golden_customer_key, "customers".customer_durable_key) = "clv_scores".customer_durable_key
      LEFT JOIN "core"."dim_product" AS "products" ON "sales".product_key = "products".product_key
      ) AS "k"
      GROUP BY "products.category"
      ORDER BY "customers.count" DESC
      LIMIT $1"
    `);
    const hand = await handRows(
      db,
      `SELECT category AS "products.category", count(*) AS "customers.count", sum(clv) AS "customers.total_clv"
       FROM (SELECT DISTINCT p.category, c.customer_durable_key, v.clv
             FROM core.dim_customer c
             LEFT JOIN mining.customer_clv v ON v.customer_durable_key = c.customer_durable_key AND v.run_id = 2
             LEFT JOIN core.fact_order_line s ON s.customer_durable_key = c.customer_durable_key
             LEFT JOIN core.dim_product p ON p.product_key = s.product_key
             WHERE c.is_current)
       GROUP BY 1`,
    );
    const rows = await cubeRows(db, model, query);
    expect(sorted(rows)).toEqual(sorted(hand));
    // by hand: Electronics Anna+Ben+Eve (1500+2500+800), Furniture Anna+Ben+Chloé, Stationery Eve+Chloé,
    // no purchases: Dario (50) and Finn (no score)
    expect(sorted(rows)).toEqual(
      sorted([
        { 'products.category': 'Electronics', 'customers.count': 3, 'customers.total_clv': 4800 },
        { 'products.category': 'Furniture', 'customers.count': 3, 'customers.total_clv': 4300 },
        { 'products.category': 'Stationery', 'customers.count': 2, 'customers.total_clv': 1100 },
        { 'products.category': null, 'customers.count': 2, 'customers.total_clv': 50 },
      ]),
    );
  });

  it('customers.count counts current customers once, whatever their SCD2 versions', async () => {
    expect(await cubeRows(db, model, { measures: ['customers.count'] })).toEqual([{ 'customers.count': 6 }]);
    // Anna moved from Berlin to Rome: all her sales, old and new, follow her current city
    const rows = await cubeRows(db, model, {
      measures: ['sales.revenue', 'customers.count'],
      dimensions: ['customers.city'],
      filters: [{ member: 'customers.country', operator: 'equals', values: ['IT', 'DE'] }],
    });
    expect(sorted(rows)).toEqual(
      sorted([
        { 'customers.city': 'Rome', 'sales.revenue': 1300, 'customers.count': 1 },
        { 'customers.city': 'Hamburg', 'sales.revenue': 1900, 'customers.count': 1 },
        { 'customers.city': 'Milan', 'sales.revenue': null, 'customers.count': 1 },
      ]),
    );
  });

  it('count_distinct, avg, min, max and number measures by region', async () => {
    const query = {
      measures: [
        'sales.order_count',
        'sales.customer_count',
        'sales.avg_order_value',
        'sales.margin_rate',
        'sales.avg_unit_price',
        'sales.min_line_revenue',
        'sales.max_line_revenue',
      ],
      dimensions: ['customers.region'],
      order: { 'customers.region': 'asc' },
    };
    const hand = await handRows(
      db,
      `SELECT c.region AS "customers.region", count(DISTINCT s.source || '/' || s.order_id) AS "sales.order_count",
              count(DISTINCT s.customer_durable_key) AS "sales.customer_count",
              sum(s.revenue) / NULLIF(count(DISTINCT s.source || '/' || s.order_id), 0) AS "sales.avg_order_value",
              sum(s.margin) / NULLIF(sum(s.revenue), 0) AS "sales.margin_rate", avg(s.unit_price) AS "sales.avg_unit_price",
              min(s.revenue) AS "sales.min_line_revenue", max(s.revenue) AS "sales.max_line_revenue"
       FROM core.fact_order_line s LEFT JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
       GROUP BY 1 ORDER BY 1 NULLS LAST`,
    );
    const rows = await cubeRows(db, model, query);
    expect(rows).toEqual(hand);
    // North: Ben's o2, o3, o9 and Chloé's o4, o8 = 5 orders, revenue 2070
    expect(rows[0]).toMatchObject({
      'customers.region': 'North',
      'sales.order_count': 5,
      'sales.avg_order_value': 414,
    });
  });

  it('a dimension-only query lists distinct values', async () => {
    const query = {
      dimensions: ['customers.region', 'customers.country'],
      order: [['customers.country', 'asc']],
    };
    expect(sqlOf(model, query).sql).toMatchInlineSnapshot(`
      "SELECT "customers"."region" AS "customers.region", "customers"."country" AS "customers.country"
      FROM (SELECT * FROM core.dim_customer WHERE is_current) AS "customers"
      GROUP BY "customers.region", "customers.country"
      ORDER BY "customers.country" ASC
      LIMIT $1"
    `);
    expect(await cubeRows(db, model, query)).toEqual([
      { 'customers.region': 'North', 'customers.country': 'DE' },
      { 'customers.region': 'North', 'customers.country': 'FR' },
      { 'customers.region': 'South', 'customers.country': 'IT' },
      { 'customers.region': 'West', 'customers.country': 'US' },
    ]);
  });
});

describe('mining scores as customer dimensions (latest run)', () => {
  it('rfm_segment, cluster_name, clv and churn_probability come from the latest run', async () => {
    const rows = await cubeRows(db, model, {
      dimensions: [
        'customers.name',
        'customers.rfm_segment',
        'customers.rfm_score',
        'customers.cluster_name',
        'customers.clv',
        'customers.churn_probability',
      ],
      order: { 'customers.name': 'asc' },
    });
    expect(rows[0]).toEqual({
      'customers.name': 'Anna',
      'customers.rfm_segment': 'At Risk',
      'customers.rfm_score': 134,
      'customers.cluster_name': 'Big Spenders',
      'customers.clv': 1500,
      'customers.churn_probability': 0.8,
    });
    expect(rows.find((r) => r['customers.name'] === 'Finn')).toMatchObject({
      'customers.rfm_segment': null,
      'customers.clv': null,
    });
  });

  it('segment filters on mining scores, and the at-risk segment', async () => {
    const rows = await cubeRows(db, model, {
      measures: ['customers.count', 'sales.revenue'],
      segments: ['customers.at_risk'],
    });
    // churn >= 0.5: Anna (0.8), Chloé (0.5), Dario (0.95)
    expect(rows).toEqual([{ 'customers.count': 3, 'sales.revenue': 1470 }]);
  });

  it('one meaning of at risk: at_risk_count and churn_risk "high" count the at_risk segment', async () => {
    const [count] = await cubeRows(db, model, { measures: ['customers.at_risk_count'] });
    const bands = await cubeRows(db, model, {
      measures: ['customers.count'],
      dimensions: ['customers.churn_risk'],
      order: { 'customers.churn_risk': 'asc' },
    });
    // the same three customers as the segment above (churn >= 0.5)
    expect(count).toEqual({ 'customers.at_risk_count': 3 });
    expect(bands.find((r) => r['customers.churn_risk'] === 'high')).toEqual({
      'customers.churn_risk': 'high',
      'customers.count': 3,
    });
    expect(bands.map((r) => r['customers.churn_risk'])).not.toContain('medium');
  });

  it('segment_migration pairs the previous and the latest run', async () => {
    const rows = await cubeRows(db, model, {
      measures: ['segment_migration.count'],
      dimensions: ['segment_migration.from_segment', 'segment_migration.to_segment'],
      order: { 'segment_migration.from_segment': 'asc', 'segment_migration.to_segment': 'asc' },
    });
    expect(
      rows.map((r) => [
        r['segment_migration.from_segment'],
        r['segment_migration.to_segment'],
        r['segment_migration.count'],
      ]),
    ).toEqual([
      ['Champions', 'Champions', 1],
      ['Hibernating', 'Hibernating', 1],
      ['Loyal', 'At Risk', 1],
      ['New', 'About to Sleep', 1],
      ['New', 'Potential Loyalist', 1],
    ]);
  });

  it('the latest run is the newest as-of, not the highest id: a backfill run created later changes nothing', async () => {
    const w = await fixtureWarehouse();
    try {
      // run 3 backfills 2024-03-31 after run 2 (as of 2024-12-31) was written: everyone "Lost"
      await w.run(
        `INSERT INTO mining.mining_run VALUES (3, '2024-03-31', 'full', '{}', '{}', '2025-02-01 00:00:00+00')`,
      );
      await w.run(`INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, frequency, monetary_total,
          r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t)
        SELECT 3, DATE '2024-03-31', customer_durable_key, 1, 1, 1, 1, 1, 'Lost', 0, 0, 1
        FROM mining.customer_rfm WHERE run_id = 2`);
      const segments = await cubeRows(w, model, {
        measures: ['customers.count'],
        dimensions: ['customers.rfm_segment', 'customers.score_run_id'],
        filters: [{ member: 'customers.rfm_segment', operator: 'set' }],
        order: { 'customers.rfm_segment': 'asc' },
      });
      // run 2's segments of the fixture (5 customers), read by hand above
      expect(
        segments.map((r) => [r['customers.rfm_segment'], r['customers.score_run_id'], r['customers.count']]),
      ).toEqual([
        ['About to Sleep', 2, 1],
        ['At Risk', 2, 1],
        ['Champions', 2, 1],
        ['Hibernating', 2, 1],
        ['Potential Loyalist', 2, 1],
      ]);
      expect(await cubeRows(w, model, { dimensions: ['latest_run.run_id', 'latest_run.as_of'] })).toEqual([
        { 'latest_run.run_id': 2, 'latest_run.as_of': '2024-12-31T00:00:00.000' },
      ]);
      // the previous run is the next as-of down: run 1 (2024-06-30), not the backfill
      const moves = await cubeRows(w, model, {
        measures: ['segment_migration.count'],
        dimensions: ['segment_migration.from_segment', 'segment_migration.to_segment'],
        order: { 'segment_migration.from_segment': 'asc', 'segment_migration.to_segment': 'asc' },
      });
      expect(
        moves.map((r) => [
          r['segment_migration.from_segment'],
          r['segment_migration.to_segment'],
          r['segment_migration.count'],
        ]),
      ).toEqual([
        ['Champions', 'Champions', 1],
        ['Hibernating', 'Hibernating', 1],
        ['Loyal', 'At Risk', 1],
        ['New', 'About to Sleep', 1],
        ['New', 'Potential Loyalist', 1],
      ]);
    } finally {
      w.close();
    }
  });

  it('the model loads and answers before any mining run: the scores are NULL', async () => {
    const empty = await fixtureWarehouse({ mining: false });
    try {
      const rows = await cubeRows(empty, model, {
        measures: ['customers.count', 'customers.total_clv'],
        dimensions: ['customers.rfm_segment', 'customers.cluster_name'],
      });
      expect(rows).toEqual([
        {
          'customers.rfm_segment': null,
          'customers.cluster_name': null,
          'customers.count': 6,
          'customers.total_clv': null,
        },
      ]);
    } finally {
      empty.close();
    }
  });
});

describe('subtotals (GROUPING SETS in one statement)', () => {
  it('rollup over region and country gives country rows, region subtotals and a grand total', async () => {
    const query = {
      measures: ['sales.revenue'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: 'rollup',
      order: [
        ['customers.region', 'asc'],
        ['customers.country', 'asc'],
      ],
    };
    const { sql } = sqlOf(model, query);
    expect(sql).toMatchInlineSnapshot(`
      "SELECT "customers"."region" AS "customers.region", "customers"."country" AS "customers.country", GROUPING("customers.region", "customers.country") AS "__grouping", sum("sales"."revenue") AS "sales.revenue"
      FROM "core"."fact_order_line" AS "sales"
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "sales".customer_durable_key = "customers".customer_durable_key
      GROUP BY GROUPING SETS (("customers.region", "customers.country"), ("customers.region"), ())
      ORDER BY "customers.region" ASC, "customers.country" ASC
      LIMIT $1"
    `);
    const hand = await handRows(
      db,
      `SELECT c.region AS "customers.region", c.country AS "customers.country", GROUPING(c.region, c.country) AS "__grouping", sum(s.revenue) AS "sales.revenue"
       FROM core.fact_order_line s LEFT JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
       GROUP BY ROLLUP (c.region, c.country)`,
    );
    const rows = await cubeRows(db, model, query);
    expect(sorted(rows)).toEqual(sorted(hand));
    const total = rows.find((r) => r.__grouping === 3);
    expect(total?.['sales.revenue']).toBe(3900);
    expect(rows.find((r) => r.__grouping === 1 && r['customers.region'] === 'North')?.['sales.revenue']).toBe(
      2070,
    );
  });

  it('cube mode and explicit grouping sets, also across a fanned-out measure group', async () => {
    const query = {
      measures: ['customers.count', 'sales.revenue'],
      dimensions: ['customers.region', 'products.category'],
      subtotals: { groupingSets: [['customers.region'], ['products.category'], []] },
    };
    const rows = await cubeRows(db, model, query);
    const byRegion = rows
      .filter((r) => r.__grouping === 1)
      .map((r) => [r['customers.region'], r['customers.count'], r['sales.revenue']]);
    expect(sorted(byRegion)).toEqual(
      sorted([
        ['North', 2, 2070],
        ['South', 2, 1300],
        ['West', 2, 520],
        [null, null, 10],
      ]),
    );
    const byCategory = rows
      .filter((r) => r.__grouping === 2)
      .map((r) => [r['products.category'], r['customers.count'], r['sales.revenue']]);
    expect(sorted(byCategory)).toEqual(
      sorted([
        ['Electronics', 3, 3000],
        ['Furniture', 3, 850],
        ['Stationery', 2, 50],
        [null, 2, null],
      ]),
    );
    // the grand total counts each customer once, not once per category
    expect(rows.find((r) => r.__grouping === 3)).toMatchObject({
      'customers.count': 6,
      'sales.revenue': 3900,
    });
    const cube = await cubeRows(db, model, { ...query, subtotals: 'cube' });
    expect(cube.filter((r) => r.__grouping === 3)).toEqual(rows.filter((r) => r.__grouping === 3));
  });
});

describe('calculations and paging', () => {
  it('percent of total, running total, previous period and change, over months', async () => {
    const query = {
      measures: ['sales.revenue'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-01', '2024-06-30'] },
      ],
      calculations: [
        { measure: 'sales.revenue', type: 'percentOfTotal' },
        { measure: 'sales.revenue', type: 'runningTotal' },
        { measure: 'sales.revenue', type: 'previousPeriod' },
        { measure: 'sales.revenue', type: 'periodOverPeriod' },
      ],
    };
    expect(sqlOf(model, query).sql).toMatchInlineSnapshot(`
      "SELECT "c"."sales.ordered_at.month" AS "sales.ordered_at.month", "c"."sales.revenue" AS "sales.revenue", (CAST("c"."sales.revenue" AS DOUBLE) / NULLIF(sum("c"."sales.revenue") OVER (), 0)) AS "sales.revenue.percentOfTotal", sum("c"."sales.revenue") OVER (ORDER BY "c"."sales.ordered_at.month" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "sales.revenue.runningTotal", max("c"."sales.revenue") OVER (ORDER BY "c"."sales.ordered_at.month" ASC RANGE BETWEEN INTERVAL '1 month' PRECEDING AND INTERVAL '1 month' PRECEDING) AS "sales.revenue.previousPeriod", (CAST(("c"."sales.revenue" - max("c"."sales.revenue") OVER (ORDER BY "c"."sales.ordered_at.month" ASC RANGE BETWEEN INTERVAL '1 month' PRECEDING AND INTERVAL '1 month' PRECEDING)) AS DOUBLE) / NULLIF(max("c"."sales.revenue") OVER (ORDER BY "c"."sales.ordered_at.month" ASC RANGE BETWEEN INTERVAL '1 month' PRECEDING AND INTERVAL '1 month' PRECEDING), 0)) AS "sales.revenue.periodOverPeriod"
      FROM (
      SELECT date_trunc('month', timezone($1, "sales"."ordered_at")) AS "sales.ordered_at.month", sum("sales"."revenue") AS "sales.revenue"
      FROM "core"."fact_order_line" AS "sales"
      WHERE (("sales"."ordered_at" >= CAST($2 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($3 AS TIMESTAMPTZ)))
      GROUP BY "sales.ordered_at.month"
      ) AS "c"
      ORDER BY "sales.ordered_at.month" ASC
      LIMIT $4"
    `);
    const rows = await cubeRows(db, model, query);
    // months: Jan 1800, Feb 400, Mar 150, Apr 0 (sale and its return), May 10, Jun 500; total 2860
    expect(
      rows.map((r) => [
        r['sales.revenue'],
        r['sales.revenue.runningTotal'],
        r['sales.revenue.previousPeriod'],
      ]),
    ).toEqual([
      [1800, 1800, null],
      [400, 2200, 1800],
      [150, 2350, 400],
      [0, 2350, 150],
      [10, 2360, 0],
      [500, 2860, 10],
    ]);
    expect(rows[0]?.['sales.revenue.percentOfTotal']).toBeCloseTo(1800 / 2860, 12);
    expect(rows[1]?.['sales.revenue.periodOverPeriod']).toBeCloseTo(400 / 1800 - 1, 12);
    expect(rows[4]?.['sales.revenue.periodOverPeriod']).toBeNull();
  });

  it('previousPeriod is NULL after a gap, not the last month seen', async () => {
    const rows = await cubeRows(db, model, {
      measures: ['sales.revenue'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-06-01', '2024-12-31'] },
      ],
      calculations: [{ measure: 'sales.revenue', type: 'previousPeriod' }],
    });
    expect(rows.map((r) => [r['sales.ordered_at.month'], r['sales.revenue.previousPeriod']])).toEqual([
      ['2024-06-01T00:00:00.000', null],
      ['2024-07-01T00:00:00.000', 500],
      ['2024-11-01T00:00:00.000', null],
    ]);
  });

  it('total counts all rows while limit and offset page them', async () => {
    const query = {
      dimensions: ['products.name'],
      order: { 'products.name': 'asc' },
      limit: 2,
      offset: 1,
      total: true,
    };
    const { sql, params } = sqlOf(model, query);
    expect(sql).toMatchInlineSnapshot(`
      "SELECT "products"."name" AS "products.name", count(*) OVER () AS "__total"
      FROM "core"."dim_product" AS "products"
      GROUP BY "products.name"
      ORDER BY "products.name" ASC
      LIMIT $1
      OFFSET $2"
    `);
    expect(params).toEqual([2, 1]);
    const r = (await runQuery(db, model, query, { now: NOW })) as LoadResponse;
    expect(r.total).toBe(5);
    expect(r.data).toEqual([{ 'products.name': 'Desk' }, { 'products.name': 'Laptop' }]);
  });

  it('ungrouped returns raw rows, measures as row values', async () => {
    const query = {
      measures: ['sales.revenue', 'sales.line_count'],
      dimensions: ['sales.order_id', 'products.name'],
      ungrouped: true,
      filters: [{ member: 'customers.name', operator: 'equals', values: ['Anna'] }],
      order: [['sales.revenue', 'desc']],
    };
    expect(sqlOf(model, query).sql).toMatchInlineSnapshot(`
      "SELECT "sales"."order_id" AS "sales.order_id", "products"."name" AS "products.name", "sales"."revenue" AS "sales.revenue", 1 AS "sales.line_count"
      FROM "core"."fact_order_line" AS "sales"
      LEFT JOIN "core"."dim_product" AS "products" ON "sales".product_key = "products".product_key
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "sales".customer_durable_key = "customers".customer_durable_key
      WHERE ("customers"."name" = $1)
      ORDER BY "sales.revenue" DESC
      LIMIT $2"
    `);
    expect(await cubeRows(db, model, query)).toEqual([
      { 'sales.order_id': 'o1', 'products.name': 'Laptop', 'sales.revenue': 1000, 'sales.line_count': 1 },
      { 'sales.order_id': 'o5', 'products.name': 'Laptop', 'sales.revenue': 900, 'sales.line_count': 1 },
      { 'sales.order_id': 'o1', 'products.name': 'Desk', 'sales.revenue': 300, 'sales.line_count': 1 },
      { 'sales.order_id': 'r1', 'products.name': 'Laptop', 'sales.revenue': -900, 'sales.line_count': 1 },
    ]);
  });
});

describe('compareDateRange', () => {
  it('runs the query once per range, each row naming its range', async () => {
    const query = {
      measures: ['sales.revenue'],
      timeDimensions: [
        {
          dimension: 'sales.ordered_at',
          granularity: 'quarter',
          compareDateRange: [['2024-01-01', '2024-06-30'], 'last quarter'],
        },
      ],
    };
    const r = (await runQuery(db, model, query, { now: NOW })) as CompareResponse;
    expect(r.queryType).toBe('compareDateRangeQuery');
    expect(r.results.map((x) => x.compareDateRange)).toEqual([
      '2024-01-01 - 2024-06-30',
      '2024-04-01 - 2024-06-30',
    ]);
    expect(r.results[0]?.query.timeDimensions?.[0]?.dateRange).toEqual(['2024-01-01', '2024-06-30']);
    expect(
      r.results.map((x) =>
        x.data.map((d) => [d['sales.ordered_at.quarter'], d['sales.revenue'], d.compareDateRange]),
      ),
    ).toEqual([
      [
        ['2024-01-01T00:00:00.000', 2350, '2024-01-01 - 2024-06-30'],
        ['2024-04-01T00:00:00.000', 510, '2024-01-01 - 2024-06-30'],
      ],
      [['2024-04-01T00:00:00.000', 510, '2024-04-01 - 2024-06-30']],
    ]);
  });
});

describe('row-level security', () => {
  const north = { security: { regions: ['North'] } };

  it("limits by the golden customer's current region (customers.access_region) at the root, which a query filter cannot widen", async () => {
    const query = {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      filters: [
        {
          or: [
            { member: 'customers.region', operator: 'equals', values: ['South'] },
            { member: 'customers.region', operator: 'set' },
          ],
        },
      ],
    };
    const { sql, params } = sqlOf(model, query, north);
    expect(sql).toMatchInlineSnapshot(`
      "SELECT "customers"."region" AS "customers.region", sum("sales"."revenue") AS "sales.revenue"
      FROM "core"."fact_order_line" AS "sales"
      INNER JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "sales".customer_durable_key = "customers".customer_durable_key
      WHERE ((CASE WHEN coalesce("customers".golden_customer_key, "customers".customer_durable_key) = "customers".customer_durable_key THEN "customers".region ELSE "customers".access_region END IN ($1)) AND (("customers"."region" = $2) OR ("customers"."region" IS NOT NULL)))
      GROUP BY "customers.region"
      ORDER BY "sales.revenue" DESC
      LIMIT $3"
    `);
    expect(params).toEqual(['North', 'South', 10_000]);
    expect(await cubeRows(db, model, query, north)).toEqual([
      { 'customers.region': 'North', 'sales.revenue': 2070 },
    ]);
  });

  it('joins customers in for every customer-related cube, even when the query does not name it', async () => {
    expect(
      await cubeRows(db, model, { measures: ['sales.revenue', 'tickets.count', 'customers.count'] }, north),
    ).toEqual([{ 'sales.revenue': 2070, 'tickets.count': 3, 'customers.count': 2 }]);
    expect(
      await cubeRows(db, model, { measures: ['customers.count'] }, { security: { regions: [] } }),
    ).toEqual([{ 'customers.count': 0 }]);
  });

  it('shared reference cubes (products, campaigns) are not limited; their facts are', async () => {
    expect(await cubeRows(db, model, { measures: ['products.count'] }, north)).toEqual([
      { 'products.count': 5 },
    ]);
    const rows = await cubeRows(
      db,
      model,
      { measures: ['sales.revenue'], dimensions: ['products.category'] },
      north,
    );
    expect(sorted(rows)).toEqual(
      sorted([
        { 'products.category': 'Electronics', 'sales.revenue': 1500 },
        { 'products.category': 'Furniture', 'sales.revenue': 550 },
        { 'products.category': 'Stationery', 'sales.revenue': 20 },
      ]),
    );
  });

  it('a customer-related cube with no join path to customers is refused for a region-limited user', () => {
    const m = loadModelFromSources([
      {
        file: 'm.yml',
        text: `cubes:
  - name: customers
    sql_table: core.dim_customer
    dimensions:
      - { name: id, type: number, sql: customer_durable_key, primary_key: true }
      - { name: region, type: string, sql: region }
  - name: leads
    sql_table: core.fact_lead
    dimensions:
      - { name: id, type: string, sql: lead_id, primary_key: true }
    measures:
      - { name: count, type: count }
  - name: catalog
    shared: true
    sql_table: core.dim_product
    dimensions:
      - { name: id, type: number, sql: product_key, primary_key: true }
    measures:
      - { name: count, type: count }
`,
      },
    ]);
    expect(() => compileQuery(m, { measures: ['leads.count'] }, north)).toThrow(
      /cube 'leads' has no join path to 'customers', so a region-limited user cannot query it/,
    );
    expect(compileQuery(m, { measures: ['leads.count'] }).sql).toContain('count(*)');
    expect(compileQuery(m, { measures: ['catalog.count'] }, north).params).toEqual([10_000]);
  });
});

describe('key filters copied across joins (planner/key-filters.ts)', () => {
  const keys = async () =>
    (
      await handRows(
        db,
        'SELECT DISTINCT customer_durable_key AS k FROM core.fact_order_line WHERE customer_durable_key IS NOT NULL ORDER BY 1 LIMIT 2',
      )
    ).map((r) => String(r.k));

  it("tests the order lines' own customer key, with the rows hand-written SQL gives", async () => {
    const ks = await keys();
    expect(ks).toHaveLength(2);
    const query = {
      measures: ['sales.revenue'],
      dimensions: ['sales.order_id'],
      filters: [{ member: 'customers.customer_durable_key', operator: 'equals', values: ks }],
      order: [['sales.order_id', 'asc']],
    };
    expect(sqlOf(model, query).sql).toContain('("sales"."customer_durable_key" IN (');
    const hand = await handRows(
      db,
      `SELECT o.order_id AS "sales.order_id", sum(o.revenue)::DOUBLE AS "sales.revenue"
       FROM core.fact_order_line o JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       WHERE o.customer_durable_key IN ($1, $2) GROUP BY 1 ORDER BY 1`,
      ks.map(Number),
    );
    expect(hand.length).toBeGreaterThan(1);
    expect(await cubeRows(db, model, query)).toEqual(hand);
  });

  it("puts a golden-key test into the score joins' ON (a customer without scores keeps its row)", async () => {
    const all = await handRows(
      db,
      `SELECT c.customer_id AS "customers.customer_id", r.rfm_segment AS "customers.rfm_segment",
         coalesce(c.golden_customer_key, c.customer_durable_key)::VARCHAR AS g
       FROM core.dim_customer c
       LEFT JOIN mining.customer_rfm r ON r.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
         AND r.run_id = (SELECT run_id FROM mining.latest_run)
       WHERE c.is_current ORDER BY 1`,
    );
    const scored = all.find((r) => r['customers.rfm_segment'] !== null);
    const unscored = all.find((r) => r['customers.rfm_segment'] === null);
    expect(scored && unscored).toBeTruthy();
    for (const want of [scored, unscored]) {
      const query = {
        dimensions: ['customers.customer_id', 'customers.rfm_segment'],
        filters: [{ member: 'customers.golden_customer_key', operator: 'equals', values: [want?.g] }],
        order: [['customers.customer_id', 'asc']],
      };
      const { sql } = sqlOf(model, query);
      expect(sql).toMatch(
        /= "rfm_scores"\.customer_durable_key AND \("rfm_scores"\."customer_durable_key" = \$\d\)\)/,
      );
      const rows = all.filter((r) => r.g === want?.g).map(({ g: _, ...r }) => r);
      expect(await cubeRows(db, model, query)).toEqual(rows);
    }
  });

  it("copies a run filter into each ANDed equality of a join's ON, with the rows hand-written SQL gives", async () => {
    const runs = await handRows(db, 'SELECT DISTINCT run_id AS r FROM mining.customer_rfm ORDER BY 1');
    expect(runs.length).toBeGreaterThan(1);
    const key = (r: Record<string, unknown>) => JSON.stringify(Object.values(r));
    for (const { r: run } of runs) {
      const query = {
        measures: ['run_scores.count'],
        dimensions: ['run_scores.rfm_segment', 'run_scores.cluster_name'],
        filters: [{ member: 'run_scores.run_id', operator: 'equals', values: [String(run)] }],
      };
      expect(sqlOf(model, query).sql).toMatch(/AND \("run_clusters"\."run_id" = \$\d\)\)/);
      const hand = await handRows(
        db,
        `SELECT r.rfm_segment AS "run_scores.rfm_segment", s.cluster_name AS "run_scores.cluster_name",
           count(*) AS "run_scores.count"
         FROM mining.customer_rfm r
         LEFT JOIN mining.customer_segment s ON s.run_id = r.run_id AND s.customer_durable_key = r.customer_durable_key
         WHERE r.run_id = $1 GROUP BY 1, 2`,
        [Number(run)],
      );
      const got = await cubeRows(db, model, query);
      expect(got.map(key).sort()).toEqual(hand.map(key).sort());
    }
  });

  it('copies no negated or OR-ed test', async () => {
    const [a, b] = await keys();
    for (const filters of [
      [{ member: 'customers.customer_durable_key', operator: 'notEquals', values: [a] }],
      [
        {
          or: [
            { member: 'customers.customer_durable_key', operator: 'equals', values: [a] },
            { member: 'customers.region', operator: 'equals', values: ['North'] },
          ],
        },
      ],
      [{ member: 'customers.customer_durable_key', operator: 'set' }],
    ]) {
      const { sql } = sqlOf(model, { measures: ['sales.revenue'], dimensions: ['sales.order_id'], filters });
      expect(sql).not.toContain('"sales"."customer_durable_key"');
    }
    expect(b).toBeDefined();
  });
});
