/**
 * The customer-value step of a mining run. Model choice by holdout (model-choice.ts): the window is
 * cut at the calibration end, BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam et al. 2007) and
 * Pareto/NBD (Schmittlein et al. 1987) are fitted on the part before it and scored on the purchases
 * after it; the best usable one is refitted on the whole window with Gamma-Gamma spend, giving per
 * customer P(alive), expected purchases, expected spend and discounted CLV (mining.customer_clv).
 * The churn probability (mining.customer_churn) is the churn score of churn-score.ts trained on the
 * holdout: P(no purchase over the next holdout-length horizon); without a holdout, 1 − P(alive).
 */
import type { Database, Params } from '../../db/duckdb.ts';
import { isCrmBiError } from '../../errors.ts';
import { atRiskThreshold } from '../at-risk.ts';
import { applyChurnScore } from '../models/churn-score.ts';
import { customerLifetimeValue, PERIODS_PER_MONTH, TIER_NAMES } from '../models/clv.ts';
import { fitGammaGamma } from '../models/gamma-gamma.ts';
import {
  expectedPurchases,
  type FittedPurchaseModel,
  fitPurchaseModel,
  MODEL_LABELS,
  type ModelName,
} from '../models/purchase-model.ts';
import type { MiningContext, MiningStep, StepOutcome } from './mining-step.ts';
import { calibrationEndFor, candidateOrder, chooseByHoldout, type HoldoutChoice } from './model-choice.ts';

/** CLV settings of a run (stored in mining_run.params.value). */
export interface ValueSettings {
  readonly horizonMonths: number;
  readonly annualDiscountRate: number;
  /** Parameter draws for the P10/P90 band (0: no band). */
  readonly draws: number;
  /** Churn probability at or above this marks a customer at risk (default: the semantic model's, at-risk.ts). */
  readonly atRiskThreshold?: number;
}

