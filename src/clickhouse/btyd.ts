/**
 * Customer mining inside ClickHouse: the per-customer purchase summary of
 * src/mining/steps/btyd-summary.ts (same definitions: a purchase is a distinct sale day up to the end
 * day, returns net the money through the keep rate) and RFM's raw recency / frequency / monetary,
 * computed on the cluster; then only compressed sufficient statistics leave it:
 *
 *   - BG/NBD: distinct (x, t_x, T) patterns with their customer counts,
 *   - Gamma-Gamma: distinct (x, m_x) pairs of repeat buyers with their counts,
 *
 * which the existing weighted fits (fitBgNbd's `weights`, fitGammaGamma's `weights`) take as they
 * are: a fit over 100M customers moves a table of patterns, not the customers.
 */
import type { ClickHouseCluster } from '../db/clickhouse.ts';
import { type BgNbdFit, type BgNbdFitOptions, fitBgNbd } from '../mining/models/bgnbd.ts';
import {
  fitGammaGamma,
  type GammaGammaFit,
  type GammaGammaFitOptions,
} from '../mining/models/gamma-gamma.ts';
import { PERIOD_DAYS, type Period, parseDay } from '../mining/steps/btyd-summary.ts';

/** Does the cluster's dim_customer carry identity-resolution merges (golden keys)? */
async function hasMergedCustomers(cluster: ClickHouseCluster): Promise<boolean> {
  const column = await cluster.entry.scalar(
    "SELECT count() FROM system.columns WHERE database = 'core' AND table = 'dim_customer' AND name = 'golden_customer_key'",
  );
  if (Number(column) === 0) return false;
  const merged = await cluster.entry.scalar(
    'SELECT count() FROM core.dim_customer WHERE is_current AND golden_customer_key IS NOT NULL AND golden_customer_key != customer_durable_key',
  );
  return Number(merged) > 0;
}

/**
 * SQL of one row per customer with a line by the end day: sale_days, first_sale, last_sale,
 * gross_sales, first_day_sales, net_total, keep_rate (as customerSummaryCtes in DuckDB).
 */
async function customerSummarySql(cluster: ClickHouseCluster, end: string): Promise<string> {
  const day = `toDate('${parseDay(end, 'end day')}')`;
  // Merged records buy as their golden customer; the join (on the entry node) is only paid for
  // when identity resolution merged someone.
  const lines = (await hasMergedCustomers(cluster))
    ? `(SELECT ifNull(g.golden_customer_key, f.customer_durable_key) AS customer_durable_key, f.ordered_date AS ordered_date,
          f.revenue AS revenue, f.order_type AS order_type
        FROM (SELECT * FROM core.fact_order_line) AS f
        LEFT JOIN (SELECT customer_durable_key, golden_customer_key FROM core.dim_customer
                   WHERE is_current AND golden_customer_key IS NOT NULL AND golden_customer_key != customer_durable_key) AS g
          ON f.customer_durable_key = g.customer_durable_key
        WHERE f.customer_durable_key IS NOT NULL AND f.ordered_date <= ${day})`
    : `(SELECT customer_durable_key, ordered_date, revenue, order_type FROM core.fact_order_line
        WHERE customer_durable_key IS NOT NULL AND ordered_date <= ${day})`;
  return `SELECT customer_durable_key,
    countIf(has_sale) AS sale_days,
    minIf(day, has_sale) AS first_sale,
    maxIf(day, has_sale) AS last_sale,
    sum(net) AS net_total,
    sumIf(sales, has_sale) AS gross_sales,
    argMinIf(sales, day, has_sale) AS first_day_sales,
    if(sumIf(sales, has_sale) > 0, greatest(0, least(1, toFloat64(sum(net)) / sumIf(sales, has_sale))), 1) AS keep_rate
  FROM (
    SELECT assumeNotNull(customer_durable_key) AS customer_durable_key, ordered_date AS day,
      countIf(order_type = 'sale') > 0 AS has_sale,
      toFloat64(sumIf(revenue, order_type = 'sale')) AS sales,
      sum(revenue) AS net
    FROM ${lines}
    GROUP BY customer_durable_key, day
  )
  GROUP BY customer_durable_key`;
}

