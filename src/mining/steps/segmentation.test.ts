import { silhouette as ssSilhouette } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { createRng } from '../models/kmeans.ts';
import { applyPipeline, type FeatureTable, fitPipeline } from './features.ts';
import { adjustedRandIndex, assignClusters, clusterMatrix, elbow, silhouette } from './segmentation.ts';

describe('adjusted Rand index', () => {
  it('matches the hand computation', () => {
    // contingency [[2,1,0],[0,1,2]]: Σ C(nij,2) = 2; rows Σ C(3,2)·2 = 6; cols Σ C(2,2)·3 = 3; C(6,2) = 15
    // expected = 6·3/15 = 1.2; max = (6+3)/2 = 4.5; ARI = (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3
    expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(0.8 / 3.3, 12);
  });

  it('is 1 for the same partition under other label numbers, and about 0 for unrelated labels', () => {
    expect(adjustedRandIndex([0, 0, 1, 1, 2], [7, 7, 3, 3, 9])).toBe(1);
    const rng = createRng(4);
    const a = Array.from({ length: 5000 }, () => Math.floor(rng() * 4));
    const b = Array.from({ length: 5000 }, () => Math.floor(rng() * 4));
    expect(Math.abs(adjustedRandIndex(a, b))).toBeLessThan(0.01);
  });
});

describe('silhouette and elbow', () => {
  it('silhouette matches the hand computation and simple-statistics', () => {
    // 1-D points 0, 1 | 10, 11: s = 9.5/10.5, 8.5/9.5, 8.5/9.5, 9.5/10.5
    const m = { data: Float64Array.of(0, 1, 10, 11), rows: 4, cols: 1 };
    const labels = Int32Array.of(0, 0, 1, 1);
    expect(silhouette(m, labels, 2)).toBeCloseTo((2 * (9.5 / 10.5) + 2 * (8.5 / 9.5)) / 4, 12);
    const rng = createRng(2);
    const points = Array.from({ length: 60 }, () => [rng() * 10, rng() * 10]);
    const lab = points.map((p) => ((p[0] as number) < 5 ? 0 : (p[1] as number) < 5 ? 1 : 2));
    const ref = ssSilhouette(points, lab);
    const mean = ref.reduce((s, v) => s + v, 0) / ref.length;
    expect(
      silhouette({ data: Float64Array.from(points.flat()), rows: 60, cols: 2 }, Int32Array.from(lab), 3),
    ).toBeCloseTo(mean, 10);
  });

  it('elbow finds the knee of a hand-made inertia curve', () => {
    expect(elbow([1, 2, 3, 4, 5, 6], [100, 40, 15, 12, 10, 9])).toBe(3);
  });
});

/**
 * Four latent customer groups in RFM-like space: log-normal recency, frequency and monetary around
 * group centres with a spread of 0.25 log units per coordinate. The closest pair (lapsed one-timers
 * vs the middle group) is still 2.9 log units apart, so each centre is 5.8 spreads from the halfway
 * plane: an ideal assignment misplaces about Φ(-5.8) ≈ 3e-9 of the customers. The floor of 0.95 on
 * the adjusted Rand index therefore only allows for k-means itself (a poor local optimum merging
 * two groups would score about 0.7), not for overlap in the data.
 */
function latentGroups(n: number, seed: number): { table: FeatureTable; truth: Int32Array } {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = [
    [Math.log(10), Math.log(20), Math.log(2000)], // recent, frequent, high value
    [Math.log(300), Math.log(1.5), Math.log(30)], // lapsed one-timers
    [Math.log(40), Math.log(4), Math.log(250)], // middle
    [Math.log(200), Math.log(12), Math.log(1500)], // lapsed big spenders
  ];
  const cols = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const g = Math.floor(rng() * 4);
    truth[i] = g;
    for (let j = 0; j < 3; j++) {
      (cols[j] as Float64Array)[i] = Math.exp((centres[g]?.[j] as number) + 0.25 * gauss());
    }
  }
  return {
    table: {
      customers: Float64Array.from({ length: n }, (_, i) => i + 1),
      columns: {
        recency_days: cols[0] as Float64Array,
        frequency: cols[1] as Float64Array,
        monetary_total: cols[2] as Float64Array,
      },
      rows: n,
    },
    truth,
  };
}

describe('clustering customers', () => {
  it('recovers planted latent groups (ARI above 0.95) and chooses k = 4 by itself', () => {
    const { table, truth } = latentGroups(6000, 99);
    const pipeline = fitPipeline(table);
    expect(pipeline.steps.map((s) => s.transform)).toEqual(['log1p', 'log1p', 'log1p']);
    const result = clusterMatrix(applyPipeline(pipeline, table), { seed: 1 });
    expect(result.k).toBe(4);
    expect(result.chosen_by).toBe('silhouette+elbow');
    expect(adjustedRandIndex(result.labels, truth)).toBeGreaterThan(0.95);
    expect(result.silhouette).toBeGreaterThan(0.6);
  });

  it('the same seed gives the same clusters; a forced k is used', () => {
    const { table } = latentGroups(3000, 5);
    const m = applyPipeline(fitPipeline(table), table);
    const a = clusterMatrix(m, { seed: 8, k: 3 });
    const b = clusterMatrix(m, { seed: 8, k: 3 });
    expect(a.k).toBe(3);
    expect(a.chosen_by).toBe('forced');
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  });

  it('numbers clusters by size, largest first', () => {
    const { table } = latentGroups(3000, 6);
    const r = clusterMatrix(applyPipeline(fitPipeline(table), table), { seed: 2 });
    const sizes = Array.from({ length: r.k }, (_, c) => r.labels.filter((l) => l === c).length);
    expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
  });

  it('copes with fewer distinct customers than clusters', () => {
    const table: FeatureTable = {
      customers: Float64Array.of(1, 2, 3),
      columns: { a: Float64Array.of(1, 1, 5), b: Float64Array.of(2, 2, 0) },
      rows: 3,
    };
    const r = clusterMatrix(applyPipeline(fitPipeline(table), table), { seed: 1, k: 3 });
    expect(r.k).toBe(2);
    expect(r.chosen_by).toBe('too few distinct customers');
    expect(Array.from(r.labels)).toEqual([0, 0, 1]);
  });

  it('a stored model scores the same customers into the same clusters', () => {
    const { table } = latentGroups(2000, 12);
    const pipeline = fitPipeline(table);
    const r = clusterMatrix(applyPipeline(pipeline, table), { seed: 3, k: 4 });
    const centroids = Array.from({ length: r.k }, (_, c) =>
      Array.from(r.centroids.subarray(c * 3, c * 3 + 3)),
    );
    const model = JSON.parse(JSON.stringify({ pipeline, centroids, names: [] }));
    expect(Array.from(assignClusters(model, table))).toEqual(Array.from(r.labels));
  });
});