export const DEFAULT_VALUE_SETTINGS: ValueSettings = {
  horizonMonths: 12,
  annualDiscountRate: 0.1,
  draws: 100,
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

/**
 * Refits on the whole window in the holdout's order, each model starting from its calibration fit
 * (the estimate moves little when the window grows by the holdout): the first usable fit wins; a
 * degenerate fit is used only when nothing else fits, and every skip is a warning.
 */
function refitWholeWindow(
  order: readonly ModelName[],
  data: { x: Float64Array; tx: Float64Array; T: Float64Array },
  warnings: string[],
  starts: HoldoutChoice['calibrationStarts'] = {},
): FittedPurchaseModel | { error: string } {
  let lastResort: FittedPurchaseModel | null = null;
  const errors: string[] = [];
  for (const name of order) {
    let fit: FittedPurchaseModel;
    try {
      fit = fitPurchaseModel(name, data, starts[name] ?? {});
    } catch (e) {
      if (!isCrmBiError(e)) throw e;
      errors.push(e.message);
      warnings.push(`${MODEL_LABELS[name]} on the whole window: ${e.message}; trying the next model`);
      continue;
    }
    if (fit.degenerate) {
      warnings.push(
        `${MODEL_LABELS[name]} on the whole window is degenerate (${fit.degenerate}); trying the next model`,
      );
      lastResort ??= fit;
      continue;
    }
    return fit;
  }
  if (lastResort) {
    warnings.push(
      `every model is degenerate on the whole window; ${MODEL_LABELS[lastResort.name]} is used anyway: treat churn and CLV with care`,
    );
    return lastResort;
  }
  return { error: errors.at(-1) ?? 'no model could be fitted' };
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
      const choice = ctx.options.model ?? 'auto';
      const threshold = settings.atRiskThreshold ?? atRiskThreshold();
      const split = await calibrationEndFor(db, ctx.asOf, ctx.calibrationEnd);
      const holdout: HoldoutChoice | null =
        split.end !== null && split.end < ctx.asOf
          ? await chooseByHoldout(ctx, choice, split.end, split.source)
          : null;
      const warnings: string[] = [...(holdout?.warnings ?? [])];
      if (!holdout)
        warnings.push(`no holdout (${split.source}): the model is not checked on unseen purchases`);
      const order = holdout?.chosen ? holdout.order : candidateOrder(choice);
      const model = refitWholeWindow(order, data, warnings, holdout?.calibrationStarts);
      if ('error' in model) {
        // RFM and segments stay useful when no purchase model can be fitted: say why
        ctx.progress(`value: skipped, ${model.error}`);
        return {
          metrics: { skipped: model.error, warnings, ...(holdout ? { holdout: holdout.report } : {}) },
        };
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
      if (margin === null) {
        warnings.push(
          'no product costs (margins) loaded: revenue stands in for margin in CLV (margin share 1)',
        );
      }
      const clv = customerLifetimeValue(
        model,
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
      const churnHorizon = holdout?.churnScore ? holdout.horizonPeriods : null;
      const churnProbability =
        holdout?.churnScore && churnHorizon !== null
          ? applyChurnScore(holdout.churnScore, {
              ...data,
              pAlive: clv.pAlive,
              expected: expectedPurchases(model, data, churnHorizon),
              monetary: mx as Float64Array,
            })
          : Float64Array.from(clv.pAlive, (p) => 1 - p);
      const churnSource =
        holdout?.churnScore && churnHorizon !== null
          ? `churn score (logistic, trained on the holdout after ${String(holdout.report.calibration_end)}): P(no purchase in the next ${round(churnHorizon * ctx.periodDays, 1)} days)`
          : `1 − P(alive) of ${MODEL_LABELS[model.name]} (no holdout to train the churn score)`;
      let atRisk = 0;
      for (const c of churnProbability) if (c >= threshold) atRisk++;
      await writeScores(db, ctx, keys, clv, churnProbability);
      for (const w of warnings) ctx.progress(`value: warning: ${w}`);
      ctx.progress(
        `value: ${MODEL_LABELS[model.name]} ${Object.entries(model.params)
          .map(([k, v]) => `${k}=${round(v, 3)}`)
          .join(
            ' ',
          )}; ${atRisk} customers at risk (churn >= ${threshold}); mean CLV ${round(mean(clv.clv), 2)}`,
      );
      const modelParams = {
        name: model.name,
        label: MODEL_LABELS[model.name],
        ...model.params,
        standard_errors: model.standardErrors,
        log_likelihood: model.logLikelihood,
        chosen_by: holdout?.chosen
          ? String(holdout.report.reason)
          : choice === 'auto'
            ? 'no holdout: first usable model'
            : `--model ${choice}`,
        degenerate: model.degenerate,
      };
      return {
        params: {
          model_choice: choice,
          model: modelParams,
          // kept under its own name when BG/NBD is the model, as earlier runs recorded it
          ...(model.name === 'bgnbd'
            ? {
                bgnbd: {
                  ...model.params,
                  standard_errors: model.standardErrors,
                  log_likelihood: model.logLikelihood,
                },
              }
            : {}),
          gamma_gamma: { ...gg.params, standard_errors: gg.standardErrors },
          clv: {
            model: model.name,
            horizon_months: settings.horizonMonths,
            annual_discount_rate: settings.annualDiscountRate,
            margin: margin ?? 1,
            margin_source:
              margin === null
                ? 'no product costs loaded: revenue stands in for margin'
                : 'gross margin share of sales to as-of',
            draws: clv.draws,
            tier_cutoffs: Object.fromEntries(
              TIER_NAMES.slice(0, 3).map((t, i) => [t, clv.tierCutoffs[i] ?? null]),
            ),
            explanation: `CLV = margin share × expected spend per purchase (Gamma-Gamma) × expected purchases per month (${MODEL_LABELS[model.name]}), discounted monthly over ${settings.horizonMonths} months`,
          },
          churn: {
            source: churnSource,
            horizon_days: churnHorizon === null ? null : round(churnHorizon * ctx.periodDays, 2),
            ...(holdout?.churnScore ? { score_model: holdout.churnScore } : {}),
          },
          at_risk_threshold: threshold,
        },
        metrics: {
          customers: keys.length,
          model: model.name,
          repeat_buyers: data.x.reduce((n, x) => n + (x > 0 ? 1 : 0), 0),
          gamma_gamma_customers: gg.used,
          frequency_monetary_correlation: round(gg.frequencyMonetaryCorrelation),
          at_risk: atRisk,
          at_risk_threshold: threshold,
          mean_p_alive: round(mean(clv.pAlive)),
          mean_churn_probability: round(mean(churnProbability)),
          mean_clv: round(mean(clv.clv), 4),
          total_clv: round(
            clv.clv.reduce((a, b) => a + b, 0),
            2,
          ),
          warnings: [...new Set([...warnings, ...model.warnings, ...gg.warnings, ...clv.warnings])],
          ...(holdout ? { holdout: holdout.report } : {}),
        },
        summary: {
          mean_clv: round(mean(clv.clv), 4),
          at_risk: atRisk,
          model: model.name,
          ...(holdout && typeof holdout.report.mae === 'number' ? { holdout_mae: holdout.report.mae } : {}),
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
