import { describe, expect, it } from 'vitest';
import { isCrmBiError } from '../../errors.ts';
import {
  betaDraw,
  createRng,
  digamma,
  gammaDraw,
  gammaln,
  hyp2f1,
  hyp2f1ScaledTail,
  normal,
} from './special.ts';

const EULER_GAMMA = 0.5772156649015329;

describe('hyp2f1', () => {
  it('matches closed forms (Abramowitz & Stegun 15.1.3, 15.1.6, 15.1.8)', () => {
    for (const z of [0.01, 0.3, 0.7, 0.95]) {
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 13);
      expect(hyp2f1(0.5, 0.5, 1.5, z * z)).toBeCloseTo(Math.asin(z) / z, 13);
      expect(hyp2f1(2.5, 0.7, 0.7, z)).toBeCloseTo((1 - z) ** -2.5, 10);
    }
  });

  it('terminates exactly for a negative integer parameter (a polynomial)', () => {
    // 2F1(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1))
    const [b, c, z] = [1.5, 2.5, 0.4];
    expect(hyp2f1(-2, b, c, z)).toBeCloseTo(1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1)), 14);
  });

  it('gives the scaled tail c·(F − 1)/b, finite as b → 0', () => {
    const [a, b, c, z] = [0.8, 0.3, 1.7, 0.6];
    expect(hyp2f1ScaledTail(a, b, c, z)).toBeCloseTo((c * (hyp2f1(a, b, c, z) - 1)) / b, 12);
    const nearZero = hyp2f1ScaledTail(a, 1e-9, c, z);
    expect(Number.isFinite(hyp2f1ScaledTail(a, 0, c, z))).toBe(true);
    expect(hyp2f1ScaledTail(a, 0, c, z)).toBeCloseTo(nearZero, 7);
  });

  it('stops with series_not_converged rather than return a truncated sum', () => {
    try {
      hyp2f1(0.5, 0.5, 0.6, 0.999999, { maxTerms: 100 });
      expect.unreachable();
    } catch (e) {
      expect(isCrmBiError(e) && e.code).toBe('series_not_converged');
    }
  });
});

describe('digamma', () => {
  it('matches known values', () => {
    expect(digamma(1)).toBeCloseTo(-EULER_GAMMA, 14);
    expect(digamma(0.5)).toBeCloseTo(-EULER_GAMMA - 2 * Math.log(2), 14);
    // ψ(n + 1) = H_n − γ
    let harmonic = 0;
    for (let n = 1; n <= 30; n++) {
      harmonic += 1 / n;
      expect(digamma(n + 1)).toBeCloseTo(harmonic - EULER_GAMMA, 13);
    }
  });

  it('is the derivative of gammaln', () => {
    for (const x of [0.05, 0.8, 3.3, 12, 250]) {
      const h = 1e-5 * x;
      expect(digamma(x)).toBeCloseTo((gammaln(x + h) - gammaln(x - h)) / (2 * h), 6);
    }
  });
});

describe('seeded random numbers', () => {
  it('repeat for a seed and differ across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(xs);
    expect(Array.from({ length: 5 }, c)).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('draw normal, gamma and beta variates with the right moments', () => {
    const rng = createRng(1);
    const n = 200_000;
    const moments = (draw: () => number): [number, number] => {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const v = draw();
        s += v;
        s2 += v * v;
      }
      return [s / n, s2 / n - (s / n) ** 2];
    };
    const [mz, vz] = moments(() => normal(rng));
    expect(Math.abs(mz)).toBeLessThan(0.01);
    expect(vz).toBeCloseTo(1, 1);
    // Gamma(shape 0.3, rate 2): mean 0.15, variance 0.075 (the shape < 1 branch)
    const [mg, vg] = moments(() => gammaDraw(rng, 0.3, 2));
    expect(mg).toBeCloseTo(0.15, 2);
    expect(vg).toBeCloseTo(0.075, 2);
    // Beta(0.8, 2.4): mean 0.25, variance ab/((a+b)²(a+b+1)) = 1.92/43.008 = 0.04464
    const [mb, vb] = moments(() => betaDraw(rng, 0.8, 2.4));
    expect(mb).toBeCloseTo(0.25, 2);
    expect(vb).toBeCloseTo(0.04464, 3);
  });
});
