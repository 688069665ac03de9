/**
 * The baseline of the insights bench: the insights routes as they were before they read through
 * the cube (hand-written DuckDB SQL with its own region filter), kept verbatim apart from the
 * response cache and the role check, so bench/dashboards.bench.ts can time the same figures both ways
 * in one run. Not served by the API.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../src/api/auth.ts';
import { apiError } from '../src/api/errors.ts';
import { validate } from '../src/api/validate.ts';
import type { Database, Row } from '../src/db/duckdb.ts';
import { calibrationTable, liftTable, rocAuc } from '../src/mining/models/evaluate.ts';
import { periodOf, previousPeriod, type Scope, scopeOf, scopeSql } from './insights-sql-scope.ts';

export interface InsightRoutesOptions {
  readonly db: () => Database;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function parseJson(v: unknown): Record<string, unknown> {
  if (typeof v !== 'string') return (v as Record<string, unknown>) ?? {};
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Active, new (first order ever in the period), returning and retained customers of a period. */
async function periodCustomers(db: Database, scope: Scope, p: { from: string; to: string }): Promise<Row> {
  const s = scopeSql(scope, 3);
  const row = await db.one(
    `WITH scope AS (${s.sql}),
     firsts AS (SELECT customer_durable_key, min(ordered_at) AS first_at FROM core.fact_order_line
                WHERE customer_durable_key IN (SELECT customer_durable_key FROM scope) GROUP BY 1),
     cur AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
             WHERE ordered_at >= $1::DATE AND ordered_at < $2::DATE + 1
               AND customer_durable_key IN (SELECT customer_durable_key FROM scope)),
     prev AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
              WHERE ordered_at >= $5::DATE AND ordered_at < $6::DATE + 1
                AND customer_durable_key IN (SELECT customer_durable_key FROM scope))
     SELECT (SELECT count(*) FROM cur) AS active,
            (SELECT count(*) FROM cur JOIN firsts USING (customer_durable_key) WHERE first_at >= $1::DATE) AS new,
            (SELECT count(*) FROM prev) AS previous_active,
            (SELECT count(*) FROM prev WHERE customer_durable_key IN (SELECT customer_durable_key FROM cur)) AS retained`,
    [p.from, p.to, ...s.params, ...Object.values(previousPeriod(p))],
  );
  const active = Number(row?.active ?? 0);
  const fresh = Number(row?.new ?? 0);
  const previousActive = Number(row?.previous_active ?? 0);
  const retained = Number(row?.retained ?? 0);
  return {
    from: p.from,
    to: p.to,
    active,
    new: fresh,
    returning: active - fresh,
    previous_active: previousActive,
    retained,
    retention: previousActive === 0 ? null : retained / previousActive,
  };
}

/** Mean CLV of the customers in scope for the latest 12 runs that scored CLV, newest first. */
async function clvByRun(db: Database, scope: Scope): Promise<Row[]> {
  const s = scopeSql(scope, 1);
  return db.all(
    `WITH scope AS (${s.sql}),
     runs AS (SELECT DISTINCT run_id FROM mining.customer_clv ORDER BY run_id DESC LIMIT 12)
     SELECT v.run_id, any_value(v.as_of)::VARCHAR AS as_of, avg(v.clv) AS avg_clv, sum(v.clv) AS total_clv, count(*) AS customers
     FROM mining.customer_clv v WHERE v.run_id IN (SELECT run_id FROM runs)
       AND v.customer_durable_key IN (SELECT customer_durable_key FROM scope)
     GROUP BY v.run_id ORDER BY v.run_id DESC`,
    s.params,
  );
}

const Bins = z.coerce.number().int().min(2).max(200);
const Limit = z.coerce.number().int().min(1).max(1000);
const SCORE_COLUMNS = {
  clv: 'SELECT customer_durable_key, clv AS v FROM mining.customer_clv WHERE run_id = (SELECT max(run_id) FROM mining.customer_clv)',
  p_alive:
    'SELECT customer_durable_key, p_alive AS v FROM mining.customer_churn WHERE run_id = (SELECT max(run_id) FROM mining.customer_churn)',
  churn_probability:
    'SELECT customer_durable_key, churn_probability AS v FROM mining.customer_churn WHERE run_id = (SELECT max(run_id) FROM mining.customer_churn)',
} as const;
const Measure = z.enum(Object.keys(SCORE_COLUMNS) as [keyof typeof SCORE_COLUMNS]);

const LATEST = (table: string) => `(SELECT max(run_id) FROM mining.${table})`;

