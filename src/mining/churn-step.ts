/**
 * The supervised churn step of a mining run, for customers with a known churn label (subscription
 * sources such as the `telco` profile: core.fact_subscription.churned). A logistic regression on
 * standardised numeric and one-hot categorical features is fitted on a seeded train split; its
 * holdout metrics (ROC AUC, precision/recall at the threshold, calibration, lift by decile) and the
 * fitted pipeline go to the run, and every labelled customer's churn probability to
 * mining.customer_churn (p_alive NULL: the purchase model does not apply to subscriptions).
 */
import { type ChurnModel, type FeatureColumns, fitChurnModel, scoreChurn } from './churn.ts';
import type { MiningContext, MiningStep, StepOutcome } from './mine.ts';

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
        },
      );
      const scores = scoreChurn(fit.model, columns as FeatureColumns);
      await db.run(
        'CREATE OR REPLACE TEMP TABLE churn_scores (customer_durable_key BIGINT, churn_probability DOUBLE)',
      );
      const appender = await db.connection.createAppender('churn_scores', 'main', 'temp');
      try {
        rows.forEach((r, i) => {
          appender.appendBigInt(BigInt(Number(r.k)));
          appender.appendDouble(scores.probability[i] as number);
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
      await db.run('DROP TABLE churn_scores');
      const m = fit.metrics;
      ctx.progress(`churn model: ${rows.length} labelled customers, holdout ROC AUC ${m.auc.toFixed(3)}`);
      return {
        params: {
          model: fit.model satisfies ChurnModel,
          threshold,
          features: { numeric: NUMERIC, categorical },
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
        },
        summary: { churn_auc: m.auc },
      };
    },
  };
}
