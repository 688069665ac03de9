/**
 * The customer-value step of a mining run: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma fitted
 * on the run's BTYD summary (mining.customer_rfm), then per customer P(alive), churn risk = 1 − P(alive),
 * expected purchases, expected spend and discounted CLV, written to mining.customer_churn and
 * mining.customer_clv. With a calibration end it also fits on the data up to that day and reports,
 * for the holdout period after it, predicted vs. actual repeat purchases and the tracking curve.
 */
import type { Database, Params } from '../db/duckdb.ts';
import { isCrmBiError } from '../errors.ts';
import {
  type BgNbdFit,
  conditionalExpectedPurchases,
  expectedCumulativeRepeatPurchases,
  fitBgNbd,
} from './bgnbd.ts';
import { computeBtydSummary } from './btyd-summary.ts';
import { churnFromPAlive } from './churn.ts';
import { customerLifetimeValue, PERIODS_PER_MONTH, TIER_NAMES } from './clv.ts';
import { holdoutErrors, trackingCurve } from './evaluate.ts';
import { fitGammaGamma } from './gamma-gamma.ts';
import type { MiningContext, MiningStep, StepOutcome } from './mine.ts';

/** CLV settings of a run (stored in mining_run.params.value). */
export interface ValueSettings {
  readonly horizonMonths: number;
  readonly annualDiscountRate: number;
  /** Parameter draws for the P10/P90 band (0: no band). */
  readonly draws: number;
  /** P(alive) below 1 − threshold marks a customer at risk. */
  readonly atRiskThreshold: number;
}

export const DEFAULT_VALUE_SETTINGS: ValueSettings = {
  horizonMonths: 12,
  annualDiscountRate: 0.1,
  draws: 100,
  atRiskThreshold: 0.5,
};

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

async function readColumns(db: Database, sql: string, params: Params): Promise<Float64Array[]> {
  const rows = await db.all(sql, params);
  const names = rows.length > 0 ? Object.keys(rows[0] as object) : [];
  return names.map((n) => Float64Array.from(rows, (r) => Number(r[n])));
}

/** Gross margin share of sales up to as-of, where costs are known; null when none are. */
async function marginShare(db: Database, asOf: string): Promise<number | null> {
  const r = await db.one(
    `SELECT sum(margin)::DOUBLE / nullif(sum(revenue), 0)::DOUBLE AS m FROM core.fact_order_line
     WHERE order_type = 'sale' AND margin IS NOT NULL AND customer_durable_key IS NOT NULL AND ordered_date <= $1::DATE`,
    [asOf],
  );
  const m = r?.m;
  return typeof m === 'number' && Number.isFinite(m) && m > 0 ? Math.min(m, 1) : null;
}

