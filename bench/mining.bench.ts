/**
 * Mining at scale, each figure beside a baseline measured in the same process:
 * (a) k-means, k = 8 on 1M × 3 points: our typed-array Lloyd/Hamerly vs ml-kmeans from the same
 *     initial centroids (times, iterations, largest centroid difference);
 * (b) RFM SQL on ~10M order lines vs a naive hand-written RFM query (count DISTINCT + ntile), and
 *     vs that query plus a hand-written BTYD summary (what ours also computes in the same pass);
 * (c) a whole `mine` run (RFM + segmentation) on the same warehouse.
 * Run alone: `npx tsx bench/mining.bench.ts [warehouse.duckdb]` (without a file, a temporary
 * warehouse of 10M lines and 1M customers is generated with DuckDB's range()).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmeans as mlKmeans } from 'ml-kmeans';
import type { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import {
  createRng,
  kmeans,
  kmeansPlusPlus,
  lloyd,
  sampleIndices,
  subset,
  toRows,
} from '../src/mining/models/kmeans.ts';
import { loadSegmentRules } from '../src/mining/rfm-segments.ts';
import type { Matrix } from '../src/mining/steps/features.ts';
import { runMining } from '../src/mining/steps/mine.ts';
import { computeRfm, rfmQuery } from '../src/mining/steps/rfm.ts';
import { median, report } from './util.ts';

export interface MiningBenchResult {
  readonly kmeans_ours_s: number;
  readonly kmeans_ml_s: number;
  readonly kmeans_iterations: number;
  readonly kmeans_max_centroid_diff: number;
  readonly kmeans_ours_with_seeding_s: number;
  readonly order_lines: number;
  readonly customers: number;
  readonly rfm_select_s: number;
  readonly rfm_compute_s: number;
  readonly rfm_naive_s: number;
  readonly rfm_select_cpu_s: number;
  readonly rfm_compute_cpu_s: number;
  readonly rfm_naive_cpu_s: number;
  readonly rfm_naive_with_btyd_s: number;
  readonly rfm_naive_with_btyd_cpu_s: number;
  readonly mine_s: number;
  readonly mine_seconds: Record<string, number>;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** 1M points around 8 centres (std 1, centres uniform in [0, 10]^3): overlapping, so Lloyd needs many steps. */
function points(n: number, seed: number): Matrix {
  const d = 3;
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: 8 * d }, () => rng() * 10);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) data[i * d + j] = (centres[(i % 8) * d + j] as number) + gauss();
  return { data, rows: n, cols: d };
}

async function benchKmeans(): Promise<
  Pick<
    MiningBenchResult,
    | 'kmeans_ours_s'
    | 'kmeans_ml_s'
    | 'kmeans_iterations'
    | 'kmeans_max_centroid_diff'
    | 'kmeans_ours_with_seeding_s'
  >
> {
  const m = points(1_000_000, 1);
  const init = kmeansPlusPlus(subset(m, sampleIndices(m.rows, 20_000, createRng(2))), 8, createRng(3));
  lloyd(subset(m, sampleIndices(m.rows, 50_000, createRng(4))), init); // warm the JIT
  let t0 = performance.now();
  const ours = lloyd(m, init);
  const oursS = seconds(t0);
  const rows = toRows(m.data, 3);
  t0 = performance.now();
  const ref = mlKmeans(rows, 8, { initialization: toRows(init, 3) });
  const mlS = seconds(t0);
  let diff = 0;
  for (const [i, c] of ref.centroids.entries()) {
    for (const [j, v] of c.entries())
      diff = Math.max(diff, Math.abs(v - (ours.centroids[i * 3 + j] as number)));
  }
  t0 = performance.now();
  kmeans(m, 8, { seed: 5, restarts: 4 });
  const fullS = seconds(t0);
  report('(a) k-means k=8, 1M×3, same init: ours', oursS, 's', { label: 'ml-kmeans', value: mlS });
  console.log(
    `    iterations ours ${ours.iterations} / ml-kmeans ${ref.iterations}, max centroid difference ${diff.toExponential(2)}`,
  );
  report('    ours incl. k-means++ and 4 restarts', fullS, 's');
  return {
    kmeans_ours_s: oursS,
    kmeans_ml_s: mlS,
    kmeans_iterations: ours.iterations,
    kmeans_max_centroid_diff: diff,
    kmeans_ours_with_seeding_s: fullS,
  };
}

