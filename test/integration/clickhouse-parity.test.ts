/**
 * The same warehouse on DuckDB and on the 2-shard ClickHouse test cluster: the golden fixture is
 * synced (streamed, reconciled), then cube queries run on both engines and their rows must be
 * equal (floats within 1e-9 relative), hostile filter values must select the same rows on both,
 * and what ClickHouse 18.16 cannot do is refused, never answered differently.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRfm, fitOnCluster } from '../../src/clickhouse/btyd.ts';
import { runClickHouseQuery } from '../../src/clickhouse/run-query.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { clickhouseLiteral } from '../../src/cube/dialect/clickhouse-literal.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse, ResultRow } from '../../src/cube/result/response.ts';
import { runQuery } from '../../src/cube/run.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { fitBgNbd } from '../../src/mining/models/bgnbd.ts';
import { fitGammaGamma } from '../../src/mining/models/gamma-gamma.ts';
import { computeBtydSummary, customerSummaryCtes } from '../../src/mining/steps/btyd-summary.ts';
import { cubeRows, NOW } from '../golden/helpers.ts';
import { clickHouseUrl, restartCluster, shardPid, syncedFixture } from '../helpers/clickhouse.ts';
import { tempDir } from '../helpers/warehouse.ts';

const URL = await clickHouseUrl();

/** Rows equal, floats within 1e-9 relative; order compared only when the query fixes it fully. */
function expectSameRows(a: readonly ResultRow[], b: readonly ResultRow[], ordered: boolean): void {
  const key = (r: ResultRow) => JSON.stringify(Object.entries(r).sort());
  const sortRows = (rows: readonly ResultRow[]) =>
    ordered ? [...rows] : [...rows].sort((x, y) => (key(x) < key(y) ? -1 : 1));
  const left = sortRows(a);
  const right = sortRows(b);
  expect(right.length).toBe(left.length);
  left.forEach((row, i) => {
    const other = right[i] as ResultRow;
    expect(Object.keys(other).sort()).toEqual(Object.keys(row).sort());
    for (const [k, v] of Object.entries(row)) {
      const w = other[k];
      if (typeof v === 'number' && typeof w === 'number' && !Number.isInteger(v)) {
        expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(v), Math.abs(w)));
      } else {
        expect({ [k]: w }).toEqual({ [k]: v });
      }
    }
  });
}

const granularities = ['day', 'week', 'month', 'quarter', 'year'] as const;
const zones = ['UTC', 'Europe/Berlin', 'America/New_York'] as const;

const f = (member: string, operator: string, values?: unknown[]) =>
  values === undefined ? { member, operator } : { member, operator, values };

