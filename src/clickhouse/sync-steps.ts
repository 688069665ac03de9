/**
 * Where a table's sync spends its time: milliseconds per named step, added up when a step runs
 * more than once (a fallback to a full copy runs `fill` twice). `crm-bi sync --json` prints them
 * per table as `steps_ms`.
 */
export class StepTimer {
  private readonly totals: Record<string, number> = Object.create(null);

  /** Runs `fn` and adds its wall time to `name`, also when it throws. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.totals[name] = (this.totals[name] ?? 0) + (performance.now() - t0);
    }
  }

  /** The totals so far, rounded to 0.1 ms, in the order the steps first ran. */
  get ms(): Readonly<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.totals)) out[k] = Math.round(v * 10) / 10;
    return out;
  }
}
