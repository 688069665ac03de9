/**
 * Route reads through the cube against the hand-written SQL they replaced (kept here as the
 * baseline, run in the same process on the same warehouse): segment sizes (/v1/segments), the RFM
 * grid, segment cards and cluster profiles (/v1/segmentation/*), and the customer 360
 * (/v1/customers/{id}). Each figure is the median of 11 warm runs (the two paths interleaved), for every region and for a
 * Europe-only caller; target: the cube path at most 1.1x the baseline.
 *
 * The warehouse: `<work>/bench-route-reads-<n>.duckdb` (generate, load, mine twice), kept; it is read
 * as the server reads its published copy (read-only, a pool of readers). The 360's customer is in
 * Europe, so the Europe caller's figure is the whole answer, not a 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../src/api/app.ts';
import { createToken } from '../src/api/auth.ts';
import {
  clusterNames,
  clusterProfiles,
  rfmGrid,
  ruleCells,
  segmentCards,
} from '../src/api/routes/segmentation-queries.ts';
import { loadModel } from '../src/cube/index.ts';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { runMining } from '../src/mining/steps/mine.ts';
import { getRun } from '../src/mining/steps/runs.ts';
import { median, report } from './util.ts';

const RUNS = 11;

/**
 * Medians of `RUNS` warm runs of both paths, interleaved (baseline, cube, baseline, ...) so that a
 * change in the machine's load during the run weighs on both alike.
 */
async function timePair(
  base: () => Promise<unknown>,
  cube: () => Promise<unknown>,
): Promise<[number, number]> {
  await base(); // warm
  await cube();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await base();
    a.push(performance.now() - t0);
    t0 = performance.now();
    await cube();
    b.push(performance.now() - t0);
  }
  return [median(a), median(b)];
}

async function warehouse(customers: number, work: string): Promise<string> {
  const path = join(work, `bench-route-reads-${customers}.duckdb`);
  if (existsSync(path)) return path;
  const src = join(work, `bench-route-reads-${customers}-src`);
  await generate({ out: src, customers, seed: 11 });
  const db = await openWarehouse(path);
  try {
    await loadSource(db, { source: src, profile: 'canonical' });
    const end = String(
      await db.scalar(
        'SELECT (max(ordered_at)::DATE - INTERVAL 183 DAY)::DATE::VARCHAR FROM core.fact_order_line',
      ),
    );
    await runMining(db, { asOf: end, progress: () => {} });
    await runMining(db, { progress: () => {} });
  } finally {
    db.close();
  }
  return path;
}

/** `$n` NULL or a JSON region list, as the replaced routes bound it. */
const inRegions = (n: number) =>
  `($${n}::VARCHAR IS NULL OR list_contains(from_json($${n}::VARCHAR, '["VARCHAR"]'), c.region))`;
const SCORED = `FROM mining.customer_rfm r
  JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
  WHERE r.run_id = $1 AND ${inRegions(2)}`;

/** The hand-written SQL the routes ran before they read through the cube. */
const BASELINE = {
  segments: `WITH allowed AS (
      SELECT customer_durable_key FROM core.dim_customer
      WHERE is_current AND ($1::VARCHAR IS NULL OR list_contains(from_json($1::VARCHAR, '["VARCHAR"]'), region))),
    members AS (
      SELECT 'rfm_segment' AS kind, rfm_segment AS name, customer_durable_key, run_id FROM mining.customer_rfm
      WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm) AND rfm_segment IS NOT NULL
      UNION ALL
      SELECT 'cluster', cluster_name, customer_durable_key, run_id FROM mining.customer_segment
      WHERE run_id = (SELECT max(run_id) FROM mining.customer_segment))
    SELECT m.kind, m.name, any_value(m.run_id) AS run_id, count(*) AS customers
    FROM members m JOIN allowed USING (customer_durable_key)
    GROUP BY 1, 2 ORDER BY 1, customers DESC, 2`,
  grid: `SELECT r.r_score, r.f_score, count(*) AS customers, sum(r.monetary_total)::DOUBLE AS value,
      mode(r.rfm_segment) AS segment
    ${SCORED} AND r.r_score IS NOT NULL AND r.f_score IS NOT NULL
    GROUP BY ALL ORDER BY r.r_score DESC, r.f_score DESC`,
  cards: `SELECT r.rfm_segment AS segment, count(*) AS customers,
      count(*) / sum(count(*)) OVER () AS customer_share, sum(r.monetary_total)::DOUBLE AS value,
      coalesce(sum(r.monetary_total) / nullif(sum(sum(r.monetary_total)) OVER (), 0), 0)::DOUBLE AS value_share,
      avg(r.r_score) AS mean_r, avg(r.f_score) AS mean_f, avg(r.m_score) AS mean_m
    ${SCORED} AND r.rfm_segment IS NOT NULL GROUP BY ALL ORDER BY customers DESC, segment`,
  clusters: `SELECT s.cluster, s.cluster_name, count(*) AS customers,
      count(*) / sum(count(*)) OVER () AS customer_share, sum(r.monetary_total)::DOUBLE AS value,
      coalesce(sum(r.monetary_total) / nullif(sum(sum(r.monetary_total)) OVER (), 0), 0)::DOUBLE AS value_share,
      avg(r.recency_days) AS mean_recency_days, avg(r.frequency) AS mean_frequency,
      avg(r.monetary_total)::DOUBLE AS mean_monetary, avg(r.r_score) AS mean_r, avg(r.f_score) AS mean_f, avg(r.m_score) AS mean_m
    FROM mining.customer_segment s
    JOIN mining.customer_rfm r ON r.run_id = s.run_id AND r.customer_durable_key = s.customer_durable_key
    JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
    WHERE s.run_id = $1 AND ${inRegions(2)} GROUP BY ALL ORDER BY s.cluster`,
};

