/**
 * The supervised churn step of a mining run, for customers with a known churn label (subscription
 * sources such as the `telco` profile: core.fact_subscription.churned). A logistic regression on
 * standardised numeric and one-hot categorical features is fitted on a seeded train split; its
 * holdout metrics (ROC AUC, precision/recall at the threshold, calibration, lift by decile) and the
 * fitted pipeline go to the run, and every labelled customer's churn probability to
 * mining.customer_churn (p_alive NULL: the purchase model does not apply to subscriptions).
 * Their CLV, expected remaining tenure × monthly charge over the purchase CLV's horizon and discount
 * rate (subscription-clv.ts has the formula), goes to mining.customer_clv: expected_purchases holds
 * the expected paid months ahead, expected_avg_value the monthly charge.
 */
import { type ChurnModel, type FeatureColumns, fitChurnModel, scoreChurn } from '../models/churn.ts';
import { subscriptionClv } from '../models/subscription-clv.ts';
import type { MiningContext, MiningStep, StepOutcome } from './mining-step.ts';
import { DEFAULT_VALUE_SETTINGS } from './value-step.ts';

const NUMERIC = ['tenure_months', 'monthly_charges', 'total_charges'] as const;

export function churnModelStep(threshold = 0.5): MiningStep {
  return {
    name: 'churn_model',
    async run(ctx: MiningContext): Promise<StepOutcome> {
      const { db } = ctx;
      // total_charges is empty exactly for customers in their first month: nothing billed yet
      const rows = await db.all(
        `SELECT s.customer_durable_key AS k, s.tenure_months::DOUBLE AS tenure_months,
                s.monthly_charges::DOUBLE AS monthly_charges, coalesce(s.total_charges, 0)::DOUBLE AS total_charges,
                s.contract, s.payment_method, s.churned, s.attributes::VARCHAR AS attributes
         FROM core.fact_subscription s
         WHERE s.churned IS NOT NULL
           AND s.customer_durable_key NOT IN (SELECT customer_durable_key FROM mining.customer_churn WHERE run_id = $1)
         ORDER BY s.customer_durable_key`,
        [ctx.runId],
      );
      if (rows.length === 0)
        return { metrics: { skipped: 'no customers with a churn label (core.fact_subscription)' } };
      const attributes = rows.map((r) =>
        r.attributes ? (JSON.parse(String(r.attributes)) as Record<string, unknown>) : {},
      );
      const attributeKeys = [...new Set(attributes.flatMap((a) => Object.keys(a)))].sort();
      const columns: Record<string, Float64Array | (string | null)[]> = {};
      for (const n of NUMERIC) columns[n] = Float64Array.from(rows, (r) => Number(r[n]));
      columns.contract = rows.map((r) => (r.contract === null ? null : String(r.contract)));
      columns.payment_method = rows.map((r) => (r.payment_method === null ? null : String(r.payment_method)));
      for (const key of attributeKeys) {
        columns[key] = attributes.map((a) =>
          a[key] === undefined || a[key] === null ? null : String(a[key]),
        );
      }
      const labels = Uint8Array.from(rows, (r) => (r.churned === true ? 1 : 0));
      const categorical = ['contract', 'payment_method', ...attributeKeys];
      const fit = fitChurnModel(
        columns as FeatureColumns,
        labels,
        { numeric: [...NUMERIC], categorical },
        {
          seed: ctx.seed,
          threshold,
          holdoutFraction: 0.25,
        },
      );
      const scores = scoreChurn(fit.model, columns as FeatureColumns);
      const charge = columns.monthly_charges as Float64Array;
      const tenure = columns.tenure_months as Float64Array;
      const billed = columns.total_charges as Float64Array;
      // the hazard m months ahead: the same customer scored with its tenure (and billing) moved on
      const hazard = (month: number) =>
        scoreChurn(fit.model, {
          ...columns,
          tenure_months: tenure.map((t) => t + month),
          total_charges: billed.map((b, i) => b + month * (charge[i] as number)),
        } as FeatureColumns).probability;
      const clvSettings = {
        horizonMonths: DEFAULT_VALUE_SETTINGS.horizonMonths,
        annualDiscountRate: DEFAULT_VALUE_SETTINGS.annualDiscountRate,
      };
      const active = Uint8Array.from(labels, (y) => 1 - y);
      const value = subscriptionClv(hazard, charge, active, clvSettings);
      await db.run(
        `CREATE OR REPLACE TEMP TABLE churn_scores (customer_durable_key BIGINT, churn_probability DOUBLE,
          remaining_months DOUBLE, monthly_charge DOUBLE, clv DOUBLE)`,
      );
      const appender = await db.connection.createAppender('churn_scores', 'main', 'temp');
      try {
        rows.forEach((r, i) => {
          appender.appendBigInt(BigInt(Number(r.k)));
          appender.appendDouble(scores.probability[i] as number);
          appender.appendDouble(value.remainingMonths[i] as number);
          appender.appendDouble(charge[i] as number);
          appender.appendDouble(value.clv[i] as number);
          appender.endRow();
        });
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      await db.run(
        `INSERT INTO mining.customer_churn SELECT $1, $2::DATE, customer_durable_key, NULL, churn_probability
         FROM churn_scores`,
        [ctx.runId, ctx.asOf],
      );
      await db.run(
        `INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases, expected_avg_value, clv)
         SELECT $1, $2::DATE, customer_durable_key, remaining_months, monthly_charge, clv FROM churn_scores
         WHERE customer_durable_key NOT IN (SELECT customer_durable_key FROM mining.customer_clv WHERE run_id = $1)`,
        [ctx.runId, ctx.asOf],
      );
      await db.run('DROP TABLE churn_scores');
      const stillSubscribed = active.reduce((n, a) => n + a, 0);
      const sum = (xs: Float64Array) => xs.reduce((t, x) => t + x, 0);
      const m = fit.metrics;
      ctx.progress(`churn model: ${rows.length} labelled customers, holdout ROC AUC ${m.auc.toFixed(3)}`);
      if (stillSubscribed > 0) {
        ctx.progress(
          `subscription CLV: ${stillSubscribed} still subscribed, ${(sum(value.remainingMonths) / stillSubscribed).toFixed(1)} of the next ${clvSettings.horizonMonths} months expected on average`,
        );
      }
      return {
        params: {
          model: fit.model satisfies ChurnModel,
          threshold,
          features: { numeric: NUMERIC, categorical },
          // enough to rebuild the holdout: stratifiedSplit(labels by customer key, 0.25, seed)
          split: {
            rows: 'labelled customers by customer_durable_key',
            holdout_fraction: 0.25,
            seed: ctx.seed,
          },
          clv: {
            method: 'expected remaining tenure × monthly charge',
            formula:
              'CLV = charge · Σ_{m=1..H} S(m) / (1 + d)^m, S(m) = Π_{j=1..m} (1 − h(tenure + j)), d = (1 + annual)^(1/12) − 1; 0 for customers who have left',
            hazard: 'churn model probability with tenure and total charges moved m months ahead',
            horizon_months: clvSettings.horizonMonths,
            annual_discount_rate: clvSettings.annualDiscountRate,
          },
        },
        metrics: {
          customers: rows.length,
          converged: fit.converged,
          iterations: fit.iterations,
          auc: m.auc,
          at_threshold: m.atThreshold,
          calibration: m.calibration,
          lift: m.lift,
          train_rows: m.trainRows,
          holdout_rows: m.holdoutRows,
          holdout_positive_rate: m.holdoutPositiveRate,
          at_risk: scores.atRisk.reduce((n, v) => n + v, 0),
          warnings: fit.warnings,
          clv: {
            customers: rows.length,
            still_subscribed: stillSubscribed,
            mean_remaining_months: stillSubscribed > 0 ? sum(value.remainingMonths) / stillSubscribed : null,
            mean_clv_subscribed: stillSubscribed > 0 ? sum(value.clv) / stillSubscribed : null,
            total_clv: sum(value.clv),
          },
        },
        summary: { churn_auc: m.auc },
      };
    },
  };
}
