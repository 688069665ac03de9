import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/error-code.ts';
import {
  calibrationTable,
  holdoutErrors,
  liftTable,
  rocAuc,
  stratifiedSplit,
  thresholdMetrics,
  trackingCurve,
} from './evaluate.ts';
import { createRng } from './special.ts';

/** AUC by definition: the share of (positive, negative) pairs ranked correctly, ties counting ½. */
function pairCountAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      const si = scores[i] as number;
      const sj = scores[j] as number;
      wins += si > sj ? 1 : si === sj ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('ROC AUC', () => {
  it('equals the brute-force pair count, with many ties', () => {
    const rng = createRng(1);
    for (let trial = 0; trial < 5; trial++) {
      const n = 400;
      const labels = Uint8Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0));
      // scores on a coarse grid so ties are common, shifted up for positives
      const scores = Float64Array.from(labels, (y) => Math.round((rng() + 0.3 * y) * 8) / 8);
      expect(rocAuc(scores, labels)).toBeCloseTo(pairCountAuc(scores, labels), 12);
    }
  });

  it('is 1 for a perfect ranking, 0.5 for constant scores, and undefined with one class', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.5, 0.5, 0.5], [0, 1, 0])).toBe(0.5);
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(codeOf(() => rocAuc([0.1, 0.2], [1, 1]))).toBe('auc_undefined');
    expect(codeOf(() => rocAuc([0.1, 0.2], [1, 2]))).toBe('invalid_labels');
  });

  it('of weighted rows equals the brute-force pair count of the rows repeated', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 5; trial++) {
      const n = 120;
      const labels = Uint8Array.from({ length: n }, () => (rng() < 0.4 ? 1 : 0));
      const scores = Float64Array.from(labels, (y) => Math.round((rng() + 0.3 * y) * 6) / 6);
      const weights = Float64Array.from({ length: n }, () => Math.floor(rng() * 4));
      const expanded = { scores: [] as number[], labels: [] as number[] };
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < (weights[i] as number); k++) {
          expanded.scores.push(scores[i] as number);
          expanded.labels.push(labels[i] as number);
        }
      }
      expect(rocAuc(scores, labels, weights)).toBeCloseTo(pairCountAuc(expanded.scores, expanded.labels), 12);
    }
    // weight only on positives: one class left
    expect(codeOf(() => rocAuc([0.1, 0.2], [1, 0], [1, 0]))).toBe('auc_undefined');
    expect(codeOf(() => rocAuc([0.1, 0.2], [1, 0], [1, -1]))).toBe('invalid_evaluation_input');
  });
});

describe('classification metrics', () => {
  it('counts the confusion matrix at the threshold', () => {
    const m = thresholdMetrics([0.9, 0.6, 0.4, 0.2, 0.7], [1, 0, 1, 0, 1], 0.5);
    expect(m).toMatchObject({ tp: 2, fp: 1, fn: 1, tn: 1 });
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
  });

  it('reports 0, never NaN, when nothing is predicted positive', () => {
    const m = thresholdMetrics([0.1, 0.2], [1, 0], 0.5);
    expect([m.precision, m.recall, m.f1]).toEqual([0, 0, 0]);
  });

  it('builds a calibration table of equal-count bins', () => {
    const p = Float64Array.from({ length: 100 }, (_, i) => i / 100);
    const y = Uint8Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
    const table = calibrationTable(p, y);
    expect(table).toHaveLength(10);
    expect(table.every((r) => r.n === 10)).toBe(true);
    expect(table[0]).toMatchObject({ bin: 1, observedRate: 0, minPredicted: 0, maxPredicted: 0.09 });
    expect(table[0]?.meanPredicted).toBeCloseTo(0.045, 12);
    expect(table[9]?.observedRate).toBe(1);
  });

  it('builds a lift table whose capture reaches 100%', () => {
    const rng = createRng(2);
    const p = Float64Array.from({ length: 1000 }, () => rng());
    const y = Uint8Array.from(p, (v) => (rng() < v ? 1 : 0));
    const lift = liftTable(p, y);
    expect(lift).toHaveLength(10);
    expect(lift[0]?.lift).toBeGreaterThan(1.5);
    expect(lift[9]?.cumulativeCapture).toBeCloseTo(1, 12);
    expect(lift[9]?.cumulativeLift).toBeCloseTo(1, 12);
    expect(lift.reduce((s, r) => s + r.positives, 0)).toBe(y.reduce((s, v) => s + v, 0));
  });
});

