/**
 * Customer segmentation: standardized behaviour features (purchase rate, money per purchase, purchases
 * overdue: behaviour-features.ts) → k-means with k chosen by silhouette and elbow →
 * profiled, named clusters written to mining.customer_segment. Cluster quality measures
 * (silhouette, adjusted Rand index) live here too.
 */
import { DOUBLE, DuckDBDataChunk, INTEGER } from '@duckdb/node-api';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { assignNearest, createRng, deriveSeed, kmeans, sampleIndices, subset } from '../models/kmeans.ts';
import { type ClusterProfile, nameClusters, profileClusters } from './cluster-profile.ts';
import {
  applyPipeline,
  CLUSTER_FEATURES,
  type FeaturePipeline,
  type FeatureTable,
  fitPipeline,
  type Matrix,
  readFeatures,
} from './features.ts';

/**
 * Mean silhouette (Rousseeuw 1987) of a labelled matrix: for each row, (b - a) / max(a, b) with a
 * the mean distance to its own cluster and b to the nearest other cluster; 0 for a row alone in its
 * cluster. O(n²): pass a sample.
 */
export function silhouette(m: Matrix, labels: Int32Array, k: number): number {
  const { data, rows: n, cols: d } = m;
  if (n < 2 || k < 2) return 0;
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) sizes[labels[i] as number] = (sizes[labels[i] as number] as number) + 1;
  const sums = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let o = 0; o < n; o++) {
      if (o === i) continue;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = (data[i * d + j] as number) - (data[o * d + j] as number);
        s += t * t;
      }
      const c = labels[o] as number;
      sums[c] = (sums[c] as number) + Math.sqrt(s);
    }
    const own = labels[i] as number;
    const ownSize = (sizes[own] as number) - 1;
    if (ownSize === 0) continue;
    const a = (sums[own] as number) / ownSize;
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      if (c !== own && (sizes[c] as number) > 0) b = Math.min(b, (sums[c] as number) / (sizes[c] as number));
    }
    if (Number.isFinite(b)) total += (b - a) / Math.max(a, b);
  }
  return total / n;
}

/**
 * Adjusted Rand index (Hubert & Arabie 1985) between two labellings: 1 for the same partition
 * (whatever the label numbers), about 0 for independent ones.
 *
 * @example
 * adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) // 0.2424… (= 0.8 / 3.3)
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error(`labellings differ in length: ${n} and ${b.length}`);
  const pair = (x: number) => (x * (x - 1)) / 2;
  const cells = new Map<string, number>();
  const rowsA = new Map<number, number>();
  const colsB = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const key = `${x}\u0000${y}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
    rowsA.set(x, (rowsA.get(x) ?? 0) + 1);
    colsB.set(y, (colsB.get(y) ?? 0) + 1);
  }
  let index = 0;
  for (const v of cells.values()) index += pair(v);
  let sumA = 0;
  for (const v of rowsA.values()) sumA += pair(v);
  let sumB = 0;
  for (const v of colsB.values()) sumB += pair(v);
  const expected = (sumA * sumB) / pair(n);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

/**
 * The elbow of a decreasing curve (Satopää et al. 2011, "Kneedle"): the point farthest below the
 * chord from the first to the last point, both axes scaled to [0, 1].
 */
export function elbow(ks: readonly number[], inertias: readonly number[]): number {
  const first = ks[0];
  const last = ks[ks.length - 1];
  if (first === undefined || last === undefined || ks.length < 3) return first ?? 1;
  const y0 = inertias[0] as number;
  const y1 = inertias[inertias.length - 1] as number;
  let best = first;
  let bestGap = Number.NEGATIVE_INFINITY;
  ks.forEach((k, i) => {
    const x = (k - first) / (last - first);
    const y = y0 === y1 ? 0 : ((inertias[i] as number) - y1) / (y0 - y1);
    const gap = 1 - x - y;
    if (gap > bestGap + 1e-12) {
      bestGap = gap;
      best = k;
    }
  });
  return best;
}

