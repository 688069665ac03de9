/**
 * k-means on typed arrays: greedy k-means++ seeding (Arthur & Vassilvitskii 2007) and Lloyd's
 * iterations accelerated with Hamerly's bounds (Hamerly 2010, "Making k-means even faster"), which
 * skip most distance computations once centres settle yet give Lloyd's exact assignments.
 *
 * Conventions follow ml-kmeans (the reference in tests), so both give the same result from the same
 * initial centroids: ties go to the lowest centre index, an empty cluster keeps its centre, and the
 * run stops when no centre moves more than `tolerance` (squared distance).
 */

/** A dense row-major matrix. */
export interface Matrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** A seeded uniform generator on [0, 1) (mulberry32): every random choice in mining takes one. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from a base seed and a stream number, so restarts draw independent streams. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** `size` distinct row indices out of `n`, ascending (all rows when size >= n). */
export function sampleIndices(n: number, size: number, rng: () => number): Int32Array {
  if (size >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const pool = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = t;
  }
  return pool.slice(0, size).sort();
}

/** The rows `indices` of a matrix, as a new matrix. */
export function subset(m: Matrix, indices: Int32Array): Matrix {
  const { cols } = m;
  const data = new Float64Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const src = (indices[i] as number) * cols;
    data.set(m.data.subarray(src, src + cols), i * cols);
  }
  return { data, rows: indices.length, cols };
}

/** Array-of-arrays copies, for libraries such as ml-kmeans. */
export function toRows(data: Float64Array, cols: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += cols) out.push(Array.from(data.subarray(i, i + cols)));
  return out;
}

function sqDist(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = (a[ai + j] as number) - (b[bi + j] as number);
    s += t * t;
  }
  return s;
}

/**
 * Greedy k-means++: the first centre is a uniform row, each next one the best (by total squared
 * distance) of 2 + ⌊ln k⌋ rows drawn with probability ∝ D², as scikit-learn does.
 * Returns k × cols centroids, row-major.
 */
export function kmeansPlusPlus(m: Matrix, k: number, rng: () => number): Float64Array {
  const { data, rows: n, cols: d } = m;
  if (n === 0) throw new Error('k-means++ needs at least one row');
  const centers = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = Math.floor(rng() * n);
  centers.set(data.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(data, i * d, centers, 0, d);
    potential += closest[i] as number;
  }
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestRow = -1;
    let bestPotential = Number.POSITIVE_INFINITY;
    for (let t = 0; t < trials; t++) {
      const row = potential > 0 ? drawByWeight(closest, potential, rng) : Math.floor(rng() * n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const dist = Math.min(closest[i] as number, sqDist(data, i * d, data, row * d, d));
        candidateDist[i] = dist;
        total += dist;
      }
      if (total < bestPotential) {
        bestPotential = total;
        bestRow = row;
        bestDist.set(candidateDist);
      }
    }
    centers.set(data.subarray(bestRow * d, bestRow * d + d), c * d);
    closest.set(bestDist);
    potential = bestPotential;
  }
  return centers;
}

function drawByWeight(weights: Float64Array, total: number, rng: () => number): number {
  let target = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i] as number;
    if (target < 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
  return weights.length - 1;
}

export interface LloydOptions {
  /** Assignment steps at most (ml-kmeans' default: 100). */
  readonly maxIterations?: number;
  /** Stop when every centre moved at most this much (squared distance; ml-kmeans' default 1e-6). */
  readonly tolerance?: number;
}

