/**
 * Customer features for clustering, and the pipeline that turns them into a standardized matrix:
 * impute (median) → transform (log1p where skewed) → scale (z-score). The fitted pipeline is plain
 * JSON, stored in mining_run.params, so a customer is scored the same way later.
 */
import type { Database, Params } from '../../db/duckdb.ts';
import {
  type BEHAVIOUR_FEATURES,
  behaviourFeatures,
  type RatePrior,
  ratePrior,
} from '../models/behaviour-features.ts';
import type { Matrix } from '../models/kmeans.ts';

/** The features, in matrix column order. */
export const FEATURES = [
  'recency_days',
  'frequency',
  'monetary_total',
  'tenure_days',
  'return_share',
  'categories',
  'tickets',
] as const;
export type FeatureName = (typeof FEATURES)[number];

/**
 * The features clusters are fitted on, with their transforms fixed (not left to the skewness rule):
 * purchase rate on a log scale (rates spread over orders of magnitude; log1p of a weekly rate below
 * 1 hardly compresses it), money per purchase and purchases overdue on a signed log1p scale.
 */
export const CLUSTER_FEATURES: Readonly<Record<(typeof BEHAVIOUR_FEATURES)[number], Transform>> = {
  purchase_rate: 'log',
  avg_value: 'signed_log1p',
  overdue: 'log1p',
};

export type Transform = 'none' | 'log' | 'log1p' | 'signed_log1p';

export interface FeatureStep {
  readonly name: string;
  /** Replaces a missing value (NaN), in raw units. */
  readonly impute: number;
  readonly transform: Transform;
  /** Mean and standard deviation after the transform. */
  readonly mean: number;
  readonly std: number;
}

export interface FeaturePipeline {
  readonly version: 1;
  /** How transforms were chosen (for readers of the stored params). */
  readonly transform_rule: string;
  readonly steps: readonly FeatureStep[];
  /** Features left out, with why (e.g. constant: no tickets loaded). */
  readonly dropped: readonly { readonly name: string; readonly reason: string }[];
}

/** Raw feature columns, one Float64Array per feature, NaN = missing. */
export interface FeatureTable {
  readonly customers: Float64Array;
  readonly columns: Readonly<Record<string, Float64Array>>;
  readonly rows: number;
  /** The gamma prior behind purchase_rate (readFeatures sets it). */
  readonly ratePrior?: RatePrior;
}

/** A dense row-major matrix (defined beside k-means, which works on it). */
export type { Matrix };

/**
 * The raw features of the customers scored in an RFM run, as of its as-of day, ordered by key:
 * recency_days, frequency, monetary_total (from customer_rfm); tenure_days (as-of - first purchase
 * day), return_share (returned / gross sales, missing when gross sales are 0), categories (distinct
 * product categories bought), tickets (service tickets opened by the as-of day); then the behaviour
 * features of behaviour-features.ts (purchase_rate, avg_value, overdue) from the run's BTYD summary,
 * with the rate prior fitted on it (the same run always gives the same prior).
 */
