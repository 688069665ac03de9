/**
 * The purchase-behaviour features customers are clustered on: how often they buy, how much per
 * purchase, and how far behind their own rhythm they are. They describe what customer groups differ
 * in under the buy-till-you-die models (purchase rate λ, dropout, spend per purchase) without the
 * customer's age mixed in, which frequency, total spend and recency all carry.
 *
 * - purchase_rate: the posterior mean of λ given x repeat purchases in T periods under the gamma(r, α)
 *   prior of a BG/NBD fit on the same customers, (r + x) / (α + T) (Fader, Hardie & Lee 2005,
 *   Marketing Science 24(2), section 2), per period. It shrinks the rates of new customers (small T)
 *   toward the population's instead of reading one purchase last week as 52 a year.
 * - avg_value: net money per purchase day (monetary_total / frequency; ≤ 0 after large returns).
 * - overdue: the repeat purchases missed since the last one at the customer's own repeat rate over
 *   the whole tenure, x / T · (T − t_x); 0 for a one-time buyer (no rhythm yet). (The rate over the
 *   active span, x / t_x, separated the synthetic segments worse: see CONTEXT.md.)
 */
import { type BgNbdParams, fitBgNbd } from './bgnbd.ts';

export const BEHAVIOUR_FEATURES = ['purchase_rate', 'avg_value', 'overdue'] as const;

export interface RatePrior {
  readonly r: number;
  readonly alpha: number;
  /** `bgnbd` (fitted) or why the fallback prior was used. */
  readonly source: string;
}

/**
 * The gamma prior on purchase rates: BG/NBD's r and α fitted on these customers; when the model
 * cannot be fitted (no repeat buyer, an empty window) r = 1 and α = 1 / (mean rate), the same
 * starting point the fit itself uses.
 */
export function ratePrior(x: Float64Array, tx: Float64Array, T: Float64Array): RatePrior {
  try {
    const p: BgNbdParams = fitBgNbd({ x, tx, T }).params;
    return { r: p.r, alpha: p.alpha, source: 'bgnbd' };
  } catch (e) {
    let sumX = 0;
    let sumT = 0;
    for (let i = 0; i < x.length; i++) {
      sumX += x[i] as number;
      sumT += T[i] as number;
    }
    const alpha = sumX > 0 ? sumT / sumX : Math.max(1, sumT / Math.max(1, x.length));
    return { r: 1, alpha, source: `fallback (${e instanceof Error ? e.message : String(e)})` };
  }
}

/**
 * The behaviour feature columns from BTYD summaries (x, t_x, T in periods) and net money.
 * @example
 * behaviourFeatures({ x: [2], tx: [6], T: [10], monetary: [150], frequency: [3] }, { r: 1, alpha: 5, source: 'bgnbd' })
 * // purchase_rate (1 + 2) / (5 + 10) = 0.2, avg_value 50, overdue 2 / 10 · 4 = 0.8
 */
export function behaviourFeatures(
  data: {
    readonly x: ArrayLike<number>;
    readonly tx: ArrayLike<number>;
    readonly T: ArrayLike<number>;
    readonly monetary: ArrayLike<number>;
    readonly frequency: ArrayLike<number>;
  },
  prior: RatePrior,
): Record<(typeof BEHAVIOUR_FEATURES)[number], Float64Array> {
  const n = data.x.length;
  const purchase_rate = new Float64Array(n);
  const avg_value = new Float64Array(n);
  const overdue = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = data.x[i] as number;
    const tx = data.tx[i] as number;
    const T = data.T[i] as number;
    const f = data.frequency[i] as number;
    purchase_rate[i] = (prior.r + x) / (prior.alpha + T);
    avg_value[i] = f > 0 ? (data.monetary[i] as number) / f : Number.NaN;
    overdue[i] = x > 0 && T > 0 ? (x / T) * (T - tx) : 0;
  }
  return { purchase_rate, avg_value, overdue };
}
