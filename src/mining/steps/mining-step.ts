/**
 * What a mining run hands its steps and what a step gives back. Kept apart from mine.ts, which runs
 * the steps, so a step can name these types without importing the module that imports it.
 */
import type { Database } from '../../db/duckdb.ts';
import type { ModelChoice } from '../models/purchase-model.ts';
import type { SegmentRules } from '../rfm-segments.ts';
import type { Period } from './btyd-summary.ts';

export interface MiningOptions {
  /** As-of day YYYY-MM-DD, inclusive (default: the last order day in the warehouse). */
  readonly asOf?: string;
  /** End of the calibration window for holdout checks (CLV, churn); must not be after as-of. */
  readonly calibrationEnd?: string;
  readonly period?: Period;
  /** Customer-base model for CLV and churn: one by name, or `auto` (default) to choose by holdout. */
  readonly model?: ModelChoice;
  /** Force the number of clusters. */
  readonly k?: number;
  readonly seed?: number;
  /** The RFM segment rule table (default: model/rfm-segments.yml). */
  readonly rules?: SegmentRules;
  /** `mining_run.kind` (default 'full': one run row per `mine` invocation, whatever its steps). */
  readonly kind?: string;
  /** Progress lines (the CLI prints them on stderr). */
  readonly progress?: (message: string) => void;
}

/** What a step sees: the run being written and what earlier steps left in params and metrics. */
export interface MiningContext {
  readonly db: Database;
  readonly runId: number;
  readonly asOf: string;
  readonly calibrationEnd: string | null;
  readonly period: Period;
  readonly periodDays: number;
  readonly seed: number;
  readonly options: MiningOptions;
  readonly rules: SegmentRules;
  /** Params and metrics of the steps already run, by step name. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly progress: (message: string) => void;
}

/** A step that did nothing says why in `metrics.skipped` (listed in the run's `metrics.skipped_steps`). */
export interface StepOutcome {
  readonly params?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
  /** Headline figures copied to the top of the run's metrics (e.g. k, silhouette). */
  readonly summary?: Record<string, unknown>;
}

/**
 * A step of a run. It writes its score rows keyed by `ctx.runId` and returns what it fitted and
 * measured; it runs inside the run's transaction, and later steps can read its rows.
 */
export interface MiningStep {
  readonly name: string;
  run(ctx: MiningContext): Promise<StepOutcome>;
}