export async function readFeatures(
  db: Database,
  options: { readonly runId: number; readonly asOf: string; readonly periodDays: number },
): Promise<FeatureTable> {
  // Distinct categories as a 64-bit set per customer (one bit per category, in the same pass as the
  // money): about 3x faster here than a distinct (customer, category) pass. Exact up to 64
  // categories; past that, categories share bits and the count is a lower bound.
  const sql = `WITH category_bit AS (
  SELECT product_key, ((dense_rank() OVER (ORDER BY category) - 1) % 64)::UTINYINT AS bit
  FROM core.dim_product WHERE category IS NOT NULL
),
lines AS (
  SELECT f.customer_durable_key,
    coalesce(sum(f.revenue) FILTER (WHERE f.order_type = 'sale'), 0) AS gross,
    coalesce(-sum(f.revenue) FILTER (WHERE f.order_type = 'return'), 0) AS returned,
    coalesce(bit_count(bit_or(1::UBIGINT << c.bit) FILTER (WHERE f.order_type = 'sale')), 0) AS categories
  FROM core.fact_order_line f LEFT JOIN category_bit c ON c.product_key = f.product_key
  WHERE f.customer_durable_key IS NOT NULL AND f.ordered_date <= $2::DATE
  GROUP BY f.customer_durable_key
),
tickets AS (
  SELECT customer_durable_key, count(*) AS tickets
  FROM core.fact_ticket
  WHERE customer_durable_key IS NOT NULL AND CAST(opened_at AS DATE) <= $2::DATE
  GROUP BY customer_durable_key
)
SELECT r.customer_durable_key::DOUBLE AS customer,
  r.recency_days::DOUBLE AS recency_days,
  r.frequency::DOUBLE AS frequency,
  r.monetary_total::DOUBLE AS monetary_total,
  round(r.btyd_t * $3::DOUBLE)::DOUBLE AS tenure_days,
  CASE WHEN l.gross > 0 THEN least(1, greatest(0, l.returned::DOUBLE / l.gross::DOUBLE)) END AS return_share,
  coalesce(l.categories, 0)::DOUBLE AS categories,
  coalesce(t.tickets, 0)::DOUBLE AS tickets,
  r.btyd_frequency::DOUBLE AS btyd_x, r.btyd_recency::DOUBLE AS btyd_tx, r.btyd_t::DOUBLE AS btyd_t
FROM mining.customer_rfm r
LEFT JOIN lines l ON l.customer_durable_key = r.customer_durable_key
LEFT JOIN tickets t ON t.customer_durable_key = r.customer_durable_key
WHERE r.run_id = $1
ORDER BY r.customer_durable_key`;
  const [customers, ...values] = await readDoubleColumns(db, sql, [
    options.runId,
    options.asOf,
    options.periodDays,
  ]);
  const columns: Record<string, Float64Array> = {};
  FEATURES.forEach((name, i) => {
    columns[name] = values[i] as Float64Array;
  });
  const [x, tx, T] = values.slice(FEATURES.length) as [Float64Array, Float64Array, Float64Array];
  const rows = customers?.length ?? 0;
  const prior = rows > 0 ? ratePrior(x, tx, T) : { r: 1, alpha: 1, source: 'no customers' };
  Object.assign(
    columns,
    behaviourFeatures(
      {
        x,
        tx,
        T,
        monetary: columns.monetary_total as Float64Array,
        frequency: columns.frequency as Float64Array,
      },
      prior,
    ),
  );
  return { customers: customers ?? new Float64Array(0), columns, rows, ratePrior: prior };
}

/**
 * Runs a query whose columns are all DOUBLE and returns them as Float64Arrays (NULL → NaN),
 * reading DuckDB's chunks directly instead of building row objects.
 */
export async function readDoubleColumns(db: Database, sql: string, params: Params): Promise<Float64Array[]> {
  const result = await db.read(sql, params);
  const n = result.rowCount;
  const cols = Array.from({ length: result.columnCount }, () => new Float64Array(n));
  let offset = 0;
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const rows = chunk.rowCount;
    cols.forEach((col, j) => {
      const vector = chunk.getColumnVector(j);
      for (let i = 0; i < rows; i++) {
        const v = vector.getItem(i);
        col[offset + i] = v === null ? Number.NaN : Number(v);
      }
    });
    offset += rows;
  }
  return cols;
}

/** Sample skewness (Fisher–Pearson, g1); 0 for a constant column. */
export function skewness(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  return m2 > 0 ? m3 / m2 ** 1.5 : 0;
}

function median(values: Float64Array): number {
  let count = 0;
  for (const v of values) if (!Number.isNaN(v)) count++;
  const present =
    count === values.length ? Float64Array.from(values) : values.filter((v) => !Number.isNaN(v));
  present.sort();
  if (present.length === 0) return 0;
  const mid = present.length >> 1;
  return present.length % 2 === 1
    ? (present[mid] as number)
    : ((present[mid - 1] as number) + (present[mid] as number)) / 2;
}

