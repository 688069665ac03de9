import { describe, expect, it } from 'vitest';
import { simulateWithHoldout } from '../../../bench/btyd.bench.ts';
import { aucOrNull, crossFitChurnScore, fitChurnScore } from '../models/churn-score.ts';
import { holdoutErrors, rocAuc } from '../models/evaluate.ts';
import { fitPurchaseModel, parseModelChoice, scoreCustomers } from '../models/purchase-model.ts';
import {
  type CandidateReport,
  candidateOrder,
  holdoutChurnScore,
  holdoutGroups,
  MAX_CHURN_SCORE_CUSTOMERS,
  pickCandidate,
  sampleCustomers,
  scoreCandidate,
  tryScore,
} from './model-choice.ts';

const fitted = (
  model: CandidateReport['model'],
  mae: number,
  degenerate: string | null = null,
): CandidateReport => ({
  model,
  label: model,
  fitted: true,
  mae,
  degenerate,
});
const failed = (model: CandidateReport['model'], error: string): CandidateReport => ({
  model,
  label: model,
  fitted: false,
  error,
});

describe('model choice', () => {
  it('takes the usable dropout model with the lowest holdout MAE, and names the ones it skipped', () => {
    const pick = pickCandidate('auto', [
      fitted('bgnbd', 0.5, 'a = 0.003 is at the edge: the data show no dropout'),
      fitted('mbgnbd', 0.8),
      fitted('pareto-nbd', 0.7),
      fitted('nbd', 0.1),
    ]);
    // the NBD has no dropout, so it only stands in when no dropout model is usable
    expect(pick.chosen).toBe('pareto-nbd');
    expect(pick.warnings.join('\n')).toMatch(/bgnbd not used: a = 0.003/);
  });

  it('falls back from a model asked for by name, saying why', () => {
    const pick = pickCandidate('bgnbd', [failed('bgnbd', 'the data show no dropout'), fitted('mbgnbd', 0.8)]);
    expect(pick.chosen).toBe('mbgnbd');
    expect(pick.warnings[0]).toMatch(/BG\/NBD was asked for .* no dropout.* mbgnbd is used instead/);
  });

  it('uses the NBD when no dropout model is usable, and says so', () => {
    const pick = pickCandidate('auto', [
      failed('bgnbd', 'a ran off'),
      failed('mbgnbd', 'a ran off'),
      failed('pareto-nbd', 'no dropout'),
      fitted('nbd', 0.9),
    ]);
    expect(pick.chosen).toBe('nbd');
    expect(pick.warnings.at(-1)).toMatch(/no model with dropout is usable/);
  });

  it('uses a degenerate fit only when nothing else fitted, with a warning', () => {
    const pick = pickCandidate('auto', [fitted('bgnbd', 0.9, 'edge'), failed('nbd', 'x')]);
    expect(pick.chosen).toBe('bgnbd');
    expect(pick.warnings.join('\n')).toMatch(/every model fit is degenerate/);
  });

  it('has nothing to choose when nothing fitted', () => {
    expect(pickCandidate('auto', [failed('bgnbd', 'x')]).chosen).toBeNull();
  });

  it('tries the model asked for first', () => {
    expect(candidateOrder('pareto-nbd')[0]).toBe('pareto-nbd');
    expect(candidateOrder('auto')).toEqual(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd']);
  });

  it('refuses an unknown --model, listing the choices', () => {
    expect(() => parseModelChoice('gamma')).toThrow(
      /invalid model: gamma \(use bgnbd, mbgnbd, pareto-nbd, nbd, auto\)/,
    );
    expect(parseModelChoice('auto')).toBe('auto');
  });
});

describe('the churn score on a sample of a large calibration set', () => {
  it('keeps every customer up to the cap and draws a seeded uniform sample beyond it', () => {
    expect(sampleCustomers(MAX_CHURN_SCORE_CUSTOMERS, MAX_CHURN_SCORE_CUSTOMERS, 1)).toBeNull();
    const n = 200_000;
    const rows = sampleCustomers(n, 50_000, 7) as Int32Array;
    expect(rows.length).toBe(50_000);
    for (let i = 1; i < rows.length; i++) expect(rows[i] as number).toBeGreaterThan(rows[i - 1] as number);
    expect(rows[rows.length - 1] as number).toBeLessThan(n);
    expect(Array.from(sampleCustomers(n, 50_000, 7) as Int32Array)).toEqual(Array.from(rows));
    // uniform: each quarter of the rows holds about a quarter of the sample (binomial sd ≈ 97)
    for (let q = 0; q < 4; q++) {
      const inQuarter = rows.filter((i) => i >= (q * n) / 4 && i < ((q + 1) * n) / 4).length;
      expect(Math.abs(inQuarter - 12_500)).toBeLessThan(500);
    }
  });

  it('below the cap is the churn score fitted on everyone', () => {
    const n = 2_000;
    const x = Float64Array.from({ length: n }, (_, i) => i % 5);
    const T = Float64Array.from({ length: n }, (_, i) => 20 + (i % 13));
    const tx = Float64Array.from(x, (v, i) => (v === 0 ? 0 : Math.min(T[i] as number, (i % 17) + v)));
    const inputs = {
      x,
      tx,
      T,
      pAlive: Float64Array.from(x, (v, i) => (v === 0 ? 0.4 : 0.5 + (i % 7) / 20)),
      expected: Float64Array.from(x, (v) => v / 3),
      monetary: Float64Array.from(x, (v) => v * 10),
    };
    const labels = Uint8Array.from(x, (v, i) =>
      (T[i] as number) - (tx[i] as number) > 20 || (v === 0 && i % 3 === 0) ? 1 : 0,
    );
    const fitted = holdoutChurnScore(inputs, labels, 30 / 7, 3);
    const everyone = crossFitChurnScore(inputs, labels, 30 / 7, 3);
    expect(fitted.auc).toBe(aucOrNull(everyone.outOfFold, labels));
    expect(fitted.model).toEqual(everyone.model);
    expect(fitted.model).toEqual(fitChurnScore(inputs, labels, 30 / 7));
  });
});

describe('holdout scores over (pattern, holdout purchases) groups', () => {
  it('equal the per-customer MAE, RMSE, bias, totals and AUCs', () => {
    const data = simulateWithHoldout(
      20_000,
      { r: 0.5, alpha: 5, a: 0.8, b: 2.5 },
      { seed: 4, resolution: 1 / 7, cut: 39, end: 52 },
    );
    const groups = holdoutGroups(data.calibration, data.holdout);
    expect(groups.count.reduce((a, b) => a + b, 0)).toBe(20_000);
    for (const name of ['bgnbd', 'pareto-nbd'] as const) {
      const fit = fitPurchaseModel(name, data.calibration);
      const scored = scoreCandidate(fit, data.calibration, 13, groups);
      // the same figures computed customer by customer
      const perCustomer = scoreCustomers(fit, data.calibration, 13);
      const want = holdoutErrors(perCustomer.expectedPurchases, data.holdout);
      for (const k of ['n', 'mae', 'rmse', 'bias', 'totalPredicted', 'totalActual'] as const) {
        expect(scored.errors[k]).toBeCloseTo(want[k], 9);
      }
      const labels = Uint8Array.from(data.holdout, (v) => (v === 0 ? 1 : 0));
      const perGroup = Float64Array.from(groups.pattern, (k) => 1 - (scored.patterns.pAlive[k] as number));
      expect(rocAuc(perGroup, groups.label, groups.count)).toBeCloseTo(
        rocAuc(
          Float64Array.from(perCustomer.pAlive, (v) => 1 - v),
          labels,
        ),
        12,
      );
    }
  });
});

describe('a candidate that fits but cannot be scored', () => {
  it('is left out with the reason instead of failing the run', () => {
    const data = simulateWithHoldout(
      2_000,
      { r: 0.5, alpha: 5, a: 0.8, b: 2.5 },
      { seed: 9, resolution: 1 / 7, cut: 39, end: 52 },
    );
    const groups = holdoutGroups(data.calibration, data.holdout);
    const fit = fitPurchaseModel('pareto-nbd', data.calibration);
    expect(typeof tryScore(fit, data.calibration, 13, groups)).toBe('object');
    // the same model where alpha and beta are a million times apart: P(alive) is out of its range
    const extreme = { ...fit, ...fit.curveAt({ ...fit.params, alpha: 1e6, beta: 1 }) };
    expect(() => scoreCandidate(extreme, data.calibration, 13, groups)).toThrow(/too close to 1/);
    const reason = tryScore(extreme, data.calibration, 13, groups);
    expect(reason).toMatch(
      /^fitted, but its holdout scores cannot be computed: Pareto\/NBD: z = .* too close to 1/,
    );
  });
});
