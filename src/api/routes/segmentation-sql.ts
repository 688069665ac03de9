/**
 * The Segmentation page's figures as SQL over the mining score tables: the RFM grid (recency ×
 * frequency score), its cell members, segment cards, cluster profiles and cohort retention. Every
 * query takes the run id and a region list (JSON text, or NULL for every region) as bound values.
 */
import type { Database, Row } from '../../db/duckdb.ts';

/**
 * `$n` is NULL (every region) or a JSON list of the regions the caller may and wants to see, tested
 * on `alias`.region. Score rows are keyed by the golden key, so joined to the current version of the
 * golden customer's own record that region is the golden customer's current region: the rule of
 * docs/api.md ("Region limits").
 */
const inRegions = (n: number, alias = 'c') =>
  `($${n}::VARCHAR IS NULL OR list_contains(from_json($${n}::VARCHAR, '["VARCHAR"]'), ${alias}.region))`;

const SCORED = `
  FROM mining.customer_rfm r
  JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
  WHERE r.run_id = $1 AND ${inRegions(2)}`;

/** The run to show: the given one, or the latest (mining.latest_run) when it scored customers. */
export async function scoredRun(db: Database, run: number | undefined): Promise<Row | undefined> {
  if (run !== undefined) {
    return db.one(
      `SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of FROM mining.mining_run WHERE run_id = $1`,
      [run],
    );
  }
  return db.one(`SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of FROM mining.mining_run m
    WHERE m.run_id = (SELECT run_id FROM mining.latest_run)
      AND EXISTS (SELECT 1 FROM mining.customer_rfm s WHERE s.run_id = m.run_id)`);
}

/** One row per (r_score, f_score) cell: customers, their monetary total and the cell's segment. */
export function rfmGrid(db: Database, run: number, regions: string | null): Promise<Row[]> {
  return db.all(
    `SELECT r.r_score, r.f_score, count(*) AS customers, sum(r.monetary_total)::DOUBLE AS value,
            mode(r.rfm_segment) AS segment
     ${SCORED} AND r.r_score IS NOT NULL AND r.f_score IS NOT NULL
     GROUP BY ALL ORDER BY r.r_score DESC, r.f_score DESC`,
    [run, regions],
  );
}

/** The customers of one grid cell, largest monetary total first. */
export async function rfmCellCustomers(
  db: Database,
  run: number,
  regions: string | null,
  r: number,
  f: number,
  limit: number,
): Promise<{ total: number; customers: Row[] }> {
  const where = `${SCORED} AND r.r_score = $3 AND r.f_score = $4`;
  const total = Number(await db.scalar(`SELECT count(*) ${where}`, [run, regions, r, f]));
  const customers = await db.all(
    `SELECT c.customer_id, c.name, c.region, r.rfm_segment, r.recency_days, r.frequency,
            r.monetary_total::DOUBLE AS monetary_total
     ${where} ORDER BY r.monetary_total DESC, c.customer_id LIMIT $5`,
    [run, regions, r, f, limit],
  );
  return { total, customers };
}

/** Segment cards: size, share of customers and of monetary value, mean R, F and M scores. */
export function segmentCards(db: Database, run: number, regions: string | null): Promise<Row[]> {
  return db.all(
    `SELECT r.rfm_segment AS segment, count(*) AS customers,
            count(*) / sum(count(*)) OVER () AS customer_share,
            sum(r.monetary_total)::DOUBLE AS value,
            coalesce(sum(r.monetary_total) / nullif(sum(sum(r.monetary_total)) OVER (), 0), 0)::DOUBLE AS value_share,
            avg(r.r_score) AS mean_r, avg(r.f_score) AS mean_f, avg(r.m_score) AS mean_m
     ${SCORED} AND r.rfm_segment IS NOT NULL
     GROUP BY ALL ORDER BY customers DESC, segment`,
    [run, regions],
  );
}

/** Cluster profiles of a run: size, shares and mean behaviour of each cluster's customers. */
export function clusterProfiles(db: Database, run: number, regions: string | null): Promise<Row[]> {
  return db.all(
    `SELECT s.cluster, s.cluster_name, count(*) AS customers,
            count(*) / sum(count(*)) OVER () AS customer_share,
            sum(r.monetary_total)::DOUBLE AS value,
            coalesce(sum(r.monetary_total) / nullif(sum(sum(r.monetary_total)) OVER (), 0), 0)::DOUBLE AS value_share,
            avg(r.recency_days) AS mean_recency_days, avg(r.frequency) AS mean_frequency,
            avg(r.monetary_total)::DOUBLE AS mean_monetary,
            avg(r.r_score) AS mean_r, avg(r.f_score) AS mean_f, avg(r.m_score) AS mean_m
     FROM mining.customer_segment s
     JOIN mining.customer_rfm r ON r.run_id = s.run_id AND r.customer_durable_key = s.customer_durable_key
     JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
     WHERE s.run_id = $1 AND ${inRegions(2)}
     GROUP BY ALL ORDER BY s.cluster`,
    [run, regions],
  );
}

/** Keys of the current customers in the regions (for narrowing a migration matrix). */
export async function customerKeysIn(db: Database, regions: string): Promise<Set<number>> {
  const rows = await db.all(
    `SELECT customer_durable_key FROM core.dim_customer c WHERE c.is_current AND ${inRegions(1)}`,
    [regions],
  );
  return new Set(rows.map((r) => Number(r.customer_durable_key)));
}

/**
 * Cohort retention: customers by the month of their first purchase (UTC) and months since then,
 * counting a customer in month k when they bought (a line with positive revenue) in that month.
 * Months are integer indexes (year * 12 + month - 1) taken from the UTC epoch, which avoids a time
 * zone conversion per order line (about 3x faster on 10M lines); the golden and region joins are added
 * when a region limit applies.
 */
export function cohortRetention(
  db: Database,
  regions: string | null,
  from: string | null,
  to: string | null,
  maxMonths: number,
): Promise<Row[]> {
  // lines count for their golden customer (a record merged into another is that customer)
  const lines =
    regions === null
      ? `core.fact_order_line o
         LEFT JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
         WHERE o.revenue > 0 AND $1::VARCHAR IS NULL`
      : `core.fact_order_line o
         JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
         JOIN core.dim_customer g ON g.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
           AND g.is_current
         WHERE o.revenue > 0 AND ${inRegions(1, 'g')}`;
  return db.all(
    `WITH buys AS (
       SELECT DISTINCT customer_durable_key, (year(t) * 12 + month(t) - 1)::INTEGER AS m
       FROM (SELECT coalesce(c.golden_customer_key, o.customer_durable_key) AS customer_durable_key,
                    make_timestamp(epoch_us(o.ordered_at)) AS t FROM ${lines})),
     since AS (SELECT m, m - min(m) OVER (PARTITION BY customer_durable_key) AS k FROM buys)
     SELECT printf('%04d-%02d', (m - k) // 12, (m - k) % 12 + 1) AS cohort, k AS months_since,
            count(*) AS customers
     FROM since
     WHERE k <= $4
       AND ($2::DATE IS NULL OR m - k >= year($2::DATE) * 12 + month($2::DATE) - 1)
       AND ($3::DATE IS NULL OR m - k <= year($3::DATE) * 12 + month($3::DATE) - 1)
     GROUP BY ALL ORDER BY 1, 2`,
    [regions, from, to, maxMonths],
  );
}
