/**
 * Time conventions and the per-customer purchase summary every RFM and BTYD quantity comes from.
 *
 * - An end day D (`--as-of`, `--calibration-end`) includes the whole of D: lines with
 *   `ordered_date <= D` count (`ordered_date` is the sale's calendar day in the source's timezone).
 * - A purchase is a distinct day with at least one sale line (`order_type = 'sale'`); several orders
 *   on one day are one purchase whose value is their sum. Return lines are never purchases.
 * - BTYD quantities are day counts divided by the period length (week = 7 days, day = 1,
 *   month = 365.25 / 12): x = purchase days - 1, t_x = last - first purchase day, T = D - first
 *   purchase day, and the repeat value is the mean value of the purchase days after the first.
 *   These are the definitions behind the published CDNOW calibration summary (Fader, Hardie & Lee
 *   2005: T = 38.86 weeks for a first purchase on 1997-01-01 with calibration to 1997-09-30).
 *   lifetimes' `summary_data_from_transaction_data(freq='W')` buckets calendar weeks instead and
 *   gives different numbers.
 * - Returns net the money: the repeat value is scaled by the customer's keep rate
 *   (net revenue / gross sales, clipped to [0, 1]), so a customer who sends back half of what
 *   they buy is worth half per purchase. Without returns the keep rate is 1 and the value is the
 *   published `zbar`. With no repeat purchase (x = 0) the value is 0, as in the published summary.
 */
import type { Database, Params } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { readDoubleColumns } from './features.ts';

export type Period = 'day' | 'week' | 'month';

export const PERIODS: readonly Period[] = ['day', 'week', 'month'];

/** Days per period. */
export const PERIOD_DAYS: Readonly<Record<Period, number>> = { day: 1, week: 7, month: 365.25 / 12 };

/** Parses a `--period` value; anything else is a user error naming the valid ones. */
export function parsePeriod(value: string): Period {
  if ((PERIODS as readonly string[]).includes(value)) return value as Period;
  throw new CrmBiError('invalid_period', `invalid period: ${value} (use day, week or month)`);
}

/**
 * Checks a calendar day given as `YYYY-MM-DD` (and that it exists: '2026-02-30' is refused rather
 * than rolled into March, as `new Date` would). Returns it unchanged.
 */
export function parseDay(value: string, what = 'date'): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const [, y, mo, d] = m ?? [];
  if (y !== undefined && mo !== undefined && d !== undefined) {
    const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    if (date.toISOString().slice(0, 10) === value) return value;
  }
  throw new CrmBiError('invalid_date', `invalid ${what}: ${value} (use an existing day as YYYY-MM-DD)`);
}

/**
 * SQL for the common table expressions `purchase_days` (customer × day with sales or returns up to
 * the end day) and `customer_summary` (one row per customer with any line up to the end day).
 * `end` is a SQL expression for the end day, e.g. `$1::DATE`. Anonymous lines (no customer) are left out.
 *
 * Customers are golden customers: lines of a record merged into another count for its golden
 * customer, whose key (the golden_customer_key, itself a durable key) is `customer_durable_key` here.
 *
 * customer_summary columns: customer_durable_key, sale_days, first_sale, last_sale, net_total
 * (sales + returns), gross_sales, returned (positive amount), first_day_sales (value of the first
 * purchase day), keep_rate.
 */
