import { describe, expect, it } from 'vitest';
import { simulateBgNbd, simulateGammaGamma, simulateParetoNbd } from '../../../bench/btyd.bench.ts';
import { codeOf } from '../../../test/helpers/error-code.ts';
import { type BgNbdParams, conditionalExpectedPurchases, fitBgNbd } from './bgnbd.ts';
import type { BtydColumns } from './btyd-patterns.ts';
import { customerLifetimeValue, PERIODS_PER_MONTH, periodsPerMonth, TIER_NAMES } from './clv.ts';
import { conditionalExpectedValue, fitGammaGamma, type GammaGammaParams } from './gamma-gamma.ts';
import { mbgnbdAliveBracket, mbgnbdPAlive } from './mbgnbd.ts';
import { nbdAliveBracket } from './nbd.ts';
import { type ParetoNbdParams, paretoNbdAliveBracket, paretoNbdPAlive } from './pareto-nbd.ts';
import { fitPurchaseModel, type PurchaseCurve } from './purchase-model.ts';
import { createRng, normal } from './special.ts';

const F = (values: number[]): Float64Array => Float64Array.from(values);
const BG: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const GG: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
const customers = {
  x: F([0, 1, 2, 7, 0]),
  tx: F([0, 1.71, 30.43, 29.43, 0]),
  T: F([38.86, 38.86, 38.86, 38.86, 20]),
  mx: F([0, 11.77, 22.35, 73.74, 0]),
};

/** exp of one draw from N(mean, cov), by a Cholesky factor written out here (not the module's). */
function lognormalDraw(rng: () => number, mean: number[], cov: readonly number[]): number[] {
  const n = mean.length;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = cov[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (L[i * n + k] as number) * (L[j * n + k] as number);
      L[i * n + j] = i === j ? Math.sqrt(s) : s / (L[j * n + j] as number);
    }
  }
  const z = mean.map(() => normal(rng));
  return mean.map((m, i) => Math.exp(m + z.reduce((s, zk, k) => s + (L[i * n + k] as number) * zk, 0)));
}