export interface ClusterOptions {
  readonly seed: number;
  /** Force k (otherwise chosen in [kMin, kMax]). */
  readonly k?: number;
  readonly kMin?: number;
  readonly kMax?: number;
  /** k-means++ restarts per fit (default 4). */
  readonly restarts?: number;
  /** Rows the k search fits on (default 20,000). */
  readonly searchSample?: number;
  /** Rows the silhouette is measured on (default 2,000; it is O(n²)). */
  readonly silhouetteSample?: number;
  /** Two silhouettes closer than this are a tie, settled by the elbow (default 0.02). */
  readonly silhouetteTolerance?: number;
}

export interface KCandidate {
  readonly k: number;
  /** Inertia per row on the search sample. */
  readonly inertia: number;
  readonly silhouette: number;
}

export interface ClusterResult {
  readonly k: number;
  readonly k_requested: number | null;
  readonly chosen_by: 'forced' | 'silhouette+elbow' | 'too few distinct customers';
  readonly elbow_k: number | null;
  readonly candidates: readonly KCandidate[];
  /** Clusters numbered by size, largest first; no empty cluster. */
  readonly labels: Int32Array;
  readonly centroids: Float64Array;
  readonly inertia: number;
  readonly silhouette: number;
  readonly iterations: number;
}

/** Distinct rows, counted up to `limit` (enough to know whether k clusters can be non-empty). */
function distinctRows(m: Matrix, limit: number): number {
  const seen = new Set<string>();
  for (let i = 0; i < m.rows && seen.size < limit; i++) {
    seen.add(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)).join(','));
  }
  return seen.size;
}

/**
 * Clusters a standardized matrix. Unless k is forced, each k in [kMin, kMax] is fitted on a seeded
 * sample; the k with the best silhouette wins, and k's within `silhouetteTolerance` of it are
 * settled by closeness to the inertia elbow (then the smaller k). The chosen k is then fitted on all
 * rows (k-means++ restarts on a sample, the winner refined on everything).
 */
export function clusterMatrix(m: Matrix, options: ClusterOptions): ClusterResult {
  const kMin = Math.max(2, options.kMin ?? 2);
  const kMax = Math.max(kMin, options.kMax ?? 8);
  const restarts = options.restarts ?? 4;
  const limit = Math.max(kMax, options.k ?? 0) + 1;
  const distinct = m.cols === 0 ? Math.min(1, m.rows) : distinctRows(m, limit);
  const silRows = sampleIndices(
    m.rows,
    options.silhouetteSample ?? 2000,
    createRng(deriveSeed(options.seed, 1001)),
  );
  const silMatrix = subset(m, silRows);
  const silhouetteOf = (centroids: Float64Array, k: number) =>
    silhouette(silMatrix, assignNearest(silMatrix, centroids).labels, k);

  let k: number;
  let chosenBy: ClusterResult['chosen_by'];
  let elbowK: number | null = null;
  const candidates: KCandidate[] = [];
  if (distinct <= 1 || m.cols === 0) {
    k = Math.min(1, m.rows);
    chosenBy = 'too few distinct customers';
  } else if (options.k !== undefined) {
    k = Math.min(options.k, distinct);
    chosenBy = k === options.k ? 'forced' : 'too few distinct customers';
  } else if (distinct < kMin) {
    k = distinct;
    chosenBy = 'too few distinct customers';
  } else {
    const searchRows = sampleIndices(
      m.rows,
      options.searchSample ?? 20_000,
      createRng(deriveSeed(options.seed, 1002)),
    );
    const search = subset(m, searchRows);
    for (let c = kMin; c <= Math.min(kMax, distinct); c++) {
      const fit = kmeans(search, c, { seed: deriveSeed(options.seed, c), restarts, sampleSize: search.rows });
      candidates.push({
        k: c,
        inertia: fit.inertia / search.rows,
        silhouette: silhouetteOf(fit.centroids, c),
      });
    }
    elbowK = elbow(
      candidates.map((c) => c.k),
      candidates.map((c) => c.inertia),
    );
    const bestSil = Math.max(...candidates.map((c) => c.silhouette));
    const tolerance = options.silhouetteTolerance ?? 0.02;
    const near = candidates.filter((c) => c.silhouette >= bestSil - tolerance);
    const target = elbowK;
    near.sort((x, y) => Math.abs(x.k - target) - Math.abs(y.k - target) || x.k - y.k);
    k = (near[0] as KCandidate).k;
    chosenBy = 'silhouette+elbow';
  }
  if (k === 0) {
    return {
      k: 0,
      k_requested: options.k ?? null,
      chosen_by: chosenBy,
      elbow_k: elbowK,
      candidates,
      labels: new Int32Array(0),
      centroids: new Float64Array(0),
      inertia: 0,
      silhouette: 0,
      iterations: 0,
    };
  }
  const fit = kmeans(m, k, { seed: options.seed, restarts });
  const { labels, centroids, k: kept } = bySize(fit.labels, fit.centroids, k, m.cols);
  return {
    k: kept,
    k_requested: options.k ?? null,
    chosen_by: chosenBy,
    elbow_k: elbowK,
    candidates,
    labels,
    centroids,
    inertia: fit.inertia,
    silhouette: kept > 1 ? silhouetteOf(centroids, kept) : 0,
    iterations: fit.iterations,
  };
}

