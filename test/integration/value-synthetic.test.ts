import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { rocAuc } from '../../src/mining/models/evaluate.ts';
import { type MiningRunSummary, rfmStep, runMining } from '../../src/mining/steps/mine.ts';
import { valueStep } from '../../src/mining/steps/value-step.ts';
import { tempDir } from '../helpers/warehouse.ts';

// One latent population with known per-day BG/NBD parameters: the fit on the warehouse (period
// 'day') must find them, and P(alive) must rank the customers who truly dropped out lower.
describe('customer value on a synthetic CRM with known parameters', () => {
  const tmp = tempDir();
  let db: Database;
  let gen: GenerateResult;
  let run: MiningRunSummary;

  beforeAll(async () => {
    gen = await generate({ out: join(tmp.dir, 'crm'), customers: 20000, seed: 5, segments: 1, dirt: 0 });
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: join(tmp.dir, 'crm'), profile: 'canonical' });
    // the data follow BG/NBD, so this run asks for it by name (auto may pick a close rival)
    run = await runMining(db, { period: 'day', seed: 1, model: 'bgnbd' }, [
      rfmStep,
      valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 0, atRiskThreshold: 0.5 }),
    ]);
  }, 300_000);
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('recovers r, alpha, a and b within four standard errors', () => {
    const truth = gen.truth.segments[0]?.bgnbd as { r: number; alpha: number; a: number; b: number };
    const fit = (
      run.params.value as { bgnbd: Record<string, number> & { standard_errors: Record<string, number> } }
    ).bgnbd;
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const se = fit.standard_errors[k] as number;
      expect(
        Math.abs((fit[k] as number) - truth[k]),
        `${k}: fitted ${fit[k]} ± ${se}, true ${truth[k]}`,
      ).toBeLessThan(4 * se);
    }
  });

  it('P(alive) ranks truly dropped-out customers below the alive ones', async () => {
    const csv = readFileSync(join(tmp.dir, 'crm', 'truth_customers.csv'), 'utf8')
      .trim()
      .split('\n');
    const header = (csv[0] as string).split(',');
    const idCol = header.indexOf('customer_id');
    const aliveCol = header.indexOf('alive_at_end');
    const alive = new Map(
      csv
        .slice(1)
        .map((l) => l.split(','))
        .map((f) => [f[idCol], f[aliveCol] === 'true']),
    );
    const rows = await db.all(
      `SELECT c.customer_id, s.p_alive FROM mining.customer_churn s
       JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
       WHERE s.run_id = $1 AND s.customer_durable_key IN
         (SELECT customer_durable_key FROM mining.customer_rfm WHERE run_id = $1 AND btyd_frequency > 0)`,
      [run.run_id],
    );
    const p = rows.map((r) => Number(r.p_alive));
    const labels = rows.map((r) => (alive.get(String(r.customer_id)) ? 1 : 0));
    const auc = rocAuc(p, labels);
    console.log(`P(alive) AUC for alive at the end, repeat buyers: ${auc.toFixed(3)} (n = ${rows.length})`);
    // Among repeat buyers P(alive) < 1 carries the signal; 0.5 would be a coin toss.
    expect(auc).toBeGreaterThan(0.8);
  });

  it('with a calibration end, predicts the holdout repeat purchases of a correctly specified model', async () => {
    const steps = [
      rfmStep,
      valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 0, atRiskThreshold: 0.5 }),
    ];
    const cal = await runMining(
      db,
      { period: 'week', seed: 1, calibrationEnd: '2024-06-30', model: 'bgnbd' },
      steps,
    );
    type Holdout = {
      predicted_total: number;
      actual_total: number;
      mae: number;
      tracking: Record<string, number[]>;
    };
    const h = (cal.metrics.value as unknown as { holdout: Holdout }).holdout;
    console.log(`holdout: predicted ${h.predicted_total}, actual ${h.actual_total}, MAE ${h.mae}`);
    // The data follow BG/NBD exactly (up to day resolution), so the total over 26 weeks should be
    // within 10%; a wrong time unit or a wrong conditional expectation misses by far more.
    expect(Math.abs(h.predicted_total - h.actual_total) / h.actual_total).toBeLessThan(0.1);
    const ce = h.tracking.cumulative_expected as number[];
    const ca = h.tracking.cumulative_actual as number[];
    expect(ce.length).toBe(ca.length);
    expect(Math.abs((ce.at(-1) as number) - (ca.at(-1) as number)) / (ca.at(-1) as number)).toBeLessThan(0.1);
  });

  it('stores a P10–P90 band around each CLV and quantile tiers', async () => {
    const steps = [
      rfmStep,
      valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 40, atRiskThreshold: 0.5 }),
    ];
    // the P10–P90 band is drawn for BG/NBD
    const banded = await runMining(db, { period: 'day', seed: 3, model: 'bgnbd' }, steps);
    const r = await db.one(
      `SELECT count(*) AS n,
              count(*) FILTER (WHERE clv_p10 <= clv_p90) AS ordered,
              count(*) FILTER (WHERE clv BETWEEN clv_p10 * 0.999 AND clv_p90 * 1.001) AS inside,
              count(*) FILTER (WHERE clv_tier = 'Platinum') AS platinum,
              count(*) FILTER (WHERE clv_tier = 'Bronze') AS bronze
       FROM mining.customer_clv WHERE run_id = $1`,
      [banded.run_id],
    );
    const n = Number(r?.n);
    expect(Number(r?.ordered)).toBe(n);
    // the point estimate sits inside its own parameter-uncertainty band for nearly everyone
    expect(Number(r?.inside) / n).toBeGreaterThan(0.95);
    // tiers are quantiles: top 10% Platinum, bottom 40% Bronze (ties go to the lower tier)
    expect(Number(r?.platinum) / n).toBeLessThanOrEqual(0.1);
    expect(Number(r?.platinum) / n).toBeGreaterThan(0.08);
    expect(Number(r?.bronze) / n).toBeGreaterThanOrEqual(0.4);
  });

  it('writes one churn and one CLV row per scored customer, with no NaN', async () => {
    const r = await db.one(
      `SELECT (SELECT count(*) FROM mining.customer_rfm WHERE run_id = $1) AS rfm,
              (SELECT count(*) FROM mining.customer_churn WHERE run_id = $1) AS churn,
              (SELECT count(*) FROM mining.customer_clv WHERE run_id = $1) AS clv,
              (SELECT count(*) FROM mining.customer_clv WHERE run_id = $1 AND (isnan(clv) OR clv < 0)) AS bad,
              (SELECT count(*) FROM mining.customer_churn WHERE run_id = $1
                 AND NOT (churn_probability BETWEEN 0 AND 1 AND p_alive BETWEEN 0 AND 1)) AS inconsistent`,
      [run.run_id],
    );
    expect(r).toMatchObject({ churn: r?.rfm, clv: r?.rfm, bad: 0, inconsistent: 0 });
  });
});
