/**
 * `GET /v1/insights/churn/at-risk` and `/churn/quality`: the churn page's ranking by value at risk
 * and the quality of the churn scores. Quality is the churn model's stored metrics only for a
 * caller who sees every customer with no filter (they cover every customer); otherwise a backtest
 * computed inside the caller's scope, from the cube's churn_outcomes.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { atRiskThreshold } from '../../../mining/at-risk.ts';
import { calibrationTable, liftTable, rocAuc } from '../../../mining/models/evaluate.ts';
import type { ApiEnv } from '../../auth.ts';
import { validate } from '../../validate.ts';
import { type InsightRoutesOptions, jsonObject, num, readerFor, scopeFilters, str } from './read.ts';
import { scopeOf } from './scope.ts';

const Limit = z.coerce.number().int().min(1).max(1000);

export function churnRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const threshold = atRiskThreshold();

  /** Customers ranked by value at risk = CLV × churn probability (latest run). */
  app.get('/churn/at-risk', async function atRisk(c) {
    const limit = validate(Limit, c.req.query('limit') ?? '50');
    const read = readerFor(c, options);
    const filters = [
      ...scopeFilters(scopeOf(c)),
      { member: 'customer_scores.churn_probability', operator: 'set' },
      { member: 'customer_scores.clv', operator: 'set' },
    ];
    // grouped by the scores' key, one row per scored customer: the customer_scores.at_risk_list
    // rollup answers both row by row (the top N is an ORDER BY ... LIMIT over it), and the
    // per-customer value at risk is the sum over that one row
    const [rows, totals] = await Promise.all([
      read.rows(
        {
          dimensions: [
            'customer_scores.customer_key',
            'customers.customer_id',
            'customers.name',
            'customers.region',
            'customer_scores.rfm_segment',
            'customer_scores.clv',
            'customer_scores.churn_probability',
            'customer_scores.p_alive',
          ],
          measures: ['customer_scores.total_value_at_risk'],
          filters,
          order: [
            ['customer_scores.total_value_at_risk', 'desc'],
            ['customers.customer_id', 'asc'],
          ],
          limit,
        },
        { rollups: true },
      ),
      read.rows(
        { measures: ['customer_scores.total_value_at_risk', 'customer_scores.at_risk_count'], filters },
        { rollups: true },
      ),
    ]);
    return c.json({
      total_value_at_risk: num(totals[0]?.['customer_scores.total_value_at_risk']),
      at_risk_customers: Number(totals[0]?.['customer_scores.at_risk_count'] ?? 0),
      at_risk_threshold: threshold,
      customers: rows.map((r) => ({
        customer_id: str(r['customers.customer_id']),
        name: str(r['customers.name']),
        region: str(r['customers.region']),
        rfm_segment: str(r['customer_scores.rfm_segment']),
        clv: num(r['customer_scores.clv']),
        churn_probability: num(r['customer_scores.churn_probability']),
        p_alive: num(r['customer_scores.p_alive']),
        value_at_risk: num(r['customer_scores.total_value_at_risk']),
      })),
    });
  });

  /**
   * Churn model quality: the churn model's stored holdout metrics when it ran and the caller sees
   * every customer; otherwise a backtest of the latest run scored at least 28 days before the last
   * order, inside the caller's scope: label = no purchase after the run's as-of day.
   */
  app.get('/churn/quality', async function churnQuality(c) {
    const scope = scopeOf(c);
    const read = readerFor(c, options);
    const everyone =
      c.get('principal').regions === undefined && scope.regions === null && scope.segments === null;
    if (everyone) {
      const [latest] = await read.rows({
        dimensions: [
          'mining_runs.run_id',
          'mining_runs.as_of',
          'mining_runs.created_at',
          'mining_runs.churn_model',
        ],
        order: [
          ['mining_runs.as_of', 'desc'],
          ['mining_runs.created_at', 'desc'],
          ['mining_runs.run_id', 'desc'],
        ],
        limit: 1,
      });
      const model = jsonObject(latest?.['mining_runs.churn_model']);
      if (model && typeof model.auc === 'number') {
        return c.json({
          available: true,
          source: 'churn_model',
          run_id: Number(latest?.['mining_runs.run_id']),
          ...model,
        });
      }
    }
    const filters = scopeFilters(scope);
    // the latest backtestable run in scope (created_us orders runs of one as-of day like created_at,
    // and a rollup can store it)
    const [run] = await read.rows(
      {
        measures: ['churn_outcomes.count'],
        dimensions: [
          'churn_outcomes.run_id',
          'churn_outcomes.as_of',
          'churn_outcomes.created_us',
          'churn_outcomes.data_end',
        ],
        filters: [...filters, { member: 'churn_outcomes.backtestable', operator: 'equals', values: [true] }],
        order: [
          ['churn_outcomes.as_of', 'desc'],
          ['churn_outcomes.created_us', 'desc'],
          ['churn_outcomes.run_id', 'desc'],
        ],
        limit: 1,
      },
      { rollups: true },
    );
    if (!run) {
      return c.json({
        available: false,
        reason: 'no churn model metrics and no mining run at least 28 days before the last order to backtest',
      });
    }
    const runId = Number(run['churn_outcomes.run_id']);
    // the run's (score, outcome) pairs with how many customers have each (the churn_outcomes.backtest
    // rollup stores them), in score order, then outcome: each pair stands for its customers, so the
    // figures are the per-customer ones (deciles split ties the same way every time) without a
    // row per customer
    const [p = new Float64Array(), y = new Float64Array(), count = new Float64Array()] = await read.counts(
      ['churn_outcomes.churn_probability', 'churn_outcomes.churned'],
      'churn_outcomes.count',
      [...filters, { member: 'churn_outcomes.run_id', operator: 'equals', values: [runId] }],
      [
        ['churn_outcomes.churn_probability', 'asc'],
        ['churn_outcomes.churned', 'asc'],
      ],
    );
    let n = 0;
    let positives = 0;
    for (let g = 0; g < count.length; g++) {
      n += count[g] as number;
      positives += (count[g] as number) * (y[g] as number);
    }
    if (n === 0 || positives === 0 || positives === n) {
      return c.json({
        available: false,
        reason: 'the backtest needs both churned and retained customers in scope',
      });
    }
    return c.json({
      available: true,
      source: 'backtest',
      run_id: runId,
      as_of: run['churn_outcomes.as_of'],
      observed_until: run['churn_outcomes.data_end'],
      label: 'churned = no purchase after the run’s as-of day',
      customers: n,
      churn_rate: positives / n,
      auc: rocAuc(p, y, count),
      calibration: calibrationTable(p, y, 10, count),
      lift: liftTable(p, y, 10, count),
    });
  });

  return app;
}
