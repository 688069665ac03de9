/**
 * Clusters against the synthetic CRM's latent segments (truth_customers.csv). The baseline is plain
 * k-means (ml-kmeans, best of four k-means++ starts by inertia) on standardized log recency, log
 * frequency and log monetary with the run's own k; the adjusted Rand index of both is computed here,
 * by counting pairs, independently of the code under test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kmeans } from 'ml-kmeans';
import { afterAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { rfmStep, runMining, segmentationStep } from '../../src/mining/steps/mine.ts';
import { tempDir } from '../helpers/warehouse.ts';

/**
 * Adjusted Rand index (Hubert & Arabie 1985) from pair counts over all n(n − 1)/2 pairs:
 * ARI = (both − both_expected) / (½(inA + inB) − both_expected), both_expected = inA · inB / pairs.
 */
function pairCountAri(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let inA = 0;
  let inB = 0;
  let both = 0;
  for (let i = 0; i < n; i++) {
    const ai = a[i];
    const bi = b[i];
    for (let j = i + 1; j < n; j++) {
      const sameA = a[j] === ai;
      const sameB = b[j] === bi;
      if (sameA) inA++;
      if (sameB) inB++;
      if (sameA && sameB) both++;
    }
  }
  const expected = (inA * inB) / ((n * (n - 1)) / 2);
  return (both - expected) / ((inA + inB) / 2 - expected);
}

describe('the adjusted Rand index used below', () => {
  it('matches a case worked out by hand', () => {
    // A = {0,1,2}{3,4,5}: 6 pairs together; B = {0,1}{2,3}{4,5}: 3; together in both: (0,1), (4,5) = 2.
    // expected 6 · 3 / 15 = 1.2, max (6 + 3) / 2 = 4.5 → (2 − 1.2) / (4.5 − 1.2) = 0.2424…
    expect(pairCountAri([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(0.8 / 3.3, 12);
    expect(pairCountAri([0, 0, 1, 1, 2], [5, 5, 9, 9, 1])).toBe(1);
  });
});

const signedLog = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v));

function standardize(values: number[]): number[] {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return values.map((v) => (v - mean) / sd);
}

/** Plain k-means on standardized log R, F, M: the best of four seeded k-means++ starts by inertia. */
function baselineLabels(rows: { r: number; f: number; m: number }[], k: number): number[] {
  const cols = [rows.map((x) => x.r), rows.map((x) => x.f), rows.map((x) => x.m)].map((c) =>
    standardize(c.map(signedLog)),
  );
  const data = rows.map((_, i) => cols.map((c) => c[i] as number));
  let best: { inertia: number; labels: number[] } | undefined;
  for (const seed of [1, 2, 3, 4]) {
    const result = kmeans(data, k, { seed, initialization: 'kmeans++' });
    let inertia = 0;
    data.forEach((p, i) => {
      const c = result.centroids[result.clusters[i] as number] as number[];
      inertia += p.reduce((s, v, j) => s + (v - (c[j] as number)) ** 2, 0);
    });
    if (best === undefined || inertia < best.inertia) best = { inertia, labels: result.clusters };
  }
  return best?.labels ?? [];
}

const tmp = tempDir('crm-bi-segment-truth-');
afterAll(() => tmp.cleanup());

describe('clusters on the synthetic CRM find its latent segments better than k-means on log R, F, M', () => {
  it.each([12, 13, 14])(
    'seed %i, 5,000 customers',
    async (seed) => {
      const out = join(tmp.dir, `seed-${seed}`);
      await generate({ out, customers: 5000, seed });
      const truth = new Map(
        readFileSync(join(out, 'truth_customers.csv'), 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => line.split(',').slice(0, 2) as [string, string]),
      );
      const db = await openWarehouse(':memory:');
      try {
        await loadSource(db, { source: out, profile: 'canonical' });
        const run = await runMining(db, { seed: 42 }, [rfmStep, segmentationStep]);
        const rows = await db.all(
          `SELECT c.customer_id AS id, s.cluster, r.recency_days::DOUBLE AS r, r.frequency::DOUBLE AS f,
             r.monetary_total::DOUBLE AS m
           FROM mining.customer_rfm r
           JOIN mining.customer_segment s ON s.run_id = r.run_id AND s.customer_durable_key = r.customer_durable_key
           JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
           WHERE r.run_id = $1 ORDER BY r.customer_durable_key`,
          [run.run_id],
        );
        const scored = rows.map((x) => ({
          segment: truth.get(String(x.id)),
          cluster: Number(x.cluster),
          r: Number(x.r),
          f: Number(x.f),
          m: Number(x.m),
        }));
        expect(scored.length).toBeGreaterThan(4900);
        expect(scored.every((x) => x.segment !== undefined)).toBe(true);
        const segments = [...new Set(scored.map((x) => x.segment))];
        expect(segments).toHaveLength(3);
        const latent = scored.map((x) => segments.indexOf(x.segment));
        const k = Number(run.metrics.k);
        const runAri = pairCountAri(
          scored.map((x) => x.cluster),
          latent,
        );
        const baselineAri = pairCountAri(baselineLabels(scored, k), latent);
        // the same with k forced to the number of latent segments
        const run3 = await runMining(db, { seed: 42, k: 3 }, [rfmStep, segmentationStep]);
        const clusters3 = await db.all(
          'SELECT cluster FROM mining.customer_segment WHERE run_id = $1 ORDER BY customer_durable_key',
          [run3.run_id],
        );
        expect(clusters3).toHaveLength(scored.length);
        const run3Ari = pairCountAri(
          clusters3.map((x) => Number(x.cluster)),
          latent,
        );
        const baseline3Ari = pairCountAri(baselineLabels(scored, 3), latent);
        console.info(
          `seed ${seed}: k = ${k} (chosen), ARI of the run ${runAri.toFixed(3)}, of k-means on log R, F, M ${baselineAri.toFixed(3)}; ` +
            `k = 3: ${run3Ari.toFixed(3)} and ${baseline3Ari.toFixed(3)}`,
        );
        expect(runAri).toBeGreaterThan(baselineAri + 0.02);
        expect(run3Ari).toBeGreaterThan(baseline3Ari + 0.02);
      } finally {
        db.close();
      }
    },
    90_000,
  );
});
