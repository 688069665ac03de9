/**
 * GET /v1/insights/*: every figure against hand-written SQL on the same warehouse, written per
 * customer (flags and GROUP BY) rather than the way the cube compiles it. The warehouse has three
 * mining runs: as of 2024-06-30 (run 1), a holdout check as of the last order day (run 2), and one
 * as of 2024-03-31 created after both (run 3): "the latest run" is run 2, the newest as-of, not the
 * highest id.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

type Body = Record<string, unknown>;

describe('insights routes', () => {
  let f: ApiFixture;
  let app: ReturnType<typeof quietApp>;
  let latest: number;
  beforeAll(async () => {
    f = await apiFixture();
    await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
    const run2 = await runMining(f.db, { calibrationEnd: '2024-06-30', seed: 1, progress: () => {} });
    await runMining(f.db, { asOf: '2024-03-31', seed: 1, progress: () => {} });
    latest = run2.run_id;
    app = quietApp(f);
  });
  afterAll(() => f?.cleanup());

  const get = async (path: string, token = f.tokens.executive) => {
    const res = await app.request(path, { headers: bearer(token) });
    return { status: res.status, body: (await res.json()) as Body };
  };

  /** Per-customer activity flags of Europe's customers, counted by hand for three adjacent periods. */
  async function periodFigures(from: string, to: string, prevFrom: string, prevTo: string) {
    return f.db.one(
      `WITH per AS (
         SELECT o.customer_durable_key,
                bool_or(o.ordered_at::DATE BETWEEN $1::DATE AND $2::DATE) AS in_period,
                bool_or(o.ordered_at::DATE BETWEEN $3::DATE AND $4::DATE) AS in_previous,
                min(o.ordered_at)::DATE AS first_day
         FROM core.fact_order_line o, core.dim_customer c
         WHERE c.customer_durable_key = o.customer_durable_key AND c.is_current AND c.region = 'Europe'
         GROUP BY o.customer_durable_key)
       SELECT count(*) FILTER (WHERE in_period) AS active,
              count(*) FILTER (WHERE first_day BETWEEN $1::DATE AND $2::DATE) AS new,
              count(*) FILTER (WHERE in_previous) AS previous_active,
              count(*) FILTER (WHERE in_period AND in_previous) AS retained
       FROM per`,
      [from, to, prevFrom, prevTo],
    );
  }

  it('overview: active, new, returning and retained customers of the period and the one before equal per-customer SQL', async () => {
    const { status, body } = await get('/v1/insights/overview?from=2024-01-01&to=2024-06-30&region=Europe');
    expect(status).toBe(200);
    // Jan–Jun 2024 is six whole months: the previous period is the six months before, and so on
    const cur = await periodFigures('2024-01-01', '2024-06-30', '2023-07-01', '2023-12-31');
    const prev = await periodFigures('2023-07-01', '2023-12-31', '2023-01-01', '2023-06-30');
    for (const [got, want] of [
      [body.current, cur],
      [body.previous, prev],
    ] as [Record<string, number>, Record<string, unknown>][]) {
      expect(got.active).toBe(Number(want.active));
      expect(got.new).toBe(Number(want.new));
      expect(got.returning).toBe(Number(want.active) - Number(want.new));
      expect(got.previous_active).toBe(Number(want.previous_active));
      expect(got.retained).toBe(Number(want.retained));
      expect(got.retention).toBeCloseTo(Number(want.retained) / Number(want.previous_active), 12);
    }
    expect((body.previous as Record<string, string>).from).toBe('2023-07-01');
    expect(Number(cur?.retained)).toBeGreaterThan(0);
  });

  it('overview: new customers by month count each customer in the month of its first order, months without any shown as 0', async () => {
    const { body } = await get('/v1/insights/overview?from=2023-11-15&to=2024-04-10');
    const rows = await f.db.all(
      `SELECT strftime(first_day, '%Y-%m') AS month, count(*) AS n
       FROM (SELECT customer_durable_key, min(ordered_at)::DATE AS first_day FROM core.fact_order_line GROUP BY 1)
       WHERE first_day BETWEEN DATE '2023-11-15' AND DATE '2024-04-10' GROUP BY 1`,
    );
    const byMonth = new Map(rows.map((r) => [String(r.month), Number(r.n)]));
    const months = ['2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04'];
    expect(body.new_by_month).toEqual(months.map((month) => ({ month, new: byMonth.get(month) ?? 0 })));
  });

  it('overview: mean CLV by run, ordered by as-of, the latest being the newest as-of and not the highest run id', async () => {
    const { body } = await get('/v1/insights/overview?from=2024-01-01&to=2024-06-30&region=Europe');
    const rows = await f.db.all(
      `SELECT m.run_id, m.as_of::VARCHAR AS as_of, avg(v.clv) AS avg_clv, count(*) AS n
       FROM mining.mining_run m
       JOIN mining.customer_clv v ON v.run_id = m.run_id
       JOIN core.dim_customer c ON c.customer_durable_key = v.customer_durable_key AND c.is_current
       WHERE c.region = 'Europe'
       GROUP BY m.run_id, m.as_of ORDER BY m.as_of`,
    );
    const clv = body.clv as { latest: { run_id: number }; runs: { run_id: number; avg_clv: number }[] };
    expect(clv.runs.map((r) => r.run_id)).toEqual(rows.map((r) => Number(r.run_id)));
    for (const [i, r] of clv.runs.entries()) expect(r.avg_clv).toBeCloseTo(Number(rows[i]?.avg_clv), 9);
    expect(clv.latest.run_id).toBe(latest);
    expect(latest).toBe(2);
  });

  it('refuses a missing period, an impossible date and from after to with a 400 naming the problem', async () => {
    expect((await get('/v1/insights/overview')).body).toMatchObject({
      error: { code: 'bad_request', message: expect.stringContaining('from=YYYY-MM-DD') },
    });
    const bad = await get('/v1/insights/overview?from=2024-02-30&to=2024-03-01');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('from');
    const reversed = await get('/v1/insights/overview?from=2024-03-01&to=2024-01-01');
    expect(reversed.status).toBe(400);
    expect(JSON.stringify(reversed.body)).toContain('after');
    expect((await get('/v1/insights/distribution?measure=revenue')).status).toBe(400);
    expect((await get('/v1/insights/distribution?measure=clv&bins=1')).status).toBe(400);
    expect((await get('/v1/insights/churn/at-risk?limit=0')).status).toBe(400);
  });

  it('distribution of P(alive) in 10 bins counts the latest run’s customers of each tenth', async () => {
    const d = await get('/v1/insights/distribution?measure=p_alive&bins=10&region=Europe');
    const rows = await f.db.all(
      `SELECT CASE WHEN ch.p_alive >= 1 THEN 9 ELSE floor(ch.p_alive * 10)::INTEGER END AS tenth, count(*) AS n
       FROM mining.customer_churn ch JOIN core.dim_customer c USING (customer_durable_key)
       WHERE ch.run_id = $1 AND c.is_current AND c.region = 'Europe' AND ch.p_alive IS NOT NULL GROUP BY 1`,
      [latest],
    );
    const want = Array.from({ length: 10 }, (_, i) =>
      Number(rows.find((r) => Number(r.tenth) === i)?.n ?? 0),
    );
    const bins = d.body.bins as { x1: number; x2: number; count: number }[];
    expect(bins.map((b) => b.count)).toEqual(want);
    expect(bins[0]?.x1).toBe(0);
    expect(bins[9]?.x2).toBeCloseTo(1, 12);
  });

  it('distribution of CLV spans 0 to the 99th percentile, and counts the customers above it', async () => {
    const d = await get('/v1/insights/distribution?measure=clv&bins=7');
    const r = await f.db.one(
      `WITH v AS (SELECT clv FROM mining.customer_clv WHERE run_id = $1)
       SELECT quantile_cont(clv, 0.99) AS p99, least(0, min(clv)) AS lo, count(*) AS n,
              count(*) FILTER (WHERE clv > (SELECT quantile_cont(clv, 0.99) FROM v)) AS above FROM v`,
      [latest],
    );
    const bins = d.body.bins as { x1: number; x2: number; count: number }[];
    expect(bins).toHaveLength(7);
    expect(bins[0]?.x1).toBeCloseTo(Number(r?.lo), 9);
    expect(bins[6]?.x2).toBeCloseTo(Number(r?.p99), 9);
    expect(d.body.customers).toBe(Number(r?.n));
    expect(d.body.above_range).toBe(Number(r?.above));
  });

  it('Pareto curve: each point holds the CLV share of the top floor(share × n) customers, and the curve ends at 100%', async () => {
    const p = await get('/v1/insights/clv/pareto?region=Europe');
    const rows = await f.db.all(
      `WITH v AS (SELECT greatest(x.clv, 0) AS clv FROM mining.customer_clv x JOIN core.dim_customer c USING (customer_durable_key)
                  WHERE x.run_id = $1 AND c.is_current AND c.region = 'Europe')
       SELECT row_number() OVER w AS k, sum(clv) OVER w / (SELECT sum(clv) FROM v) AS share, (SELECT count(*) FROM v) AS n
       FROM v WINDOW w AS (ORDER BY clv DESC ROWS UNBOUNDED PRECEDING) ORDER BY k`,
      [latest],
    );
    const n = Number(rows[0]?.n);
    expect(n).toBeGreaterThan(100); // every percent of customers is a point
    expect(p.body.customers).toBe(n);
    const points = p.body.points as { customer_share: number; value_share: number }[];
    expect(points).toHaveLength(101);
    for (const pt of points.slice(1)) {
      const k = Math.floor((Math.round(pt.customer_share * 100) * n) / 100 + 1e-9);
      expect(pt.value_share, `${pt.customer_share}`).toBeCloseTo(Number(rows[k - 1]?.share ?? 0), 9);
    }
    expect(p.body.top_20_percent_share).toBe(points[20]?.value_share);
    expect(points.at(-1)).toEqual({ customer_share: 1, value_share: expect.closeTo(1, 12) });
  });

  it('the distribution and the Pareto curve asked at once share one read of the scores', async () => {
    const reads: string[] = [];
    const original = f.db.read.bind(f.db);
    // the scores' read is held a while, as a million rows would take: the second request must
    // find it under way whatever the order the two requests happen to run in on a loaded machine
    const spy = vi.spyOn(f.db, 'read').mockImplementation(((sql: string, ...rest: unknown[]) => {
      reads.push(sql);
      const result = (original as (...a: unknown[]) => Promise<unknown>)(sql, ...rest);
      if (!sql.includes('mining.customer_clv')) return result;
      return new Promise((resolve) => setTimeout(resolve, 1500)).then(() => result);
    }) as never);
    const fresh = quietApp(f);
    const ask = async (path: string) => {
      const r = await fresh.request(path, { headers: bearer(f.tokens.europe) });
      return { status: r.status, body: (await r.json()) as Body };
    };
    try {
      const [d, p] = await Promise.all([
        ask('/v1/insights/distribution?measure=clv&bins=7'),
        ask('/v1/insights/clv/pareto'),
      ]);
      expect(d.status).toBe(200);
      expect(p.status).toBe(200);
      expect(reads.filter((s) => s.includes('mining.customer_clv'))).toHaveLength(1);
      // the same customers on both: Europe's scored customers
      expect(p.body.customers).toBe(d.body.customers);
    } finally {
      spy.mockRestore();
    }
  });

  it('P(alive) matrix: each (repeat purchases, recency fifth) cell is the mean P(alive) of its customers', async () => {
    const m = await get('/v1/insights/clv/alive-matrix');
    const rows = await f.db.all(
      `SELECT r.btyd_frequency AS x, r.btyd_recency / r.btyd_t AS share, ch.p_alive
       FROM mining.customer_rfm r JOIN mining.customer_churn ch USING (run_id, customer_durable_key) WHERE r.run_id = $1`,
      [latest],
    );
    const cellOf = (x: number, share: number) => {
      const fx = x >= 10 ? '10+' : x >= 6 ? '6–9' : x >= 4 ? '4–5' : String(x);
      if (x === 0) return `${fx}|no repeat`;
      const fifth = Math.min(4, Math.floor(share * 5 + 1e-12));
      return `${fx}|${fifth * 20}–${fifth * 20 + 20}%`;
    };
    const want = new Map<string, { n: number; sum: number }>();
    for (const r of rows) {
      const k = cellOf(Number(r.x), Number(r.share));
      const c = want.get(k) ?? { n: 0, sum: 0 };
      c.n += 1;
      c.sum += Number(r.p_alive);
      want.set(k, c);
    }
    const cells = m.body.cells as {
      frequency: string;
      recency: string;
      p_alive: number;
      customers: number;
    }[];
    expect(cells.length).toBe(want.size);
    for (const c of cells) {
      const w = want.get(`${c.frequency}|${c.recency}`);
      expect(c.customers, `${c.frequency} × ${c.recency}`).toBe(w?.n);
      expect(c.p_alive).toBeCloseTo((w?.sum ?? 0) / (w?.n ?? 1), 9);
    }
  });

  it('at-risk: a Europe-limited token gets Europe’s customers ranked by CLV × churn probability of the latest run', async () => {
    const eu = await get('/v1/insights/churn/at-risk?limit=10&region=Asia%20Pacific,Europe', f.tokens.europe);
    const rows = await f.db.all(
      `SELECT c.customer_id, v.clv * ch.churn_probability AS var
       FROM core.dim_customer c
       JOIN mining.customer_clv v ON v.customer_durable_key = c.customer_durable_key AND v.run_id = $1
       JOIN mining.customer_churn ch ON ch.customer_durable_key = c.customer_durable_key AND ch.run_id = $1
       WHERE c.is_current AND c.region = 'Europe' ORDER BY var DESC, c.customer_id`,
      [latest],
    );
    const customers = eu.body.customers as { customer_id: string; region: string; value_at_risk: number }[];
    expect(customers.map((c) => c.customer_id)).toEqual(rows.slice(0, 10).map((r) => String(r.customer_id)));
    expect(new Set(customers.map((c) => c.region))).toEqual(new Set(['Europe']));
    const total = rows.reduce((a, r) => a + Number(r.var), 0);
    expect(eu.body.total_value_at_risk).toBeCloseTo(total, 6);
  });

  it('a region the token does not cover shows nothing, and a customer outside it is a 404', async () => {
    const other = await get(
      '/v1/insights/overview?from=2024-01-01&to=2024-06-30&region=Asia%20Pacific',
      f.tokens.europe,
    );
    expect((other.body.current as Record<string, number>).active).toBe(0);
    const outside = await f.db.one(
      "SELECT min(customer_id) AS id FROM core.dim_customer WHERE is_current AND region <> 'Europe'",
    );
    expect((await get(`/v1/insights/customers/${outside?.id}/scores`, f.tokens.europe)).status).toBe(404);
    expect((await get(`/v1/insights/customers/${outside?.id}/churn-reasons`, f.tokens.europe)).status).toBe(
      404,
    );
    expect((await get(`/v1/insights/customers/${outside?.id}/scores`)).status).toBe(200);
  });

  it('the report card is the holdout check of the newest calibrated run; a region-limited token does not get it', async () => {
    const card = (await get('/v1/insights/clv/report-card')).body;
    const m = await f.db.one(
      "SELECT json_extract(metrics, '$.value.holdout') AS h FROM mining.mining_run WHERE run_id = $1",
      [latest],
    );
    const holdout = JSON.parse(String(m?.h)) as {
      mae: number;
      bias: number;
      tracking: { cumulative_actual: number[] };
    };
    expect(card).toMatchObject({
      available: true,
      run_id: latest,
      calibration_end: '2024-06-30',
      mae: holdout.mae,
    });
    const pts = (card.tracking as { points: { actual: number }[] }).points;
    expect(pts.map((q) => q.actual)).toEqual(holdout.tracking.cumulative_actual);
    const eu = (await get('/v1/insights/clv/report-card', f.tokens.europe)).body;
    expect(eu).toMatchObject({ available: false });
    expect(JSON.stringify(eu)).not.toContain(String(holdout.mae));
  });

  it('churn reasons compare the customer with the median customer the token may see', async () => {
    const who = await f.db.one(
      `SELECT c.customer_id FROM core.dim_customer c JOIN mining.customer_rfm r USING (customer_durable_key)
       WHERE c.is_current AND c.region = 'Europe' AND r.run_id = $1 AND r.btyd_frequency > 0 ORDER BY c.customer_id LIMIT 1`,
      [latest],
    );
    const medians = async (region: string | null) =>
      f.db.one(
        `SELECT median(r.btyd_frequency) AS x, median(r.recency_days) AS days
         FROM mining.customer_rfm r JOIN core.dim_customer c USING (customer_durable_key)
         WHERE r.run_id = $1 AND c.is_current AND ($2::VARCHAR IS NULL OR c.region = $2)`,
        [latest, region],
      );
    const typical = (body: Body, feature: string) =>
      (body.reasons as { feature: string; typical: number }[]).find((r) => r.feature === feature)?.typical;
    const eu = (await get(`/v1/insights/customers/${who?.customer_id}/churn-reasons`, f.tokens.europe)).body;
    const all = (await get(`/v1/insights/customers/${who?.customer_id}/churn-reasons`)).body;
    const euWant = await medians('Europe');
    const allWant = await medians(null);
    expect(typical(eu, 'repeat_purchases')).toBe(Number(euWant?.x));
    expect(typical(eu, 'recency_days')).toBe(Number(euWant?.days));
    expect(typical(all, 'repeat_purchases')).toBe(Number(allWant?.x));
    expect(typical(all, 'recency_days')).toBe(Number(allWant?.days));
    const own = await f.db.one(
      `SELECT ch.churn_probability AS p FROM mining.customer_churn ch JOIN core.dim_customer c USING (customer_durable_key)
       WHERE c.customer_id = $1 AND c.is_current AND ch.run_id = $2`,
      [String(who?.customer_id), latest],
    );
    expect(eu.churn_probability).toBeCloseTo(Number(own?.p), 12);
  });

  it('churn quality for a region-limited token is a backtest inside its regions', async () => {
    const q = (await get('/v1/insights/churn/quality', f.tokens.europe)).body;
    expect(q).toMatchObject({ available: true, source: 'backtest', as_of: '2024-06-30' });
    const r = await f.db.one(
      `WITH later AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
                      WHERE revenue > 0 AND ordered_at::DATE > DATE '2024-06-30')
       SELECT count(*) AS n, count(*) FILTER (WHERE later.customer_durable_key IS NULL) AS churned
       FROM mining.customer_churn ch
       JOIN mining.mining_run m ON m.run_id = ch.run_id AND m.as_of = DATE '2024-06-30'
       JOIN core.dim_customer c ON c.customer_durable_key = ch.customer_durable_key AND c.is_current AND c.region = 'Europe'
       LEFT JOIN later ON later.customer_durable_key = ch.customer_durable_key`,
    );
    expect(q.customers).toBe(Number(r?.n));
    expect(q.churn_rate).toBeCloseTo(Number(r?.churned) / Number(r?.n), 12);
  });

  it('score history lists every run that scored the customer, ordered by as-of', async () => {
    const row = await f.db.one(
      `SELECT c.customer_id FROM mining.customer_clv v JOIN core.dim_customer c USING (customer_durable_key)
       WHERE c.is_current GROUP BY 1 HAVING count(*) = 3 ORDER BY 1 LIMIT 1`,
    );
    const lastDay = await f.db.scalar('SELECT max(ordered_at)::DATE::VARCHAR FROM core.fact_order_line');
    const s = await get(`/v1/insights/customers/${row?.customer_id}/scores`);
    const runs = s.body.runs as { run_id: number; as_of: string }[];
    // run 3 (as of 2024-03-31) was created last but comes first; run 2 is as of the last order day
    expect(runs.map((r) => [r.run_id, r.as_of])).toEqual([
      [3, '2024-03-31'],
      [1, '2024-06-30'],
      [2, String(lastDay)],
    ]);
  });

  it('needs a token unless in demo mode', async () => {
    expect((await app.request('/v1/insights/clv/pareto')).status).toBe(401);
  });
});

