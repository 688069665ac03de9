/**
 * Simulated campaigns for checking the lift report's interval: each customer buys Poisson(rate)
 * orders of Gamma(shape 2, mean 50) value; the treated group's rate is raised by `factor`. The
 * planted revenue lift per customer is rate × (factor − 1) × mean order value, known exactly.
 * Used by lift.test.ts (100 seeds, in CI) and scripts/lift-coverage.ts (many seeds, measured once).
 */
import { Rng } from '../etl/synthetic/random.ts';
import type { Outcome } from './lift.ts';

export interface SimulatedCampaign {
  readonly treated: Outcome[];
  readonly control: Outcome[];
  /** The true difference in revenue per customer (treated − control). */
  readonly planted: number;
}

export interface SimulationOptions {
  readonly customers?: number;
  readonly controlShare?: number;
  readonly rate?: number;
}

/**
 * @example
 * const { treated, control, planted } = simulateCampaign(7, 1.5); // planted = 1.2 × 0.5 × 50 = 30
 */
export function simulateCampaign(
  seed: number,
  factor: number,
  options: SimulationOptions = {},
): SimulatedCampaign {
  const n = options.customers ?? 2000;
  const controlShare = options.controlShare ?? 0.1;
  const rate = options.rate ?? 1.2;
  const rng = new Rng(seed, 3);
  const shape = 2;
  const scale = 25; // mean order value 50
  const poisson = (lambda: number) => {
    let k = 0;
    let p = Math.exp(-lambda);
    let s = p;
    const u = rng.next();
    while (u > s) {
      k++;
      p *= lambda / k;
      s += p;
    }
    return k;
  };
  const customer = (lambda: number): Outcome => {
    const purchases = poisson(lambda);
    let revenue = 0;
    for (let i = 0; i < purchases; i++) revenue += rng.gamma(shape, 1 / scale);
    return { purchases, revenue, margin: revenue * 0.3 };
  };
  const control: Outcome[] = [];
  const treated: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    if (i < n * controlShare) control.push(customer(rate));
    else treated.push(customer(rate * factor));
  }
  return { treated, control, planted: rate * (factor - 1) * shape * scale };
}