/** Renumbers clusters by size (largest first, then old number) and drops empty ones. */
function bySize(
  labels: Int32Array,
  centroids: Float64Array,
  k: number,
  d: number,
): { labels: Int32Array; centroids: Float64Array; k: number } {
  const sizes = new Array<number>(k).fill(0);
  for (const c of labels) sizes[c] = (sizes[c] ?? 0) + 1;
  const order = sizes
    .map((size, c) => ({ size, c }))
    .filter((x) => x.size > 0)
    .sort((x, y) => y.size - x.size || x.c - y.c);
  const map = new Int32Array(k).fill(-1);
  const out = new Float64Array(order.length * d);
  order.forEach(({ c }, i) => {
    map[c] = i;
    out.set(centroids.subarray(c * d, c * d + d), i * d);
  });
  return { labels: labels.map((c) => map[c] as number), centroids: out, k: order.length };
}

/** What a run stores to score a customer the same way later. */
export interface SegmentationModel {
  readonly pipeline: FeaturePipeline;
  /** One array per cluster, in pipeline feature order. */
  readonly centroids: readonly (readonly number[])[];
  readonly names: readonly string[];
}

/** Scores customers with a stored model: its pipeline, then the nearest centroid. */
export function assignClusters(model: SegmentationModel, table: FeatureTable): Int32Array {
  const m = applyPipeline(model.pipeline, table);
  if (model.centroids.length === 0) return new Int32Array(m.rows);
  return assignNearest(m, Float64Array.from(model.centroids.flat())).labels;
}

export interface SegmentationOutcome {
  readonly params: { readonly model: SegmentationModel; readonly options: Record<string, unknown> };
  readonly metrics: {
    readonly customers: number;
    readonly k: number;
    readonly k_requested: number | null;
    readonly chosen_by: string;
    readonly elbow_k: number | null;
    readonly silhouette: number;
    readonly inertia: number;
    readonly iterations: number;
    readonly candidates: readonly KCandidate[];
    readonly features_dropped: FeaturePipeline['dropped'];
    /** Seconds per phase: features, kmeans, profile, write. */
    readonly seconds: Readonly<Record<string, number>>;
    readonly clusters: readonly ClusterProfile[];
  };
}

/**
 * Segments the customers scored by an RFM run (its mining.customer_rfm rows must exist) and writes
 * mining.customer_segment rows for the run. Run it inside the run's transaction.
 */
