/**
 * Pre-aggregations: every declared rollup answers the queries it can with the same rows as the
 * warehouse tables; queries it cannot answer go to the raw tables; a load makes rollups stale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/cube/compile.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { buildRollups, freshRollups } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel, NOW, sorted } from '../golden/helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
  // the fixture loads cleanly; two rejected rows give the quarantine rollup something to hold
  await db.run(`INSERT INTO meta.etl_reject (load_id, source_file, line, column_name, reason, raw)
    VALUES (1, 'orders.csv', 2, 'revenue', 'invalid_number', 'x'), (1, 'orders.csv', 5, NULL, 'duplicate_key', 'y')`);
  const built = await buildRollups(db, model);
  expect(built.map((b) => b.name)).toEqual(model.preAggregations.map((p) => p.fullName));
});
afterAll(() => db.close());

function round(rows: readonly Record<string, unknown>[]) {
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v]),
    ),
  );
}

async function both(
  query: Record<string, unknown>,
  only: string,
  options: { security?: { regions: string[] } } = {},
) {
  // a partitioned rollup's built partitions come with it (run_migration.transitions@[1,2])
  const rollups = new Set(
    [...(await freshRollups(db, model))].filter((r) => r === only || r.startsWith(`${only}@`)),
  );
  expect(rollups.has(only)).toBe(true);
  const routed = compileQuery(model, query, { now: NOW, rollups, ...options });
  const viaRollup = (await runQuery(db, model, query, { now: NOW, rollups, ...options })) as LoadResponse;
  const raw = (await runQuery(db, model, query, { now: NOW, useRollups: false, ...options })) as LoadResponse;
  return { routed, viaRollup, raw };
}

const ROUTED: Record<string, Record<string, unknown>[]> = {
  'sales.daily': [
    {
      measures: [
        'sales.revenue',
        'sales.margin',
        'sales.avg_unit_price',
        'sales.min_line_revenue',
        'sales.max_line_revenue',
      ],
      dimensions: ['customers.region'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-01', '2024-06-30'] },
      ],
    },
    // the executive page's revenue by region over the chosen period
    {
      measures: ['sales.revenue', 'sales.revenue_no_customer'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-01-01', '2024-06-30'] }],
    },
    {
      measures: ['sales.quantity', 'sales.line_count', 'sales.return_revenue', 'sales.cost'],
      dimensions: ['products.category'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'week' }],
      filters: [{ member: 'customers.country', operator: 'in', values: ['DE', 'FR'] }],
    },
    {
      measures: ['sales.revenue', 'sales.margin_rate'],
      dimensions: ['customers.country'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
      subtotals: 'rollup',
    },
    {
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
      filters: [{ member: 'sales.ordered_at', operator: 'afterOrOnDate', values: ['2024-04-01'] }],
      calculations: [
        { measure: 'sales.revenue', type: 'runningTotal' },
        { measure: 'sales.revenue', type: 'percentOfTotal' },
      ],
    },
    {
      measures: ['sales.revenue'],
      dimensions: ['products.category'],
      filters: [{ member: 'sales.revenue', operator: 'gt', values: [100] }],
    },
  ],
  'sales.monthly_by_region': [
    {
      measures: ['sales.revenue', 'sales.quantity'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'quarter' }],
    },
    {
      measures: ['sales.revenue', 'sales.line_count'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year', dateRange: 'this year' }],
    },
  ],
  'sales.customers_monthly': [
    {
      measures: ['sales.customer_count', 'sales.revenue'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
    },
    {
      measures: ['sales.customer_count'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    },
    // the executive page's monthly trend (monthly_by_region holds it too, as counts per row)
    {
      measures: ['sales.revenue', 'sales.margin', 'sales.customer_count'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
      order: { 'sales.ordered_at': 'asc' },
    },
  ],
};

// /v1/data/checks: per source and load as two grouping sets, the quarantine per source
ROUTED['data_order_checks.by_load'] = [
  {
    measures: [
      'data_order_checks.count',
      'data_order_checks.revenue',
      'data_order_checks.unknown_customer_lines',
      'data_order_checks.unknown_customer_orders',
      'data_order_checks.unknown_customer_revenue',
      'data_order_checks.unknown_customer_share',
      'data_order_checks.future_dated_share',
      'data_order_checks.outliers',
    ],
    dimensions: ['data_order_checks.source', 'data_order_checks.load_id'],
    subtotals: {
      groupingSets: [['data_order_checks.source'], ['data_order_checks.source', 'data_order_checks.load_id']],
    },
  },
];
ROUTED['data_customer_checks.by_load'] = [
  {
    measures: [
      'data_customer_checks.count',
      'data_customer_checks.missing_email_share',
      'data_customer_checks.duplicate_emails',
    ],
    dimensions: ['data_customer_checks.source', 'data_customer_checks.load_id'],
  },
];
ROUTED['data_rejects.by_source'] = [
  {
    measures: ['data_rejects.count', 'data_rejects.standing_count', 'data_rejects.resolved_count'],
    dimensions: ['data_rejects.source_system'],
  },
];
// the /clv page's P(alive) matrix under a segment filter
ROUTED['customer_scores.alive_matrix'] = [
  {
    measures: ['customer_scores.avg_p_alive', 'customer_scores.churn_scored'],
    dimensions: ['customer_scores.frequency_band', 'customer_scores.recency_band'],
    filters: [
      { member: 'customers.rfm_segment', operator: 'notEquals', values: ['Lost'] },
      { member: 'customer_scores.has_churn_score', operator: 'equals', values: [true] },
    ],
  },
];

// the executive and CLV pages (more cases, with a merged customer: cube-rollups-distinct.test.ts)
// the churn page's at-risk ranking (row by row, grouped by the scores' key) and its totals
ROUTED['customer_scores.at_risk_list'] = [
  {
    dimensions: [
      'customer_scores.customer_key',
      'customers.customer_id',
      'customer_scores.churn_probability',
    ],
    measures: ['customer_scores.total_value_at_risk'],
    filters: [
      { member: 'customer_scores.churn_probability', operator: 'set' },
      { member: 'customer_scores.clv', operator: 'set' },
    ],
    order: { 'customer_scores.total_value_at_risk': 'desc', 'customers.customer_id': 'asc' },
    limit: 3,
  },
  {
    measures: ['customer_scores.total_value_at_risk', 'customer_scores.at_risk_count'],
    filters: [{ member: 'customer_scores.clv', operator: 'set' }],
  },
];
ROUTED['customers.by_region'] = [
  {
    measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
    dimensions: ['customers.region'],
  },
];
ROUTED['customers.by_channel'] = [
  { measures: ['customers.avg_churn_probability', 'customers.count'], dimensions: ['customers.channel'] },
];
ROUTED['customers.by_segment'] = [
  { measures: ['customers.total_clv'], dimensions: ['customers.rfm_segment'] },
  { measures: ['customers.count', 'customers.avg_clv'] },
];
ROUTED['customers.by_signup_year'] = [
  {
    measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
    timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'year' }],
  },
];
ROUTED['customers.by_signup_quarter'] = [
  {
    measures: ['customers.avg_churn_probability', 'customers.count'],
    timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'quarter' }],
  },
];
// the scored segment through its stored dimension (the churn and CLV pages' totals)
ROUTED['customers.by_scored'] = [
  { measures: ['customers.count', 'customers.avg_churn_probability'], segments: ['customers.scored'] },
  {
    measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
    segments: ['customers.scored'],
  },
];
ROUTED['sales.daily_by_segment'] = [
  {
    measures: ['sales.revenue', 'sales.revenue_no_customer'],
    dimensions: ['customers.rfm_segment'],
    timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-01-01', '2024-06-30'] }],
  },
];
// the executive page's new customers (GET /v1/insights/overview)
ROUTED['first_purchases.daily'] = [
  {
    measures: ['first_purchases.count'],
    timeDimensions: [
      {
        dimension: 'first_purchases.first_order_at',
        granularity: 'month',
        dateRange: ['2024-01-01', '2024-03-31'],
      },
    ],
  },
  {
    measures: ['first_purchases.count'],
    dimensions: ['customers.rfm_segment'],
    filters: [{ member: 'customers.region', operator: 'equals', values: ['North'] }],
  },
];
// average CLV by run (the overview): a time dimension stored as its value, grouped as it is
ROUTED['clv_history.by_run'] = [
  {
    measures: ['clv_history.avg_clv', 'clv_history.total_clv', 'clv_history.count'],
    dimensions: ['clv_history.run_id', 'clv_history.as_of', 'clv_history.created_at'],
    order: [
      ['clv_history.as_of', 'desc'],
      ['clv_history.created_at', 'desc'],
      ['clv_history.run_id', 'desc'],
    ],
    limit: 12,
  },
];
ROUTED['customers.clv_list'] = [
  {
    dimensions: [
      'customers.customer_durable_key',
      'customers.customer_id',
      'customers.name',
      'customers.rfm_segment',
    ],
    measures: ['customers.total_clv'],
    order: { 'customers.total_clv': 'desc', 'customers.customer_id': 'asc' },
    limit: 10,
  },
  // not grouped by the key: the rollup's rows are grouped as usual
  {
    dimensions: ['customers.clv_tier'],
    measures: ['customers.total_clv', 'customers.avg_churn_probability'],
  },
];
// the /segments cohort grid: customer-months by cohort month and months since, a date range on
// month boundaries
ROUTED['cohort_activity.retention'] = [
  {
    measures: ['cohort_activity.customer_months'],
    dimensions: ['cohort_activity.months_since'],
    timeDimensions: [{ dimension: 'cohort_activity.cohort_month', granularity: 'month' }],
    filters: [{ member: 'cohort_activity.months_since', operator: 'lte', values: ['6'] }],
  },
  {
    measures: ['cohort_activity.customer_months'],
    dimensions: ['customers.access_region'],
    timeDimensions: [
      {
        dimension: 'cohort_activity.cohort_month',
        granularity: 'quarter',
        dateRange: ['2023-01-01', '2024-06-30'],
      },
    ],
  },
];
// churn quality's backtest: customers per score and outcome of a run, under a segment filter
ROUTED['churn_outcomes.backtest'] = [
  {
    measures: ['churn_outcomes.count'],
    dimensions: [
      'churn_outcomes.run_id',
      'churn_outcomes.as_of',
      'churn_outcomes.created_us',
      'churn_outcomes.data_end',
    ],
  },
  {
    measures: ['churn_outcomes.count'],
    dimensions: ['churn_outcomes.churn_probability', 'churn_outcomes.churned'],
    filters: [{ member: 'customers.rfm_segment', operator: 'notEquals', values: ['Lost'] }],
  },
];
// the /segments migration matrix: a pair of consecutive runs (the fixture's runs 1 and 2), any kind,
// by label (and by region, or filtered on one)
const PAIR = [
  { member: 'run_migration.from_run', operator: 'equals', values: ['1'] },
  { member: 'run_migration.to_run', operator: 'equals', values: ['2'] },
];
ROUTED['run_migration.transitions'] = [
  {
    measures: ['run_migration.count'],
    dimensions: [
      'run_migration.from_run',
      'run_migration.to_run',
      'run_migration.kind',
      'run_migration.from_label',
      'run_migration.to_label',
    ],
    filters: PAIR,
  },
  {
    measures: ['run_migration.count'],
    dimensions: ['run_migration.to_label', 'customers.access_region'],
    filters: [
      ...PAIR,
      { member: 'run_migration.kind', operator: 'equals', values: ['rfm_segment'] },
      { member: 'run_migration.from_label', operator: 'notEquals', values: ['Loyal'] },
    ],
  },
];
// the /churn page's P(alive) histogram: customers per bin of 20, under a segment filter
ROUTED['churn_latest.p_alive_bins'] = [
  {
    measures: ['churn_latest.count'],
    dimensions: ['churn_latest.p_alive_bin'],
    filters: [
      { member: 'customers.rfm_segment', operator: 'notEquals', values: ['Lost'] },
      { member: 'churn_latest.p_alive_bin', operator: 'set' },
    ],
  },
  { measures: ['churn_latest.count'], dimensions: ['churn_latest.p_alive_bin', 'customers.region'] },
];
// the /segments RFM grid, segment cards and cluster profiles
ROUTED['run_scores.profiles'] = [
  {
    measures: ['run_scores.count', 'run_scores.monetary_total', 'run_scores.m_scored'],
    dimensions: ['run_scores.run_id', 'run_scores.r_score', 'run_scores.f_score'],
  },
  {
    measures: ['run_scores.avg_recency_days', 'run_scores.avg_monetary', 'run_scores.avg_m_score'],
    dimensions: ['run_scores.cluster', 'run_scores.cluster_name'],
    filters: [{ member: 'run_scores.cluster', operator: 'set' }],
  },
];

describe('rollup vs raw parity', () => {
  it('every declared rollup has parity queries', () => {
    expect(Object.keys(ROUTED).sort()).toEqual(model.preAggregations.map((p) => p.fullName).sort());
  });

  for (const [name, queries] of Object.entries(ROUTED)) {
    queries.forEach((query, i) => {
      it(`${name} #${i + 1} is routed to the rollup and returns the raw rows`, async () => {
        const { routed, viaRollup, raw } = await both(query, name);
        expect(routed.rollup).toBe(name);
        expect(routed.sql).toContain(`"rollup"."${name.replace('.', '__')}"`);
        expect(viaRollup.usedPreAggregations).toHaveProperty([name]);
        expect(raw.data.length).toBeGreaterThan(0);
        expect(sorted(round(viaRollup.data))).toEqual(sorted(round(raw.data)));
      });
    });
  }

  it('region-limited users use a rollup that holds the region, with the same rows', async () => {
    const query = { measures: ['sales.revenue'], dimensions: ['products.category'] };
    const { routed, viaRollup, raw } = await both(query, 'sales.daily', { security: { regions: ['North'] } });
    expect(routed.rollup).toBe('sales.daily');
    expect(routed.params).toContain('North');
    expect(sorted(viaRollup.data)).toEqual(sorted(raw.data));
  });

  it('region-limited users get the unrouted rows from the rollups the executive page reads', async () => {
    for (const name of [
      'sales.daily_by_segment',
      'first_purchases.daily',
      'sales.daily',
      'clv_history.by_run',
    ]) {
      for (const query of ROUTED[name] ?? []) {
        const { routed, viaRollup, raw } = await both(query, name, { security: { regions: ['North'] } });
        expect(routed.rollup, name).toBe(name);
        expect(routed.params).toContain('North');
        expect(sorted(round(viaRollup.data)), name).toEqual(sorted(round(raw.data)));
      }
    }
  });

  it('the smallest fitting rollup is chosen', () => {
    const c = compileQuery(
      model,
      {
        measures: ['sales.revenue'],
        dimensions: ['customers.region'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
      },
      { rollups: new Set(model.preAggregations.map((p) => p.fullName)) },
    );
    expect(c.rollup).toBe('sales.monthly_by_region');
  });
});

describe('a partitioned rollup answers only a built partition its filters pin', () => {
  const query = (filters: Record<string, unknown>[]) => ({
    measures: ['run_migration.count'],
    dimensions: ['run_migration.from_label', 'run_migration.to_label'],
    filters,
  });
  const eq = (member: string, v: string) => ({
    member: `run_migration.${member}`,
    operator: 'equals',
    values: [v],
  });

  it('holds the consecutive pair of runs and lists it as fresh', async () => {
    const fresh = await freshRollups(db, model);
    expect([...fresh].filter((r) => r.startsWith('run_migration.transitions'))).toEqual([
      'run_migration.transitions@[1,2]',
      'run_migration.transitions',
    ]);
  });

  it('routes the pair, and reads the cube for another pair, an unpinned run or a partition not listed', async () => {
    const fresh = await freshRollups(db, model);
    const routed = (filters: Record<string, unknown>[], rollups: ReadonlySet<string> = fresh) =>
      compileQuery(model, query(filters), { now: NOW, rollups }).rollup;
    expect(routed([eq('from_run', '1'), eq('to_run', '2')])).toBe('run_migration.transitions');
    expect(routed([eq('to_run', '2'), eq('kind', 'rfm_segment'), eq('from_run', '1')])).toBe(
      'run_migration.transitions',
    );
    expect(routed([eq('from_run', '2'), eq('to_run', '1')])).toBeNull();
    expect(routed([eq('from_run', '1')])).toBeNull();
    expect(
      routed([
        eq('from_run', '1'),
        { member: 'run_migration.to_run', operator: 'equals', values: ['2', '1'] },
      ]),
    ).toBeNull();
    expect(routed([{ or: [eq('from_run', '1'), eq('from_run', '2')] }, eq('to_run', '2')])).toBeNull();
    // the rollup's name alone (a set built by hand) does not make a partition readable
    expect(
      routed([eq('from_run', '1'), eq('to_run', '2')], new Set(['run_migration.transitions'])),
    ).toBeNull();
    for (const filters of [[eq('from_run', '2'), eq('to_run', '1')], [eq('from_run', '1')]]) {
      const viaCube = (await runQuery(db, model, query(filters), { now: NOW })) as LoadResponse;
      const raw = (await runQuery(db, model, query(filters), {
        now: NOW,
        useRollups: false,
      })) as LoadResponse;
      expect(viaCube.usedPreAggregations).toEqual({});
      expect(viaCube.data.length).toBeGreaterThan(0);
      expect(sorted(viaCube.data)).toEqual(sorted(raw.data));
    }
  });

  it('a second build keeps the partition as it is', async () => {
    const only = { only: ['run_migration.transitions'] };
    expect((await buildRollups(db, model, only))[0]?.partitions).toEqual({ built: 0, kept: 1, dropped: 0 });
  });
});

describe('queries a rollup cannot answer go to the warehouse tables', () => {
  const all = () => new Set(model.preAggregations.map((p) => p.fullName));
  const cases: [string, Record<string, unknown>][] = [
    ['a dimension the rollup lacks', { measures: ['sales.revenue'], dimensions: ['customers.city'] }],
    ['a non-additive measure', { measures: ['sales.order_count'], dimensions: ['customers.region'] }],
    ['a segment', { measures: ['sales.revenue'], segments: ['sales.returns'] }],
    [
      'a measureFilter',
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'sales.return_revenue', operator: 'measureFilter' }],
      },
    ],
    [
      'another time zone',
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
        timezone: 'Europe/Berlin',
      },
    ],
    [
      'a date bound inside a bucket',
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'sales.ordered_at', operator: 'afterDate', values: ['2024-01-01T12:00:00'] }],
      },
    ],
    [
      'a finer granularity than any rollup',
      {
        measures: ['sales.customer_count'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
      },
    ],
    ['ungrouped rows', { measures: ['sales.revenue'], dimensions: ['customers.region'], ungrouped: true }],
  ];
  for (const [why, query] of cases) {
    it(why, async () => {
      expect(compileQuery(model, query, { now: NOW, rollups: all() }).rollup).toBeNull();
    });
  }

  it('a time dimension stored as its value serves no other zone and no filter on it', () => {
    const q = {
      measures: ['clv_history.count'],
      dimensions: ['clv_history.run_id', 'clv_history.created_at'],
    };
    const only = { rollups: new Set(['clv_history.by_run']) };
    expect(compileQuery(model, q, only).rollup).toBe('clv_history.by_run');
    expect(compileQuery(model, { ...q, timezone: 'Europe/Berlin' }, only).rollup).toBeNull();
    const filtered = {
      ...q,
      filters: [{ member: 'clv_history.created_at', operator: 'afterDate', values: ['2024-01-01'] }],
    };
    expect(compileQuery(model, filtered, only).rollup).toBeNull();
  });

  it('a monthly rollup does not serve a range that starts mid-month', () => {
    const q = {
      measures: ['sales.revenue'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-15', '2024-03-31'] },
      ],
    };
    expect(compileQuery(model, q, { rollups: new Set(['sales.monthly_by_region']) }).rollup).toBeNull();
    expect(compileQuery(model, q, { rollups: new Set(['sales.daily']) }).rollup).toBe('sales.daily');
  });
});

describe('freshness', () => {
  it('runQuery routes to built rollups by itself, and a new load makes them stale', async () => {
    const query = { measures: ['sales.revenue'], dimensions: ['customers.region'] };
    // the names of fresh rollups (a partitioned one also lists its partitions: name@[values])
    const names = async () => [...(await freshRollups(db, model))].filter((r) => !r.includes('@'));
    expect((await names()).length).toBe(model.preAggregations.length);
    const before = (await runQuery(db, model, query)) as LoadResponse;
    expect(Object.keys(before.usedPreAggregations)).toEqual(['sales.monthly_by_region']);
    await db.run(
      `INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at) VALUES (2, 'x', 'canonical', 'y', 'succeeded', now())`,
    );
    expect((await freshRollups(db, model)).size).toBe(0);
    const after = (await runQuery(db, model, query)) as LoadResponse;
    expect(after.usedPreAggregations).toEqual({});
    expect(sorted(after.data)).toEqual(sorted(before.data));
    await buildRollups(db, model, { only: ['sales.daily'] });
    expect([...(await freshRollups(db, model))]).toEqual(['sales.daily']);
  });
});
