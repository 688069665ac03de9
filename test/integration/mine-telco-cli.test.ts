/**
 * `crm-bi load --profile telco && crm-bi mine` on IBM's Telco churn file: a warehouse of
 * subscriptions and no order lines mines end to end with the real binary. The holdout ROC AUC is
 * recomputed here from the stored scores and the held-out labels (pair counting, not the code's
 * rank formula), and the subscription CLV is checked against bounds worked out by hand.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/duckdb.ts';
import { stratifiedSplit } from '../../src/mining/models/evaluate.ts';
import { type MiningRunSummary, MiningRunSummarySchema } from '../../src/mining/steps/mine.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { tempDir } from '../helpers/warehouse.ts';

const FILE = 'telco/WA_Fn-UseC_-Telco-Customer-Churn.csv';
const ok = haveData(FILE);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');
const exec = promisify(execFile);

describe.skipIf(!ok)('crm-bi mine on a subscription-only warehouse (Telco)', () => {
  const tmp = tempDir('crm-bi-telco-mine-');
  const dbPath = join(tmp.dir, 'telco.duckdb');
  let run: MiningRunSummary;
  let stdout: string;
  let db: Database;

  beforeAll(async () => {
    await exec(process.execPath, [
      BIN,
      'load',
      '--source',
      dataPath(FILE),
      '--profile',
      'telco',
      '--db',
      dbPath,
    ]);
    const text = await exec(process.execPath, [BIN, 'mine', '--db', dbPath, '--seed', '7'], {
      encoding: 'utf8',
    });
    stdout = text.stdout;
    const json = await exec(
      process.execPath,
      [BIN, 'mine', '--db', dbPath, '--seed', '7', '--json', '--no-rollups'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    );
    run = MiningRunSummarySchema.parse(JSON.parse(json.stdout));
    db = await Database.open(dbPath);
  }, 180_000);
  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('succeeds and says which purchase steps it skipped and why', () => {
    expect(stdout).toMatch(/churn model on 7043 labelled customers, holdout ROC AUC 0\.\d{3}/);
    expect(run.metrics.skipped_steps).toEqual([
      { step: 'rfm', reason: 'the warehouse has no order lines: rfm needs purchases' },
      { step: 'segmentation', reason: 'the warehouse has no order lines: segmentation needs purchases' },
      { step: 'value', reason: 'the warehouse has no order lines: value needs purchases' },
    ]);
    for (const step of ['rfm', 'segmentation', 'value']) {
      expect(stdout).toContain(`skipped ${step}: the warehouse has no order lines`);
    }
  });

  it('reaches a holdout ROC AUC of at least 0.82, recomputed from the stored scores', async () => {
    const rows = await db.all(
      `SELECT s.churned, c.churn_probability AS p FROM core.fact_subscription s
       JOIN mining.customer_churn c ON c.customer_durable_key = s.customer_durable_key AND c.run_id = $1
       ORDER BY s.customer_durable_key`,
      [run.run_id],
    );
    expect(rows).toHaveLength(7043);
    const labels = Uint8Array.from(rows, (r) => (r.churned === true ? 1 : 0));
    const split = (run.params.churn_model as { split: { holdout_fraction: number; seed: number } }).split;
    const { holdout } = stratifiedSplit(labels, split.holdout_fraction, split.seed);
    // AUC = P(score of a churner > score of a stayer) + ½ P(tie), counted over every pair
    const pos: number[] = [];
    const neg: number[] = [];
    for (const i of holdout) (labels[i] === 1 ? pos : neg).push(Number(rows[i]?.p));
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    const auc = wins / (pos.length * neg.length);
    expect(pos.length + neg.length).toBe(1761);
    expect(auc).toBeGreaterThanOrEqual(0.82);
    const m = run.metrics.churn_model as { auc: number; calibration: unknown[]; lift: unknown[] };
    expect(m.auc).toBeCloseTo(auc, 9);
    expect(run.metrics.churn_auc).toBeCloseTo(auc, 9);
    expect(m.calibration.length).toBeGreaterThan(0);
    expect(m.lift).toHaveLength(10);
  });

  it('gives every customer a CLV: 0 for those who left, at most 12 discounted months of charges otherwise', async () => {
    const monthlyFactors = Array.from({ length: 12 }, (_, m) => 1.1 ** (-(m + 1) / 12));
    const maxMonths = monthlyFactors.reduce((a, b) => a + b, 0);
    const r = await db.one(
      `SELECT count(*)::INTEGER AS n,
        count(*) FILTER (WHERE s.churned AND v.clv = 0 AND v.expected_purchases = 0)::INTEGER AS left_zero,
        count(*) FILTER (WHERE s.churned)::INTEGER AS churned,
        count(*) FILTER (WHERE NOT s.churned AND v.clv > 0 AND v.clv <= s.monthly_charges * $2 + 1e-9
          AND v.expected_purchases > 0 AND v.expected_purchases <= 12)::INTEGER AS active_ok,
        count(*) FILTER (WHERE NOT s.churned)::INTEGER AS active,
        count(*) FILTER (WHERE v.expected_avg_value = s.monthly_charges::DOUBLE)::INTEGER AS charge_kept
       FROM core.fact_subscription s JOIN mining.customer_clv v
         ON v.customer_durable_key = s.customer_durable_key AND v.run_id = $1`,
      [run.run_id, maxMonths],
    );
    expect(r).toEqual({
      n: 7043,
      left_zero: 1869,
      churned: 1869,
      active_ok: 5174,
      active: 5174,
      charge_kept: 7043,
    });
  });

  it('expects longer remaining tenure from two-year contracts than from month-to-month ones', async () => {
    const byContract = await db.all(
      `SELECT s.contract, avg(v.expected_purchases) AS months FROM core.fact_subscription s
       JOIN mining.customer_clv v ON v.customer_durable_key = s.customer_durable_key AND v.run_id = $1
       WHERE NOT s.churned GROUP BY 1`,
      [run.run_id],
    );
    const months = (c: string) => Number(byContract.find((r) => r.contract === c)?.months);
    expect(months('Two year')).toBeGreaterThan(months('One year'));
    expect(months('One year')).toBeGreaterThan(months('Month-to-month'));
  });
});