async function customer360Baseline(db: Database, id: string): Promise<void> {
  const customer = await db.one(
    'SELECT * EXCLUDE (load_id) FROM core.dim_customer WHERE customer_id = $1 AND is_current ORDER BY source LIMIT 1',
    [id],
  );
  const key = Number(customer?.customer_durable_key);
  await db.all(
    'SELECT * EXCLUDE (load_id) FROM core.dim_customer WHERE customer_durable_key = $1 ORDER BY valid_from',
    [key],
  );
  await db.all(
    `SELECT o.order_id, o.line_no, o.ordered_at, p.name AS product, p.category, o.quantity, o.unit_price,
       o.discount, o.revenue, o.margin
     FROM core.fact_order_line o LEFT JOIN core.dim_product p USING (product_key)
     WHERE o.customer_durable_key = $1 ORDER BY o.ordered_at DESC, o.order_id, o.line_no LIMIT 50`,
    [key],
  );
  await db.all(
    `SELECT * EXCLUDE (load_id, customer_key, customer_durable_key) FROM core.fact_ticket
     WHERE customer_durable_key = $1 ORDER BY opened_at DESC LIMIT 50`,
    [key],
  );
  await db.all(
    `SELECT * EXCLUDE (load_id, customer_key, customer_durable_key) FROM core.fact_campaign_touch
     WHERE customer_durable_key = $1 ORDER BY touched_at DESC LIMIT 50`,
    [key],
  );
  for (const t of ['customer_rfm', 'customer_segment', 'customer_churn', 'customer_clv'])
    await db.one(`SELECT * FROM mining.${t} WHERE customer_durable_key = $1 ORDER BY run_id DESC LIMIT 1`, [
      key,
    ]);
}

export async function benchRouteReads(customers: number, work: string): Promise<void> {
  const path = await warehouse(customers, work);
  const writer = await openWarehouse(path);
  let europe: string;
  let admin: string;
  try {
    europe = (await createToken(writer, { role: 'executive', regions: ['Europe'] })).token;
    admin = (await createToken(writer, { role: 'admin' })).token;
  } finally {
    writer.close();
  }
  // opened as the server opens its published copy (src/api/published.ts): read-only, with readers
  const db = await Database.open(path, { readOnly: true, readers: 3 });
  try {
    const model = await loadModel();
    const run = Number(await db.scalar('SELECT run_id FROM mining.latest_run'));
    // the routes name grid cells and clusters from the run record they read anyway (for the as-of date)
    const record = await getRun(db, run);
    const rules = ruleCells(record.params);
    const names = clusterNames(record.params);
    // a customer of Europe with orders, so both callers get its whole 360 (not a quick 404)
    const id = String(
      await db.scalar(
        `SELECT c.customer_id FROM core.dim_customer c
         WHERE c.is_current AND c.region = 'Europe' AND c.golden_customer_key IS NULL
           AND EXISTS (SELECT 1 FROM core.fact_order_line o WHERE o.customer_durable_key = c.customer_durable_key)
         ORDER BY c.customer_id LIMIT 1`,
      ),
    );
    const app = createApp({ db, model, log: false });
    console.log(`route reads: ${customers} customers, latest run ${run}, median of ${RUNS} warm runs`);
    for (const [who, regions, token] of [
      ['all regions', undefined, admin],
      ['Europe', ['Europe'], europe],
    ] as const) {
      const scope = { db, model, regions };
      const json = regions === undefined ? null : JSON.stringify(regions);
      const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
        [
          'segment sizes',
          async () =>
            (await app.request('/v1/segments', { headers: { authorization: `Bearer ${token}` } })).text(),
          () => db.all(BASELINE.segments, [json]),
        ],
        ['rfm grid', () => rfmGrid(scope, run, rules), () => db.all(BASELINE.grid, [run, json])],
        ['segment cards', () => segmentCards(scope, run, rules), () => db.all(BASELINE.cards, [run, json])],
        [
          'cluster profiles',
          () => clusterProfiles(scope, run, names),
          () => db.all(BASELINE.clusters, [run, json]),
        ],
        [
          'customer 360',
          async () =>
            (
              await app.request(`/v1/customers/${id}`, { headers: { authorization: `Bearer ${token}` } })
            ).text(),
          () => customer360Baseline(db, id),
        ],
      ];
      for (const [label, cube, sql] of pairs) {
        const [base, through] = await timePair(sql, cube);
        report(`${label} (${who}) via cube`, through, 'ms', { label: 'hand SQL', value: base });
      }
    }
  } finally {
    db.close();
  }
}