export interface KMeansResult {
  readonly k: number;
  /** k × cols, row-major. */
  readonly centroids: Float64Array;
  /** Cluster of each row (0-based). */
  readonly labels: Int32Array;
  /** Sum of squared distances of rows to their centroid. */
  readonly inertia: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Lloyd's k-means from given centroids, with Hamerly's bounds. Returns what ml-kmeans returns: the
 * centroids after the last update and the assignment that produced them. Cluster sums are updated
 * only for rows that change cluster, and recomputed exactly (in row order, as ml-kmeans adds them)
 * for the centroids returned.
 *
 * @example
 * lloyd({ data: Float64Array.of(0, 1, 10, 11), rows: 4, cols: 1 }, Float64Array.of(0, 10)).centroids
 * // Float64Array [0.5, 10.5]
 */
export function lloyd(m: Matrix, initial: Float64Array, options: LloydOptions = {}): KMeansResult {
  const { data, rows: n, cols: d } = m;
  const k = initial.length / d;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  const centers = Float64Array.from(initial);
  const next = new Float64Array(k * d);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const shift = new Float64Array(k);
  const half = new Float64Array(k);
  const found = new Float64Array(2);

  for (let i = 0; i < n; i++) {
    const c = nearestTwo(data, i * d, centers, k, d, found);
    labels[i] = c;
    upper[i] = Math.sqrt(found[0] as number);
    lower[i] = Math.sqrt(found[1] as number);
    addRow(sums, c * d, data, i * d, d, 1);
    counts[c] = (counts[c] as number) + 1;
  }
  let iterations = 1;
  let converged = false;
  for (;;) {
    converged = true;
    for (let c = 0; c < k; c++) {
      const count = counts[c] as number;
      for (let j = 0; j < d; j++) {
        const at = c * d + j;
        next[at] = count > 0 ? (sums[at] as number) / count : (centers[at] as number);
      }
      const moved = sqDist(next, c * d, centers, c * d, d);
      if (moved > tolerance) converged = false;
      shift[c] = Math.sqrt(moved);
    }
    if (converged || iterations >= maxIterations) break;
    centers.set(next);

    let maxShift = 0;
    let maxAt = -1;
    let secondShift = 0;
    for (let c = 0; c < k; c++) {
      const s = shift[c] as number;
      if (s > maxShift) {
        secondShift = maxShift;
        maxShift = s;
        maxAt = c;
      } else if (s > secondShift) {
        secondShift = s;
      }
    }
    for (let c = 0; c < k; c++) {
      let nearest = Number.POSITIVE_INFINITY;
      for (let o = 0; o < k; o++) {
        if (o !== c) nearest = Math.min(nearest, sqDist(centers, c * d, centers, o * d, d));
      }
      half[c] = Math.sqrt(nearest) / 2;
    }
    for (let i = 0; i < n; i++) {
      const a = labels[i] as number;
      const u = (upper[i] as number) + (shift[a] as number);
      const l = (lower[i] as number) - (a === maxAt ? secondShift : maxShift);
      lower[i] = l;
      const h = half[a] as number;
      const bound = Math.max(h, l);
      if (u <= bound) {
        upper[i] = u;
        continue;
      }
      const exact = Math.sqrt(sqDist(data, i * d, centers, a * d, d));
      if (exact <= bound) {
        upper[i] = exact;
        continue;
      }
      const c = nearestTwo(data, i * d, centers, k, d, found);
      upper[i] = Math.sqrt(found[0] as number);
      lower[i] = Math.sqrt(found[1] as number);
      if (c !== a) {
        labels[i] = c;
        addRow(sums, a * d, data, i * d, d, -1);
        addRow(sums, c * d, data, i * d, d, 1);
        counts[a] = (counts[a] as number) - 1;
        counts[c] = (counts[c] as number) + 1;
      }
    }
    iterations++;
  }
  // the returned centroids: exact means of the final assignment (as ml-kmeans computes them)
  sums.fill(0);
  for (let i = 0; i < n; i++) addRow(sums, (labels[i] as number) * d, data, i * d, d, 1);
  for (let c = 0; c < k; c++) {
    const count = counts[c] as number;
    for (let j = 0; j < d; j++) {
      const at = c * d + j;
      next[at] = count > 0 ? (sums[at] as number) / count : (centers[at] as number);
    }
  }
  return { k, centroids: next, labels, inertia: inertiaOf(m, next, labels), iterations, converged };
}

/** Index of the nearest centre (lowest index on ties); `found` gets the two smallest squared distances. */
function nearestTwo(
  data: Float64Array,
  row: number,
  centers: Float64Array,
  k: number,
  d: number,
  found: Float64Array,
): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  let secondD = Number.POSITIVE_INFINITY;
  for (let c = 0; c < k; c++) {
    const dist = sqDist(data, row, centers, c * d, d);
    if (dist < bestD) {
      secondD = bestD;
      bestD = dist;
      best = c;
    } else if (dist < secondD) {
      secondD = dist;
    }
  }
  found[0] = bestD;
  found[1] = secondD;
  return best;
}

function addRow(
  sums: Float64Array,
  at: number,
  data: Float64Array,
  row: number,
  d: number,
  sign: number,
): void {
  for (let j = 0; j < d; j++) sums[at + j] = (sums[at + j] as number) + sign * (data[row + j] as number);
}

/** Sum of squared distances of each row to the centroid of its label. */
export function inertiaOf(m: Matrix, centroids: Float64Array, labels: Int32Array): number {
  let total = 0;
  for (let i = 0; i < m.rows; i++)
    total += sqDist(m.data, i * m.cols, centroids, (labels[i] as number) * m.cols, m.cols);
  return total;
}

/** Each row's nearest centroid (lowest index on ties) and the inertia of that assignment. */
export function assignNearest(m: Matrix, centroids: Float64Array): { labels: Int32Array; inertia: number } {
  const { data, rows: n, cols: d } = m;
  const k = centroids.length / d;
  const labels = new Int32Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const dist = sqDist(data, i * d, centroids, c * d, d);
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    }
    labels[i] = best;
    inertia += bestD;
  }
  return { labels, inertia };
}

export interface KMeansOptions extends LloydOptions {
  readonly seed: number;
  /** k-means++ starts that compete (default 4); the lowest inertia wins. */
  readonly restarts?: number;
  /** Restarts run on a sample of this many rows (default 50,000); the winner is refined on all rows. */
  readonly sampleSize?: number;
}

/**
 * k-means with k-means++ restarts. On large inputs the restarts compete on a seeded sample and only
 * the winner runs on every row, so the cost is about one full Lloyd run. Labels are the nearest
 * final centroid of each row.
 */
export function kmeans(m: Matrix, k: number, options: KMeansOptions): KMeansResult {
  if (!Number.isInteger(k) || k < 1) throw new Error(`invalid k: ${k}`);
  if (m.rows < k) throw new Error(`k-means needs at least k = ${k} rows, got ${m.rows}`);
  const restarts = Math.max(1, options.restarts ?? 4);
  const sampleSize = options.sampleSize ?? 50_000;
  const fit = m.rows > sampleSize ? subset(m, sampleIndices(m.rows, sampleSize, createRng(options.seed))) : m;
  let best: KMeansResult | undefined;
  for (let r = 0; r < restarts; r++) {
    const init = kmeansPlusPlus(fit, k, createRng(deriveSeed(options.seed, r)));
    const result = lloyd(fit, init, options);
    if (best === undefined || result.inertia < best.inertia) best = result;
  }
  if (best === undefined) throw new Error('unreachable: no k-means restart ran');
  const final = fit === m ? best : lloyd(m, best.centroids, options);
  const { labels, inertia } = assignNearest(m, final.centroids);
  return { ...final, labels, inertia };
}