/** Type-7 quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

describe('CLV', () => {
  it('is the discounted sum of month-step differences of conditional expectations', () => {
    const step = PERIODS_PER_MONTH.week;
    const res = customerLifetimeValue({ params: BG }, { params: GG }, customers, {
      periodsPerMonth: step,
      horizonMonths: 18,
      annualDiscountRate: 0.1,
      margin: 0.3,
      draws: 0,
    });
    const d = 1.1 ** (1 / 12) - 1;
    expect(res.monthlyDiscountRate).toBeCloseTo(d, 15);
    const value = conditionalExpectedValue(GG, customers.x, customers.mx);
    for (let i = 0; i < 5; i++) {
      const one = {
        x: customers.x.subarray(i, i + 1),
        tx: customers.tx.subarray(i, i + 1),
        T: customers.T.subarray(i, i + 1),
      };
      let expected = 0;
      let previous = 0;
      for (let k = 1; k <= 18; k++) {
        const e = conditionalExpectedPurchases(BG, one, k * step)[0] as number;
        expected += (0.3 * (value[i] as number) * (e - previous)) / (1 + d) ** k;
        previous = e;
      }
      expect(res.clv[i]).toBeCloseTo(expected, 10);
      expect(res.expectedPurchases[i]).toBeCloseTo(previous, 12);
    }
  });

  it('without discounting equals margin × value × expected purchases over the horizon', () => {
    const res = customerLifetimeValue({ params: BG }, { params: GG }, customers, {
      periodsPerMonth: PERIODS_PER_MONTH.week,
      horizonMonths: 12,
      annualDiscountRate: 0,
      draws: 0,
    });
    for (let i = 0; i < 5; i++) {
      expect(res.clv[i]).toBeCloseTo(
        (res.expectedValue[i] as number) * (res.expectedPurchases[i] as number),
        10,
      );
    }
  });

  it('explains each customer with the figures behind the value', () => {
    const res = customerLifetimeValue({ params: BG }, { params: GG }, customers, {
      periodsPerMonth: 4.348,
      draws: 0,
    });
    const e = res.explain(2);
    expect(e).toMatchObject({
      x: 2,
      t_x: 30.43,
      T: 38.86,
      m_x: 22.35,
      margin: 1,
      clv_p10: null,
      clv_p90: null,
    });
    expect(e.p_alive).toBeCloseTo(0.7266, 4);
    expect(e.expected_avg_value).toBeCloseTo(24.66, 2);
    expect(e.clv).toBe(res.clv[2]);
    expect(TIER_NAMES).toContain(e.tier);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it('puts customers in quantile tiers, ties on a cutoff going to the lower tier', () => {
    const n = 1000;
    const data = simulateBgNbd(n, BG, { seed: 3 });
    const mx = simulateGammaGamma(data.x, GG, 4);
    const res = customerLifetimeValue(
      { params: BG },
      { params: GG },
      { ...data, mx },
      {
        periodsPerMonth: PERIODS_PER_MONTH.week,
        draws: 0,
      },
    );
    const counts = [0, 0, 0, 0];
    for (const t of res.tierIndex) counts[t] = (counts[t] as number) + 1;
    // top 10%, next 20%, next 30%, rest — up to ties of customers with identical histories
    expect(counts[0]).toBeLessThanOrEqual(100);
    expect((counts[0] as number) + (counts[1] as number)).toBeLessThanOrEqual(300);
    for (let i = 0; i < n; i++) {
      const t = res.tierIndex[i] as number;
      if (t < 3) expect(res.clv[i]).toBeGreaterThan(res.tierCutoffs[t] as number);
      if (t > 0) expect(res.clv[i]).toBeLessThanOrEqual(res.tierCutoffs[t - 1] as number);
    }
    const same = { x: F([1, 1, 1]), tx: F([5, 5, 5]), T: F([10, 10, 10]), mx: F([20, 20, 20]) };
    const flat = customerLifetimeValue({ params: BG }, { params: GG }, same, {
      periodsPerMonth: 4.348,
      draws: 0,
    });
    expect([0, 1, 2].map(flat.tier)).toEqual(['Bronze', 'Bronze', 'Bronze']);
  });

  it('gives a P10/P90 band that agrees with an independent parameter bootstrap', () => {
    // day resolution, as the warehouse computes T: the band costs one series per distinct (x, T) and draw
    const data = simulateBgNbd(4000, BG, { seed: 5, resolution: 1 / 7 });
    const mx = simulateGammaGamma(data.x, GG, 6);
    const bg = fitBgNbd(data);
    const gg = fitGammaGamma(data.x, mx);
    const input = { ...data, mx };
    const options = { periodsPerMonth: PERIODS_PER_MONTH.week, horizonMonths: 12, draws: 200, seed: 9 };
    const res = customerLifetimeValue(bg, gg, input, options);
    expect(res.draws).toBe(200);
    const p10 = res.p10 as Float64Array;
    const p90 = res.p90 as Float64Array;
    let inside = 0;
    for (let i = 0; i < 4000; i++) {
      expect(p10[i]).toBeLessThanOrEqual(p90[i] as number);
      if ((p10[i] as number) <= (res.clv[i] as number) && (res.clv[i] as number) <= (p90[i] as number))
        inside++;
    }
    expect(inside / 4000).toBeGreaterThan(0.95);
    // reproducible from the seed
    const again = customerLifetimeValue(bg, gg, input, options);
    expect(Array.from(again.p10 as Float64Array)).toEqual(Array.from(p10));

    // independent route for a few customers: 1500 joint draws, plain sort, CLV by the public functions
    const rng = createRng(123);
    const draw = (mean: number[], cov: readonly number[]) => lognormalDraw(rng, mean, cov);
    const picks = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => (k * 499) % 4000);
    const sub = {
      x: Float64Array.from(picks, (i) => data.x[i] as number),
      tx: Float64Array.from(picks, (i) => data.tx[i] as number),
      T: Float64Array.from(picks, (i) => data.T[i] as number),
      mx: Float64Array.from(picks, (i) => mx[i] as number),
    };
    const samples: number[][] = picks.map(() => []);
    for (let d = 0; d < 1500; d++) {
      const [r, alpha, a, b] = draw(
        [bg.params.r, bg.params.alpha, bg.params.a, bg.params.b].map(Math.log),
        bg.logParamCovariance,
      ) as [number, number, number, number];
      const [p, q, gamma] = draw(
        [gg.params.p, gg.params.q, gg.params.gamma].map(Math.log),
        gg.logParamCovariance,
      ) as [number, number, number];
      if (q <= 1) continue;
      const one = customerLifetimeValue({ params: { r, alpha, a, b } }, { params: { p, q, gamma } }, sub, {
        ...options,
        draws: 0,
      });
      for (let j = 0; j < picks.length; j++) samples[j]?.push(one.clv[j] as number);
    }
    picks.forEach((i, j) => {
      const s = (samples[j] as number[]).sort((u, v) => u - v);
      const q10 = s[Math.round(0.1 * (s.length - 1))] as number;
      const q90 = s[Math.round(0.9 * (s.length - 1))] as number;
      // 200 draws estimate a decile to within a few percent of the band's width
      const width = q90 - q10;
      expect(Math.abs((p10[i] as number) - q10)).toBeLessThan(0.1 * width + 1e-9);
      expect(Math.abs((p90[i] as number) - q90)).toBeLessThan(0.1 * width + 1e-9);
    });
  });

  it('leaves the band out, with a warning, when a covariance is missing', () => {
    const res = customerLifetimeValue({ params: BG }, { params: GG, logParamCovariance: null }, customers, {
      periodsPerMonth: 4.348,
    });
    expect(res.p10).toBeNull();
    expect(res.warnings[0]).toContain('P10/P90 is left out');
  });

  it('names the period unit and refuses bad options', () => {
    expect(periodsPerMonth('week')).toBeCloseTo(4.348, 3);
    expect(periodsPerMonth('day')).toBeCloseTo(30.4375, 10);
    expect(codeOf(() => periodsPerMonth('fortnight'))).toBe('invalid_period');
    expect(codeOf(() => periodsPerMonth('__proto__'))).toBe('invalid_period');
    const run = (o: object) => () =>
      customerLifetimeValue({ params: BG }, { params: GG }, customers, {
        periodsPerMonth: 4.348,
        draws: 0,
        ...o,
      });
    expect(codeOf(run({ horizonMonths: 0 }))).toBe('invalid_clv_option');
    expect(codeOf(run({ horizonMonths: 2.5 }))).toBe('invalid_clv_option');
    expect(codeOf(run({ annualDiscountRate: -1 }))).toBe('invalid_clv_option');
    expect(codeOf(run({ periodsPerMonth: 0 }))).toBe('invalid_clv_option');
    expect(codeOf(run({ tierQuantiles: [0.5, 0.9, 0.1] }))).toBe('invalid_clv_option');
    expect(
      codeOf(() =>
        customerLifetimeValue(
          { params: BG },
          { params: GG },
          { ...customers, mx: F([1]) },
          { periodsPerMonth: 1 },
        ),
      ),
    ).toBe('invalid_clv_input');
  });

  it('stays finite for huge x, T = 0 and zero spend', () => {
    const odd = { x: F([1e5, 0, 3]), tx: F([38, 0, 20]), T: F([39, 0, 30]), mx: F([15, 0, 0]) };
    const res = customerLifetimeValue({ params: BG }, { params: GG }, odd, {
      periodsPerMonth: 4.348,
      draws: 0,
    });
    for (const v of res.clv) expect(Number.isFinite(v)).toBe(true);
  });
});

/** Each model's curve at given parameters, straight from its public functions. */
const CURVES: Record<'mbgnbd' | 'pareto-nbd' | 'nbd', (p: number[]) => PurchaseCurve> = {
  mbgnbd: ([r, alpha, a, b]) => {
    const prm = { r, alpha, a, b } as BgNbdParams;
    return {
      pAlive: (d) => mbgnbdPAlive(prm, d),
      aliveBracket: (x, T, t) => mbgnbdAliveBracket(prm, x, T, t),
    };
  },
  'pareto-nbd': ([r, alpha, s, beta]) => {
    const prm = { r, alpha, s, beta } as ParetoNbdParams;
    return {
      pAlive: (d) => paretoNbdPAlive(prm, d),
      aliveBracket: (x, T, t) => paretoNbdAliveBracket(prm, x, T, t),
    };
  },
  nbd: ([r, alpha]) => ({
    pAlive: (d: BtydColumns) => new Float64Array(d.x.length).fill(1),
    aliveBracket: (x, T, t) => nbdAliveBracket({ r: r as number, alpha: alpha as number }, x, T, t),
  }),
};

