/**
 * The pattern-weighted BTYD summary every customer-base model is fitted on: customers with the
 * same (x, t_x, T) share one likelihood term, so a million customers cost what their distinct
 * patterns cost. Grouping is by numeric keys in open-addressing tables over typed arrays (a
 * `Map<number, number>` costs about ten times as much at a million rows), or by a dense lookup grid
 * when the two value indices of a pair span few enough cells.
 */
import { CrmBiError } from '../../errors.ts';

export interface BtydColumns {
  /** Repeat purchases (whole numbers ≥ 0). */
  readonly x: Float64Array;
  /** Recency: time of the last purchase, measured from the first (0 when x = 0). */
  readonly tx: Float64Array;
  /** Age: time from the first purchase to the end of the observation window. */
  readonly T: Float64Array;
  /** Optional customer weights (e.g. counts of identical customers); default 1. */
  readonly weights?: Float64Array;
}

/** Distinct (x, tx, T) patterns with summed weights, plus per-column distinct-value tables. */
export interface BtydPatterns {
  readonly size: number;
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly weight: Float64Array;
  /** Pattern of each input row. */
  readonly rowPattern: Int32Array;
  readonly xValues: Float64Array;
  readonly xOf: Int32Array;
  readonly txValues: Float64Array;
  readonly txOf: Int32Array;
  readonly TValues: Float64Array;
  readonly TOf: Int32Array;
}

/**
 * Checks the columns: equal lengths, whole x ≥ 0, 0 ≤ tx ≤ T, finite values, positive weights.
 * Throws `invalid_btyd_input` naming the first bad row (1-based) and column.
 */
export function validateBtyd(data: BtydColumns): void {
  const n = data.x.length;
  if (data.tx.length !== n || data.T.length !== n || (data.weights && data.weights.length !== n)) {
    throw new CrmBiError('invalid_btyd_input', 'x, tx, T (and weights) must have one entry per customer');
  }
  const bad = (i: number, column: string, why: string): CrmBiError =>
    new CrmBiError(
      'invalid_btyd_input',
      `row ${i + 1}: ${why}; recompute the BTYD summary for this customer`,
      {
        line: i + 1,
        column,
      },
    );
  for (let i = 0; i < n; i++) {
    const x = data.x[i] as number;
    const tx = data.tx[i] as number;
    const T = data.T[i] as number;
    if (!(Number.isInteger(x) && x >= 0)) throw bad(i, 'x', `x = ${x} must be a whole number >= 0`);
    if (!(Number.isFinite(T) && T >= 0)) throw bad(i, 'T', `T = ${T} must be a finite number >= 0`);
    if (!(Number.isFinite(tx) && tx >= 0 && tx <= T))
      throw bad(i, 't_x', `t_x = ${tx} must lie between 0 and T = ${T}`);
    const w = data.weights?.[i];
    if (w !== undefined && !(Number.isFinite(w) && w >= 0))
      throw bad(i, 'weight', `weight = ${w} must be >= 0`);
  }
}

/** Dense ids for the distinct values of a column. */

/** Dense ids for the distinct values of a column and the first row of each. */
export interface Grouping {
  /** Group of each row. */
  readonly of: Int32Array;
  /** A row (the first) of each group. */
  readonly first: Int32Array;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A 32-bit hash of a double's bits (murmur3's finaliser over both halves). */
