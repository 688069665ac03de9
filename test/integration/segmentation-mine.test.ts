/**
 * A whole mining run on a synthetic warehouse made with SQL: three planted customer groups, two runs
 * a half-year apart, the segment migration between them, the stored model re-scoring customers,
 * the all-or-nothing transaction, and the `mine` / `export-audience` commands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentMigration } from '../../src/api/routes/segmentation-queries.ts';
import { loadModel } from '../../src/cube/index.ts';
import { freshRollups } from '../../src/cube/rollups.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { readFeatures } from '../../src/mining/steps/features.ts';
import { NOT_SCORED } from '../../src/mining/steps/migration.ts';
import { type MiningStep, rfmStep, runMining } from '../../src/mining/steps/mine.ts';
import { getRun } from '../../src/mining/steps/runs.ts';
import {
  adjustedRandIndex,
  assignClusters,
  type SegmentationModel,
} from '../../src/mining/steps/segmentation.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'crm-bi-mining-'));
const dbPath = join(dir, 'warehouse.duckdb');

/** Deterministic pseudo-random integer in [0, m) from a few numbers. */
const h = (m: number, ...xs: string[]) => `(hash(${xs.join(', ')}) % ${m})::INTEGER`;

/*
 * 3,000 customers, group g = key % 3, as of 2024-12-31:
 *   g0 weekly buyers for 40 weeks, 150–250 per purchase, last purchase 0–2 days ago
 *   g1 one purchase 250–350 days ago, 10–30
 *   g2 monthly buyers for 8 months, 40–80, last purchase 10–50 days ago, every 4th purchase returned
 */
async function buildWarehouse(db: Database): Promise<void> {
  await db.run(`INSERT INTO core.dim_product (product_key, source, product_id, name, category, load_id)
    SELECT i, 'syn', 'P' || i, 'Product ' || i, ['Books', 'Music', 'Games', 'Garden', 'Kitchen'][i], 1 FROM range(1, 6) t(i)`);
  await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email,
      region, valid_from, valid_to, is_current, load_id)
    SELECT i, i, 'syn', 'C' || lpad(i::VARCHAR, 5, '0'), 'Customer ' || i, 'c' || i || '@example.com',
      ['North', 'South', 'East', 'West'][1 + i % 4], TIMESTAMPTZ '1900-01-01', TIMESTAMPTZ '9999-12-31', true, 1
    FROM range(1, 3001) t(i)`);
  await db.run(`CREATE TEMP TABLE purchases AS
    SELECT i AS customer, j, i % 3 AS g,
      CASE i % 3
        WHEN 0 THEN DATE '2024-12-31' - (j * 7 + ${h(3, 'i')})::INTEGER
        WHEN 1 THEN DATE '2024-12-31' - (250 + ${h(100, 'i')})::INTEGER
        ELSE DATE '2024-12-31' - (10 + ${h(40, 'i')} + j * 30)::INTEGER END AS day,
      CASE i % 3
        WHEN 0 THEN 150 + ${h(100, 'i', 'j')}
        WHEN 1 THEN 10 + ${h(20, 'i', 'j')}
        ELSE 40 + ${h(40, 'i', 'j')} END AS revenue
    FROM range(1, 3001) c(i), range(0, 40) p(j)
    WHERE j < CASE i % 3 WHEN 0 THEN 40 WHEN 1 THEN 1 ELSE 8 END`);
  await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key,
      product_key, ordered_at, ordered_date, order_type, quantity, revenue, load_id)
    SELECT 'syn', customer || '-' || j, 1, customer, customer, CASE g WHEN 0 THEN 1 + j % 3 WHEN 1 THEN 4 ELSE 2 + j % 4 END,
      day::TIMESTAMPTZ, day, 'sale', 1, revenue, 1 FROM purchases
    UNION ALL
    SELECT 'syn', 'R' || customer || '-' || j, 1, customer, customer, 2, (day + 3)::TIMESTAMPTZ, day + 3, 'return', -1,
      -revenue, 1 FROM purchases WHERE g = 2 AND j % 4 = 1
    UNION ALL
    SELECT 'syn', 'anon-' || i, 1, NULL, NULL, 1, TIMESTAMPTZ '2024-12-31', DATE '2024-12-31', 'sale', 1, 99, 1 FROM range(5) t(i)`);
}