export function valueStep(settings: ValueSettings = DEFAULT_VALUE_SETTINGS): MiningStep {
  return {
    name: 'value',
    async run(ctx: MiningContext): Promise<StepOutcome> {
      const { db } = ctx;
      const [keys, x, tx, T, mx] = await readColumns(
        db,
        `SELECT customer_durable_key::DOUBLE AS k, btyd_frequency::DOUBLE AS x, btyd_recency AS tx, btyd_t AS t,
                coalesce(btyd_monetary, 0) AS mx
         FROM mining.customer_rfm WHERE run_id = $1 ORDER BY customer_durable_key`,
        [ctx.runId],
      );
      if (!keys || keys.length === 0) {
        return { metrics: { skipped: 'no customers with purchases by the as-of date' } };
      }
      const data = { x: x as Float64Array, tx: tx as Float64Array, T: T as Float64Array };
      let bg: BgNbdFit;
      try {
        bg = fitBgNbd(data);
      } catch (e) {
        // RFM and segments stay useful when the purchase model cannot be fitted: say why
        if (!isCrmBiError(e)) throw e;
        ctx.progress(`value: skipped, ${e.message}`);
        return { metrics: { skipped: e.message } };
      }
      let gg: ReturnType<typeof fitGammaGamma>;
      try {
        gg = fitGammaGamma(data.x, mx as Float64Array);
      } catch (e) {
        if (!isCrmBiError(e)) throw e;
        ctx.progress(`value: skipped, ${e.message}`);
        return { metrics: { skipped: e.message } };
      }
      const margin = await marginShare(db, ctx.asOf);
      const clv = customerLifetimeValue(
        bg,
        gg,
        { ...data, mx: mx as Float64Array },
        {
          periodsPerMonth: PERIODS_PER_MONTH[ctx.period],
          horizonMonths: settings.horizonMonths,
          annualDiscountRate: settings.annualDiscountRate,
          margin: margin ?? 1,
          draws: settings.draws,
          seed: ctx.seed,
        },
      );
      const churn = churnFromPAlive(clv.pAlive, settings.atRiskThreshold);
      await writeScores(db, ctx, keys, clv, churn.churnProbability);
      const atRisk = churn.atRiskCount;
      ctx.progress(
        `value: BG/NBD r=${round(bg.params.r, 3)} alpha=${round(bg.params.alpha, 3)} a=${round(bg.params.a, 3)} b=${round(bg.params.b, 3)}; ` +
          `${atRisk} customers at risk; mean CLV ${round(mean(clv.clv), 2)}`,
      );
      const holdout = ctx.calibrationEnd ? await validateOnHoldout(ctx, ctx.calibrationEnd) : null;
      return {
        params: {
          bgnbd: { ...bg.params, standard_errors: bg.standardErrors, log_likelihood: bg.logLikelihood },
          gamma_gamma: { ...gg.params, standard_errors: gg.standardErrors },
          clv: {
            horizon_months: settings.horizonMonths,
            annual_discount_rate: settings.annualDiscountRate,
            margin: margin ?? 1,
            margin_source:
              margin === null ? 'no product costs: CLV in revenue' : 'gross margin share of sales to as-of',
            draws: settings.draws,
            tier_cutoffs: Object.fromEntries(
              TIER_NAMES.slice(0, 3).map((t, i) => [t, clv.tierCutoffs[i] ?? null]),
            ),
          },
          at_risk_threshold: settings.atRiskThreshold,
        },
        metrics: {
          customers: keys.length,
          repeat_buyers: bg.repeatBuyers,
          bgnbd_converged: bg.converged,
          bgnbd_iterations: bg.iterations,
          gamma_gamma_customers: gg.used,
          frequency_monetary_correlation: round(gg.frequencyMonetaryCorrelation),
          at_risk: atRisk,
          mean_p_alive: round(mean(clv.pAlive)),
          mean_clv: round(mean(clv.clv), 4),
          total_clv: round(
            clv.clv.reduce((a, b) => a + b, 0),
            2,
          ),
          warnings: [...bg.warnings, ...gg.warnings, ...clv.warnings],
          ...(holdout ? { holdout } : {}),
        },
        summary: {
          mean_clv: round(mean(clv.clv), 4),
          at_risk: atRisk,
          ...(holdout ? { holdout_mae: holdout.mae } : {}),
        },
      };
    },
  };
}

function mean(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return a.length > 0 ? s / a.length : 0;
}