/** Golden-suite queries whose plans ClickHouse 18.16 can run (windows excepted). */
const QUERIES: readonly { name: string; query: Record<string, unknown> }[] = [
  ...zones.flatMap((timezone) =>
    granularities.map((g) => ({
      name: `revenue by ${g} in ${timezone}`,
      query: {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: g }],
        timezone,
      },
    })),
  ),
  {
    name: 'a month range in Berlin moves the 23:30 UTC sales',
    query: {
      measures: ['sales.revenue'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-01', '2024-03-31'] },
      ],
      timezone: 'Europe/Berlin',
    },
  },
  {
    name: 'revenue by region (fan-out safe)',
    query: { measures: ['sales.revenue'], dimensions: ['customers.region'] },
  },
  {
    name: 'measures of two cubes merge on the dimension',
    query: {
      measures: ['sales.revenue', 'customers.count', 'sales.order_count'],
      dimensions: ['customers.region'],
    },
  },
  {
    name: 'distinct counts, exact and derived',
    query: {
      measures: ['sales.order_count', 'sales.customer_count', 'sales.avg_order_value', 'sales.margin_rate'],
    },
  },
  {
    name: 'min, max, avg, filtered sum',
    query: {
      measures: [
        'sales.min_line_revenue',
        'sales.max_line_revenue',
        'sales.avg_unit_price',
        'sales.return_revenue',
      ],
      dimensions: ['sales.order_type'],
    },
  },
  {
    name: 'revenue by product category',
    query: { measures: ['sales.revenue', 'sales.quantity'], dimensions: ['products.category'] },
  },
  {
    name: 'customers by country and city',
    query: { measures: ['customers.count'], dimensions: ['customers.country', 'customers.city'] },
  },
  {
    name: 'tickets by region',
    query: { measures: ['tickets.count', 'tickets.open_count'], dimensions: ['customers.region'] },
  },
  { name: 'a segment', query: { measures: ['sales.revenue'], segments: ['sales.returns'] } },
  {
    name: 'order, limit and offset',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['sales.order_id'],
      order: { 'sales.revenue': 'desc', 'sales.order_id': 'asc' },
      limit: 4,
      offset: 2,
    },
  },
  {
    name: 'HAVING on a measure',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      filters: [f('sales.revenue', 'gt', ['1000'])],
    },
  },
  {
    name: 'relative date range against a fixed now',
    query: {
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: 'this year' }],
    },
  },
  ...(
    [
      ['equals', f('customers.region', 'equals', ['North'])],
      ['equals with several values', f('customers.region', 'equals', ['North', 'West'])],
      ['notEquals keeps NULL rows', f('customers.region', 'notEquals', ['North'])],
      ['contains matches % and _ literally', f('products.name', 'contains', ['%_'])],
      ['notContains', f('products.name', 'notContains', ['a'])],
      ['startsWith ignores case', f('products.name', 'startsWith', ['la'])],
      ['notStartsWith', f('products.name', 'notStartsWith', ['p'])],
      ['endsWith', f('products.name', 'endsWith', ['ONE'])],
      ['notEndsWith', f('products.name', 'notEndsWith', ['e'])],
      ['set', f('customers.city', 'set')],
      ['notSet', f('customers.city', 'notSet')],
      ['inDateRange', f('sales.ordered_at', 'inDateRange', ['2024-01-01', '2024-02-15'])],
      ['notInDateRange', f('sales.ordered_at', 'notInDateRange', ['2024-01-01', '2024-02-15'])],
      ['beforeDate', f('sales.ordered_at', 'beforeDate', ['2024-02-01'])],
      ['afterOrOnDate', f('sales.ordered_at', 'afterOrOnDate', ['2024-07-01'])],
      ['onTheDate', f('sales.ordered_at', 'onTheDate', ['2024-01-15'])],
      ['measureFilter', f('sales.return_revenue', 'measureFilter')],
      [
        'nested or/and',
        {
          or: [
            f('customers.region', 'equals', ['West']),
            { and: [f('customers.country', 'equals', ['DE']), f('customers.city', 'startsWith', ['Ham'])] },
          ],
        },
      ],
    ] as const
  ).map(([name, filter]) => ({
    name: `filter ${name}`,
    query: { measures: ['sales.revenue'], filters: [filter] },
  })),
  {
    name: 'subtotals by rollup (a UNION ALL of grouping sets)',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: 'rollup',
    },
  },
  {
    name: 'subtotals by cube with a distinct count',
    query: {
      measures: ['sales.revenue', 'sales.order_count'],
      dimensions: ['customers.region', 'sales.order_type'],
      subtotals: 'cube',
    },
  },
  {
    name: 'explicit grouping sets',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: { groupingSets: [['customers.region'], ['customers.country'], []] },
    },
  },
  {
    name: 'subtotals over two merged cubes',
    query: {
      measures: ['customers.count', 'sales.revenue'],
      dimensions: ['customers.region'],
      subtotals: 'rollup',
    },
  },
  {
    name: 'sales by customers.rfm_segment (order lines → customers → rfm scores, nested joins)',
    query: { measures: ['sales.revenue', 'sales.order_count'], dimensions: ['customers.rfm_segment'] },
  },
  {
    name: 'customers, CLV, churn by segment (three joins to the score tables)',
    query: {
      measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
      dimensions: ['customers.rfm_segment'],
    },
  },
  {
    name: 'revenue by cluster (mining join)',
    query: { measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] },
  },
  {
    name: 'customers by product category (fan-out, two joins)',
    query: { measures: ['customers.count'], dimensions: ['products.category'] },
  },
  {
    name: 'revenue by region and category with a filter on the last join',
    query: {
      measures: ['sales.revenue', 'sales.quantity'],
      dimensions: ['customers.region', 'products.category'],
      filters: [f('products.category', 'notEquals', ['Furniture'])],
      order: { 'sales.revenue': 'desc', 'customers.region': 'asc', 'products.category': 'asc' },
    },
  },
  {
    name: 'segment measures merged with sales by segment, with subtotals',
    query: {
      measures: ['sales.revenue', 'customers.count'],
      dimensions: ['customers.rfm_segment', 'customers.region'],
      subtotals: 'rollup',
    },
  },
  {
    name: 'filter gt on a number dimension',
    query: { measures: ['tickets.count'], filters: [f('tickets.satisfaction', 'gt', ['2'])] },
  },
  {
    name: 'filter lte on a number dimension',
    query: { measures: ['tickets.count'], filters: [f('tickets.satisfaction', 'lte', ['2'])] },
  },
];

