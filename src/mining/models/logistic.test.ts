import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/error-code.ts';
import { isCrmBiError } from '../../errors.ts';
import { fitLogistic, predictLogistic } from './logistic.ts';
import { createRng, normal } from './special.ts';

const logit = (p: number): number => Math.log(p / (1 - p));

/**
 * The penalised log-likelihood maximised the slow way: plain gradient ascent with a fixed step
 * 1/L, L = ¼·Σ(1 + ‖x‖²) + λ bounding the curvature (so it cannot overshoot), until the gradient
 * vanishes — no Newton steps, no Hessian, no shared code with IRLS.
 */
function gradientAscent(X: number[][], y: number[], l2: number): number[] {
  const p = (X[0] as number[]).length;
  const beta = new Array<number>(p + 1).fill(0);
  const step = 1 / (0.25 * X.reduce((s, row) => s + 1 + row.reduce((t, v) => t + v * v, 0), 0) + l2);
  for (let iter = 0; iter < 2_000_000; iter++) {
    const grad = new Array<number>(p + 1).fill(0);
    X.forEach((row, i) => {
      const eta = (beta[0] as number) + row.reduce((s, v, j) => s + v * (beta[j + 1] as number), 0);
      const r = (y[i] as number) - 1 / (1 + Math.exp(-eta));
      grad[0] = (grad[0] as number) + r;
      row.forEach((v, j) => {
        grad[j + 1] = (grad[j + 1] as number) + r * v;
      });
    });
    for (let j = 1; j <= p; j++) grad[j] = (grad[j] as number) - l2 * (beta[j] as number);
    if (Math.max(...grad.map(Math.abs)) < 1e-11) break;
    for (let j = 0; j <= p; j++) beta[j] = (beta[j] as number) + step * (grad[j] as number);
  }
  return beta;
}

describe('logistic regression by IRLS', () => {
  it('matches the closed form for one binary feature (intercept = logit p0, slope = logit p1 − logit p0)', () => {
    // x = 0: 3 of 10 positive; x = 1: 7 of 9 positive
    const x = [...new Array(10).fill(0), ...new Array(9).fill(1)];
    const y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const fit = fitLogistic(Float64Array.from(x), 19, 1, y);
    expect(fit.converged).toBe(true);
    expect(fit.intercept).toBeCloseTo(logit(0.3), 10);
    expect(fit.coefficients[0]).toBeCloseTo(logit(7 / 9) - logit(0.3), 10);
    // standard error of a log odds ratio: sqrt(1/a + 1/b + 1/c + 1/d) (Woolf)
    expect(fit.standardErrors[1]).toBeCloseTo(Math.sqrt(1 / 3 + 1 / 7 + 1 / 7 + 1 / 2), 8);
  });

  it('matches slow gradient ascent to 1e-6, with and without a ridge', () => {
    const rng = createRng(4);
    const X = Array.from({ length: 40 }, () => [normal(rng), normal(rng) * 2 + 1]);
    const y = X.map(([a, b]) =>
      rng() < 1 / (1 + Math.exp(-(0.5 + (a as number) - 0.4 * (b as number)))) ? 1 : 0,
    );
    for (const l2 of [0, 2.5]) {
      const reference = gradientAscent(X, y, l2);
      const fit = fitLogistic(Float64Array.from(X.flat()), 40, 2, y, { l2 });
      expect(fit.converged).toBe(true);
      expect(Math.abs(fit.intercept - (reference[0] as number))).toBeLessThan(1e-6);
      for (const [j, c] of fit.coefficients.entries()) {
        expect(Math.abs(c - (reference[j + 1] as number))).toBeLessThan(1e-6);
      }
    }
  });

  it('predicts σ(β₀ + xᵀβ)', () => {
    const p = predictLogistic({ intercept: -1, coefficients: [2, 0.5] }, Float64Array.of(1, 2, 0, 0), 2, 2);
    expect(p[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 14);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(1)), 14);
  });

  it('names a collinear feature without a ridge and fits it with one', () => {
    // column c = a + b
    const rows = [
      [1, 0, 1],
      [0, 1, 1],
      [1, 1, 2],
      [0, 0, 0],
      [1, 0, 1],
      [0, 1, 1],
    ];
    const X = Float64Array.from(rows.flat());
    const y = [1, 0, 1, 0, 0, 1];
    try {
      fitLogistic(X, 6, 3, y, { featureNames: ['a', 'b', 'a+b'] });
      expect.unreachable();
    } catch (e) {
      expect(isCrmBiError(e) && e.code).toBe('collinear_features');
      expect(String(e)).toContain('a+b is a linear combination');
    }
    expect(fitLogistic(X, 6, 3, y, { l2: 1 }).converged).toBe(true);
  });

  it('warns instead of diverging silently when a feature separates the classes', () => {
    const X = Float64Array.of(-2, -1, -0.5, 0.5, 1, 2);
    const fit = fitLogistic(X, 6, 1, [0, 0, 0, 1, 1, 1], { featureNames: ['score'] });
    expect(fit.converged).toBe(false);
    expect(fit.warnings[0]).toContain('score (nearly) separates the classes');
    const ridge = fitLogistic(X, 6, 1, [0, 0, 0, 1, 1, 1], { l2: 0.1 });
    expect(ridge.converged).toBe(true);
  });

  it('refuses labels that are not 0/1 and a single class', () => {
    expect(codeOf(() => fitLogistic(Float64Array.of(1, 2), 2, 1, [0, 2]))).toBe('invalid_labels');
    expect(codeOf(() => fitLogistic(Float64Array.of(1, 2), 2, 1, [1, 1]))).toBe('single_class');
    expect(codeOf(() => fitLogistic(Float64Array.of(1, Number.NaN), 2, 1, [0, 1]))).toBe('invalid_design');
  });
});