/** Writes one churn and one CLV row per customer through DuckDB's appender (fast for millions). */
async function writeScores(
  db: Database,
  ctx: MiningContext,
  keys: Float64Array,
  clv: ReturnType<typeof customerLifetimeValue>,
  churnProbability: Float64Array,
): Promise<void> {
  await db.run(`CREATE OR REPLACE TEMP TABLE value_scores (customer_durable_key BIGINT, p_alive DOUBLE,
    churn_probability DOUBLE, expected_purchases DOUBLE, expected_avg_value DOUBLE, clv DOUBLE,
    clv_p10 DOUBLE, clv_p90 DOUBLE, clv_tier VARCHAR)`);
  const appender = await db.connection.createAppender('value_scores', 'main', 'temp');
  try {
    for (let i = 0; i < keys.length; i++) {
      appender.appendBigInt(BigInt(keys[i] as number));
      appender.appendDouble(clv.pAlive[i] as number);
      appender.appendDouble(churnProbability[i] as number);
      appender.appendDouble(clv.expectedPurchases[i] as number);
      appender.appendDouble(clv.expectedValue[i] as number);
      appender.appendDouble(clv.clv[i] as number);
      if (clv.p10 && clv.p90) {
        appender.appendDouble(clv.p10[i] as number);
        appender.appendDouble(clv.p90[i] as number);
      } else {
        appender.appendNull();
        appender.appendNull();
      }
      appender.appendVarchar(clv.tier(i));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await db.run(
    `INSERT INTO mining.customer_churn SELECT $1, $2::DATE, customer_durable_key, p_alive, churn_probability FROM value_scores`,
    [ctx.runId, ctx.asOf],
  );
  await db.run(
    `INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases, expected_avg_value, clv,
       clv_p10, clv_p90, clv_tier)
     SELECT $1, $2::DATE, customer_durable_key, expected_purchases, expected_avg_value, clv, clv_p10, clv_p90, clv_tier
     FROM value_scores`,
    [ctx.runId, ctx.asOf],
  );
  await db.run('DROP TABLE value_scores');
}

/**
 * Fits BG/NBD on the data up to `calibrationEnd` and compares, over (calibrationEnd, as-of], each
 * customer's predicted repeat purchases with the purchase days actually seen, plus the tracking
 * curve of cumulative repeat purchases per period over the whole window (calibration and holdout).
 */
async function validateOnHoldout(
  ctx: MiningContext,
  calibrationEnd: string,
): Promise<Record<string, unknown>> {
  const { db } = ctx;
  const cal = await computeBtydSummary(db, { end: calibrationEnd, period: ctx.period });
  if (cal.customers.length === 0) return { skipped: `no purchases by the calibration end ${calibrationEnd}` };
  let fit: BgNbdFit;
  try {
    fit = fitBgNbd(cal);
  } catch (e) {
    if (!isCrmBiError(e)) throw e;
    return { skipped: e.message };
  }
  const holdoutDays = Number(
    await db.scalar('SELECT ($1::DATE - $2::DATE)::INTEGER', [ctx.asOf, calibrationEnd]),
  );
  const horizon = holdoutDays / ctx.periodDays;
  const predicted = conditionalExpectedPurchases(fit.params, cal, horizon);
  const actualRows = await db.all(
    `SELECT customer_durable_key::DOUBLE AS k, count(DISTINCT ordered_date)::DOUBLE AS n FROM core.fact_order_line
     WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL
       AND ordered_date > $1::DATE AND ordered_date <= $2::DATE GROUP BY 1`,
    [calibrationEnd, ctx.asOf],
  );
  const actualByKey = new Map(actualRows.map((r) => [Number(r.k), Number(r.n)]));
  const actual = Float64Array.from(cal.customers, (k) => actualByKey.get(k) ?? 0);
  const errors = holdoutErrors(predicted, actual);

  // Tracking curve: periods from the first purchase in the data to as-of.
  const first = await db.one(
    `SELECT min(ordered_date)::VARCHAR AS d, (($2::DATE - min(ordered_date)) / $3::DOUBLE) AS periods
     FROM core.fact_order_line WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $1::DATE`,
    [calibrationEnd, ctx.asOf, ctx.periodDays],
  );
  const periods = Math.min(520, Math.ceil(Number(first?.periods ?? 0)));
  const start = String(first?.d);
  const calPeriods =
    Number(await db.scalar('SELECT ($1::DATE - $2::DATE)::INTEGER', [calibrationEnd, start])) /
    ctx.periodDays;
  const firstPurchase = Float64Array.from(cal.T, (t) => calPeriods - t);
  const times = Array.from({ length: periods }, (_, k) => k + 1);
  const cumulative = expectedCumulativeRepeatPurchases(fit.params, firstPurchase, times);
  const expectedPer = Float64Array.from(
    cumulative,
    (c, k) => c - (k > 0 ? (cumulative[k - 1] as number) : 0),
  );
  const actualPerRows = await db.all(
    `WITH days AS (
       SELECT customer_durable_key, ordered_date FROM core.fact_order_line
       WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $2::DATE
         AND customer_durable_key IN (SELECT customer_durable_key FROM core.fact_order_line
                                      WHERE order_type = 'sale' AND ordered_date <= $1::DATE)
       GROUP BY ALL),
     firsts AS (SELECT customer_durable_key, min(ordered_date) AS f FROM days GROUP BY 1)
     SELECT floor((d.ordered_date - $3::DATE) / $4::DOUBLE)::INTEGER AS period, count(*)::DOUBLE AS n
     FROM days d JOIN firsts USING (customer_durable_key) WHERE d.ordered_date > firsts.f GROUP BY 1`,
    [calibrationEnd, ctx.asOf, start, ctx.periodDays],
  );
  const actualPer = new Float64Array(periods);
  for (const r of actualPerRows) {
    const k = Number(r.period);
    if (k >= 0 && k < periods) actualPer[k] = (actualPer[k] as number) + Number(r.n);
  }
  const curve = trackingCurve(expectedPer, actualPer);
  return {
    calibration_end: calibrationEnd,
    holdout_periods: round(horizon, 4),
    customers: cal.customers.length,
    params: fit.params,
    predicted_total: round(errors.totalPredicted, 3),
    actual_total: errors.totalActual,
    mae: round(errors.mae),
    rmse: round(errors.rmse),
    bias: round(errors.bias),
    tracking: {
      start,
      period: ctx.period,
      calibration_periods: round(calPeriods, 4),
      cumulative_expected: Array.from(curve.cumulativeExpected, (v) => round(v, 3)),
      cumulative_actual: Array.from(curve.cumulativeActual),
    },
  };
}