describe('insights response cache', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture();
    await runMining(f.db, { seed: 1, progress: () => {} });
  });
  afterAll(() => f?.cleanup());

  it('answers a repeated request from the cache, with parameters in any order, separately per region limit', async () => {
    const app = quietApp(f);
    const a = await app.request('/v1/insights/churn/at-risk?limit=5&region=Europe', {
      headers: bearer(f.tokens.executive),
    });
    expect(a.headers.get('x-cache')).toBeNull();
    const b = await app.request('/v1/insights/churn/at-risk?region=Europe&limit=5', {
      headers: bearer(f.tokens.executive),
    });
    expect(b.headers.get('x-cache')).toBe('hit');
    expect(await b.json()).toEqual(await a.json());
    const eu = await app.request('/v1/insights/churn/at-risk?limit=5&region=Europe', {
      headers: bearer(f.tokens.europe),
    });
    expect(eu.headers.get('x-cache')).toBeNull();
  });
});

describe('insights in the OpenAPI document', () => {
  it('lists every insights route', async () => {
    const { openApiDocument } = await import('../../src/api/routes/openapi.ts');
    const paths = Object.keys(openApiDocument().paths as object).filter((p) => p.startsWith('/v1/insights/'));
    expect(paths.sort()).toEqual(
      [
        '/v1/insights/overview',
        '/v1/insights/distribution',
        '/v1/insights/clv/pareto',
        '/v1/insights/clv/report-card',
        '/v1/insights/clv/alive-matrix',
        '/v1/insights/churn/at-risk',
        '/v1/insights/churn/quality',
        '/v1/insights/customers/{id}/churn-reasons',
        '/v1/insights/customers/{id}/scores',
      ].sort(),
    );
  });
});

describe('insights routes read only through the cube', () => {
  it('no file of src/api/routes/insights* holds SQL text', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const routes = join(import.meta.dirname, '../../src/api/routes');
    const files = readdirSync(routes)
      .filter((n) => n.startsWith('insights'))
      .flatMap((n) => {
        const p = join(routes, n);
        return statSync(p).isDirectory() ? readdirSync(p).map((m) => join(p, m)) : [p];
      });
    expect(files.length).toBeGreaterThan(5);
    const withSql = files.filter((p) => /SELECT|FROM /.test(readFileSync(p, 'utf8')));
    expect(withSql).toEqual([]);
  });
});
