/**
 * One mining run: a list of steps (RFM, segmentation; CLV and churn join as further steps) run in
 * order inside one transaction, then one mining.mining_run row with every step's params and metrics.
 * A failing step rolls the whole run back: a run is all there or not at all.
 */
import { z } from 'zod';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { loadSegmentRules } from '../rfm-segments.ts';
import { PERIOD_DAYS, parseDay } from './btyd-summary.ts';
import { churnModelStep } from './churn-step.ts';
import type { MiningOptions, MiningStep } from './mining-step.ts';
import { needsOrderLines } from './order-lines-guard.ts';
import { computeRfm } from './rfm.ts';
import { codeVersion, dataVersion, defaultAsOf, insertRun, nextRunId } from './runs.ts';
import { segmentCustomers } from './segmentation.ts';
import { valueStep } from './value-step.ts';

export type { MiningContext, MiningOptions, MiningStep, StepOutcome } from './mining-step.ts';

export const rfmStep: MiningStep = {
  name: 'rfm',
  async run(ctx) {
    const metrics = await computeRfm(ctx.db, {
      runId: ctx.runId,
      asOf: ctx.asOf,
      period: ctx.period,
      rules: ctx.rules,
    });
    ctx.progress(
      `rfm: ${metrics.customers_scored} customers scored` +
        (metrics.customers_returns_only > 0
          ? `, ${metrics.customers_returns_only} with returns only not scored`
          : ''),
    );
    return {
      params: {
        rules: { source: ctx.rules.source, segments: ctx.rules.segments, cells: ctx.rules.cells },
        score_rule: '1 + floor(5 * (customers strictly worse) / n); ties share a score',
      },
      metrics: { ...metrics },
      summary: { customers_scored: metrics.customers_scored },
    };
  },
};

export const segmentationStep: MiningStep = {
  name: 'segmentation',
  async run(ctx) {
    const outcome = await segmentCustomers(ctx.db, {
      runId: ctx.runId,
      asOf: ctx.asOf,
      periodDays: ctx.periodDays,
      seed: ctx.seed,
      ...(ctx.options.k !== undefined ? { k: ctx.options.k } : {}),
      progress: ctx.progress,
    });
    const m = outcome.metrics;
    ctx.progress(
      `segmentation: k = ${m.k} (${m.chosen_by}), silhouette ${m.silhouette}: ${m.clusters.map((c) => `${c.name} ${c.size}`).join('; ')}`,
    );
    return {
      params: { ...outcome.params },
      metrics: { ...m },
      summary: { k: m.k, silhouette: m.silhouette, inertia: m.inertia },
    };
  },
};

/**
 * The steps of `crm-bi mine`, in order: RFM, clusters, customer value (CLV, P(alive), churn risk),
 * then the supervised churn model (and subscription CLV) for customers with a churn label. The
 * purchase steps are skipped, with the reason in the run, when there are no order lines (a
 * warehouse of subscriptions only).
 */
export const DEFAULT_STEPS: readonly MiningStep[] = [
  needsOrderLines(rfmStep),
  needsOrderLines(segmentationStep),
  needsOrderLines(valueStep()),
  churnModelStep(),
];

const nullableNumber = z.number().nullable();

