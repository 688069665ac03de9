/**
 * What each cluster is: size, share of revenue, mean R/F/M, top categories and regions (SQL over
 * the run's scores), and a readable name derived from the profile alone, so it is deterministic
 * and unique within a run.
 */
import type { Database } from '../../db/duckdb.ts';

export interface TopItem {
  readonly name: string;
  /** Share of the cluster (customers for regions, sales revenue for categories), 0–1. */
  readonly share: number;
}

export interface ClusterProfile {
  readonly cluster: number;
  readonly name: string;
  readonly size: number;
  readonly share_of_customers: number;
  /** Net revenue of the cluster's customers up to the as-of day. */
  readonly revenue: number;
  readonly share_of_revenue: number;
  readonly mean_recency_days: number;
  readonly mean_frequency: number;
  readonly mean_monetary: number;
  readonly mean_r_score: number;
  readonly mean_f_score: number;
  readonly mean_m_score: number;
  readonly top_categories: readonly TopItem[];
  readonly top_regions: readonly TopItem[];
  /** The centroid in the standardized feature space (0 = the average customer, ±1 = one std). */
  readonly centroid: Readonly<Record<string, number>>;
}

export type ProfileFacts = Omit<ClusterProfile, 'name'>;

/**
 * Profiles the clusters of the temp table `mining_cluster_labels(customer_durable_key, cluster)`
 * against the run's RFM rows. `centroids` is row-major, one row per cluster, columns = `features`.
 */