describe('the CLV band of MBG/NBD, Pareto/NBD and NBD', () => {
  // Pareto/NBD customers at day resolution, as the warehouse computes T
  const data = simulateParetoNbd(
    2500,
    { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 },
    { seed: 31, resolution: 1 / 7 },
  );
  const mx = simulateGammaGamma(data.x, GG, 32);
  const gg = fitGammaGamma(data.x, mx);
  const input = { ...data, mx };
  // 1,000 band draws: a decile's sampling error (≈ 2% of the band's width, and ≈ 2% for the 1,500
  // reference draws) then sits well inside the 10% allowed
  const options = { periodsPerMonth: PERIODS_PER_MONTH.week, horizonMonths: 12, draws: 1000, seed: 4 };

  it.each(['mbgnbd', 'pareto-nbd', 'nbd'] as const)(
    "%s: P10/P90 agree with 1,500 draws from the fit's asymptotic normal, computed customer by customer",
    (name) => {
      const fit = fitPurchaseModel(name, data);
      const res = customerLifetimeValue(fit, gg, input, options);
      expect(res.draws).toBe(1000);
      expect(res.warnings.filter((w) => w.includes('P10/P90'))).toEqual([]);
      const p10 = res.p10 as Float64Array;
      const p90 = res.p90 as Float64Array;
      const rng = createRng(77);
      const picks = [0, 1, 2, 3, 4, 5].map((k) => (k * 397) % 2500);
      const sub = {
        x: Float64Array.from(picks, (i) => data.x[i] as number),
        tx: Float64Array.from(picks, (i) => data.tx[i] as number),
        T: Float64Array.from(picks, (i) => data.T[i] as number),
        mx: Float64Array.from(picks, (i) => mx[i] as number),
      };
      const names = Object.keys(fit.params);
      const samples: number[][] = picks.map(() => []);
      for (let d = 0; d < 1500; d++) {
        const v = lognormalDraw(
          rng,
          names.map((k) => Math.log(fit.params[k] as number)),
          fit.logParamCovariance,
        );
        const [p, q, gamma] = lognormalDraw(
          rng,
          [gg.params.p, gg.params.q, gg.params.gamma].map(Math.log),
          gg.logParamCovariance,
        ) as [number, number, number];
        if (q <= 1) continue;
        const one = customerLifetimeValue(CURVES[name](v), { params: { p, q, gamma } }, sub, {
          ...options,
          draws: 0,
        });
        for (let j = 0; j < picks.length; j++) samples[j]?.push(one.clv[j] as number);
      }
      picks.forEach((i, j) => {
        const s = (samples[j] as number[]).sort((u, v) => u - v);
        const q10 = quantile(s, 0.1);
        const q90 = quantile(s, 0.9);
        const width = q90 - q10;
        expect(width).toBeGreaterThan(0);
        expect(Math.abs((p10[i] as number) - q10)).toBeLessThan(0.1 * width + 1e-9);
        expect(Math.abs((p90[i] as number) - q90)).toBeLessThan(0.1 * width + 1e-9);
        expect(p10[i]).toBeLessThanOrEqual(res.clv[i] as number);
      });
    },
  );
});
