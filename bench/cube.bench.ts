/**
 * The cube on a warehouse: compile time (p50/p99 over many compiles of 10 dashboard queries),
 * end-to-end time of each query (cache off, median of runs) against the same fan-out-correct SQL
 * written by hand and run on the same connection, and rollup-routed against raw.
 *
 * `npx tsx bench/cube.bench.ts [warehouse.duckdb] [--lines N]` — without a file, a synthetic
 * warehouse of N order lines (default 1,000,000) is generated in SQL first.
 * The lead's runner calls `benchCube(dbPath)`. It builds the model's rollups in that warehouse.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileQuery } from '../src/cube/compile.ts';
import { loadModel } from '../src/cube/model/load.ts';
import { buildRollups } from '../src/cube/rollups.ts';
import { runQuery } from '../src/cube/run.ts';
import type { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';

interface BenchQuery {
  readonly name: string;
  readonly query: Record<string, unknown>;
  /** The same result, written by hand (fan-out-correct). */
  readonly hand: string;
}

const CUSTOMERS = '(SELECT * FROM core.dim_customer WHERE is_current)';

/** Ten queries a dashboard sends, each with its hand-written equivalent. */
export const QUERIES: readonly BenchQuery[] = [
  {
    name: 'revenue by region',
    query: { measures: ['sales.revenue'], dimensions: ['customers.region'] },
    hand: `SELECT c.region, sum(s.revenue) AS revenue FROM core.fact_order_line s
           LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
           GROUP BY 1 ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'revenue, margin by month',
    query: {
      measures: ['sales.revenue', 'sales.margin'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
    },
    hand: `SELECT date_trunc('month', timezone('UTC', s.ordered_at)) AS m, sum(s.revenue), sum(s.margin)
           FROM core.fact_order_line s GROUP BY 1 ORDER BY 1 LIMIT 10000`,
  },
  {
    name: 'revenue by region × month (Berlin)',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
      timezone: 'Europe/Berlin',
    },
    hand: `SELECT c.region, date_trunc('month', timezone('Europe/Berlin', s.ordered_at)) AS m, sum(s.revenue)
           FROM core.fact_order_line s LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
           GROUP BY 1, 2 ORDER BY 2 LIMIT 10000`,
  },
  {
    name: 'revenue by category × year',
    query: {
      measures: ['sales.revenue', 'sales.quantity'],
      dimensions: ['products.category'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    },
    hand: `SELECT p.category, date_trunc('year', timezone('UTC', s.ordered_at)) AS y, sum(s.revenue), sum(s.quantity)
           FROM core.fact_order_line s LEFT JOIN core.dim_product p ON s.product_key = p.product_key
           GROUP BY 1, 2 ORDER BY 2 LIMIT 10000`,
  },
  {
    name: 'orders, buyers, AOV by channel',
    query: {
      measures: ['sales.order_count', 'sales.customer_count', 'sales.avg_order_value'],
      dimensions: ['customers.channel'],
    },
    hand: `SELECT c.channel, count(DISTINCT s.source || '/' || s.order_id) AS o, count(DISTINCT s.customer_durable_key),
                  sum(s.revenue) / NULLIF(count(DISTINCT s.source || '/' || s.order_id), 0)
           FROM core.fact_order_line s LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
           GROUP BY 1 ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'customers, CLV, churn by segment',
    query: {
      measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
      dimensions: ['customers.rfm_segment'],
    },
    hand: `SELECT r.rfm_segment, count(*), avg(v.clv), avg(h.churn_probability)
           FROM ${CUSTOMERS} c
           LEFT JOIN (SELECT * FROM mining.customer_rfm WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm)) r USING (customer_durable_key)
           LEFT JOIN (SELECT * FROM mining.customer_clv WHERE run_id = (SELECT max(run_id) FROM mining.customer_clv)) v USING (customer_durable_key)
           LEFT JOIN (SELECT * FROM mining.customer_churn WHERE run_id = (SELECT max(run_id) FROM mining.customer_churn)) h USING (customer_durable_key)
           GROUP BY 1 ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'revenue by cluster (mining join)',
    query: { measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] },
    hand: `SELECT g.cluster_name, sum(s.revenue) FROM core.fact_order_line s
           LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
           LEFT JOIN (SELECT * FROM mining.customer_segment WHERE run_id = (SELECT max(run_id) FROM mining.customer_segment)) g
             ON c.customer_durable_key = g.customer_durable_key
           GROUP BY 1 ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'revenue + tickets by region (2 facts)',
    query: { measures: ['sales.revenue', 'tickets.count'], dimensions: ['customers.region'] },
    hand: `WITH s AS (SELECT c.region, sum(s.revenue) AS revenue FROM core.fact_order_line s
                      LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key GROUP BY 1),
                t AS (SELECT c.region, count(*) AS tickets FROM core.fact_ticket t
                      LEFT JOIN ${CUSTOMERS} c ON t.customer_durable_key = c.customer_durable_key GROUP BY 1)
           SELECT coalesce(s.region, t.region), s.revenue, t.tickets FROM s FULL JOIN t ON s.region IS NOT DISTINCT FROM t.region
           ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'customers by product category (fan-out)',
    query: { measures: ['customers.count'], dimensions: ['products.category'] },
    hand: `SELECT category, count(*) FROM (
             SELECT DISTINCT p.category, c.customer_durable_key FROM ${CUSTOMERS} c
             LEFT JOIN core.fact_order_line s ON s.customer_durable_key = c.customer_durable_key
             LEFT JOIN core.dim_product p ON s.product_key = p.product_key)
           GROUP BY 1 ORDER BY 2 DESC LIMIT 10000`,
  },
  {
    name: 'revenue region/country + subtotals',
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: 'rollup',
    },
    hand: `SELECT c.region, c.country, GROUPING(c.region, c.country), sum(s.revenue) FROM core.fact_order_line s
           LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
           GROUP BY ROLLUP (c.region, c.country) ORDER BY 4 DESC LIMIT 10000`,
  },
];

export interface CubeBenchOptions {
  /** Compiles of each query for the compile-time percentiles (default 300). */
  readonly compiles?: number;
  /** Timed runs of each query (median; default 7, at least 5). */
  readonly runs?: number;
  readonly log?: (line: string) => void;
}

export interface CubeBenchResult {
  /** Wall-clock percentiles (p99 includes time the OS gives to other processes) and mean CPU time. */
  readonly compile: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly cpuMeanMs: number;
    readonly samples: number;
  };
  readonly queries: readonly {
    readonly name: string;
    readonly cubeMs: number;
    readonly handMs: number;
    readonly ratio: number;
    readonly rows: number;
  }[];
  readonly rollups: readonly {
    readonly name: string;
    readonly rollup: string;
    readonly rollupMs: number;
    readonly rawMs: number;
    readonly speedup: number;
  }[];
  readonly buildRollupsMs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

/**
 * Medians of two workloads timed in alternation (a, b, b, a, ...) after a warm-up of each, so
 * drift and noise from other work on the machine fall on both sides alike.
 */
async function timePair(
  runs: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<[number, number]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  const once = async (fn: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    await fn();
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      await once(a, ta);
      await once(b, tb);
    } else {
      await once(b, tb);
      await once(a, ta);
    }
  }
  return [median(ta), median(tb)];
}

/** Measures the cube on the warehouse at `dbPath` and prints a table of figures and ratios. */
export async function benchCube(dbPath: string, options: CubeBenchOptions = {}): Promise<CubeBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const runs = Math.max(5, options.runs ?? 7);
  const compiles = options.compiles ?? 300;
  const model = await loadModel();

  for (let i = 0; i < 50; i++) for (const q of QUERIES) compileQuery(model, q.query);
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < compiles; i++) {
    for (const q of QUERIES) {
      const t0 = performance.now();
      compileQuery(model, q.query);
      samples.push(performance.now() - t0);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const compile = {
    p50Ms: percentile(samples, 0.5),
    p99Ms: percentile(samples, 0.99),
    cpuMeanMs: (cpu.user + cpu.system) / 1000 / samples.length,
    samples: samples.length,
  };

  const db: Database = await openWarehouse(dbPath);
  try {
    const queries: CubeBenchResult['queries'][number][] = [];
    for (const q of QUERIES) {
      let rows = 0;
      const [cubeMs, handMs] = await timePair(
        runs,
        async () => {
          const r = await runQuery(db, model, q.query, { useRollups: false, cache: false });
          rows = 'data' in r ? r.data.length : 0;
        },
        () => db.all(q.hand),
      );
      queries.push({ name: q.name, cubeMs, handMs, ratio: cubeMs / handMs, rows });
    }

    const t0 = performance.now();
    await buildRollups(db, model);
    const buildRollupsMs = performance.now() - t0;
    const rollups: CubeBenchResult['rollups'][number][] = [];
    for (const q of QUERIES) {
      const routed = compileQuery(model, q.query, {
        rollups: new Set(model.preAggregations.map((p) => p.fullName)),
      });
      if (!routed.rollup) continue;
      const [rollupMs, rawMs] = await timePair(
        runs,
        () => runQuery(db, model, q.query, { cache: false }),
        () => runQuery(db, model, q.query, { useRollups: false, cache: false }),
      );
      rollups.push({ name: q.name, rollup: routed.rollup, rollupMs, rawMs, speedup: rawMs / rollupMs });
    }

    const lines = String(await db.scalar('SELECT count(*) FROM core.fact_order_line'));
    log(
      `cube — ${Number(lines).toLocaleString('en-US')} order lines, ${runs} runs per figure (median), cache off`,
    );
    log(
      `compile (parse + plan + SQL), ${compile.samples} compiles of ${QUERIES.length} queries: p50 ${compile.p50Ms.toFixed(3)} ms, p99 ${compile.p99Ms.toFixed(3)} ms wall, mean CPU ${compile.cpuMeanMs.toFixed(3)} ms (target p50 < 1 ms)`,
    );
    log('');
    log(
      `${'query'.padEnd(40)} ${'cube ms'.padStart(9)} ${'hand ms'.padStart(9)} ${'ratio'.padStart(7)} ${'rows'.padStart(7)}`,
    );
    for (const q of queries) {
      log(
        `${q.name.padEnd(40)} ${q.cubeMs.toFixed(1).padStart(9)} ${q.handMs.toFixed(1).padStart(9)} ${`${q.ratio.toFixed(2)}x`.padStart(7)} ${String(q.rows).padStart(7)}`,
      );
    }
    const total = queries.reduce((a, q) => a + q.cubeMs, 0) / queries.reduce((a, q) => a + q.handMs, 0);
    log(
      `${'all 10 (sum of medians)'.padEnd(40)} ${''.padStart(9)} ${''.padStart(9)} ${`${total.toFixed(2)}x`.padStart(7)}   (target ≤ 1.10x)`,
    );
    log('');
    log(`rollups built in ${buildRollupsMs.toFixed(0)} ms`);
    log(
      `${'query'.padEnd(40)} ${'rollup ms'.padStart(10)} ${'raw ms'.padStart(9)} ${'speedup'.padStart(8)}  rollup`,
    );
    for (const r of rollups) {
      log(
        `${r.name.padEnd(40)} ${r.rollupMs.toFixed(1).padStart(10)} ${r.rawMs.toFixed(1).padStart(9)} ${`${r.speedup.toFixed(1)}x`.padStart(8)}  ${r.rollup}`,
      );
    }
    return { compile, queries, rollups, buildRollupsMs };
  } finally {
    db.close();
  }
}

/**
 * A synthetic warehouse filled in SQL with range(): `lines` order lines over 3 years, a customer
 * per 10 lines (every 10th with an older SCD2 version), 200 products, a ticket per 50 lines and
 * one mining run.
 */
export async function generateBenchWarehouse(path: string, lines = 1_000_000): Promise<void> {
  const customers = Math.max(10, Math.floor(lines / 10));
  const db = await openWarehouse(path);
  try {
    await db.transaction(async () => {
      await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
        VALUES (1, 'bench', 'canonical', 'x', 0, 0, 0, 'succeeded', now(), now())`);
      await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, region, country, city, channel,
          signup_date, valid_from, valid_to, is_current, load_id)
        SELECT i, i, 'bench', 'C' || i, 'Customer ' || i, ['North', 'South', 'East', 'West'][1 + i % 4],
          ['DE', 'FR', 'IT', 'ES', 'UK', 'US'][1 + i % 6], 'City ' || (i % 97), ['web', 'store', 'partner'][1 + i % 3],
          DATE '2020-01-01' + CAST(i % 1000 AS INTEGER), TIMESTAMPTZ '1900-01-01 00:00:00+00', TIMESTAMPTZ '9999-12-31 00:00:00+00', true, 1
        FROM range(1, ${customers + 1}) t(i)`);
      await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, region, country, city, channel,
          signup_date, valid_from, valid_to, is_current, load_id)
        SELECT ${customers} + i, i, 'bench', 'C' || i, 'Customer ' || i, 'North', 'DE', 'Old City', 'web', DATE '2020-01-01',
          TIMESTAMPTZ '1900-01-01 00:00:00+00', TIMESTAMPTZ '2022-06-01 00:00:00+00', false, 1
        FROM range(10, ${customers + 1}, 10) t(i)`);
      await db.run(`INSERT INTO core.dim_product (product_key, source, product_id, name, category, subcategory, list_price, unit_cost, load_id)
        SELECT i, 'bench', 'P' || i, 'Product ' || i, 'Category ' || (i % 8), 'Sub ' || (i % 24), 5 + i % 300, 3 + i % 200, 1
        FROM range(1, 201) t(i)`);
      await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at,
          ordered_date, order_type, channel, quantity, unit_price, discount, revenue, cost, margin, load_id)
        SELECT 'bench', 'o' || (i // 3), i % 3, c, c, 1 + hash(i) % 200, ts, CAST(ts AS DATE),
          CASE WHEN i % 50 = 0 THEN 'return' ELSE 'sale' END, ['web', 'store'][1 + i % 2],
          q, 10 + i % 90, 0, q * (10 + i % 90), q * (6 + i % 50), q * (4 + i % 40), 1
        FROM (SELECT i, 1 + hash(i // 3) % ${customers} AS c,
                     TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_minutes(CAST(hash(i // 3) % (3 * 365 * 24 * 60) AS BIGINT)) AS ts,
                     CASE WHEN i % 50 = 0 THEN -1 ELSE 1 + i % 4 END AS q
              FROM range(${lines}) t(i))`);
      await db.run(`INSERT INTO core.fact_ticket (source, ticket_id, customer_key, customer_durable_key, opened_at, priority, status, load_id)
        SELECT 'bench', 't' || i, 1 + hash(i * 7) % ${customers}, 1 + hash(i * 7) % ${customers},
          TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_minutes(CAST(hash(i) % 1500000 AS BIGINT)), ['low', 'high'][1 + i % 2], 'open', 1
        FROM range(${Math.floor(lines / 50)}) t(i)`);
      await db.run(`INSERT INTO mining.mining_run VALUES (1, DATE '2024-12-31', 'rfm', '{}', '{}', now())`);
      await db.run(`INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency, monetary_total, r_score,
          f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t)
        SELECT 1, DATE '2024-12-31', i, i % 365, 1 + i % 9, i % 1000, 1 + i % 5, 1 + (i // 5) % 5, 1 + (i // 25) % 5,
          ['Champions', 'Loyal', 'At Risk', 'Hibernating', 'New'][1 + i % 5], i % 9, 1, 1
        FROM range(1, ${customers + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_segment SELECT 1, DATE '2024-12-31', i, i % 4, ['Big Spenders', 'Bargain Hunters', 'Dormant', 'Regulars'][1 + i % 4]
        FROM range(1, ${customers + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_churn SELECT 1, DATE '2024-12-31', i, 1 - (i % 100) / 100.0, (i % 100) / 100.0
        FROM range(1, ${customers + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases,
        expected_avg_value, clv) SELECT 1, DATE '2024-12-31', i, i % 7, 50 + i % 500, (i % 7) * (50 + i % 500)
        FROM range(1, ${customers + 1}) t(i)`);
    });
  } finally {
    db.close();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values, positionals } = parseArgs({
    options: { lines: { type: 'string' } },
    allowPositionals: true,
  });
  let path = positionals[0];
  let tmp: string | undefined;
  if (path === undefined || !existsSync(path)) {
    tmp = mkdtempSync(join(tmpdir(), 'crm-bi-cube-bench-'));
    path = join(tmp, 'warehouse.duckdb');
    const lines = Number(values.lines ?? 1_000_000);
    const t0 = performance.now();
    await generateBenchWarehouse(path, lines);
    console.log(
      `generated ${lines.toLocaleString('en-US')} order lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  try {
    await benchCube(path);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
