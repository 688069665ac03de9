import { describe, expect, it } from 'vitest';
import { compressPatterns, distinctPairs, pairIds } from './btyd-patterns.ts';
import { createRng } from './special.ts';

/** The grouping a Map keyed by the pair's text gives: the reference the typed tables must match. */
function mapGrouping(a: ArrayLike<number>, b: ArrayLike<number>): { of: number[]; first: number[] } {
  const ids = new Map<string, number>();
  const of: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const key = `${(a[i] as number) + 0}|${(b[i] as number) + 0}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = first.length;
      ids.set(key, id);
      first.push(i);
    }
    of.push(id);
  }
  return { of, first };
}

describe('pattern grouping by numeric keys', () => {
  it('groups pairs exactly as a Map of their values does, past several table growths', () => {
    const rng = createRng(4);
    const n = 50_000;
    // day-resolution times in weeks, as the warehouse computes them, plus -0 and repeats
    const a = Float64Array.from({ length: n }, () => Math.floor(rng() * 40));
    const b = Float64Array.from({ length: n }, () => Math.floor(rng() * 3000) / 7);
    b[0] = -0;
    b[1] = 0;
    a[1] = a[0] as number;
    const got = distinctPairs(a, b);
    const want = mapGrouping(a, b);
    expect(Array.from(got.of)).toEqual(want.of);
    expect(Array.from(got.first)).toEqual(want.first);
    expect(got.of[0]).toBe(got.of[1]);
  });

  it('hashes index pairs whose grid would be too large, with the same answer as the grid', () => {
    const rng = createRng(5);
    const n = 20_000;
    const a = Int32Array.from({ length: n }, () => Math.floor(rng() * 100));
    const b = Int32Array.from({ length: n }, () => Math.floor(rng() * 100));
    const grid = pairIds(a, 100, b, 100);
    // nb declared huge: the key a·nb + b no longer fits a grid and goes through the hash table
    const hashed = pairIds(a, 100, b, 1e9);
    expect(Array.from(hashed.of)).toEqual(Array.from(grid.of));
    expect(Array.from(hashed.first)).toEqual(Array.from(grid.first));
    expect(Array.from(grid.of)).toEqual(mapGrouping(a, b).of);
  });

  it('compresses customers to patterns whose weights count the customers of each pattern', () => {
    const x = Float64Array.of(0, 2, 0, 2, 1, 0);
    const tx = Float64Array.of(0, 3, 0, 3, 1, 0);
    const T = Float64Array.of(5, 6, 5, 6, 6, 4);
    const p = compressPatterns({ x, tx, T });
    expect(p.size).toBe(4);
    expect(Array.from(p.weight)).toEqual([2, 2, 1, 1]);
    expect(Array.from(p.rowPattern)).toEqual([0, 1, 0, 1, 2, 3]);
    expect(Array.from(p.T)).toEqual([5, 6, 6, 4]);
  });
});