export async function segmentCustomers(
  db: Database,
  options: ClusterOptions & {
    readonly runId: number;
    readonly asOf: string;
    readonly periodDays: number;
    readonly progress?: (message: string) => void;
  },
): Promise<SegmentationOutcome> {
  if (options.k !== undefined && (!Number.isInteger(options.k) || options.k < 1)) {
    throw new CrmBiError('invalid_k', `invalid k: ${options.k} (use a whole number of clusters, at least 1)`);
  }
  const seconds: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    seconds[name] = Math.round(performance.now() - t0) / 1000;
    t0 = performance.now();
  };
  const table = await readFeatures(db, options);
  const pipeline = fitPipeline(table, {
    features: Object.keys(CLUSTER_FEATURES),
    transforms: CLUSTER_FEATURES,
  });
  const m = applyPipeline(pipeline, table);
  lap('features');
  options.progress?.(
    `features: ${table.rows} customers × ${m.cols} (${pipeline.steps.map((s) => s.name).join(', ')})`,
  );
  const result = clusterMatrix(m, options);
  lap('kmeans');
  await writeLabels(db, table.customers, result.labels);
  try {
    const features = pipeline.steps.map((s) => s.name);
    const facts = await profileClusters(db, {
      runId: options.runId,
      asOf: options.asOf,
      features,
      centroids: result.centroids,
    });
    const names = nameClusters(facts);
    const clusters = facts.map((f, i) => ({ ...f, name: names[i] as string }));
    lap('profile');
    if (result.k > 0) {
      const values = names.map((_, i) => `($${3 + 2 * i}::INTEGER, $${4 + 2 * i}::VARCHAR)`).join(', ');
      await db.run(
        `INSERT INTO mining.customer_segment (run_id, as_of, customer_durable_key, cluster, cluster_name)
        SELECT $1::BIGINT, $2::DATE, l.customer_durable_key, l.cluster, n.name
        FROM mining_cluster_labels l JOIN (VALUES ${values}) AS n(cluster, name) ON n.cluster = l.cluster`,
        [options.runId, options.asOf, ...names.flatMap((name, i) => [i, name])],
      );
    }
    lap('write');
    const centroids: number[][] = [];
    for (let c = 0; c < result.k; c++) {
      centroids.push(Array.from(result.centroids.subarray(c * m.cols, (c + 1) * m.cols)));
    }
    return {
      params: {
        model: { pipeline, centroids, names },
        options: {
          seed: options.seed,
          k: options.k ?? null,
          k_min: Math.max(2, options.kMin ?? 2),
          k_max: options.kMax ?? 8,
          restarts: options.restarts ?? 4,
          rate_prior: table.ratePrior ?? null,
        },
      },
      metrics: {
        customers: table.rows,
        k: result.k,
        k_requested: result.k_requested,
        chosen_by: result.chosen_by,
        elbow_k: result.elbow_k,
        silhouette: Math.round(result.silhouette * 10000) / 10000,
        inertia: Math.round(result.inertia * 1000) / 1000,
        iterations: result.iterations,
        candidates: result.candidates.map((c) => ({
          k: c.k,
          inertia: Math.round(c.inertia * 10000) / 10000,
          silhouette: Math.round(c.silhouette * 10000) / 10000,
        })),
        features_dropped: pipeline.dropped,
        seconds,
        clusters,
      },
    };
  } finally {
    await db.run('DROP TABLE IF EXISTS mining_cluster_labels');
  }
}

/** Writes (customer, cluster) pairs to the temp table mining_cluster_labels through an appender. */
async function writeLabels(db: Database, customers: Float64Array, labels: Int32Array): Promise<void> {
  await db.run('CREATE OR REPLACE TEMP TABLE mining_cluster_labels_raw (customer DOUBLE, cluster INTEGER)');
  const appender = await db.connection.createAppender('mining_cluster_labels_raw', 'main', 'temp');
  try {
    const size = 2048;
    for (let start = 0; start < customers.length; start += size) {
      const end = Math.min(start + size, customers.length);
      const chunk = DuckDBDataChunk.create([DOUBLE, INTEGER], end - start);
      chunk.setColumnValues(0, Array.from(customers.subarray(start, end)));
      chunk.setColumnValues(1, Array.from(labels.subarray(start, end)));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await db.run(`CREATE OR REPLACE TEMP TABLE mining_cluster_labels AS
    SELECT customer::BIGINT AS customer_durable_key, cluster FROM mining_cluster_labels_raw;
    DROP TABLE mining_cluster_labels_raw`);
}