const cli = async (...args: string[]) => {
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, CRM_BI_DB: dbPath },
  });
  return { stdout, stderr };
};

let db: Database;

describe('a mining run end to end', () => {
  beforeAll(async () => {
    const setup = await openWarehouse(dbPath);
    await buildWarehouse(setup);
    setup.close();
  }, 60_000);
  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('crm-bi mine --json prints the run with params and metrics, progress on stderr', async () => {
    const { stdout, stderr } = await cli('mine', '--db', dbPath, '--json', '--seed', '7');
    const out = JSON.parse(stdout);
    expect(Object.keys(out)).toEqual(['run_id', 'as_of', 'kind', 'params', 'metrics']);
    expect(out).toMatchObject({ run_id: 1, as_of: '2024-12-31', kind: 'full' });
    expect(out.params).toMatchObject({
      period: 'week',
      seed: 7,
      steps: ['rfm', 'segmentation', 'value', 'churn_model'],
    });
    expect(
      out.params.segmentation.model.pipeline.steps.map((s: { name: string; transform: string }) => [
        s.name,
        s.transform,
      ]),
    ).toEqual([
      ['purchase_rate', 'log'],
      ['avg_value', 'signed_log1p'],
      ['overdue', 'log1p'],
    ]);
    expect(out.metrics).toMatchObject({ customers_scored: 3000 });
    expect(out.metrics.k).toBe(3);
    expect(out.metrics.silhouette).toBeGreaterThan(0.5);
    expect(out.metrics.inertia).toBeGreaterThan(0);
    expect(Object.keys(out.metrics.seconds)).toEqual([
      'rfm',
      'segmentation',
      'value',
      'churn_model',
      'total',
    ]);
    expect(out.metrics.data_version).toMatchObject({ order_lines: expect.any(Number), customers: 3000 });
    expect(out.metrics.code_version.package).toBe('0.1.0');
    expect(stderr).toMatch(/rfm: 3000 customers scored/);
    expect(stderr).toMatch(/segmentation: k = 3/);
    // The run changed the data version; mine rebuilt every rollup for the new version.
    const w = await openWarehouse(dbPath);
    try {
      const model = await loadModel();
      expect(model.preAggregations.length).toBeGreaterThan(0);
      expect([...(await freshRollups(w, model))].sort()).toEqual(
        model.preAggregations.map((p) => p.fullName).sort(),
      );
    } finally {
      w.close();
    }
  }, 60_000);

  it('a second run a half-year earlier keeps the first; the migration matrix shows who moved', async () => {
    await cli('mine', '--db', dbPath, '--as-of', '2024-06-30', '--k', '3', '--seed', '7', '--no-rollups');
    db = await openWarehouse(dbPath);
    // --no-rollups: the rollups over run 1's scores are stale now and no query may use them; those
    // over the order lines and the data checks read no score and stay fresh
    const fresh = await freshRollups(db, await loadModel());
    expect(fresh.has('customer_scores.alive_matrix')).toBe(false);
    for (const name of [
      'sales.daily',
      'sales.monthly_by_region',
      'sales.customers_monthly',
      'data_order_checks.by_load',
      'data_customer_checks.by_load',
      'data_rejects.by_source',
    ]) {
      expect(fresh.has(name), name).toBe(true);
    }
    expect(
      await db.all('SELECT run_id, as_of, count(*) AS n FROM mining.customer_rfm GROUP BY ALL ORDER BY 1'),
    ).toEqual([
      { run_id: 1, as_of: '2024-12-31', n: 3000 },
      { run_id: 2, as_of: '2024-06-30', n: expect.any(Number) },
    ]);
    const m = await segmentMigration(
      { db, model: await loadModel(), regions: undefined },
      await getRun(db, 2),
      await getRun(db, 1),
      'rfm_segment',
    );
    const total = m.matrix.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(3000);
    // one-time buyers whose only purchase is after 2024-06-30 were not scored in the earlier run
    const newcomers = m.cells.filter((c) => c.from === NOT_SCORED);
    const expected = Number(
      await db.scalar(
        "SELECT count(*) FROM core.fact_order_line WHERE customer_durable_key % 3 = 1 AND ordered_date > DATE '2024-06-30'",
      ),
    );
    expect(newcomers.reduce((s, c) => s + c.customers, 0)).toBe(expected);
  });

  it('recovers the three planted groups, names clusters uniquely and profiles them', async () => {
    const rows = await db.all(
      'SELECT customer_durable_key AS k, cluster FROM mining.customer_segment WHERE run_id = 1 ORDER BY k',
    );
    const ari = adjustedRandIndex(
      rows.map((r) => Number(r.cluster)),
      rows.map((r) => Number(r.k) % 3),
    );
    expect(ari).toBeGreaterThan(0.95);
    const r1 = await getRun(db, 1);
    const clusters = (
      r1.metrics.segmentation as {
        clusters: {
          name: string;
          size: number;
          share_of_revenue: number;
          top_regions: unknown[];
          top_categories: { name: string }[];
        }[];
      }
    ).clusters;
    expect(new Set(clusters.map((c) => c.name)).size).toBe(clusters.length);
    expect(clusters.map((c) => c.size)).toEqual([1000, 1000, 1000]);
    expect(clusters.reduce((s, c) => s + c.share_of_revenue, 0)).toBeCloseTo(1, 3);
    const top = clusters.find((c) => c.name.startsWith('High value'));
    expect(top?.name).toBe('High value · frequent · recent');
    expect(top?.top_categories.map((c) => c.name).sort()).toEqual(['Books', 'Games', 'Music']);
    expect(clusters.every((c) => c.top_regions.length === 3)).toBe(true);
  });

  it('the model stored with the run scores its customers into the same clusters again', async () => {
    const r1 = await getRun(db, 1);
    const model = (r1.params.segmentation as { model: SegmentationModel }).model;
    const table = await readFeatures(db, { runId: 1, asOf: r1.as_of, periodDays: 7 });
    const labels = assignClusters(model, table);
    const stored = await db.all(
      'SELECT cluster FROM mining.customer_segment WHERE run_id = 1 ORDER BY customer_durable_key',
    );
    expect(Array.from(labels)).toEqual(stored.map((r) => Number(r.cluster)));
  });

  it('a run whose step fails leaves nothing behind', async () => {
    const failing: MiningStep = {
      name: 'broken',
      async run() {
        throw new Error('model did not converge');
      },
    };
    await expect(runMining(db, { seed: 1 }, [rfmStep, failing])).rejects.toThrow(/did not converge/);
    expect(Number(await db.scalar('SELECT max(run_id) FROM mining.mining_run'))).toBe(2);
    expect(Number(await db.scalar('SELECT count(*) FROM mining.customer_rfm WHERE run_id > 2'))).toBe(0);
    db.close();
  });

  it('crm-bi export-audience writes the segment of the latest run (newest as-of, not the last one written); an unknown name lists the valid ones', async () => {
    const out = join(dir, 'champions.csv');
    const { stdout } = await cli(
      'export-audience',
      '--db',
      dbPath,
      '--segment',
      'Champions',
      '--filter',
      '{"region": "North"}',
      '--out',
      out,
      '--json',
    );
    const result = JSON.parse(stdout);
    // run 2 (as of 2024-06-30) was written after run 1 (as of 2024-12-31): run 1 is the latest
    expect(result).toMatchObject({
      run_id: 1,
      as_of: '2024-12-31',
      segment: 'Champions',
      matched: 'rfm_segment',
    });
    const lines = readFileSync(out, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe(
      'customer_id,name,email,region,country,city,channel,segment,cluster,r_score,f_score,m_score,recency_days,frequency,monetary,clv,churn_probability',
    );
    expect(result.rows).toBeGreaterThan(0);
    expect(lines.length - 1).toBe(result.rows);
    expect(lines.slice(1).every((l) => l.split(',')[3] === 'North' && l.split(',')[7] === 'Champions')).toBe(
      true,
    );
    const bad = await cli('export-audience', '--db', dbPath, '--segment', 'Whales').catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^crm-bi: unknown segment 'Whales' in run 1; RFM segments: .*'Champions'.*; clusters: '[^']+ · [^']+'/,
    );
  }, 60_000);
});