export function customerSummaryCtes(end: string): string {
  // Only the net total must stay exact (it is monetary_total); day sales feed ratios and means, so
  // they are DOUBLE, and the net day sum is cast back to DECIMAL(18,4) (a customer's day never nears
  // 10^14): the customer-level sums then run on 64-bit values. sale_day is NULL on return-only days,
  // so min/max/arg_min skip those days without FILTER clauses. Together this halves the cost of the
  // customer-level aggregation.
  // The join side holds merged records only (golden_customer_key differs): empty for one source.
  return `purchase_days AS (
  SELECT coalesce(g.golden_customer_key, f.customer_durable_key) AS customer_durable_key, f.ordered_date AS day,
    (sum(f.revenue) FILTER (WHERE f.order_type = 'sale'))::DOUBLE AS sales,
    sum(f.revenue)::DECIMAL(18,4) AS net
  FROM core.fact_order_line f
  LEFT JOIN (SELECT customer_durable_key, golden_customer_key FROM core.dim_customer
             WHERE is_current AND golden_customer_key <> customer_durable_key) g
    ON g.customer_durable_key = f.customer_durable_key
  WHERE f.customer_durable_key IS NOT NULL AND f.ordered_date <= ${end}
  GROUP BY 1, 2
),
customer_summary AS (
  SELECT customer_durable_key,
    count(sale_day) AS sale_days,
    min(sale_day) AS first_sale,
    max(sale_day) AS last_sale,
    sum(net) AS net_total,
    coalesce(sum(sales), 0) AS gross_sales,
    coalesce(sum(sales), 0) - sum(net)::DOUBLE AS returned,
    arg_min(sales, sale_day) AS first_day_sales,
    CASE WHEN coalesce(sum(sales), 0) > 0
      THEN greatest(0, least(1, sum(net)::DOUBLE / sum(sales))) ELSE 1 END AS keep_rate
  FROM (SELECT *, CASE WHEN sales IS NOT NULL THEN day END AS sale_day FROM purchase_days)
  GROUP BY customer_durable_key
)`;
}

/**
 * SQL expressions of the BTYD summary over `customer_summary` (alias-free), given SQL expressions
 * for the end day and the period length in days.
 */
export function btydColumnsSql(end: string, periodDays: string): string {
  return `(sale_days - 1)::INTEGER AS btyd_frequency,
    (last_sale - first_sale) / ${periodDays} AS btyd_recency,
    (${end} - first_sale) / ${periodDays} AS btyd_t,
    CASE WHEN sale_days > 1
      THEN (gross_sales - first_day_sales) / (sale_days - 1) * keep_rate ELSE 0 END AS btyd_monetary`;
}

/**
 * BTYD summary columns, one entry per customer with at least one purchase day by the end day.
 * Its x, tx and T are what bgnbd.ts takes (`BtydColumns`); monetary is what gamma-gamma.ts takes.
 */
export interface BtydSummary {
  readonly end: string;
  readonly period: Period;
  /** customer_durable_key (exact below 2^53). */
  readonly customers: Float64Array;
  /** Repeat purchase days. */
  readonly x: Float64Array;
  /** Time of the last purchase since the first, in periods (0 when x = 0). */
  readonly tx: Float64Array;
  /** T: age at the end day since the first purchase, in periods. */
  readonly T: Float64Array;
  /** Mean value of repeat purchase days, net of returns; 0 when x = 0. */
  readonly monetary: Float64Array;
}

/**
 * The BTYD (Fader–Hardie) summary at an end day, as typed columns ordered by customer key:
 * what a BG/NBD or Gamma-Gamma fit takes. Customers whose first purchase is after `end` are absent.
 *
 * @example
 * const s = await computeBtydSummary(db, { end: '1997-09-30', period: 'week' });
 * // s.T[i] === 38.857142857142854 for a first purchase on 1997-01-01
 */
export async function computeBtydSummary(
  db: Database,
  options: { readonly end: string; readonly period?: Period },
): Promise<BtydSummary> {
  const end = parseDay(options.end, 'end day');
  const period = options.period ?? 'week';
  const sql = `WITH ${customerSummaryCtes('$1::DATE')}
SELECT customer_durable_key::DOUBLE AS customer, ${btydColumnsSql('$1::DATE', '$2::DOUBLE')}
FROM customer_summary WHERE sale_days > 0 ORDER BY customer_durable_key`;
  const params: Params = [end, PERIOD_DAYS[period]];
  const [customers, x, tx, T, monetary] = (await readDoubleColumns(db, sql, params)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  return { end, period, customers, x, tx, T, monetary };
}