/** The BTYD columns over the customer summary (same expressions as btydColumnsSql). */
function btydSql(summary: string, end: string, period: Period): string {
  const pd = PERIOD_DAYS[period];
  const day = `toDate('${parseDay(end, 'end day')}')`;
  return `SELECT customer_durable_key,
    toInt64(sale_days - 1) AS x,
    toFloat64(toRelativeDayNum(last_sale) - toRelativeDayNum(first_sale)) / ${pd} AS tx,
    toFloat64(toRelativeDayNum(${day}) - toRelativeDayNum(first_sale)) / ${pd} AS T,
    if(sale_days > 1, (gross_sales - first_day_sales) / (sale_days - 1) * keep_rate, 0) AS m,
    toInt64(toRelativeDayNum(${day}) - toRelativeDayNum(last_sale)) AS recency_days,
    toInt64(sale_days) AS frequency,
    toFloat64(net_total) AS monetary_total
  FROM (${summary})
  WHERE sale_days > 0`;
}

export interface BtydPatternTable {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly weights: Float64Array;
}

export interface ValuePatternTable {
  readonly x: Float64Array;
  readonly m: Float64Array;
  readonly weights: Float64Array;
}

export interface ClusterBtydStatistics {
  readonly end: string;
  readonly period: Period;
  readonly customers: number;
  readonly bgnbd: BtydPatternTable;
  readonly gammaGamma: ValuePatternTable;
}

/**
 * Pulls the compressed sufficient statistics of BG/NBD and Gamma-Gamma at an end day.
 * @example const s = await clusterBtydStatistics(cluster, { end: '1997-09-30', period: 'week' }); s.bgnbd.x.length // patterns, not customers
 */
export async function clusterBtydStatistics(
  cluster: ClickHouseCluster,
  options: { readonly end: string; readonly period?: Period },
): Promise<ClusterBtydStatistics> {
  const period = options.period ?? 'week';
  const btyd = btydSql(await customerSummarySql(cluster, options.end), options.end, period);
  const patterns = await cluster.entry.rows(
    `SELECT x, tx, T, count() AS w FROM (${btyd}) GROUP BY x, tx, T ORDER BY x, tx, T`,
  );
  const values = await cluster.entry.rows(
    `SELECT x, m, count() AS w FROM (${btyd}) WHERE x > 0 GROUP BY x, m ORDER BY x, m`,
  );
  const col = (rows: typeof patterns, k: string) => Float64Array.from(rows, (r) => Number(r[k]));
  const bgnbd = {
    x: col(patterns, 'x'),
    tx: col(patterns, 'tx'),
    T: col(patterns, 'T'),
    weights: col(patterns, 'w'),
  };
  return {
    end: options.end,
    period,
    customers: bgnbd.weights.reduce((a, b) => a + b, 0),
    bgnbd,
    gammaGamma: { x: col(values, 'x'), m: col(values, 'm'), weights: col(values, 'w') },
  };
}

/** BG/NBD and Gamma-Gamma fitted from the cluster's pattern tables (weighted likelihoods). */
export async function fitOnCluster(
  cluster: ClickHouseCluster,
  options: {
    readonly end: string;
    readonly period?: Period;
    readonly bgnbd?: BgNbdFitOptions;
    readonly gammaGamma?: Omit<GammaGammaFitOptions, 'weights'>;
  },
): Promise<{ statistics: ClusterBtydStatistics; bgnbd: BgNbdFit; gammaGamma: GammaGammaFit }> {
  const statistics = await clusterBtydStatistics(cluster, options);
  const bgnbd = fitBgNbd(statistics.bgnbd, options.bgnbd ?? {});
  const gg = statistics.gammaGamma;
  const gammaGamma = fitGammaGamma(gg.x, gg.m, { ...(options.gammaGamma ?? {}), weights: gg.weights });
  return { statistics, bgnbd, gammaGamma };
}

export interface RfmRow {
  readonly customer_durable_key: number;
  readonly recency_days: number;
  readonly frequency: number;
  readonly monetary_total: number;
  readonly btyd_frequency: number;
  readonly btyd_recency: number;
  readonly btyd_t: number;
  readonly btyd_monetary: number;
}

/** RFM's raw recency/frequency/monetary and the BTYD summary per customer, computed on the cluster. */
export async function clusterRfm(
  cluster: ClickHouseCluster,
  options: { readonly asOf: string; readonly period?: Period },
): Promise<RfmRow[]> {
  const period = options.period ?? 'week';
  const btyd = btydSql(await customerSummarySql(cluster, options.asOf), options.asOf, period);
  const rows = await cluster.entry.rows(`${btyd} ORDER BY customer_durable_key`);
  return rows.map((r) => ({
    customer_durable_key: Number(r.customer_durable_key),
    recency_days: Number(r.recency_days),
    frequency: Number(r.frequency),
    monetary_total: Number(r.monetary_total),
    btyd_frequency: Number(r.x),
    btyd_recency: Number(r.tx),
    btyd_t: Number(r.T),
    btyd_monetary: Number(r.m),
  }));
}
