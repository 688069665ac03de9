import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/error-code.ts';
import {
  type ChurnModel,
  churnFromPAlive,
  designMatrix,
  type FeatureColumns,
  fitChurnModel,
  fitFeaturePipeline,
  MISSING_LEVEL,
  scoreChurn,
} from './churn.ts';
import { createRng } from './special.ts';

/** A small churn world: short tenure, monthly contracts and high charges raise the risk. */
function world(n: number, seed: number): { columns: FeatureColumns; labels: Uint8Array } {
  const rng = createRng(seed);
  const contracts = ['monthly', 'one year', 'two year'];
  const tenure = new Float64Array(n);
  const charges = new Float64Array(n);
  const contract: string[] = [];
  const region: (string | null)[] = [];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    tenure[i] = Math.floor(rng() * 72);
    charges[i] = 20 + 80 * rng();
    const c = contracts[Math.floor(rng() * 3)] as string;
    contract.push(c);
    region.push(rng() < 0.05 ? null : rng() < 0.5 ? 'north' : 'south');
    const eta =
      -1 -
      0.04 * (tenure[i] as number) +
      0.02 * (charges[i] as number) +
      (c === 'monthly' ? 1.5 : c === 'one year' ? 0.3 : 0);
    labels[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { columns: { tenure, charges, contract, region }, labels };
}
const spec = { numeric: ['tenure', 'charges'], categorical: ['contract', 'region'] };

describe('churn from P(alive)', () => {
  it('is 1 − P(alive) with an at-risk flag at the threshold', () => {
    const c = churnFromPAlive(Float64Array.of(0.9, 0.5, 0.2, 1), 0.5);
    expect(Array.from(c.churnProbability)).toEqual([1 - 0.9, 0.5, 0.8, 0]);
    expect(Array.from(c.atRisk)).toEqual([0, 1, 1, 0]);
    expect(c.atRiskCount).toBe(2);
    expect(churnFromPAlive(Float64Array.of(0.9, 0.5), 0.05).atRiskCount).toBe(2);
    expect(codeOf(() => churnFromPAlive(Float64Array.of(0.5), 1.5))).toBe('invalid_threshold');
    expect(codeOf(() => churnFromPAlive(Float64Array.of(Number.NaN)))).toBe('invalid_p_alive');
  });
});

describe('feature pipeline', () => {
  it('standardises numerics with training statistics and one-hot encodes categories', () => {
    const { columns, labels } = world(500, 1);
    const train = Int32Array.from({ length: 250 }, (_, i) => i);
    const { pipeline } = fitFeaturePipeline(columns, spec, labels, train, 'first');
    const tenure = (columns.tenure as Float64Array).subarray(0, 250);
    const mean = tenure.reduce((s, v) => s + v, 0) / 250;
    const sd = Math.sqrt(tenure.reduce((s, v) => s + (v - mean) ** 2, 0) / 249);
    expect(pipeline.numeric[0]?.mean).toBeCloseTo(mean, 10);
    expect(pipeline.numeric[0]?.sd).toBeCloseTo(sd, 10);
    expect(pipeline.categorical[0]).toEqual({
      name: 'contract',
      reference: 'monthly',
      levels: ['one year', 'two year'],
    });
    expect(pipeline.categorical[1]?.levels).toEqual(['north', 'south']);
    expect(pipeline.categorical[1]?.reference).toBe(MISSING_LEVEL);
    expect(pipeline.featureNames).toEqual([
      'tenure',
      'charges',
      'contract=one year',
      'contract=two year',
      'region=north',
      'region=south',
    ]);
    const { X, p } = designMatrix(pipeline, columns, Int32Array.of(0));
    expect(X[0]).toBeCloseTo((((columns.tenure as Float64Array)[0] as number) - mean) / sd, 12);
    const c = (columns.contract as string[])[0];
    expect(X[2]).toBe(c === 'one year' ? 1 : 0);
    expect(p).toBe(6);
  });

  it('takes the lowest-churn level as reference by default, so level contributions read as added risk', () => {
    const { columns, labels } = world(3000, 2);
    const { pipeline } = fitFeaturePipeline(columns, spec, labels);
    expect(pipeline.categorical[0]?.reference).toBe('two year');
    expect(
      fitFeaturePipeline(columns, spec, labels, undefined, 'most_frequent').pipeline.categorical[1]
        ?.reference,
    ).toMatch(/north|south/);
    expect(codeOf(() => fitFeaturePipeline(columns, spec, labels, undefined, 'random' as 'first'))).toBe(
      'invalid_reference',
    );
  });

  it('imputes missing numerics with the mean and scores unseen levels as the reference', () => {
    const { columns, labels } = world(400, 3);
    const { pipeline } = fitFeaturePipeline(columns, spec, labels);
    const odd: FeatureColumns = {
      tenure: Float64Array.of(Number.NaN),
      charges: Float64Array.of(50),
      contract: ['lifetime'],
      region: [''],
    };
    const { X, unseenLevels } = designMatrix(pipeline, odd);
    expect(X[0]).toBe(0);
    expect(Array.from(X.subarray(2, 4))).toEqual([0, 0]);
    expect(unseenLevels).toBe(1);
  });

  it('drops constant features with a warning and refuses missing columns', () => {
    const { columns, labels } = world(200, 4);
    const flat = {
      ...columns,
      constant: new Float64Array(200).fill(3),
      single: new Array<string>(200).fill('x'),
    };
    const { pipeline, warnings } = fitFeaturePipeline(
      flat,
      { numeric: ['tenure', 'constant'], categorical: ['single'] },
      labels,
    );
    expect(pipeline.featureNames).toEqual(['tenure']);
    expect(warnings).toHaveLength(2);
    expect(codeOf(() => fitFeaturePipeline(columns, { numeric: ['age'], categorical: [] }, labels))).toBe(
      'unknown_feature',
    );
    expect(
      codeOf(() => fitFeaturePipeline(columns, { numeric: ['contract'], categorical: [] }, labels)),
    ).toBe('invalid_feature_column');
    // a name that reaches Object.prototype is not a column
    expect(
      codeOf(() => fitFeaturePipeline(columns, { numeric: ['__proto__'], categorical: [] }, labels)),
    ).toBe('unknown_feature');
    expect(
      codeOf(() => fitFeaturePipeline(columns, { numeric: ['toString'], categorical: [] }, labels)),
    ).toBe('unknown_feature');
  });
});

describe('supervised churn model', () => {
  it('learns the planted effects and reports holdout metrics', () => {
    const { columns, labels } = world(6000, 5);
    const fit = fitChurnModel(columns, labels, spec, { seed: 1 });
    expect(fit.converged).toBe(true);
    const coef = (name: string) =>
      fit.model.coefficients[fit.model.pipeline.featureNames.indexOf(name)] as number;
    expect(coef('tenure')).toBeLessThan(0);
    expect(coef('charges')).toBeGreaterThan(0);
    expect(coef('contract=monthly')).toBeGreaterThan(coef('contract=one year'));
    expect(fit.metrics.holdoutRows).toBe(1500);
    expect(fit.metrics.auc).toBeGreaterThan(0.7);
    expect(fit.metrics.calibration).toHaveLength(10);
    expect(fit.metrics.lift[0]?.lift).toBeGreaterThan(1.5);
  });

  it('scores identically after a JSON round trip of the model', () => {
    const { columns, labels } = world(2000, 6);
    const fit = fitChurnModel(columns, labels, spec);
    const stored = JSON.parse(JSON.stringify(fit.model)) as ChurnModel;
    const a = scoreChurn(fit.model, columns);
    const b = scoreChurn(stored, columns);
    expect(Array.from(b.probability)).toEqual(Array.from(a.probability));
  });

  it('gives each row its largest positive contributions with feature names', () => {
    const { columns, labels } = world(3000, 7);
    const fit = fitChurnModel(columns, labels, spec);
    const scores = scoreChurn(fit.model, columns);
    const i = (columns.contract as string[]).findIndex(
      (c, k) => c === 'monthly' && ((columns.tenure as Float64Array)[k] as number) < 5,
    );
    const reasons = scores.reasons(i, 3);
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.map((r) => r.feature)).toContain('contract=monthly');
    expect(reasons.find((r) => r.feature === 'tenure')?.direction).toBe('low');
    for (let k = 1; k < reasons.length; k++) {
      expect(reasons[k - 1]?.contribution).toBeGreaterThanOrEqual(reasons[k]?.contribution as number);
    }
    for (const r of reasons) expect(r.contribution).toBeGreaterThan(0);
    expect(scores.atRisk[i]).toBe((scores.probability[i] as number) >= 0.5 ? 1 : 0);
  });
});
