import { kmeans as mlKmeans } from 'ml-kmeans';
import { describe, expect, it } from 'vitest';
import {
  assignNearest,
  createRng,
  kmeans,
  kmeansPlusPlus,
  lloyd,
  type Matrix,
  sampleIndices,
  toRows,
} from './kmeans.ts';

/** n points around k random centres (std 1, centres uniform in [0, spread]^d), seeded. */
function blobs(n: number, d: number, k: number, spread: number, seed: number): Matrix {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: k * d }, () => rng() * spread);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = (centres[(i % k) * d + j] as number) + gauss();
  }
  return { data, rows: n, cols: d };
}

describe('typed k-means', () => {
  it('converges to the two obvious centres on a tiny example', () => {
    const m = { data: Float64Array.of(0, 1, 10, 11), rows: 4, cols: 1 };
    const r = lloyd(m, Float64Array.of(0, 10));
    expect(Array.from(r.centroids)).toEqual([0.5, 10.5]);
    expect(Array.from(r.labels)).toEqual([0, 0, 1, 1]);
    expect(r.inertia).toBe(1);
  });

  it('gives the same result as ml-kmeans from the same initial centroids (overlapping blobs)', () => {
    for (const [d, k, seed] of [
      [3, 5, 1],
      [2, 8, 2],
      [6, 4, 3],
    ] as const) {
      const m = blobs(4000, d, k, 6, seed);
      const init = kmeansPlusPlus(m, k, createRng(seed + 10));
      const ours = lloyd(m, init);
      const ref = mlKmeans(toRows(m.data, d), k, { initialization: toRows(init, d) });
      expect(ours.iterations).toBe(ref.iterations);
      expect(ours.converged).toBe(ref.converged);
      let maxDiff = 0;
      for (const [i, c] of ref.centroids.entries()) {
        for (const [j, v] of c.entries()) {
          maxDiff = Math.max(maxDiff, Math.abs(v - (ours.centroids[i * d + j] as number)));
        }
      }
      expect(maxDiff).toBeLessThan(1e-9);
      expect(Array.from(ours.labels)).toEqual(ref.clusters);
    }
  });

  it('keeps the centre of a cluster that empties, as ml-kmeans does', () => {
    const m = { data: Float64Array.of(0, 1, 2, 3), rows: 4, cols: 1 };
    const r = lloyd(m, Float64Array.of(1.5, 100));
    const ref = mlKmeans(toRows(m.data, 1), 2, { initialization: [[1.5], [100]] });
    expect(Array.from(r.centroids)).toEqual(ref.centroids.flat());
    expect(r.centroids[1]).toBe(100);
  });

  it('is reproducible: the same seed gives the same clusters', () => {
    const m = blobs(3000, 3, 4, 10, 7);
    const a = kmeans(m, 4, { seed: 5, sampleSize: 1000 });
    const b = kmeans(m, 4, { seed: 5, sampleSize: 1000 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
  });

  it('labels every row with its nearest final centroid and reports that inertia', () => {
    const m = blobs(2000, 2, 3, 8, 11);
    const r = kmeans(m, 3, { seed: 1 });
    const check = assignNearest(m, r.centroids);
    expect(Array.from(r.labels)).toEqual(Array.from(check.labels));
    expect(r.inertia).toBeCloseTo(check.inertia, 6);
  });

  it('restarts help: the best of several starts is no worse than the first', () => {
    const m = blobs(3000, 2, 6, 12, 21);
    const one = kmeans(m, 6, { seed: 3, restarts: 1 });
    const many = kmeans(m, 6, { seed: 3, restarts: 6 });
    expect(many.inertia).toBeLessThanOrEqual(one.inertia + 1e-9);
  });

  it('draws distinct, sorted sample indices', () => {
    const s = sampleIndices(1000, 100, createRng(1));
    expect(new Set(s).size).toBe(100);
    expect(Array.from(s)).toEqual(Array.from(s).sort((a, b) => a - b));
    expect(sampleIndices(5, 10, createRng(1)).length).toBe(5);
  });
});