export async function profileClusters(
  db: Database,
  options: {
    readonly runId: number;
    readonly asOf: string;
    readonly features: readonly string[];
    readonly centroids: Float64Array;
  },
): Promise<ProfileFacts[]> {
  const stats = await db.all(
    `SELECT l.cluster, count(*) AS size, coalesce(sum(r.monetary_total), 0)::DOUBLE AS revenue,
      avg(r.recency_days)::DOUBLE AS mean_recency_days, avg(r.frequency)::DOUBLE AS mean_frequency,
      avg(r.monetary_total)::DOUBLE AS mean_monetary, avg(r.r_score)::DOUBLE AS mean_r_score,
      avg(r.f_score)::DOUBLE AS mean_f_score, avg(r.m_score)::DOUBLE AS mean_m_score
    FROM mining_cluster_labels l
    JOIN mining.customer_rfm r ON r.run_id = $1 AND r.customer_durable_key = l.customer_durable_key
    GROUP BY l.cluster ORDER BY l.cluster`,
    [options.runId],
  );
  const regions = await db.all(
    `SELECT cluster, name, n::DOUBLE / sum(n) OVER (PARTITION BY cluster) AS share FROM (
      SELECT l.cluster, coalesce(c.region, '(unknown)') AS name, count(*) AS n
      FROM mining_cluster_labels l
      LEFT JOIN core.dim_customer c ON c.customer_durable_key = l.customer_durable_key AND c.is_current
      GROUP BY ALL)
    QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY n DESC, name) <= 3
    ORDER BY cluster, share DESC, name`,
  );
  const categories = await db.all(
    `SELECT cluster, name, revenue / nullif(sum(revenue) OVER (PARTITION BY cluster), 0) AS share FROM (
      SELECT l.cluster, p.category AS name, sum(f.revenue)::DOUBLE AS revenue
      FROM core.fact_order_line f
      JOIN mining_cluster_labels l ON l.customer_durable_key = f.customer_durable_key
      JOIN core.dim_product p ON p.product_key = f.product_key
      WHERE f.order_type = 'sale' AND f.ordered_date <= $1::DATE AND p.category IS NOT NULL
      GROUP BY ALL)
    QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY revenue DESC, name) <= 3
    ORDER BY cluster, revenue DESC, name`,
    [options.asOf],
  );
  const total = stats.reduce((s, row) => s + Number(row.size), 0);
  const revenue = stats.reduce((s, row) => s + Number(row.revenue), 0);
  const d = options.features.length;
  return stats.map((row) => {
    const cluster = Number(row.cluster);
    const centroid: Record<string, number> = {};
    options.features.forEach((f, j) => {
      centroid[f] = round(options.centroids[cluster * d + j] ?? 0, 4);
    });
    const top = (rows: typeof regions) =>
      rows
        .filter((r) => Number(r.cluster) === cluster)
        .map((r) => ({ name: String(r.name), share: round(Number(r.share ?? 0), 4) }));
    return {
      cluster,
      size: Number(row.size),
      share_of_customers: round(total > 0 ? Number(row.size) / total : 0, 4),
      revenue: round(Number(row.revenue), 2),
      share_of_revenue: round(revenue !== 0 ? Number(row.revenue) / revenue : 0, 4),
      mean_recency_days: round(Number(row.mean_recency_days), 2),
      mean_frequency: round(Number(row.mean_frequency), 3),
      mean_monetary: round(Number(row.mean_monetary), 2),
      mean_r_score: round(Number(row.mean_r_score), 3),
      mean_f_score: round(Number(row.mean_f_score), 3),
      mean_m_score: round(Number(row.mean_m_score), 3),
      top_categories: top(categories),
      top_regions: top(regions),
      centroid,
    };
  });
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** How each feature reads when a cluster stands out on it (above, below the average). */
const QUALIFIERS: Readonly<Record<string, readonly [string, string]>> = {
  recency_days: ['less recent', 'more recent'],
  frequency: ['more purchases', 'fewer purchases'],
  monetary_total: ['higher spend', 'lower spend'],
  tenure_days: ['longer tenure', 'newer'],
  return_share: ['more returns', 'fewer returns'],
  categories: ['more categories', 'fewer categories'],
  tickets: ['more tickets', 'fewer tickets'],
  purchase_rate: ['buys more often', 'buys less often'],
  avg_value: ['bigger baskets', 'smaller baskets'],
  overdue: ['overdue', 'on rhythm'],
};

/** Mean scores at or above HIGH read as high, at or below LOW as low (scores run 1–5, mean 3). */
const HIGH = 3.5;
const LOW = 2.5;

/**
 * The base name of a cluster from its mean R/F/M scores: value · frequency · recency, e.g.
 * "High value · frequent · recent" (m ≥ 3.5 high, ≤ 2.5 low, else mid; likewise for f and r).
 */
export function baseName(
  p: Pick<ProfileFacts, 'mean_r_score' | 'mean_f_score' | 'mean_m_score' | 'mean_frequency'>,
): string {
  const value = p.mean_m_score >= HIGH ? 'High value' : p.mean_m_score <= LOW ? 'Low value' : 'Mid value';
  const frequency =
    p.mean_f_score >= HIGH
      ? 'frequent'
      : p.mean_f_score <= LOW
        ? p.mean_frequency < 1.5
          ? 'one-time'
          : 'infrequent'
        : 'occasional';
  const recency = p.mean_r_score >= HIGH ? 'recent' : p.mean_r_score <= LOW ? 'lapsed' : 'cooling';
  return `${value} · ${frequency} · ${recency}`;
}

/**
 * Names for every cluster, unique within the run. Clusters sharing a base name get the feature on
 * which each stands out most from the others of that name ("· longer tenure"); a name still shared
 * gets " (2)", " (3)" in cluster order (clusters are numbered by size, largest first).
 */
export function nameClusters(profiles: readonly ProfileFacts[]): string[] {
  const names = profiles.map(baseName);
  const groups = new Map<string, number[]>();
  names.forEach((name, i) => {
    groups.set(name, [...(groups.get(name) ?? []), i]);
  });
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const features = Object.keys(profiles[members[0] as number]?.centroid ?? {});
    const groupMean = (f: string) =>
      members.reduce((s, i) => s + (profiles[i]?.centroid[f] ?? 0), 0) / members.length;
    for (const i of members) {
      const p = profiles[i] as ProfileFacts;
      let best: string | undefined;
      let bestGap = 0;
      for (const f of features) {
        const gap = (p.centroid[f] ?? 0) - groupMean(f);
        if (Math.abs(gap) > Math.abs(bestGap) + 1e-9) {
          best = f;
          bestGap = gap;
        }
      }
      const words = best === undefined ? undefined : QUALIFIERS[best];
      if (words) names[i] = `${names[i]} · ${bestGap > 0 ? words[0] : words[1]}`;
    }
  }
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name} (${count})`;
  });
}
