/**
 * Supervised churn model on IBM's Telco customer churn data (7,043 customers, 26.5% churned),
 * read with DuckDB as the warehouse would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/duckdb.ts';
import {
  type ChurnFit,
  type ChurnModel,
  type FeatureColumns,
  fitChurnModel,
  scoreChurn,
} from '../../src/mining/models/churn.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const FILE = 'telco/WA_Fn-UseC_-Telco-Customer-Churn.csv';
const ok = haveData(FILE);

const NUMERIC = ['tenure', 'MonthlyCharges', 'TotalCharges', 'SeniorCitizen'];
const CATEGORICAL = [
  'gender',
  'Partner',
  'Dependents',
  'PhoneService',
  'MultipleLines',
  'InternetService',
  'OnlineSecurity',
  'OnlineBackup',
  'DeviceProtection',
  'TechSupport',
  'StreamingTV',
  'StreamingMovies',
  'Contract',
  'PaperlessBilling',
  'PaymentMethod',
];

describe.skipIf(!ok)('Telco churn', () => {
  let db: Database;
  let columns: FeatureColumns;
  let labels: Uint8Array;
  let fit: ChurnFit;
  beforeAll(async () => {
    db = await Database.open(':memory:');
    // all_varchar: DuckDB would otherwise turn Yes/No into booleans. TotalCharges is ' ' for the
    // 11 customers with tenure 0, who have not been billed yet: 0, not missing.
    const rows = await db.all(
      `SELECT * REPLACE (
         CAST(tenure AS DOUBLE) AS tenure,
         CAST(MonthlyCharges AS DOUBLE) AS MonthlyCharges,
         CAST(SeniorCitizen AS DOUBLE) AS SeniorCitizen,
         COALESCE(TRY_CAST(NULLIF(TRIM(TotalCharges), '') AS DOUBLE), 0) AS TotalCharges)
       FROM read_csv($1, header = true, all_varchar = true)
       ORDER BY customerID`,
      [dataPath(FILE)],
    );
    const cols: Record<string, Float64Array | string[]> = {};
    for (const c of NUMERIC) cols[c] = Float64Array.from(rows, (r) => r[c] as number);
    for (const c of CATEGORICAL) cols[c] = rows.map((r) => String(r[c]));
    columns = cols;
    labels = Uint8Array.from(rows, (r) => (r.Churn === 'Yes' ? 1 : 0));
    fit = fitChurnModel(columns, labels, { numeric: NUMERIC, categorical: CATEGORICAL }, { seed: 42 });
  });
  afterAll(() => db?.close());

  it('reads every customer', () => {
    expect(labels.length).toBe(7043);
    expect(labels.reduce((s, v) => s + v, 0)).toBe(1869);
  });

  it('separates churners on the holdout about as well as published logistic regressions', () => {
    // Published logistic-regression results on this dataset report a holdout ROC AUC around 0.84.
    // The floor of 0.80 leaves room for the split (the AUC's standard error on 1,761 holdout rows is
    // about 0.01) and still fails a model that learned little beyond tenure and contract (those two
    // alone give 0.786 on this split).
    expect(fit.converged).toBe(true);
    expect(fit.metrics.holdoutRows).toBe(1761);
    expect(fit.metrics.holdoutPositiveRate).toBeCloseTo(0.2652, 3);
    expect(fit.metrics.auc).toBeGreaterThan(0.8);
    console.info(
      `Telco holdout ROC AUC ${fit.metrics.auc.toFixed(4)}, F1 ${fit.metrics.atThreshold.f1.toFixed(3)}`,
    );
  });

  it('is calibrated by decile and concentrates churners in the top decile', () => {
    for (const row of fit.metrics.calibration) {
      expect(Math.abs(row.meanPredicted - row.observedRate)).toBeLessThan(0.1);
    }
    expect(fit.metrics.lift[0]?.lift).toBeGreaterThan(2.5);
    expect(fit.metrics.lift[9]?.cumulativeCapture).toBeCloseTo(1, 12);
    const m = fit.metrics.atThreshold;
    expect(m.tp + m.fp + m.tn + m.fn).toBe(1761);
    expect(m.precision).toBeGreaterThan(0.5);
  });

  it('learns the known drivers: short tenure and month-to-month contracts raise churn', () => {
    const names = fit.model.pipeline.featureNames;
    const coef = (name: string) => fit.model.coefficients[names.indexOf(name)] as number;
    expect(names).toContain('Contract=Month-to-month');
    expect(fit.model.pipeline.categorical.find((c) => c.name === 'Contract')?.reference).toBe('Two year');
    expect(coef('Contract=Month-to-month')).toBeGreaterThan(coef('Contract=One year'));
    expect(coef('Contract=One year')).toBeGreaterThan(0);
    expect(coef('tenure')).toBeLessThan(0);
  });

  it('scores the same from the stored model and explains a risky customer', () => {
    const stored = JSON.parse(JSON.stringify(fit.model)) as ChurnModel;
    const scores = scoreChurn(stored, columns);
    const again = scoreChurn(fit.model, columns);
    expect(Array.from(scores.probability)).toEqual(Array.from(again.probability));
    let riskiest = 0;
    scores.probability.forEach((p, i) => {
      if (p > (scores.probability[riskiest] as number)) riskiest = i;
    });
    const reasons = scores.reasons(riskiest);
    expect(reasons).toHaveLength(3);
    expect(reasons.every((r) => r.contribution > 0)).toBe(true);
    expect(scores.atRisk[riskiest]).toBe(1);
  });
});
