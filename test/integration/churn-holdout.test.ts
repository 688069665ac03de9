/**
 * The churn score against the heuristics it must beat, on real data: the full CDNOW log (as of
 * 1998-06-30, calibration to 1997-09-30, a 39-week holdout) and Online Retail (calibration to
 * 2011-09-09, holdout to 2011-12-09). The heuristic AUCs are recomputed here from the order lines
 * with hand-written SQL and a pairwise count, independently of the run's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { type MiningRunSummary, rfmStep, runMining } from '../../src/mining/steps/mine.ts';
import { valueStep } from '../../src/mining/steps/value-step.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const steps = [rfmStep, valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 0 })];

interface HeuristicRow {
  recency_days: number;
  purchases: number;
  churned: number;
}

/** Per customer with a sale by `cal`: days since the last purchase day, purchase days, and whether none follows by `asOf`. */
async function heuristicRows(db: Database, cal: string, asOf: string): Promise<HeuristicRow[]> {
  const rows = await db.all(
    `WITH days AS (
       SELECT DISTINCT customer_durable_key AS k, ordered_date AS d FROM core.fact_order_line
       WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $2::DATE),
     before AS (SELECT k, ($1::DATE - max(d))::INTEGER AS recency_days, count(*)::INTEGER AS purchases
                FROM days WHERE d <= $1::DATE GROUP BY k),
     after AS (SELECT DISTINCT k FROM days WHERE d > $1::DATE)
     SELECT b.recency_days, b.purchases, (a.k IS NULL)::INTEGER AS churned
     FROM before b LEFT JOIN after a USING (k)`,
    [cal, asOf],
  );
  return rows.map((r) => ({
    recency_days: Number(r.recency_days),
    purchases: Number(r.purchases),
    churned: Number(r.churned),
  }));
}

/** P(score of a churner > score of a stayer), ties counting one half: pairs counted by distinct score. */
function pairwiseAuc(scores: number[], churned: number[]): number {
  const byScore = new Map<number, [number, number]>();
  scores.forEach((s, i) => {
    const cell = byScore.get(s) ?? [0, 0];
    cell[churned[i] === 1 ? 0 : 1]++;
    byScore.set(s, cell);
  });
  const values = [...byScore.keys()].sort((a, b) => a - b);
  let stayersBelow = 0;
  let wins = 0;
  let churners = 0;
  let stayers = 0;
  for (const v of values) {
    const [c, s] = byScore.get(v) as [number, number];
    wins += c * stayersBelow + 0.5 * c * s;
    stayersBelow += s;
    churners += c;
    stayers += s;
  }
  return wins / (churners * stayers);
}

function heuristicAucs(rows: HeuristicRow[]): Record<string, number> {
  const y = rows.map((r) => r.churned);
  return {
    recency: pairwiseAuc(
      rows.map((r) => r.recency_days),
      y,
    ),
    frequency: pairwiseAuc(
      rows.map((r) => -r.purchases),
      y,
    ),
    frequency_per_recency: pairwiseAuc(
      rows.map((r) => -r.purchases / (r.recency_days + 30)),
      y,
    ),
  };
}

interface ChurnTable {
  heuristics: Record<string, number>;
  best_heuristic: number;
  churn_score: number;
}
const holdoutOf = (run: MiningRunSummary) =>
  (run.metrics.value as { holdout: { churn_auc: ChurnTable; chosen: string; calibration_end: string } })
    .holdout;

function checkTable(run: MiningRunSummary, independent: Record<string, number>, name: string): void {
  const table = holdoutOf(run).churn_auc;
  console.log(
    `${name}: churn score AUC ${table.churn_score} (model ${holdoutOf(run).chosen}); heuristics ${JSON.stringify(independent)}`,
  );
  for (const [k, v] of Object.entries(independent)) {
    // the run rounds to 4 decimals
    expect(Math.abs((table.heuristics[k] as number) - v), k).toBeLessThan(6e-5);
  }
  const best = Math.max(...Object.values(independent));
  expect(table.churn_score).toBeGreaterThanOrEqual(best - 5e-5);
}

