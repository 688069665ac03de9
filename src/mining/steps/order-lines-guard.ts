/**
 * Steps that read purchases (RFM, clusters, the BTYD value models) have nothing to work on in a
 * warehouse of subscriptions only (the `telco` profile). `needsOrderLines(step)` runs the step
 * whenever the warehouse has order lines (a run as of a day before them still scores nobody, as
 * before); without any, the step is recorded as skipped, with the reason, in the run's metrics
 * (`metrics.<step>.skipped`, `metrics.skipped_steps`).
 */
import type { MiningContext, MiningStep, StepOutcome } from './mining-step.ts';

/** Whether the warehouse has any order line. */
export async function hasOrderLines(ctx: Pick<MiningContext, 'db'>): Promise<boolean> {
  const found = await ctx.db.scalar('SELECT 1 FROM core.fact_order_line LIMIT 1');
  return found !== null && found !== undefined;
}

/**
 * The step as is when the warehouse has order lines; otherwise a skip that says why.
 * @example DEFAULT_STEPS = [needsOrderLines(rfmStep), ..., churnModelStep()]
 */
export function needsOrderLines(step: MiningStep): MiningStep {
  return {
    name: step.name,
    async run(ctx: MiningContext): Promise<StepOutcome> {
      if (await hasOrderLines(ctx)) return step.run(ctx);
      const reason = `the warehouse has no order lines: ${step.name} needs purchases`;
      ctx.progress(`${step.name}: skipped (${reason})`);
      return { metrics: { skipped: reason } };
    },
  };
}
