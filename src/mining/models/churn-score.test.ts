import { describe, expect, it } from 'vitest';
import { CHURN_FEATURES, crossFitChurnScore } from './churn-score.ts';
import { fitLogistic, predictLogistic } from './logistic.ts';
import { createRng } from './special.ts';

/** Customers whose chance of not buying again falls with purchases and rises with recency. */
function customers(n: number, seed: number) {
  const rng = createRng(seed);
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  const T = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    T[i] = 10 + rng() * 30;
    x[i] = Math.floor(rng() * 6);
    tx[i] = x[i] === 0 ? 0 : rng() * (T[i] as number);
    const eta = 0.08 * ((T[i] as number) - (tx[i] as number)) - 0.4 * (x[i] as number) - 0.5;
    labels[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  const pAlive = Float64Array.from(
    x,
    (v, i) => 1 / (1 + (0.05 * ((T[i] as number) - (tx[i] as number))) / (1 + v)),
  );
  const expected = Float64Array.from(pAlive, (a, i) => (a * ((x[i] as number) + 0.5)) / 3);
  const monetary = Float64Array.from(x, (v) => (v > 0 ? 20 + v : 0));
  return { inputs: { x, tx, T, pAlive, expected, monetary }, labels };
}

describe('the churn score cross-fitted with warm starts', () => {
  it('gives each fold the scores of a cold Newton fit on the other folds', () => {
    const { inputs, labels } = customers(4000, 21);
    const c = 30 / 7;
    const fitted = crossFitChurnScore(inputs, labels, c, 9);
    const p = CHURN_FEATURES.length;
    // the standardised design from the model's own means and sds, the same folds dealt again
    const n = labels.length;
    const rng = createRng(9);
    const fold = Uint8Array.from({ length: n }, () => Math.floor(rng() * 5));
    const Z = new Float64Array(n * p);
    const raw = designOf(inputs, c);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < p; j++)
        Z[i * p + j] =
          ((raw[i * p + j] as number) - (fitted.model.means[j] as number)) / (fitted.model.sds[j] as number);
    for (let k = 0; k < 5; k++) {
      const train = [...fold.keys()].filter((i) => fold[i] !== k);
      const test = [...fold.keys()].filter((i) => fold[i] === k);
      const Zt = Float64Array.from(train.flatMap((i) => Array.from(Z.subarray(i * p, i * p + p))));
      const cold = fitLogistic(
        Zt,
        train.length,
        p,
        Uint8Array.from(train, (i) => labels[i] as number),
        {
          l2: 1,
          tolerance: 1e-12,
        },
      );
      const Zs = Float64Array.from(test.flatMap((i) => Array.from(Z.subarray(i * p, i * p + p))));
      const scores = predictLogistic(cold, Zs, test.length, p);
      test.forEach((i, r) => {
        expect(fitted.outOfFold[i]).toBeCloseTo(scores[r] as number, 7);
      });
    }
  });
});

/** The design of churn-score.ts, written out again from its documented features. */
function designOf(f: ReturnType<typeof customers>['inputs'], c: number): Float64Array {
  const p = CHURN_FEATURES.length;
  const X = new Float64Array(f.x.length * p);
  for (let i = 0; i < f.x.length; i++) {
    const x = f.x[i] as number;
    const r = (f.T[i] as number) - (f.tx[i] as number);
    const a = Math.min(1 - 1e-9, Math.max(1e-9, f.pAlive[i] as number));
    X.set(
      [
        Math.log1p(r),
        Math.log1p(x),
        Math.log1p(f.T[i] as number),
        Math.log((x + 1) / (r + c)),
        Math.log(a / (1 - a)),
        Math.log(1e-6 + (f.expected[i] as number)),
        x === 0 ? 1 : 0,
        Math.log1p(f.monetary[i] as number),
      ],
      i * p,
    );
  }
  return X;
}
