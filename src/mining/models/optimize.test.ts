import { describe, expect, it } from 'vitest';
import { isCrmBiError } from '../../errors.ts';
import {
  bfgs,
  checkOptimizer,
  hessianFromGradient,
  invertSpd,
  nelderMead,
  numericalHessian,
} from './optimize.ts';

const rosenbrock = (x: Float64Array, g?: Float64Array): number => {
  const [a, b] = [x[0] as number, x[1] as number];
  if (g) {
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
  }
  return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
};

describe('minimisers', () => {
  it('Nelder–Mead finds the Rosenbrock minimum and reports convergence', () => {
    const run = nelderMead((x) => rosenbrock(x), [-1.2, 1], { fTolerance: 1e-14, xTolerance: 1e-10 });
    expect(run.converged).toBe(true);
    expect(run.x[0]).toBeCloseTo(1, 6);
    expect(run.x[1]).toBeCloseTo(1, 6);
  });

  it('Nelder–Mead reports a run cut short by the iteration limit', () => {
    const run = nelderMead((x) => rosenbrock(x), [-1.2, 1], { maxIterations: 10 });
    expect(run.converged).toBe(false);
    expect(run.iterations).toBeLessThanOrEqual(10);
  });

  it('BFGS finds the Rosenbrock minimum from the gradient', () => {
    const run = bfgs(rosenbrock, [-1.2, 1]);
    expect(run.converged).toBe(true);
    expect(run.x[0]).toBeCloseTo(1, 6);
    expect(run.x[1]).toBeCloseTo(1, 6);
  });

  it('treats non-finite values as walls', () => {
    const f = (x: Float64Array): number => ((x[0] as number) < 0 ? Number.NaN : ((x[0] as number) - 2) ** 2);
    expect(nelderMead(f, [0.5]).x[0]).toBeCloseTo(2, 5);
  });

  it('rejects an unknown optimizer by name', () => {
    expect(checkOptimizer('auto')).toBe('auto');
    try {
      checkOptimizer('newton');
      expect.unreachable();
    } catch (e) {
      expect(isCrmBiError(e) && e.message).toBe('invalid optimizer: newton (use auto or nelder-mead)');
    }
  });
});

describe('Hessians and inverses', () => {
  it('numerical Hessians match the analytic one of a quadratic', () => {
    // f = x² + 3xy + 5y², H = [[2, 3], [3, 10]]
    const f = (x: Float64Array, g?: Float64Array): number => {
      const [a, b] = [x[0] as number, x[1] as number];
      if (g) {
        g[0] = 2 * a + 3 * b;
        g[1] = 3 * a + 10 * b;
      }
      return a * a + 3 * a * b + 5 * b * b;
    };
    const fromValues = numericalHessian((x) => f(x), [0.3, -0.7]);
    const fromGradient = hessianFromGradient((x, g) => f(x, g), [0.3, -0.7]);
    // forward differences from the gradient at the point (what a BFGS fit ends with)
    const at = new Float64Array(2);
    f(Float64Array.of(0.3, -0.7), at);
    const forward = hessianFromGradient((x, g) => f(x, g), [0.3, -0.7], 1e-5, at);
    for (const H of [fromValues, fromGradient, forward]) {
      expect(Array.from(H).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([2, 3, 3, 10]);
    }
  });

  it('inverts a positive-definite matrix and refuses a singular one', () => {
    const inv = invertSpd([4, 2, 2, 3], 2) as Float64Array;
    // [[4,2],[2,3]]⁻¹ = [[3,−2],[−2,4]]/8
    for (const [i, v] of [0.375, -0.25, -0.25, 0.5].entries()) expect(inv[i]).toBeCloseTo(v, 14);
    expect(invertSpd([1, 1, 1, 1], 2)).toBeNull();
  });
});
