/**
 * The churn probability against the generator's ground truth. The synthetic CRM follows BG/NBD per
 * customer: purchases at rate lambda while alive, dropout only right after a purchase. So for a
 * customer scored at the end of the window, the true P(no purchase in the next H days) is 1 when
 * the customer has dropped out (truth_customers.csv: alive_at_end false) and exp(-lambda * H)
 * otherwise, exactly. The run's churn probability (trained on a holdout of H days) must be
 * calibrated to it in the large, and closer to it per customer (mean squared error) than simple
 * heuristics computed here: the holdout's churn rate for everyone, that rate per recency band and
 * one-time-buyer flag, and 1 − P(alive).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { type MiningRunSummary, rfmStep, runMining } from '../../src/mining/steps/mine.ts';
import { valueStep } from '../../src/mining/steps/value-step.ts';
import { tempDir } from '../helpers/warehouse.ts';

const HOLDOUT_DAYS = 183;
const THRESHOLD = 0.5;

/** Days since the last purchase, in the bands the recency heuristic pools customers by. */
const RECENCY_BAND = `CASE WHEN r <= 30 THEN 0 WHEN r <= 90 THEN 1 WHEN r <= 180 THEN 2 WHEN r <= 365 THEN 3 ELSE 4 END`;

interface Scored {
  p: number;
  pAlive: number;
  truth: number;
  band: string;
}

function mse(xs: number[], ys: number[]): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] as number) - (ys[i] as number)) ** 2;
  return s / xs.length;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

describe('churn probability against the synthetic CRM ground truth', () => {
  const tmp = tempDir();
  let db: Database;
  let gen: GenerateResult;
  let run: MiningRunSummary;
  let scored: Scored[];
  let bandRates: Map<string, number>;
  let holdoutRate: number;

  beforeAll(async () => {
    gen = await generate({ out: join(tmp.dir, 'crm'), customers: 20000, seed: 11, dirt: 0 });
    const end = gen.truth.window.end;
    const cal = new Date(Date.parse(`${end}T00:00:00Z`) - HOLDOUT_DAYS * 86_400_000)
      .toISOString()
      .slice(0, 10);
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: join(tmp.dir, 'crm'), profile: 'canonical' });
    run = await runMining(db, { period: 'week', seed: 1, asOf: end, calibrationEnd: cal }, [
      rfmStep,
      valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 0, atRiskThreshold: THRESHOLD }),
    ]);

    // the heuristics, from the order lines alone: the holdout's churn rate (no purchase in
    // (cal, end]) among the customers who bought by cal, overall and per recency band at cal ×
    // one-time buyer
    const days = `SELECT DISTINCT customer_durable_key AS k, ordered_date AS d FROM core.fact_order_line
                  WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL`;
    const rates = await db.all(
      `WITH days AS (${days}),
       before AS (SELECT k, ($1::DATE - max(d))::INTEGER AS r, count(*) AS n FROM days WHERE d <= $1::DATE GROUP BY k),
       after AS (SELECT DISTINCT k FROM days WHERE d > $1::DATE AND d <= $2::DATE)
       SELECT ${RECENCY_BAND} || '/' || (n = 1)::INTEGER AS band, count(*) AS customers,
              avg((a.k IS NULL)::INTEGER) AS churned
       FROM before b LEFT JOIN after a USING (k) GROUP BY ALL`,
      [cal, end],
    );
    bandRates = new Map(rates.map((r) => [String(r.band), Number(r.churned)]));
    const all = rates.reduce((s, r) => s + Number(r.customers), 0);
    holdoutRate = rates.reduce((s, r) => s + Number(r.churned) * Number(r.customers), 0) / all;

    // the truth per customer (generator output, read here, not by the warehouse)
    const csv = readFileSync(join(tmp.dir, 'crm', 'truth_customers.csv'), 'utf8')
      .trim()
      .split('\n');
    const header = (csv[0] as string).split(',');
    const [idCol, lambdaCol, aliveCol] = ['customer_id', 'lambda', 'alive_at_end'].map((c) =>
      header.indexOf(c),
    );
    const truth = new Map<string, number>();
    for (const line of csv.slice(1)) {
      const f = line.split(',');
      const alive = f[aliveCol as number] === 'true';
      truth.set(
        String(f[idCol as number]),
        alive ? Math.exp(-Number(f[lambdaCol as number]) * HOLDOUT_DAYS) : 1,
      );
    }

    const rows = await db.all(
      `WITH days AS (${days}),
       last AS (SELECT k, ($1::DATE - max(d))::INTEGER AS r, count(*) AS n FROM days WHERE d <= $1::DATE GROUP BY k)
       SELECT c.customer_id, s.churn_probability, s.p_alive, ${RECENCY_BAND} || '/' || (l.n = 1)::INTEGER AS band
       FROM mining.customer_churn s
       JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
       JOIN last l ON l.k = s.customer_durable_key
       WHERE s.run_id = $2`,
      [end, run.run_id],
    );
    scored = rows.map((r) => {
      const t = truth.get(String(r.customer_id));
      if (t === undefined) throw new Error(`no truth for ${r.customer_id}`);
      return { p: Number(r.churn_probability), pAlive: Number(r.p_alive), truth: t, band: String(r.band) };
    });
  }, 600_000);
  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('scores every customer who bought, with a churn score trained on the holdout', () => {
    const churn = (run.params.value as { churn: { horizon_days: number; source: string } }).churn;
    expect(churn.horizon_days).toBe(HOLDOUT_DAYS);
    expect(churn.source).toMatch(/logistic/);
    expect(scored.length).toBeGreaterThan(15_000);
  });

  it('is calibrated in the large, and flags about as many at risk as truly are', () => {
    const predicted = mean(scored.map((s) => s.p));
    const actual = mean(scored.map((s) => s.truth));
    const atRisk = mean(scored.map((s) => (s.p >= THRESHOLD ? 1 : 0)));
    const trulyAtRisk = mean(scored.map((s) => (s.truth >= THRESHOLD ? 1 : 0)));
    console.log(
      `mean churn probability ${predicted.toFixed(4)} vs true ${actual.toFixed(4)}; at risk ${atRisk.toFixed(4)} vs truly ${trulyAtRisk.toFixed(4)} (n = ${scored.length})`,
    );
    expect(Math.abs(predicted - actual)).toBeLessThan(0.03);
    // the count at the threshold is more sensitive than the mean (scores near 0.5 tip either way);
    // a score that flagged nearly everyone, or nearly no one, would miss by far more than this
    expect(Math.abs(atRisk - trulyAtRisk)).toBeLessThan(0.1);
  });

  it('is closer to the true probability per customer than the heuristics', () => {
    const truth = scored.map((s) => s.truth);
    const model = mse(
      scored.map((s) => s.p),
      truth,
    );
    const heuristics = {
      'holdout churn rate': mse(
        scored.map(() => holdoutRate),
        truth,
      ),
      'holdout churn rate by recency band and one-time buyer': mse(
        scored.map((s) => bandRates.get(s.band) ?? holdoutRate),
        truth,
      ),
      '1 - P(alive)': mse(
        scored.map((s) => 1 - s.pAlive),
        truth,
      ),
    };
    console.log(
      `mean squared error to the true probability: model ${model.toFixed(4)}; ${Object.entries(heuristics)
        .map(([k, v]) => `${k} ${v.toFixed(4)} (model ${(100 * (1 - model / v)).toFixed(1)}% lower)`)
        .join('; ')}`,
    );
    for (const [name, h] of Object.entries(heuristics)) expect(model, name).toBeLessThan(h);
  });
});