function transformValue(t: Transform, v: number): number {
  switch (t) {
    case 'none':
      return v;
    case 'log':
      return Math.log(v);
    case 'log1p':
      return Math.log1p(v);
    case 'signed_log1p':
      return Math.sign(v) * Math.log1p(Math.abs(v));
    default:
      throw new Error(`invalid transform: ${String(t)}`);
  }
}

/**
 * Fits the pipeline on raw columns: each feature's missing values get its median; a right-skewed
 * feature (skewness > 0) is log1p-transformed (signed when it has negative values, as net monetary
 * can) when that makes it more symmetric (smaller |skewness|), as it does for money, counts and
 * day spans, even when they mix several groups; then it is centred and scaled to unit variance.
 * Constant features (nothing to separate customers on, e.g. no tickets loaded) are dropped.
 */
export function fitPipeline(
  table: FeatureTable,
  options: {
    readonly features?: readonly string[];
    /** Transforms fixed per feature instead of chosen by the skewness rule. */
    readonly transforms?: Readonly<Record<string, Transform>>;
  } = {},
): FeaturePipeline {
  const steps: FeatureStep[] = [];
  const dropped: { name: string; reason: string }[] = [];
  for (const name of options.features ?? Object.keys(table.columns)) {
    const raw = table.columns[name];
    if (raw === undefined) throw new Error(`invalid feature: ${name}`);
    const impute = median(raw);
    const filled = raw.map((v) => (Number.isNaN(v) ? impute : v));
    let min = Number.POSITIVE_INFINITY;
    for (const v of filled) min = Math.min(min, v);
    const fixed = options.transforms?.[name];
    let transform: Transform;
    if (fixed !== undefined) {
      if (fixed === 'log' && !(min > 0))
        throw new Error(`feature ${name} has values <= 0 and cannot take a log`);
      if (fixed === 'log1p' && !(min > -1))
        throw new Error(`feature ${name} has values <= -1 and cannot take log1p`);
      transform = fixed;
    } else {
      const rawSkew = skewness(filled);
      const logTransform: Transform = min < 0 ? 'signed_log1p' : 'log1p';
      const logged = filled.map((v) => transformValue(logTransform, v));
      transform = rawSkew > 0 && Math.abs(skewness(logged)) < Math.abs(rawSkew) ? logTransform : 'none';
    }
    const x = filled.map((v) => transformValue(transform, v));
    let mean = 0;
    for (const v of x) mean += v;
    mean /= x.length || 1;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2;
    const std = Math.sqrt(variance / (x.length || 1));
    if (!(std > 1e-12)) {
      dropped.push({ name, reason: 'constant' });
      continue;
    }
    steps.push({ name, impute, transform, mean, std });
  }
  return {
    version: 1,
    transform_rule:
      options.transforms === undefined
        ? 'log1p (signed when negative) if right-skewed and it lowers |skewness|; then z-score'
        : 'fixed per feature; then z-score',
    steps,
    dropped,
  };
}

/** Applies a fitted pipeline: a row-major matrix with one column per kept feature. */
export function applyPipeline(pipeline: FeaturePipeline, table: FeatureTable): Matrix {
  const rows = table.rows;
  const cols = pipeline.steps.length;
  const data = new Float64Array(rows * cols);
  pipeline.steps.forEach((step, j) => {
    const raw = table.columns[step.name];
    if (raw === undefined) throw new Error(`invalid feature: ${step.name}`);
    for (let i = 0; i < rows; i++) {
      const v = raw[i] as number;
      const filled = Number.isNaN(v) ? step.impute : v;
      data[i * cols + j] = (transformValue(step.transform, filled) - step.mean) / step.std;
    }
  });
  return { data, rows, cols };
}