/** ~10M order lines for 1M customers over three years, 3% of them returns; made in SQL. */
async function buildWarehouse(db: Database): Promise<void> {
  await db.run(`INSERT INTO core.dim_product (product_key, source, product_id, name, category, load_id)
    SELECT i, 'bench', 'P' || i, 'Product ' || i, 'Category ' || (i % 12), 1 FROM range(1, 501) t(i)`);
  await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email,
      region, valid_from, valid_to, is_current, load_id)
    SELECT i, i, 'bench', 'C' || i, 'Customer ' || i, 'c' || i || '@example.com', ['North', 'South', 'East', 'West'][1 + i % 4],
      TIMESTAMPTZ '1900-01-01', TIMESTAMPTZ '9999-12-31', true, 1 FROM range(1, 1000001) t(i)`);
  // skewed activity: customer = floor(1M × u²) makes a few customers buy often and many rarely
  await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key, product_key,
      ordered_at, ordered_date, order_type, quantity, revenue, load_id)
    SELECT 'bench', 'O' || (i // 3), (i % 3)::INTEGER, c, c, 1 + hash(i, 2) % 500,
      day::TIMESTAMPTZ, day, CASE WHEN i % 33 = 0 THEN 'return' ELSE 'sale' END, 1,
      (CASE WHEN i % 33 = 0 THEN -1 ELSE 1 END) * (5 + hash(i, 3) % 20000 / 100.0)::DECIMAL(18,4), 1
    FROM (SELECT i, 1 + floor(1000000 * pow((hash(i // 3, 1) % 1000003) / 1000003.0, 2))::BIGINT AS c,
      DATE '2022-01-01' + (hash(i // 3, 4) % 1095)::INTEGER AS day FROM range(10000000) t(i))`);
}

const NAIVE = `CREATE OR REPLACE TEMP TABLE bench_naive AS
  SELECT *, ntile(5) OVER (ORDER BY recency_days DESC) AS r_score, ntile(5) OVER (ORDER BY frequency) AS f_score,
    ntile(5) OVER (ORDER BY monetary) AS m_score
  FROM (SELECT customer_durable_key, DATE '2024-12-31' - max(ordered_date) FILTER (WHERE order_type = 'sale') AS recency_days,
      count(DISTINCT ordered_date) FILTER (WHERE order_type = 'sale') AS frequency, sum(revenue) AS monetary
    FROM core.fact_order_line WHERE customer_durable_key IS NOT NULL AND ordered_date <= DATE '2024-12-31'
    GROUP BY customer_durable_key HAVING count(*) FILTER (WHERE order_type = 'sale') > 0)`;

/** The BTYD summary as one would write it by hand (purchase days, then per customer), for (b). */
const NAIVE_BTYD = `CREATE OR REPLACE TEMP TABLE bench_naive_btyd AS
  WITH days AS (SELECT customer_durable_key, ordered_date, sum(revenue) AS v FROM core.fact_order_line
    WHERE customer_durable_key IS NOT NULL AND ordered_date <= DATE '2024-12-31' AND order_type = 'sale' GROUP BY 1, 2)
  SELECT customer_durable_key, count(*) - 1 AS x, (max(ordered_date) - min(ordered_date)) / 7 AS t_x,
    (DATE '2024-12-31' - min(ordered_date)) / 7 AS T,
    CASE WHEN count(*) > 1 THEN (sum(v) - arg_min(v, ordered_date)) / (count(*) - 1) ELSE 0 END AS zbar
  FROM days GROUP BY 1`;

