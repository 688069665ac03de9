import { describe, expect, it } from 'vitest';
import { Rng } from '../etl/synthetic/random.ts';
import { liftFromOutcomes, type Outcome } from './lift.ts';

/**
 * Simulated campaigns: each customer buys Poisson(rate) orders of Gamma-distributed value; the
 * treated group's rate is raised by `factor`. The planted revenue lift per customer is
 * rate × (factor − 1) × mean order value, known exactly.
 */
function simulate(seed: number, factor: number, n = 2000, controlShare = 0.1) {
  const rng = new Rng(seed, 3);
  const rate = 1.2;
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

describe('lift report on simulated campaigns', () => {
  // A 95% interval covers the truth in 95 of 100 runs on average; 100 runs see 90 or fewer with
  // probability about 2.8% (binomial), so fewer than 90 means the interval is too narrow.
  it('covers the planted revenue lift in at least 90 of 100 seeded runs', () => {
    let covered = 0;
    let detected = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const { treated, control, planted } = simulate(seed, 1.5);
      const r = liftFromOutcomes(treated, control);
      if (r.difference.revenue.low <= planted && planted <= r.difference.revenue.high) covered++;
      if (r.verdict === 'measurable lift') detected++;
    }
    expect(covered).toBeGreaterThanOrEqual(90);
    // +50% purchase rate on 200 controls is a large effect: it is seen nearly every time
    expect(detected).toBeGreaterThanOrEqual(90);
  });

  it('says "no measurable effect yet" without a planted effect in at least 95 of 100 runs', () => {
    let none = 0;
    for (let seed = 101; seed <= 200; seed++) {
      const { treated, control } = simulate(seed, 1);
      if (liftFromOutcomes(treated, control).verdict === 'no measurable effect yet') none++;
    }
    expect(none).toBeGreaterThanOrEqual(95);
  });

  it('scales the per-customer difference to incremental revenue and nets the cost from the margin', () => {
    const t = [
      { purchases: 1, revenue: 10, margin: 3 },
      { purchases: 3, revenue: 30, margin: 9 },
    ];
    const c = [
      { purchases: 0, revenue: 0, margin: 0 },
      { purchases: 2, revenue: 20, margin: 6 },
    ];
    const r = liftFromOutcomes(t, c, 5);
    expect(r.treated.revenue_per_customer).toBe(20);
    expect(r.control.revenue_per_customer).toBe(10);
    expect(r.incremental_revenue.estimate).toBe(20); // (20 − 10) × 2 treated
    expect(r.incremental_margin.estimate).toBeCloseTo(6, 12);
    expect(r.net_margin).toBeCloseTo(1, 12);
  });

  it('refuses a report without two customers in each group', () => {
    expect(() => liftFromOutcomes([{ purchases: 1, revenue: 1, margin: 1 }], [])).toThrow(/at least two/);
  });
});
