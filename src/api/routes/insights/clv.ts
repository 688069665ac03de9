/**
 * `GET /v1/insights/distribution`, `/clv/pareto`, `/clv/alive-matrix`, `/clv/report-card`: the CLV
 * page's figures, read from the cube (customer_scores of the latest run, mining_runs for the
 * holdout check, which covers every customer and so is withheld from a region-limited token).
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { CrmBiError } from '../../../errors.ts';
import type { ApiEnv } from '../../auth.ts';
import { validate } from '../../validate.ts';
import { histogram, histogramOfCounts, paretoCurve, quantileSorted, sortedAscending } from './curves.ts';
import { type InsightRoutesOptions, jsonObject, num, type Reader, readerFor, scopeFilters } from './read.ts';
import { scopeOf } from './scope.ts';

const Bins = z.coerce.number().int().min(2).max(200);
const Measure = z.enum(['clv', 'p_alive', 'churn_probability']);

/** Where each score of the latest run is read one value per customer (the narrow cubes). */
const SCORE_MEMBER = {
  clv: 'clv_latest.clv',
  p_alive: 'churn_latest.p_alive',
  churn_probability: 'churn_latest.churn_probability',
} as const;

/** The bins of [0, 1] the model counts P(alive) in (churn_latest.p_alive_bin): the default, and the churn page's. */
const P_ALIVE_BINS = { bins: 20, member: 'churn_latest.p_alive_bin' } as const;

export function clvRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  // every CLV in scope, lowest first: the warehouse sorts (off the server's one JavaScript thread),
  // and the distribution and the Pareto curve, asked together by the CLV page, share the one read
  const clvAscending = async (c: Context<ApiEnv>) => {
    const [values = new Float64Array()] = await readerFor(c, options).numbers(
      [SCORE_MEMBER.clv],
      scopeFilters(scopeOf(c)),
      [[SCORE_MEMBER.clv, 'asc']],
    );
    return values;
  };

  /** Histogram of a score of the latest run over [min(0, lowest), 99th percentile] (CLV) or [0, 1]. */
  app.get('/distribution', async function distribution(c) {
    const measure = validate(Measure, c.req.query('measure'));
    const bins = validate(Bins, c.req.query('bins') ?? '20');
    if (measure === 'p_alive' && bins === P_ALIVE_BINS.bins) {
      // customers per bin, counted by the warehouse (the churn_latest.p_alive_bins rollup)
      const [index = new Float64Array(), count = new Float64Array()] = await readerFor(c, options).counts(
        [P_ALIVE_BINS.member],
        'churn_latest.count',
        scopeFilters(scopeOf(c)),
      );
      return c.json({ measure, ...histogramOfCounts(index, count, bins, 0, 1) });
    }
    if (measure !== 'clv') {
      const [values = new Float64Array()] = await readerFor(c, options).numbers(
        [SCORE_MEMBER[measure]],
        scopeFilters(scopeOf(c)),
      );
      return c.json({ measure, ...histogram(values, bins, 0, 1) });
    }
    const sorted = sortedAscending(await clvAscending(c));
    const lo = Math.min(0, sorted[0] ?? 0);
    const hi = sorted.length === 0 ? 1 : Math.max(quantileSorted(sorted, 0.99), 1e-9);
    return c.json({ measure, ...histogram(sorted, bins, lo, hi) });
  });

  /** Share of customers (sorted by CLV, highest first) vs. share of total CLV, in 100 steps. */
  app.get('/clv/pareto', async function pareto(c) {
    return c.json(paretoCurve(await clvAscending(c)));
  });

  /** Mean P(alive) by repeat purchases (x) × recency band (t_x as a share of the customer's age T). */
  app.get('/clv/alive-matrix', async function aliveMatrix(c) {
    const rows = await readerFor(c, options).rows(
      {
        measures: ['customer_scores.avg_p_alive', 'customer_scores.churn_scored'],
        dimensions: ['customer_scores.frequency_band', 'customer_scores.recency_band'],
        filters: [
          ...scopeFilters(scopeOf(c)),
          // has_churn_score rather than churn_probability `set`: the alive_matrix rollup holds it
          { member: 'customer_scores.has_churn_score', operator: 'equals', values: [true] },
        ],
      },
      { rollups: true },
    );
    return c.json({
      frequency: ['0', '1', '2', '3', '4–5', '6–9', '10+'],
      recency: ['no repeat', '0–20%', '20–40%', '40–60%', '60–80%', '80–100%'],
      cells: rows.map((r) => ({
        frequency: String(r['customer_scores.frequency_band']),
        recency: String(r['customer_scores.recency_band']),
        p_alive: num(r['customer_scores.avg_p_alive']),
        customers: Number(r['customer_scores.churn_scored']),
      })),
    });
  });

  /** The CLV model's holdout check (mine --calibration-end): tracking curve, MAE, bias. */
  app.get('/clv/report-card', async function reportCard(c) {
    let runs: Awaited<ReturnType<Reader['rows']>>;
    try {
      runs = await readerFor(c, options).rows({
        dimensions: [
          'mining_runs.run_id',
          'mining_runs.as_of',
          'mining_runs.created_at',
          'mining_runs.clv_holdout',
        ],
        filters: [{ member: 'mining_runs.clv_holdout', operator: 'set' }],
        // one row per run already (run_id is the key): no GROUP BY to pay for
        ungrouped: true,
        order: [
          ['mining_runs.as_of', 'desc'],
          ['mining_runs.created_at', 'desc'],
          ['mining_runs.run_id', 'desc'],
        ],
        limit: 1000,
      });
    } catch (e) {
      if (e instanceof CrmBiError && e.code === 'security_denied') {
        return c.json({
          available: false,
          reason:
            'the holdout check covers customers of every region, so a region-limited token cannot see it',
        });
      }
      throw e;
    }
    for (const r of runs) {
      const holdout = jsonObject(r['mining_runs.clv_holdout']);
      if (!holdout || holdout.skipped || !holdout.tracking) continue;
      const t = holdout.tracking as {
        start: string;
        period: string;
        calibration_periods: number;
        cumulative_expected: number[];
        cumulative_actual: number[];
      };
      return c.json({
        available: true,
        run_id: Number(r['mining_runs.run_id']),
        as_of: r['mining_runs.as_of'],
        calibration_end: holdout.calibration_end,
        holdout_periods: holdout.holdout_periods,
        customers: holdout.customers,
        predicted_total: holdout.predicted_total,
        actual_total: holdout.actual_total,
        mae: holdout.mae,
        rmse: holdout.rmse,
        bias: holdout.bias,
        tracking: {
          start: t.start,
          period: t.period,
          calibration_periods: t.calibration_periods,
          points: t.cumulative_expected.map((e, i) => ({
            period: i + 1,
            expected: e,
            actual: t.cumulative_actual[i] ?? null,
          })),
        },
      });
    }
    return c.json({
      available: false,
      reason: 'no mining run has a holdout check; run crm-bi mine --calibration-end YYYY-MM-DD',
    });
  });

  return app;
}