const cdnow = haveData('cdnow/CDNOW_master.txt');
describe.skipIf(!cdnow)('churn score on the full CDNOW log', () => {
  let db: Database;
  let run: MiningRunSummary;
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: dataPath('cdnow'), profile: 'cdnow' });
    run = await runMining(db, { asOf: '1998-06-30', calibrationEnd: '1997-09-30', seed: 42 }, steps);
  }, 300_000);
  afterAll(() => db?.close());

  it('beats recency, frequency and frequency/(recency + 30 days) on the 39-week holdout', async () => {
    const independent = heuristicAucs(await heuristicRows(db, '1997-09-30', '1998-06-30'));
    // the figures this issue started from: 0.759 and 0.769
    expect(independent.recency).toBeCloseTo(0.759, 3);
    expect(independent.frequency_per_recency).toBeCloseTo(0.769, 3);
    checkTable(run, independent, 'CDNOW');
  });

  it('records every candidate model with its holdout figures, and BG/NBD’s 1 − P(alive) ranks below a coin', () => {
    const h = run.metrics.value as {
      holdout: {
        candidates: { model: string; fitted: boolean; mae: number; auc_one_minus_p_alive: number }[];
      };
    };
    const byModel = Object.fromEntries(h.holdout.candidates.map((c) => [c.model, c]));
    expect(Object.keys(byModel).sort()).toEqual(['bgnbd', 'mbgnbd', 'nbd', 'pareto-nbd']);
    for (const c of Object.values(byModel)) expect(c.fitted).toBe(true);
    expect(byModel.bgnbd?.auc_one_minus_p_alive).toBeLessThan(0.5);
    expect(byModel['pareto-nbd']?.auc_one_minus_p_alive).toBeGreaterThan(0.65);
  });
});

const retail = haveData('online-retail/online_retail.csv.gz');
describe.skipIf(!retail)('churn and CLV on Online Retail', () => {
  let db: Database;
  const runs: Record<string, MiningRunSummary> = {};
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: dataPath('online-retail'), profile: 'online-retail' });
    runs.holdout = await runMining(db, { asOf: '2011-12-09', calibrationEnd: '2011-09-09', seed: 42 }, steps);
    runs.september = await runMining(db, { asOf: '2011-09-09', seed: 42 }, steps);
    runs.last = await runMining(db, { seed: 42 }, steps);
  }, 600_000);
  afterAll(() => db?.close());

  it('the churn score beats the heuristics on the holdout to 2011-12-09', async () => {
    const independent = heuristicAucs(await heuristicRows(db, '2011-09-09', '2011-12-09'));
    checkTable(runs.holdout as MiningRunSummary, independent, 'Online Retail');
  });

  for (const name of ['september', 'last'] as const) {
    it(`scores every customer with churn and CLV as of ${name === 'september' ? '2011-09-09' : 'the last day'}, lapsed one-time buyers at risk`, async () => {
      const run = runs[name] as MiningRunSummary;
      const r = await db.one(
        `SELECT (SELECT count(*) FROM mining.customer_rfm WHERE run_id = $1) AS customers,
                (SELECT count(*) FROM mining.customer_churn WHERE run_id = $1 AND churn_probability BETWEEN 0 AND 1) AS churn,
                (SELECT count(*) FROM mining.customer_clv WHERE run_id = $1 AND clv >= 0) AS clv`,
        [run.run_id],
      );
      expect(Number(r?.customers)).toBeGreaterThan(3000);
      expect(Number(r?.churn)).toBe(Number(r?.customers));
      expect(Number(r?.clv)).toBe(Number(r?.customers));
      // one purchase day, none in the last 180 days
      const lapsed = await db.one(
        `SELECT count(*) AS n, count(*) FILTER (WHERE c.churn_probability = 0) AS at_zero,
                count(*) FILTER (WHERE c.churn_probability >= $2) AS at_risk
         FROM mining.customer_rfm f JOIN mining.customer_churn c USING (run_id, customer_durable_key)
         WHERE f.run_id = $1 AND f.btyd_frequency = 0 AND f.recency_days > 180`,
        [run.run_id, (run.params.value as { at_risk_threshold: number }).at_risk_threshold],
      );
      expect(Number(lapsed?.n)).toBeGreaterThan(100);
      expect(Number(lapsed?.at_zero)).toBeLessThan(Number(lapsed?.n));
      expect(Number(lapsed?.at_risk)).toBe(Number(lapsed?.n));
      const value = run.metrics.value as { warnings: string[]; model: string };
      // no dropout is identified in this window: the run says so instead of scoring silently
      expect(value.warnings.join('\n')).toMatch(/no dropout/);
    });
  }
});