/** One candidate model of the holdout check (metrics.value.holdout.candidates[]). */
const HoldoutCandidateSchema = z
  .object({
    model: z.enum(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd']),
    label: z.string(),
    fitted: z.boolean(),
    error: z.string().optional(),
    degenerate: z.string().nullable().optional(),
    params: z.record(z.string(), z.number()).optional(),
    log_likelihood: z.number().optional(),
    mae: nullableNumber.optional(),
    rmse: nullableNumber.optional(),
    bias: nullableNumber.optional(),
    predicted_total: nullableNumber.optional(),
    actual_total: z.number().optional(),
    auc_one_minus_p_alive: nullableNumber.optional(),
    auc_expected_purchases: nullableNumber.optional(),
    warnings: z.array(z.string()).optional(),
  })
  .loose();

/** The value step's metrics: the chosen model, at-risk count, warnings and the holdout report. */
const ValueMetricsSchema = z
  .object({
    skipped: z.string().optional(),
    model: z.enum(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd']).optional(),
    at_risk: z.number().int().optional(),
    at_risk_threshold: z.number().optional(),
    warnings: z.array(z.string()).optional(),
    holdout: z
      .object({
        skipped: z.string().optional(),
        calibration_end: z.string(),
        chosen: z.enum(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd']).nullable().optional(),
        reason: z.string().optional(),
        candidates: z.array(HoldoutCandidateSchema).optional(),
        churn_auc: z
          .object({
            heuristics: z.record(z.string(), nullableNumber),
            best_heuristic: nullableNumber,
            churn_score: nullableNumber,
          })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export const MiningRunSummarySchema = z.object({
  run_id: z.number().int(),
  as_of: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
  metrics: z.object({ value: ValueMetricsSchema.optional() }).catchall(z.unknown()),
});
export type MiningRunSummary = z.infer<typeof MiningRunSummarySchema>;

/**
 * Runs the steps as one mining run and returns `{ run_id, as_of, kind, params, metrics }` (what
 * `crm-bi mine --json` prints). metrics has customers_scored, k, silhouette, inertia, seconds per
 * step, the data version and the code version, then each step's own metrics under its name.
 *
 * @example
 * const run = await runMining(db, { asOf: '1998-06-30', seed: 42 });
 * run.metrics.k // e.g. 4
 */
export async function runMining(
  db: Database,
  options: MiningOptions = {},
  steps: readonly MiningStep[] = DEFAULT_STEPS,
): Promise<MiningRunSummary> {
  const progress = options.progress ?? (() => {});
  const period = options.period ?? 'week';
  if (!(period in PERIOD_DAYS))
    throw new CrmBiError('invalid_period', `invalid period: ${period} (use day, week or month)`);
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new CrmBiError('invalid_seed', `invalid seed: ${seed} (use a whole number >= 0)`);
  }
  if (options.k !== undefined && (!Number.isInteger(options.k) || options.k < 1)) {
    throw new CrmBiError('invalid_k', `invalid k: ${options.k} (use a whole number of clusters, at least 1)`);
  }
  const rules = options.rules ?? loadSegmentRules();
  const asOf = options.asOf !== undefined ? parseDay(options.asOf, 'as-of date') : await defaultAsOf(db);
  const calibrationEnd =
    options.calibrationEnd !== undefined ? parseDay(options.calibrationEnd, 'calibration end') : null;
  if (calibrationEnd !== null && calibrationEnd > asOf) {
    throw new CrmBiError(
      'invalid_calibration_end',
      `calibration end ${calibrationEnd} is after the as-of date ${asOf}; it must be on or before it`,
    );
  }
  const kind = options.kind ?? 'full';
  const started = performance.now();
  return db.transaction(async () => {
    const runId = await nextRunId(db);
    progress(`mine: run ${runId}, as of ${asOf}, period ${period}, seed ${seed}`);
    const params: Record<string, unknown> = {
      as_of: asOf,
      calibration_end: calibrationEnd,
      period,
      period_days: PERIOD_DAYS[period],
      seed,
      k: options.k ?? null,
      model: options.model ?? 'auto',
      steps: steps.map((s) => s.name),
    };
    const stepMetrics: Record<string, unknown> = {};
    const summary: Record<string, unknown> = {};
    const seconds: Record<string, number> = {};
    const skippedSteps: { step: string; reason: string }[] = [];
    for (const step of steps) {
      const t0 = performance.now();
      const outcome = await step.run({
        db,
        runId,
        asOf,
        calibrationEnd,
        period,
        periodDays: PERIOD_DAYS[period],
        seed,
        options,
        rules,
        params,
        metrics: stepMetrics,
        progress,
      });
      seconds[step.name] = Math.round(performance.now() - t0) / 1000;
      params[step.name] = outcome.params ?? {};
      stepMetrics[step.name] = outcome.metrics ?? {};
      Object.assign(summary, outcome.summary ?? {});
      const skipped = outcome.metrics?.skipped;
      if (typeof skipped === 'string') skippedSteps.push({ step: step.name, reason: skipped });
    }
    seconds.total = Math.round(performance.now() - started) / 1000;
    const metrics: Record<string, unknown> = {
      ...summary,
      skipped_steps: skippedSteps,
      seconds,
      data_version: await dataVersion(db),
      code_version: codeVersion(),
      ...stepMetrics,
    };
    await insertRun(db, { run_id: runId, as_of: asOf, kind, params, metrics });
    progress(`mine: run ${runId} written in ${seconds.total} s`);
    return MiningRunSummarySchema.parse({ run_id: runId, as_of: asOf, kind, params, metrics });
  });
}
