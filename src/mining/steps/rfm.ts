/**
 * RFM scoring in DuckDB SQL (Hughes 1994, "Strategic Database Marketing"), with the BTYD summary
 * of btyd-summary.ts on the same rows.
 *
 * Per customer with at least one purchase day by the as-of day D (inclusive):
 * - recency_days  = D - last purchase day (0 = bought on D)
 * - frequency     = distinct purchase days (days with a sale line; returns are not purchases)
 * - monetary_total = net revenue of all lines by D (sales + returns, which are negative), so it can
 *   be 0 (free items) or negative (returned more than bought in the window); never NULL or NaN
 * - monetary_avg  = monetary_total / frequency (net value per purchase day)
 * Customers whose only lines by D are returns have no purchase and are not scored (counted in the
 * metrics as `customers_returns_only`); customers whose first line is after D do not exist yet.
 * Anonymous lines (no customer_durable_key) are left out.
 *
 * Scores 1–5, higher is better (more recent, more frequent, more money):
 *   score = 1 + floor(5 × (number of scored customers strictly worse) / n)
 * so equal values always share a score and the result does not depend on row order; without ties
 * it is ntile(5) (exactly when n is a multiple of 5). With heavy ties (half the customers buying
 * once) a score can stay empty: all one-time buyers get F = 1 and two-time buyers start at F = 3.
 * M ranks monetary_total; net ≤ 0 customers therefore sit at the bottom of M.
 */
import type { Database, Params } from '../../db/duckdb.ts';
import type { SegmentRules } from '../rfm-segments.ts';
import { btydColumnsSql, customerSummaryCtes, PERIOD_DAYS, type Period, parseDay } from './btyd-summary.ts';

export interface RfmQueryOptions {
  /** As-of day, YYYY-MM-DD, inclusive. */
  readonly asOf: string;
  readonly period?: Period;
  readonly rules: SegmentRules;
}

/** Output columns of `rfmQuery`, in order (customer_rfm minus run_id and as_of). */
export const RFM_COLUMNS = [
  'customer_durable_key',
  'recency_days',
  'frequency',
  'monetary_total',
  'monetary_avg',
  'r_score',
  'f_score',
  'm_score',
  'rfm_segment',
  'btyd_frequency',
  'btyd_recency',
  'btyd_t',
  'btyd_monetary',
] as const;

/**
 * The RFM select over `customer_summary` (which must be in scope: a CTE or the temp table
 * `mining_rfm_summary`), with the segment rules as a bound VALUES list.
 * `$1` = as-of day, `$2` = period length in days, `$3...` = rule cells (r, f, segment).
 */
function scoresSql(
  summary: string,
  rules: SegmentRules,
  leadingColumns = '',
): { sql: string; params: Params } {
  const cellParams = [...rules.cells];
  const cells = cellParams.map((_, i) => `$${3 + i}::VARCHAR`).join(', ');
  // score = 1 + #{k in 1..4 : value is better than the m_k-th worst value}, m_k = ceil(k·n/5):
  // "at least m_k customers strictly worse" is the same as "better than the m_k-th worst". The four
  // cut values per measure come from a running count over its distinct values, so scoring is one
  // pass of comparisons over the customers, with no join back (a join against a run's own,
  // uncommitted rows is also where DuckDB 1.5, lacking statistics, plans cross products).
  const cut = (column: string, worseFirst: 'ASC' | 'DESC') => {
    const pick = worseFirst === 'ASC' ? 'min' : 'max';
    return `(SELECT [${[1, 2, 3, 4]
      .map((k) => `${pick}(v) FILTER (WHERE running >= ceil(${k} * n / 5))`)
      .join(', ')}]
    FROM (SELECT v, sum(c) OVER (ORDER BY v ${worseFirst} ROWS UNBOUNDED PRECEDING) AS running, sum(c) OVER () AS n
      FROM (SELECT ${column} AS v, count(*) AS c FROM base GROUP BY ${column})))`;
  };
  const score = (column: string, better: '<' | '>', cuts: string) =>
    `(1 + ${[1, 2, 3, 4].map((k) => `(${column} ${better} ${cuts}[${k}])::INTEGER`).join(' + ')})`;
  const sql = `base AS MATERIALIZED (
  SELECT customer_durable_key,
    ($1::DATE - last_sale)::INTEGER AS recency_days,
    sale_days::INTEGER AS frequency,
    net_total::DECIMAL(18,4) AS monetary_total,
    net_total::DOUBLE / sale_days AS monetary_avg,
    ${btydColumnsSql('$1::DATE', '$2::DOUBLE')}
  FROM ${summary}
  WHERE sale_days > 0
),
cuts AS MATERIALIZED (
  SELECT ${cut('recency_days', 'DESC')} AS r, ${cut('frequency', 'ASC')} AS f, ${cut('monetary_total', 'ASC')} AS m
),
scored AS (
  SELECT b.*,
    ${score('b.recency_days', '<', 'c.r')} AS r_score,
    ${score('b.frequency', '>', 'c.f')} AS f_score,
    ${score('b.monetary_total', '>', 'c.m')} AS m_score
  FROM base b, cuts c
)
SELECT ${leadingColumns}customer_durable_key, recency_days, frequency, monetary_total, monetary_avg,
  r_score, f_score, m_score, [${cells}][(r_score - 1) * 5 + f_score] AS rfm_segment,
  btyd_frequency, btyd_recency, btyd_t, btyd_monetary
FROM scored`;
  return { sql, params: cellParams };
}