const COMPARE = {
  measures: ['sales.revenue'],
  timeDimensions: [
    {
      dimension: 'sales.ordered_at',
      granularity: 'month',
      compareDateRange: [
        ['2024-01-01', '2024-03-31'],
        ['2024-04-01', '2024-06-30'],
      ],
    },
  ],
};

const HOSTILE = [
  "'; DROP TABLE core.dim_customer; --",
  "O'Brien",
  'back\\slash\\',
  "\\'; SELECT 1; --",
  'new\nline\ttab\rreturn',
  'nul\u0000byte',
  'back`tick`',
  'Zürich ☃ 𝄞',
  '%_',
  '',
];

describe.skipIf(!URL)('DuckDB and the ClickHouse cluster agree', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;
  beforeAll(async () => {
    ({ db, model, cluster } = await syncedFixture(URL as string));
  }, 120_000);
  afterAll(() => db?.close());

  const chRows = async (query: unknown) =>
    ((await runClickHouseQuery(cluster, model, query, { now: NOW })) as LoadResponse).data;

  it('the synced tables hold the fixture: every order line, spread over both shards', async () => {
    const shards = await cluster.shards();
    expect(shards).toHaveLength(2);
    const perShard = await Promise.all(
      shards.map(async (s) =>
        Number(await s.client.scalar('SELECT count() FROM crm_bi.core__fact_order_line')),
      ),
    );
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(12);
    expect(perShard.every((n) => n > 0)).toBe(true);
    // a customer's facts live on one shard: the durable key is the sharding key
    const keysOnBoth = await cluster.entry.scalar(
      `SELECT count() FROM (SELECT customer_durable_key FROM remote('127.0.0.1:19000', crm_bi, core__fact_order_line)
        WHERE customer_durable_key IN (SELECT customer_durable_key FROM remote('127.0.0.1:19001', crm_bi, core__fact_order_line)))`,
    );
    expect(Number(keysOnBoth)).toBe(0);
    expect(
      await cluster.entry.rows('SELECT sum(revenue) AS r, count() AS n FROM core.fact_order_line'),
    ).toEqual([{ r: 3900, n: 12 }]);
  });

  for (const q of QUERIES) {
    it(`${q.name}: same rows on both engines`, async () => {
      const duck = await cubeRows(db, model, q.query, { useRollups: false });
      const ch = await chRows(q.query);
      expect(duck.length).toBeGreaterThan(0);
      expectSameRows(duck, ch, 'order' in q.query);
    });
  }

  it('a compareDateRange query gives the same result per range on both engines', async () => {
    const duck = await runQuery(db, model, COMPARE, { now: NOW, useRollups: false });
    const ch = await runClickHouseQuery(cluster, model, COMPARE, { now: NOW });
    if (!('results' in duck) || !('results' in ch)) throw new Error('expected a compareDateRange response');
    expect(ch.results.map((r) => r.compareDateRange)).toEqual(duck.results.map((r) => r.compareDateRange));
    duck.results.forEach((r, i) => {
      expectSameRows(r.data, ch.results[i]?.data ?? [], true);
    });
    // January–March and April–June 2024 each have sales in all three months
    expect(ch.results.map((r) => r.data.length)).toEqual([3, 3]);
  });

  it('every hostile string round-trips through the literal function unchanged', async () => {
    for (const s of HOSTILE) {
      const back = await cluster.entry.scalar(`SELECT ${clickhouseLiteral(s)} AS v`);
      expect(back).toBe(s);
    }
  });

  it('hostile filter values select the same rows on both engines and the tables survive', async () => {
    for (const evil of HOSTILE) {
      const queries = [
        {
          measures: ['sales.revenue', 'sales.line_count'],
          filters: [f('customers.region', 'notEquals', [evil])],
        },
        { measures: ['sales.revenue'], filters: [f('products.name', 'notContains', [evil])] },
        { measures: ['sales.revenue'], filters: [f('products.name', 'equals', [evil, 'Desk'])] },
        { measures: ['customers.count'], filters: [f('customers.name', 'startsWith', [evil])] },
        {
          measures: ['customers.count'],
          dimensions: ['customers.city'],
          filters: [f('customers.city', 'notEndsWith', [evil])],
        },
      ];
      for (const query of queries) {
        expectSameRows(await cubeRows(db, model, query, { useRollups: false }), await chRows(query), false);
      }
    }
    expect(Number(await cluster.entry.scalar('SELECT count() FROM core.dim_customer'))).toBe(7);
  });

  it('multi-join queries group by the joined scores, not only by NULL', async () => {
    const rows = await chRows({ measures: ['sales.revenue'], dimensions: ['customers.rfm_segment'] });
    expect(rows.filter((r) => r['customers.rfm_segment'] !== null).length).toBeGreaterThan(0);
    const clusters = await chRows({ measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] });
    expect(clusters.filter((r) => r['customers.cluster_name'] !== null).length).toBeGreaterThan(0);
  });

  it('what 18.16 cannot run (windows) is refused as unsupported, never answered differently', async () => {
    const refused = [
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
        calculations: [{ measure: 'sales.revenue', type: 'runningTotal' }],
      },
      {
        measures: ['sales.revenue'],
        dimensions: ['customers.rfm_segment'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
        calculations: [{ measure: 'sales.revenue', type: 'previousPeriod' }],
      },
    ];
    for (const query of refused) {
      await expect(chRows(query)).rejects.toMatchObject({
        code: 'unsupported',
        message: /not supported on this engine/,
      });
    }
  });
});