export function insightSqlRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** Period KPIs the cube cannot give, for the period and the one before it, and mean CLV by run. */
  app.get('/overview', async function overview(c) {
    const scope = scopeOf(c);
    const period = periodOf(scope);
    const db = options.db();
    const current = await periodCustomers(db, scope, period);
    const previous = await periodCustomers(db, scope, previousPeriod(period));
    const runs = (await clvByRun(db, scope)).map((r) => ({
      run_id: Number(r.run_id),
      as_of: r.as_of,
      avg_clv: num(r.avg_clv),
      total_clv: num(r.total_clv),
      customers: Number(r.customers),
    }));
    const s = scopeSql(scope, 3);
    const monthly = await db.all(
      `WITH scope AS (${s.sql}),
       firsts AS (SELECT customer_durable_key, min(ordered_at) AS first_at FROM core.fact_order_line
                  WHERE customer_durable_key IN (SELECT customer_durable_key FROM scope) GROUP BY 1),
       months AS (SELECT strftime(m, '%Y-%m') AS month
                  FROM generate_series(date_trunc('month', $1::DATE), date_trunc('month', $2::DATE), INTERVAL 1 MONTH) t(m)),
       counts AS (SELECT strftime(date_trunc('month', first_at), '%Y-%m') AS month, count(*) AS new
                  FROM firsts WHERE first_at >= $1::DATE AND first_at < $2::DATE + 1 GROUP BY 1)
       SELECT months.month, coalesce(counts.new, 0) AS new FROM months LEFT JOIN counts USING (month) ORDER BY 1`,
      [period.from, period.to, ...s.params],
    );
    return c.json({
      current,
      previous,
      new_by_month: monthly.map((r) => ({ month: String(r.month), new: Number(r.new) })),
      clv: { latest: runs[0] ?? null, previous: runs[1] ?? null, runs: [...runs].reverse() },
    });
  });

  /** Histogram of a score of the latest run over [0, 99th percentile] (CLV) or [0, 1]. */
  app.get('/distribution', async function distribution(c) {
    const measure = validate(Measure, c.req.query('measure'));
    const bins = validate(Bins, c.req.query('bins') ?? '20');
    const s = scopeSql(scopeOf(c), 2);
    const rows = await options.db().all(
      `WITH scope AS (${s.sql}),
       v AS (SELECT x.v FROM (${SCORE_COLUMNS[measure]}) x
             WHERE x.customer_durable_key IN (SELECT customer_durable_key FROM scope) AND x.v IS NOT NULL),
       r AS (SELECT ${measure === 'clv' ? 'least(0, min(v))' : '0'}::DOUBLE AS lo,
                    ${measure === 'clv' ? 'greatest(quantile_cont(v, 0.99), 1e-9)' : '1'}::DOUBLE AS hi,
                    count(*) AS n FROM v)
       SELECT least($1 - 1, greatest(0, floor((v.v - r.lo) / ((r.hi - r.lo) / $1))))::INTEGER AS bin,
              count(*) AS count, any_value(r.lo) AS lo, any_value(r.hi) AS hi,
              count(*) FILTER (WHERE v.v > r.hi) AS above
       FROM v, r GROUP BY 1 ORDER BY 1`,
      [bins, ...s.params],
    );
    const lo = num(rows[0]?.lo) ?? 0;
    const hi = num(rows[0]?.hi) ?? 1;
    const width = (hi - lo) / bins;
    const counts = new Array<number>(bins).fill(0);
    let above = 0;
    for (const r of rows) {
      counts[Number(r.bin)] = Number(r.count);
      above += Number(r.above);
    }
    return c.json({
      measure,
      customers: counts.reduce((a, b) => a + b, 0),
      above_range: above,
      bins: counts.map((count, i) => ({ x1: lo + i * width, x2: lo + (i + 1) * width, count })),
    });
  });

  /** Share of customers (sorted by CLV, highest first) vs. share of total CLV, in 100 steps. */
  app.get('/clv/pareto', async function pareto(c) {
    const s = scopeSql(scopeOf(c), 1);
    const rows = await options.db().all(
      `WITH scope AS (${s.sql}),
       v AS (SELECT greatest(clv, 0) AS clv FROM mining.customer_clv
             WHERE run_id = ${LATEST('customer_clv')} AND clv IS NOT NULL
               AND customer_durable_key IN (SELECT customer_durable_key FROM scope)),
       ranked AS (SELECT row_number() OVER (ORDER BY clv DESC) AS rn, count(*) OVER () AS n,
                         sum(clv) OVER (ORDER BY clv DESC ROWS UNBOUNDED PRECEDING) AS cum,
                         sum(clv) OVER () AS total FROM v)
       SELECT ceil(100.0 * rn / n)::INTEGER AS pct, max(cum / NULLIF(total, 0)) AS value_share, any_value(n) AS n
       FROM ranked GROUP BY 1 ORDER BY 1`,
      s.params,
    );
    const points = [
      { customer_share: 0, value_share: 0 },
      ...rows.map((r) => ({ customer_share: Number(r.pct) / 100, value_share: num(r.value_share) ?? 0 })),
    ];
    const top20 = points.find((p) => p.customer_share >= 0.2)?.value_share ?? null;
    return c.json({ customers: Number(rows[0]?.n ?? 0), top_20_percent_share: top20, points });
  });

  /** The CLV model's holdout check (mine --calibration-end): tracking curve, MAE, bias. */
  app.get('/clv/report-card', async function reportCard(c) {
    const runs = await options
      .db()
      .all('SELECT run_id, as_of::VARCHAR AS as_of, metrics FROM mining.mining_run ORDER BY run_id DESC');
    for (const r of runs) {
      const holdout = (parseJson(r.metrics).value as Record<string, unknown> | undefined)?.holdout as
        | Record<string, unknown>
        | undefined;
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
        run_id: Number(r.run_id),
        as_of: r.as_of,
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

  /** Mean P(alive) by repeat purchases (x) × recency band (t_x as a share of the customer's age T). */
  app.get('/clv/alive-matrix', async function aliveMatrix(c) {
    const s = scopeSql(scopeOf(c), 1);
    const rows = await options.db().all(
      `WITH scope AS (${s.sql})
       SELECT CASE WHEN r.btyd_frequency >= 10 THEN '10+' WHEN r.btyd_frequency >= 6 THEN '6–9'
                   WHEN r.btyd_frequency >= 4 THEN '4–5' ELSE r.btyd_frequency::INTEGER::VARCHAR END AS frequency,
              CASE WHEN r.btyd_frequency = 0 THEN 'no repeat'
                   ELSE (least(4, floor(5 * r.btyd_recency / NULLIF(r.btyd_t, 0)))::INTEGER * 20)::VARCHAR || '–'
                        || ((least(4, floor(5 * r.btyd_recency / NULLIF(r.btyd_t, 0)))::INTEGER + 1) * 20)::VARCHAR || '%'
              END AS recency,
              avg(ch.p_alive) AS p_alive, count(*) AS n
       FROM mining.customer_rfm r
       JOIN mining.customer_churn ch ON ch.run_id = r.run_id AND ch.customer_durable_key = r.customer_durable_key
       WHERE r.run_id = ${LATEST('customer_churn')} AND r.btyd_frequency IS NOT NULL
         AND r.customer_durable_key IN (SELECT customer_durable_key FROM scope)
       GROUP BY 1, 2`,
      s.params,
    );
    return c.json({
      frequency: ['0', '1', '2', '3', '4–5', '6–9', '10+'],
      recency: ['no repeat', '0–20%', '20–40%', '40–60%', '60–80%', '80–100%'],
      cells: rows.map((r) => ({
        frequency: String(r.frequency),
        recency: String(r.recency),
        p_alive: num(r.p_alive),
        customers: Number(r.n),
      })),
    });
  });

  /** Customers ranked by value at risk = CLV × churn probability (latest run). */
  app.get('/churn/at-risk', async function atRisk(c) {
    const limit = validate(Limit, c.req.query('limit') ?? '50');
    const s = scopeSql(scopeOf(c), 2);
    const rows = await options.db().all(
      `WITH scope AS (${s.sql})
       SELECT d.customer_id, d.name, d.region, rs.rfm_segment, v.clv, ch.churn_probability, ch.p_alive,
              v.clv * ch.churn_probability AS value_at_risk
       FROM mining.customer_churn ch
       JOIN mining.customer_clv v ON v.run_id = ${LATEST('customer_clv')} AND v.customer_durable_key = ch.customer_durable_key
       JOIN core.dim_customer d ON d.customer_durable_key = ch.customer_durable_key AND d.is_current
       LEFT JOIN mining.customer_rfm rs ON rs.run_id = ${LATEST('customer_rfm')} AND rs.customer_durable_key = ch.customer_durable_key
       WHERE ch.run_id = ${LATEST('customer_churn')}
         AND ch.customer_durable_key IN (SELECT customer_durable_key FROM scope)
       ORDER BY value_at_risk DESC NULLS LAST, d.customer_id LIMIT $1`,
      [limit, ...s.params],
    );
    const s1 = scopeSql(scopeOf(c), 1);
    const total = await options.db().one(
      `WITH scope AS (${s1.sql})
       SELECT sum(v.clv * ch.churn_probability) AS value_at_risk, count(*) FILTER (WHERE ch.churn_probability >= 0.5) AS at_risk
       FROM mining.customer_churn ch
       JOIN mining.customer_clv v ON v.run_id = ${LATEST('customer_clv')} AND v.customer_durable_key = ch.customer_durable_key
       WHERE ch.run_id = ${LATEST('customer_churn')} AND ch.customer_durable_key IN (SELECT customer_durable_key FROM scope)`,
      s1.params,
    );
    return c.json({
      total_value_at_risk: num(total?.value_at_risk),
      at_risk_customers: Number(total?.at_risk ?? 0),
      customers: rows.map((r) => ({
        ...r,
        clv: num(r.clv),
        churn_probability: num(r.churn_probability),
        p_alive: num(r.p_alive),
        value_at_risk: num(r.value_at_risk),
      })),
    });
  });

  /**
   * Churn model quality: the churn model's stored holdout metrics when it ran; otherwise a backtest
   * of the latest run scored at least 28 days before the last order: label = no purchase after it.
   */
  app.get('/churn/quality', async function churnQuality(c) {
    const scope = scopeOf(c);
    const db = options.db();
    const latest = await db.one('SELECT run_id, metrics FROM mining.mining_run ORDER BY run_id DESC LIMIT 1');
    const model = parseJson(latest?.metrics).churn_model as Record<string, unknown> | undefined;
    if (model && typeof model.auc === 'number' && scope.regions === null && scope.segments === null) {
      return c.json({ available: true, source: 'churn_model', run_id: Number(latest?.run_id), ...model });
    }
    const run = await db.one(
      `SELECT run_id, as_of::VARCHAR AS as_of, (SELECT max(ordered_at)::DATE FROM core.fact_order_line)::VARCHAR AS data_end
       FROM mining.mining_run WHERE run_id IN (SELECT DISTINCT run_id FROM mining.customer_churn)
         AND as_of <= (SELECT max(ordered_at)::DATE - 28 FROM core.fact_order_line)
       ORDER BY as_of DESC, run_id DESC LIMIT 1`,
    );
    if (!run) {
      return c.json({
        available: false,
        reason: 'no churn model metrics and no mining run at least 28 days before the last order to backtest',
      });
    }
    const s = scopeSql(scope, 3);
    const rows = await db.all(
      `WITH scope AS (${s.sql}),
       later AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
                 WHERE ordered_at >= $2::DATE + 1 AND revenue > 0)
       SELECT ch.churn_probability AS p,
              CASE WHEN ch.customer_durable_key IN (SELECT customer_durable_key FROM later) THEN 0 ELSE 1 END AS churned
       FROM mining.customer_churn ch
       WHERE ch.run_id = $1 AND ch.churn_probability IS NOT NULL
         AND ch.customer_durable_key IN (SELECT customer_durable_key FROM scope)
       ORDER BY ch.customer_durable_key`,
      [Number(run.run_id), String(run.as_of), ...s.params],
    );
    const p = Float64Array.from(rows, (r) => Number(r.p));
    const y = Uint8Array.from(rows, (r) => Number(r.churned));
    const positives = y.reduce((a, b) => a + b, 0);
    if (rows.length === 0 || positives === 0 || positives === rows.length) {
      return c.json({
        available: false,
        reason: 'the backtest needs both churned and retained customers in scope',
      });
    }
    return c.json({
      available: true,
      source: 'backtest',
      run_id: Number(run.run_id),
      as_of: run.as_of,
      observed_until: run.data_end,
      label: 'churned = no purchase after the run’s as-of day',
      customers: rows.length,
      churn_rate: positives / rows.length,
      auc: rocAuc(p, y),
      calibration: calibrationTable(p, y, 10),
      lift: liftTable(p, y, 10),
    });
  });

  /** Why a customer's churn score is what it is: the BG/NBD inputs against typical customers. */
  app.get('/customers/:id/churn-reasons', async function churnReasons(c) {
    const db = options.db();
    const customer = await customerOf(c, db);
    const r = await db.one(
      `SELECT r.btyd_frequency AS x, r.btyd_recency AS t_x, r.btyd_t AS t, r.recency_days, ch.p_alive, ch.churn_probability,
              (SELECT median(btyd_frequency) FROM mining.customer_rfm WHERE run_id = r.run_id) AS median_x,
              (SELECT median(recency_days) FROM mining.customer_rfm WHERE run_id = r.run_id) AS median_recency_days,
              (SELECT params FROM mining.mining_run WHERE run_id = r.run_id) AS params
       FROM mining.customer_rfm r
       JOIN mining.customer_churn ch ON ch.run_id = r.run_id AND ch.customer_durable_key = r.customer_durable_key
       WHERE r.run_id = ${LATEST('customer_churn')} AND r.customer_durable_key = $1`,
      [customer.key],
    );
    if (!r) return c.json({ customer_id: customer.id, scored: false, reasons: [] });
    const x = Number(r.x);
    const tx = Number(r.t_x);
    const t = Number(r.t);
    const period = String(parseJson(r.params).period ?? 'week');
    const reasons: {
      feature: string;
      value: number;
      typical: number | null;
      effect: string;
      text: string;
    }[] = [];
    if (x === 0) {
      reasons.push({
        feature: 'repeat_purchases',
        value: 0,
        typical: num(r.median_x),
        effect: 'lowers',
        text: 'No repeat purchase yet: BG/NBD lets a customer drop out only after a repeat purchase, so P(alive) is 1.',
      });
    } else {
      const gap = tx / x;
      const silent = t - tx;
      reasons.push({
        feature: 'time_since_last_purchase',
        value: silent,
        typical: gap,
        effect: silent > gap ? 'raises' : 'lowers',
        text: `${silent.toFixed(1)} ${period}s since the last purchase, against ${gap.toFixed(1)} ${period}s between purchases on average for this customer.`,
      });
      reasons.push({
        feature: 'repeat_purchases',
        value: x,
        typical: num(r.median_x),
        effect: x < Number(r.median_x ?? 0) ? 'raises' : 'lowers',
        text: `${x} repeat purchase${x === 1 ? '' : 's'} (median customer: ${Number(r.median_x ?? 0)}); fewer purchases give less evidence the customer is still active.`,
      });
    }
    reasons.push({
      feature: 'recency_days',
      value: Number(r.recency_days),
      typical: num(r.median_recency_days),
      effect: Number(r.recency_days) > Number(r.median_recency_days ?? 0) ? 'raises' : 'lowers',
      text: `Last purchase ${Number(r.recency_days)} days before the as-of day (median customer: ${Number(r.median_recency_days ?? 0)} days).`,
    });
    return c.json({
      customer_id: customer.id,
      scored: true,
      model: 'bgnbd',
      p_alive: num(r.p_alive),
      churn_probability: num(r.churn_probability),
      reasons,
    });
  });

  /** Every mining run's scores for one customer, oldest first. */
  app.get('/customers/:id/scores', async function scoreHistory(c) {
    const db = options.db();
    const customer = await customerOf(c, db);
    const rows = await db.all(
      `SELECT m.run_id, m.as_of::VARCHAR AS as_of, r.rfm_segment, r.r_score, r.f_score, r.m_score, r.monetary_total,
              s.cluster_name, ch.p_alive, ch.churn_probability, v.clv, v.clv_tier
       FROM mining.mining_run m
       LEFT JOIN mining.customer_rfm r ON r.run_id = m.run_id AND r.customer_durable_key = $1
       LEFT JOIN mining.customer_segment s ON s.run_id = m.run_id AND s.customer_durable_key = $1
       LEFT JOIN mining.customer_churn ch ON ch.run_id = m.run_id AND ch.customer_durable_key = $1
       LEFT JOIN mining.customer_clv v ON v.run_id = m.run_id AND v.customer_durable_key = $1
       WHERE r.run_id IS NOT NULL OR ch.run_id IS NOT NULL OR v.run_id IS NOT NULL
       ORDER BY m.as_of, m.run_id`,
      [customer.key],
    );
    return c.json({
      customer_id: customer.id,
      runs: rows.map((r) => ({
        ...r,
        run_id: Number(r.run_id),
        p_alive: num(r.p_alive),
        churn_probability: num(r.churn_probability),
        clv: num(r.clv),
        monetary_total: num(r.monetary_total),
      })),
    });
  });

  return app;
}

/** The customer of `:id` (current version), 404 when unknown or outside the token's regions. */
async function customerOf(c: Context<ApiEnv>, db: Database): Promise<{ id: string; key: number }> {
  const id = validate(z.string().min(1).max(200), c.req.param('id'));
  const row = await db.one(
    'SELECT customer_durable_key, region FROM core.dim_customer WHERE customer_id = $1 AND is_current ORDER BY source LIMIT 1',
    [id],
  );
  const { regions } = c.get('principal');
  if (!row || (regions !== undefined && !regions.includes(String(row.region)))) {
    throw apiError('not_found', `no customer with id '${id}'`);
  }
  return { id, key: Number(row.customer_durable_key) };
}