function hashNumber(v: number): number {
  f64[0] = v;
  let h = Math.imul((u32[0] as number) ^ Math.imul(u32[1] as number, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Dense ids for the distinct values of `key(i)`, i < n, by linear probing in a power-of-two table
 * kept at most half full. -0 and 0 are one key (as in a Map); keys must not be NaN.
 */
function groupBy(n: number, key: (i: number) => number): Grouping {
  let capacity = 1024;
  let keys = new Float64Array(capacity);
  let ids = new Int32Array(capacity).fill(-1);
  const of = new Int32Array(n);
  let first = new Int32Array(Math.min(n, 1024));
  let count = 0;
  const insert = (k: number, id: number): number => {
    const mask = capacity - 1;
    let slot = hashNumber(k) & mask;
    for (;;) {
      const at = ids[slot] as number;
      if (at < 0) {
        keys[slot] = k;
        ids[slot] = id;
        return id;
      }
      if (keys[slot] === k) return at;
      slot = (slot + 1) & mask;
    }
  };
  for (let i = 0; i < n; i++) {
    const k = key(i) + 0;
    const id = insert(k, count);
    of[i] = id;
    if (id !== count) continue;
    if (count === first.length) {
      const grown = new Int32Array(Math.min(n, 2 * first.length));
      grown.set(first);
      first = grown;
    }
    first[count++] = i;
    if (2 * count > capacity) {
      const oldKeys = keys;
      const oldIds = ids;
      capacity *= 2;
      keys = new Float64Array(capacity);
      ids = new Int32Array(capacity).fill(-1);
      for (let s = 0; s < oldIds.length; s++) {
        const id0 = oldIds[s] as number;
        if (id0 >= 0) insert(oldKeys[s] as number, id0);
      }
    }
  }
  return { of, first: first.slice(0, count) };
}

/** Dense ids for the distinct values of a column. */
export function distinct(values: Float64Array): { values: Float64Array; of: Int32Array } {
  const g = groupBy(values.length, (i) => values[i] as number);
  return { values: Float64Array.from(g.first, (i) => values[i] as number), of: g.of };
}

/** Lookup grids up to this many cells (64 MB of Int32); larger index spaces are hashed. */
const MAX_GRID_CELLS = 1 << 24;

/**
 * Dense ids for the distinct pairs of two value indices (a < na, b < nb): a lookup grid when
 * na × nb is small enough, else a hash of the key a·nb + b (exact below 2^53 for any input size).
 */
export function pairIds(a: Int32Array, na: number, b: Int32Array, nb: number): Grouping {
  if (na * nb > MAX_GRID_CELLS) return groupBy(a.length, (i) => (a[i] as number) * nb + (b[i] as number));
  const grid = new Int32Array(na * nb).fill(-1);
  const of = new Int32Array(a.length);
  const first = new Int32Array(Math.min(a.length, na * nb));
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const cell = (a[i] as number) * nb + (b[i] as number);
    let id = grid[cell] as number;
    if (id < 0) {
      id = count++;
      grid[cell] = id;
      first[id] = i;
    }
    of[i] = id;
  }
  return { of, first: first.slice(0, count) };
}

/** Groups rows by distinct (a, b) value pairs: `of[i]` is the group of row i, `first[g]` a row of group g. */
export function distinctPairs(a: Float64Array, b: Float64Array): Grouping {
  const da = distinct(a);
  const db = distinct(b);
  return pairIds(da.of, da.values.length, db.of, db.values.length);
}

/**
 * Compresses customers to distinct (x, tx, T) patterns with summed weights (rows of weight 0 keep
 * a pattern of weight 0). The likelihood of the patterns equals that of the rows.
 */
export function compressPatterns(data: BtydColumns): BtydPatterns {
  const xs = distinct(data.x);
  const txs = distinct(data.tx);
  const Ts = distinct(data.T);
  const xtx = pairIds(xs.of, xs.values.length, txs.of, txs.values.length);
  const full = pairIds(xtx.of, xtx.first.length, Ts.of, Ts.values.length);
  const size = full.first.length;
  const x = new Float64Array(size);
  const tx = new Float64Array(size);
  const T = new Float64Array(size);
  const xOf = new Int32Array(size);
  const txOf = new Int32Array(size);
  const TOf = new Int32Array(size);
  for (let k = 0; k < size; k++) {
    const i = full.first[k] as number;
    x[k] = data.x[i] as number;
    tx[k] = data.tx[i] as number;
    T[k] = data.T[i] as number;
    xOf[k] = xs.of[i] as number;
    txOf[k] = txs.of[i] as number;
    TOf[k] = Ts.of[i] as number;
  }
  const weight = new Float64Array(size);
  const w = data.weights;
  for (let i = 0; i < full.of.length; i++) {
    const k = full.of[i] as number;
    weight[k] = (weight[k] as number) + (w ? (w[i] as number) : 1);
  }
  return {
    size,
    x,
    tx,
    T,
    weight,
    rowPattern: full.of,
    xValues: xs.values,
    xOf,
    txValues: txs.values,
    txOf,
    TValues: Ts.values,
    TOf,
  };
}