export async function benchMining(dbPath?: string): Promise<MiningBenchResult> {
  console.log('mining benchmark');
  const km = await benchKmeans();
  const dir = dbPath ? undefined : mkdtempSync(join(tmpdir(), 'crm-bi-mining-bench-'));
  const path = dbPath ?? join(dir as string, 'warehouse.duckdb');
  const db = await openWarehouse(path);
  try {
    if (!dbPath) {
      const t0 = performance.now();
      await buildWarehouse(db);
      console.log(`    built a warehouse of 10M order lines in ${seconds(t0).toFixed(1)} s (${path})`);
    }
    const counts = (await db.one(
      'SELECT count(*) AS lines, count(DISTINCT customer_durable_key) AS customers, max(ordered_date) AS last FROM core.fact_order_line',
    )) as { lines: number; customers: number; last: string };
    const asOf = dbPath ? counts.last : '2024-12-31';
    const rules = loadSegmentRules();
    const { sql, params } = rfmQuery({ asOf, rules });
    const naiveSql = NAIVE.replaceAll("DATE '2024-12-31'", `DATE '${asOf}'`);
    const naiveBtydSql = NAIVE_BTYD.replaceAll("DATE '2024-12-31'", `DATE '${asOf}'`);
    // interleaved, wall clock and CPU seconds (DuckDB's threads run in this process): on a shared
    // 2-core machine the wall clock is noisy, CPU time much less so
    const timed = async (fn: () => Promise<unknown>): Promise<[number, number]> => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await fn();
      const c = process.cpuUsage(c0);
      return [seconds(t0), (c.user + c.system) / 1e6];
    };
    const figures: Record<'naive' | 'naiveBtyd' | 'select' | 'compute', [number[], number[]]> = {
      naive: [[], []],
      naiveBtyd: [[], []],
      select: [[], []],
      compute: [[], []],
    };
    const add = (key: keyof typeof figures, [wall, cpu]: [number, number]) => {
      figures[key][0].push(wall);
      figures[key][1].push(cpu);
    };
    for (let r = 0; r < 5; r++) {
      add('naive', await timed(() => db.run(naiveSql)));
      add('naiveBtyd', await timed(() => db.run(naiveBtydSql)));
      add('select', await timed(() => db.run(`CREATE OR REPLACE TEMP TABLE bench_rfm AS ${sql}`, params)));
      add(
        'compute',
        await timed(() =>
          db
            .transaction(async () => {
              await computeRfm(db, { runId: 1_000_000 + r, asOf, rules });
              throw new Rollback();
            })
            .catch((e) => {
              if (!(e instanceof Rollback)) throw e;
            }),
        ),
      );
    }
    await db.run(
      'DROP TABLE IF EXISTS bench_naive; DROP TABLE IF EXISTS bench_naive_btyd; DROP TABLE IF EXISTS bench_rfm',
    );
    const pair = (i: 0 | 1) =>
      median(figures.naive[i].map((v, r) => v + (figures.naiveBtyd[i][r] as number)));
    const [naiveWall, naiveCpu] = [median(figures.naive[0]), median(figures.naive[1])];
    console.log(
      `(b) RFM on ${counts.lines.toLocaleString('en-US')} order lines, ${counts.customers.toLocaleString('en-US')} customers (median of 5)`,
    );
    report('    RFM select (scores, segments, BTYD), wall', median(figures.select[0]), 's', {
      label: 'naive RFM',
      value: naiveWall,
    });
    report('    RFM select, CPU', median(figures.select[1]), 's', { label: 'naive RFM', value: naiveCpu });
    report('    computeRfm (+ insert into customer_rfm), wall', median(figures.compute[0]), 's', {
      label: 'naive RFM',
      value: naiveWall,
    });
    report('    computeRfm, CPU', median(figures.compute[1]), 's', { label: 'naive RFM', value: naiveCpu });
    report('    RFM select, wall', median(figures.select[0]), 's', {
      label: 'naive RFM + naive BTYD',
      value: pair(0),
    });
    report('    RFM select, CPU', median(figures.select[1]), 's', {
      label: 'naive RFM + naive BTYD',
      value: pair(1),
    });
    const t0 = performance.now();
    let mineSeconds: Record<string, number> = {};
    await db
      .transaction(async () => {
        const run = await runMining(db, { asOf, seed: 1, rules });
        mineSeconds = run.metrics.seconds as Record<string, number>;
        throw new Rollback();
      })
      .catch((e) => {
        if (!(e instanceof Rollback)) throw e;
      });
    const mineS = seconds(t0);
    report('(c) mine: RFM + segmentation, one run', mineS, 's');
    console.log(`    seconds per step ${JSON.stringify(mineSeconds)}`);
    return {
      ...km,
      order_lines: counts.lines,
      customers: counts.customers,
      rfm_select_s: median(figures.select[0]),
      rfm_compute_s: median(figures.compute[0]),
      rfm_naive_s: naiveWall,
      rfm_select_cpu_s: median(figures.select[1]),
      rfm_compute_cpu_s: median(figures.compute[1]),
      rfm_naive_cpu_s: naiveCpu,
      rfm_naive_with_btyd_s: pair(0),
      rfm_naive_with_btyd_cpu_s: pair(1),
      mine_s: mineS,
      mine_seconds: mineSeconds,
    };
  } finally {
    db.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Thrown to roll a timed run back, so the bench leaves a given warehouse as it was. */
class Rollback extends Error {}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchMining(process.argv[2]);
  console.log(JSON.stringify(result));
}