// The suites below share the cluster with the one above, so they live in this file and run after it.
describe.skipIf(!URL)('mining on the cluster and recovery from a lost shard (synthetic CRM)', () => {
  const tmp = tempDir('crm-bi-ch-');
  const file = join(tmp.dir, 'warehouse.duckdb');
  let db: Database;
  let cluster: ClickHouseCluster;
  let end: string;
  beforeAll(async () => {
    await generate({ out: join(tmp.dir, 'crm'), customers: 3000, seed: 11, segments: 1, dirt: 0 });
    db = await openWarehouse(file);
    await loadSource(db, { source: join(tmp.dir, 'crm'), profile: 'canonical' });
    end = String(await db.scalar('SELECT max(ordered_date)::VARCHAR FROM core.fact_order_line'));
    cluster = ClickHouseCluster.fromUrl(URL as string);
    await syncWarehouse(db, cluster);
  }, 300_000);
  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('RFM and the BTYD summary computed in ClickHouse equal DuckDB customer by customer', async () => {
    for (const period of ['week', 'day'] as const) {
      const duck = await db.all(
        `WITH ${customerSummaryCtes(`DATE '${end}'`)}
         SELECT customer_durable_key, (DATE '${end}' - last_sale)::INTEGER AS recency_days, sale_days AS frequency,
           net_total::DOUBLE AS monetary_total
         FROM customer_summary WHERE sale_days > 0 ORDER BY customer_durable_key`,
      );
      const summary = await computeBtydSummary(db, { end, period });
      const ch = await clusterRfm(cluster, { asOf: end, period });
      expect(ch.length).toBe(duck.length);
      expect(ch.length).toBeGreaterThan(2000);
      ch.forEach((row, i) => {
        const d = duck[i] as Record<string, unknown>;
        expect([row.customer_durable_key, row.recency_days, row.frequency]).toEqual([
          d.customer_durable_key,
          d.recency_days,
          d.frequency,
        ]);
        expect(row.monetary_total).toBeCloseTo(Number(d.monetary_total), 6);
        expect(row.btyd_frequency).toBe(summary.x[i]);
        expect(row.btyd_recency).toBe(summary.tx[i]);
        expect(row.btyd_t).toBe(summary.T[i]);
        expect(Math.abs(row.btyd_monetary - (summary.monetary[i] as number))).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(row.btyd_monetary)),
        );
      });
    }
  });

  it("BG/NBD and Gamma-Gamma fitted from the cluster's pattern counts equal the DuckDB fits within 1e-6", async () => {
    const summary = await computeBtydSummary(db, { end, period: 'week' });
    const bg = fitBgNbd(summary);
    const gg = fitGammaGamma(summary.x, summary.monetary);
    const onCluster = await fitOnCluster(cluster, { end, period: 'week' });
    // the cluster sends patterns, not customers: fewer rows, the same total weight
    expect(onCluster.statistics.customers).toBe(summary.x.length);
    expect(onCluster.statistics.bgnbd.x.length).toBeLessThan(summary.x.length);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Math.abs(onCluster.bgnbd.params[k] - bg.params[k])).toBeLessThanOrEqual(1e-6 * bg.params[k]);
    }
    for (const k of ['p', 'q', 'gamma'] as const) {
      expect(Math.abs(onCluster.gammaGamma.params[k] - gg.params[k])).toBeLessThanOrEqual(
        1e-6 * gg.params[k],
      );
    }
    expect(onCluster.bgnbd.logLikelihood).toBeCloseTo(bg.logLikelihood, 6);
  });

  it('a shard killed mid-sync fails the sync loudly; after a restart a rerun ends as a clean sync', async () => {
    // the rerun must converge to the DuckDB contents whatever the crash left behind
    db.close();
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');
    const run = (kill: boolean) =>
      new Promise<{ code: number | null; stderr: string; killed: boolean }>((resolve) => {
        const child = spawn(
          process.execPath,
          [bin, 'sync', '--from', file, '--to', URL as string, '--batch-rows', '2000'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stderr = '';
        let killed = false;
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          // kill shard 2 once the big fact table has started streaming
          if (kill && !killed && /core\.fact_order_line: \d+ rows sent/.test(stderr)) {
            killed = true;
            process.kill(shardPid(2), 'SIGKILL');
          }
        });
        child.on('close', (code) => resolve({ code, stderr, killed }));
      });
    const crashed = await run(true);
    expect(crashed.killed).toBe(true);
    expect(crashed.code).not.toBe(0);
    expect(crashed.stderr).toMatch(/ClickHouse/);
    restartCluster();
    const rerun = await run(false);
    expect(rerun.stderr).toMatch(/every table reconciles|synced/);
    expect(rerun.code).toBe(0);
    db = await openWarehouse(file, { readOnly: true });
    const duck = await db.one(
      'SELECT count(*)::INTEGER AS n, sum(revenue)::DOUBLE AS revenue, sum(quantity)::DOUBLE AS quantity FROM core.fact_order_line',
    );
    const ch = await cluster.entry.rows(
      'SELECT count() AS n, toFloat64(sum(revenue)) AS revenue, toFloat64(sum(quantity)) AS quantity FROM core.fact_order_line',
    );
    expect(ch).toEqual([duck]);
    for (const shard of await cluster.shards()) {
      const leftovers = await shard.client.rows(
        "SELECT name FROM system.tables WHERE database = 'crm_bi' AND (startsWith(name, 'stg') OR startsWith(name, 'old_'))",
      );
      expect(leftovers).toEqual([]);
    }
  }, 300_000);

  it('the CLI: query --db clickhouse:// answers like the DuckDB file; load --db clickhouse:// validates in DuckDB, then syncs; mine --db clickhouse:// scores the staging file, then syncs mining.*', async () => {
    db.close();
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const query = JSON.stringify({
      measures: ['sales.revenue', 'sales.order_count'],
      dimensions: ['customers.region'],
    });
    const onDuck = cli(['query', query, '--db', file, '--format', 'json', '--no-rollups']);
    const onCluster = cli(['query', query, '--db', URL as string, '--format', 'json']);
    expect(onCluster.status).toBe(0);
    const rows = (out: string) => (JSON.parse(out) as { data: ResultRow[] }).data;
    expectSameRows(rows(onDuck.stdout), rows(onCluster.stdout), false);
    expect(JSON.parse(onCluster.stdout).dbType).toBe('clickhouse');

    // mine --db clickhouse:// mines the staging file: without one it says to load first
    const noStaging = join(tmp.dir, 'no-staging.duckdb');
    const unloaded = cli(['mine', '--db', URL as string], { CRM_BI_CLICKHOUSE_STAGING: noStaging });
    expect(unloaded.status).toBe(1);
    expect(unloaded.stderr).toMatch(/run `crm-bi load --source DIR --db clickhouse:\/\/[^`]+` first/);
    expect(existsSync(noStaging)).toBe(false);

    // a small export with planted dirt: the rejects are decided in the DuckDB staging file
    const source = join(tmp.dir, 'small');
    await generate({ out: source, customers: 300, seed: 3, segments: 1, dirt: 0.02 });
    const staging = join(tmp.dir, 'staging.duckdb');
    const loaded = cli(['load', '--source', source, '--db', URL as string, '--json'], {
      CRM_BI_CLICKHOUSE_STAGING: staging,
    });
    expect(loaded.status).toBe(0);
    const result = JSON.parse(loaded.stdout) as { rows_rejected: number; status: string };
    expect(result.status).toBe('succeeded');
    expect(result.rows_rejected).toBeGreaterThan(0);
    const stage = await openWarehouse(staging, { readOnly: true });
    try {
      for (const table of ['core.fact_order_line', 'core.dim_customer', 'meta.etl_reject']) {
        const n = Number(await stage.scalar(`SELECT count(*) FROM ${table}`));
        expect(Number(await cluster.entry.scalar(`SELECT count() FROM ${table}`))).toBe(n);
      }
    } finally {
      stage.close();
    }
    // loading the same export again changes nothing on either side
    const again = cli(['load', '--source', source, '--db', URL as string, '--json'], {
      CRM_BI_CLICKHOUSE_STAGING: staging,
    });
    expect(JSON.parse(again.stdout).status).toBe('skipped');

    // mining on the cluster: scored in the staging file, then its mining.* tables synced
    const mined = cli(['mine', '--db', URL as string, '--json'], { CRM_BI_CLICKHOUSE_STAGING: staging });
    expect(mined.stderr).toMatch(/every table reconciles/);
    expect(mined.status).toBe(0);
    const runId = (JSON.parse(mined.stdout) as { run_id: number }).run_id;
    const compared = {
      customer_rfm: {
        duck: `run_id, as_of::VARCHAR AS as_of, customer_durable_key, recency_days, frequency,
          monetary_total::DOUBLE AS monetary_total, monetary_avg, r_score, f_score, m_score, rfm_segment,
          btyd_frequency, btyd_recency, btyd_t, btyd_monetary`,
        ch: `run_id, toString(as_of) AS as_of, customer_durable_key, recency_days, frequency,
          toFloat64(monetary_total) AS monetary_total, monetary_avg, r_score, f_score, m_score, rfm_segment,
          btyd_frequency, btyd_recency, btyd_t, btyd_monetary`,
      },
      customer_clv: {
        duck: `run_id, as_of::VARCHAR AS as_of, customer_durable_key, expected_purchases, expected_avg_value,
          clv, clv_p10, clv_p90, clv_tier`,
        ch: `run_id, toString(as_of) AS as_of, customer_durable_key, expected_purchases, expected_avg_value,
          clv, clv_p10, clv_p90, clv_tier`,
      },
    };
    const scored = await openWarehouse(staging, { readOnly: true });
    try {
      for (const [table, columns] of Object.entries(compared)) {
        const order = 'ORDER BY run_id, customer_durable_key';
        const duck = await scored.all(`SELECT ${columns.duck} FROM mining.${table} ${order}`);
        const ch = await cluster.entry.rows(`SELECT ${columns.ch} FROM mining.${table} ${order}`);
        expect(duck.length).toBeGreaterThan(200);
        expect(duck.some((r) => r.run_id === runId)).toBe(true);
        expectSameRows(duck as ResultRow[], ch as ResultRow[], true);
      }
    } finally {
      scored.close();
    }
    db = await openWarehouse(file, { readOnly: true });
  }, 300_000);
});