/**
 * One self-contained SELECT giving the customer_rfm columns (`RFM_COLUMNS`) for every scored customer.
 *
 * @example
 * const { sql, params } = rfmQuery({ asOf: '1997-09-30', period: 'week', rules });
 * await db.all(sql, params); // [{ customer_durable_key: 4, recency_days: 59, frequency: 3, ... }]
 */
export function rfmQuery(options: RfmQueryOptions): { sql: string; params: Params } {
  const asOf = parseDay(options.asOf, 'as-of date');
  const { sql, params } = scoresSql('customer_summary', options.rules);
  return {
    sql: `WITH ${customerSummaryCtes('$1::DATE')},\n${sql}`,
    params: [asOf, PERIOD_DAYS[options.period ?? 'week'], ...params],
  };
}

export interface RfmMetrics {
  readonly customers_scored: number;
  /** Customers with lines by the as-of day that are all returns: not scored. */
  readonly customers_returns_only: number;
  /** Scored customers whose net monetary is 0 (e.g. free items) or negative (returns exceed sales). */
  readonly customers_zero_monetary: number;
  readonly customers_negative_monetary: number;
  readonly customers_one_purchase: number;
  readonly net_revenue: number;
  /** Customers per segment, every segment of the table listed (0 when empty), in table order. */
  readonly segments: Record<string, number>;
  /** Customers per score 1–5 for r, f and m. */
  readonly score_counts: { r: number[]; f: number[]; m: number[] };
}

/**
 * Scores every customer at `asOf` and writes mining.customer_rfm rows for `runId` (set-based in
 * DuckDB: nothing per customer passes through JavaScript). Run it inside the run's transaction.
 */
export async function computeRfm(
  db: Database,
  options: RfmQueryOptions & { readonly runId: number },
): Promise<RfmMetrics> {
  const asOf = parseDay(options.asOf, 'as-of date');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE mining_rfm_summary AS WITH ${customerSummaryCtes('$1::DATE')} SELECT * FROM customer_summary`,
    [asOf],
  );
  try {
    const runParam = 3 + options.rules.cells.length;
    const { sql, params } = scoresSql(
      'mining_rfm_summary',
      options.rules,
      `$${runParam}::BIGINT, $1::DATE, `,
    );
    await db.run(`INSERT INTO mining.customer_rfm (run_id, as_of, ${RFM_COLUMNS.join(', ')})\nWITH ${sql}`, [
      asOf,
      PERIOD_DAYS[options.period ?? 'week'],
      ...params,
      options.runId,
    ]);
    const returnsOnly = Number(
      await db.scalar('SELECT count(*) FROM mining_rfm_summary WHERE sale_days = 0'),
    );
    // one pass: scores and segment per (r, f, m) cell (at most 125 rows), summed here
    const cells = await db.all(
      `SELECT r_score AS r, f_score AS f, m_score AS m, rfm_segment AS segment, count(*) AS n,
        count(*) FILTER (WHERE monetary_total = 0) AS zero,
        count(*) FILTER (WHERE monetary_total < 0) AS negative,
        count(*) FILTER (WHERE frequency = 1) AS one,
        coalesce(sum(monetary_total), 0)::DOUBLE AS revenue
      FROM mining.customer_rfm WHERE run_id = $1 GROUP BY ALL`,
      [options.runId],
    );
    const segments: Record<string, number> = Object.create(null);
    for (const name of options.rules.segments) segments[name] = 0;
    const scoreCounts = { r: [0, 0, 0, 0, 0], f: [0, 0, 0, 0, 0], m: [0, 0, 0, 0, 0] };
    const sum = { n: 0, zero: 0, negative: 0, one: 0, revenue: 0 };
    for (const row of cells) {
      const n = Number(row.n);
      const segment = String(row.segment);
      segments[segment] = (segments[segment] ?? 0) + n;
      for (const key of ['r', 'f', 'm'] as const) {
        const counts = scoreCounts[key];
        const index = Number(row[key]) - 1;
        counts[index] = (counts[index] ?? 0) + n;
      }
      sum.n += n;
      sum.zero += Number(row.zero);
      sum.negative += Number(row.negative);
      sum.one += Number(row.one);
      sum.revenue += Number(row.revenue);
    }
    return {
      customers_scored: sum.n,
      customers_returns_only: returnsOnly,
      customers_zero_monetary: sum.zero,
      customers_negative_monetary: sum.negative,
      customers_one_purchase: sum.one,
      net_revenue: Math.round(sum.revenue * 100) / 100,
      segments: { ...segments },
      score_counts: scoreCounts,
    };
  } finally {
    await db.run('DROP TABLE IF EXISTS mining_rfm_summary');
  }
}