describe('scores already in ascending order (the API reads them sorted)', () => {
  it('give the tables and AUC of the same rows out of order, ties split in the same row order', () => {
    const rng = createRng(3);
    const n = 1003;
    // a coarse grid: groups of ties that the equal-count bins cut through
    const rows = Array.from({ length: n }, () => {
      const p = Math.round(rng() * 6) / 6;
      return { p, y: rng() < p ? 1 : 0 };
    }).sort((a, b) => a.p - b.p || a.y - b.y);
    const p = Float64Array.from(rows, (r) => r.p);
    const y = Uint8Array.from(rows, (r) => r.y);
    // the highest group moved to the front: no longer in order (the comparator sort runs), and
    // every group keeps its rows' order, which is all the sort's tie rule looks at
    const top = p.findIndex((v) => v === p[n - 1]);
    const moved = (a: Float64Array | Uint8Array) => {
      const out = a.slice();
      out.set(a.subarray(top), 0);
      out.set(a.subarray(0, top), n - top);
      return out;
    };
    const [p2, y2] = [moved(p), moved(y) as Uint8Array];
    expect(p2[0]).toBeGreaterThan(p2[n - 1] as number);
    expect(calibrationTable(p, y, 10)).toEqual(calibrationTable(p2, y2, 10));
    expect(liftTable(p, y, 10)).toEqual(liftTable(p2, y2, 10));
    expect(rocAuc(p, y)).toBe(rocAuc(p2, y2));
    expect(rocAuc(p, y)).toBeCloseTo(pairCountAuc(p, y), 12);
    // a bin boundary falls inside a group of ties
    const bins = calibrationTable(p, y, 10);
    expect(bins.some((b, k) => k > 0 && b.minPredicted === bins[k - 1]?.maxPredicted)).toBe(true);
  });

  it('of weighted rows (customers grouped by score and outcome) equal the tables of the rows repeated, to the last bit', () => {
    const rng = createRng(11);
    for (const sorted of [true, false]) {
      const n = 157;
      const rows = Array.from({ length: n }, () => {
        const p = Math.round(rng() * 9) / 9;
        return { p, y: rng() < p ? 1 : 0, w: Math.floor(rng() * 5) };
      });
      if (sorted) rows.sort((a, b) => a.p - b.p || a.y - b.y);
      const p = Float64Array.from(rows, (r) => r.p);
      const y = Uint8Array.from(rows, (r) => r.y);
      const w = Float64Array.from(rows, (r) => r.w);
      // each row repeated w times where it stands
      const ep = Float64Array.from(rows.flatMap((r) => Array<number>(r.w).fill(r.p)));
      const ey = Uint8Array.from(rows.flatMap((r) => Array<number>(r.w).fill(r.y)));
      expect(calibrationTable(p, y, 10, w), `sorted ${sorted}`).toEqual(calibrationTable(ep, ey, 10));
      expect(liftTable(p, y, 10, w), `sorted ${sorted}`).toEqual(liftTable(ep, ey, 10));
      expect(calibrationTable(p, y, 7, w)).toEqual(calibrationTable(ep, ey, 7));
      // the bins cut through the groups: some group's rows fall in two bins
      const bins = calibrationTable(p, y, 10, w);
      expect(bins.some((b, k) => k > 0 && b.minPredicted === bins[k - 1]?.maxPredicted)).toBe(true);
      expect(bins.reduce((a, b) => a + b.n, 0)).toBe(ep.length);
    }
    expect(codeOf(() => liftTable([0.1, 0.2], [1, 0], 2, [1, 0.5]))).toBe('invalid_evaluation_input');
  });

  it('a NaN score is not taken as ordered', () => {
    const p = Float64Array.from([Number.NaN, 0.1, 0.2, 0.3]);
    const y = Uint8Array.from([1, 0, 1, 0]);
    expect(() => liftTable(p, y, 2)).not.toThrow();
  });
});

describe('stratified split', () => {
  it('keeps the class balance, repeats for a seed and partitions the rows', () => {
    const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const a = stratifiedSplit(labels, 0.25, 7);
    const b = stratifiedSplit(labels, 0.25, 7);
    const c = stratifiedSplit(labels, 0.25, 8);
    expect(Array.from(a.holdout)).toEqual(Array.from(b.holdout));
    expect(Array.from(a.holdout)).not.toEqual(Array.from(c.holdout));
    expect(a.holdout.length).toBe(250);
    expect(Array.from(a.holdout).filter((i) => labels[i] === 1)).toHaveLength(50);
    expect(new Set([...a.train, ...a.holdout]).size).toBe(1000);
    expect(codeOf(() => stratifiedSplit(labels, 1, 1))).toBe('invalid_split');
  });
});

describe('holdout checks of purchase forecasts', () => {
  it('computes MAE, RMSE, bias and totals', () => {
    const e = holdoutErrors([1, 2, 3], [1, 4, 1]);
    expect(e.mae).toBeCloseTo(4 / 3, 12);
    expect(e.rmse).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(e.bias).toBeCloseTo(0, 12);
    expect([e.totalPredicted, e.totalActual, e.totalRelativeError]).toEqual([6, 6, 0]);
    expect(codeOf(() => holdoutErrors([1], [Number.NaN]))).toBe('invalid_evaluation_input');
    expect(codeOf(() => holdoutErrors([], []))).toBe('invalid_evaluation_input');
  });

  it('of weighted rows equals the errors of the rows repeated', () => {
    // rows (prediction 1, actual 1) ×2, (2, 4) ×0, (3, 1) ×1, (0.5, 0) ×3
    const e = holdoutErrors([1, 2, 3, 0.5], [1, 4, 1, 0], [2, 0, 1, 3]);
    const r = holdoutErrors([1, 1, 3, 0.5, 0.5, 0.5], [1, 1, 1, 0, 0, 0]);
    expect(e.n).toBe(6);
    for (const k of ['mae', 'rmse', 'bias', 'totalPredicted', 'totalActual', 'totalRelativeError'] as const) {
      expect(e[k]).toBeCloseTo(r[k], 12);
    }
    // by hand: |errors| 0, 0, 2, 0.5 × 3 → MAE 3.5 / 6
    expect(e.mae).toBeCloseTo(3.5 / 6, 12);
    expect(codeOf(() => holdoutErrors([1], [1], [0]))).toBe('invalid_evaluation_input');
    expect(codeOf(() => holdoutErrors([1], [1], [Number.NaN]))).toBe('invalid_evaluation_input');
  });

  it('accumulates a tracking curve', () => {
    const c = trackingCurve([1, 2, 3], [2, 2, 2]);
    expect(Array.from(c.cumulativeExpected)).toEqual([1, 3, 6]);
    expect(Array.from(c.cumulativeActual)).toEqual([2, 4, 6]);
  });
});
