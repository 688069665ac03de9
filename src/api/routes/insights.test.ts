import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, apiFixture, bearer, quietApp } from '../../../test/api/fixture.ts';
import { runMining } from '../../mining/mine.ts';

describe('insights routes', () => {
  let f: ApiFixture;
  let app: ReturnType<typeof quietApp>;
  beforeAll(async () => {
    f = await apiFixture();
    await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
    await runMining(f.db, { calibrationEnd: '2024-06-30', seed: 1, progress: () => {} });
    app = quietApp(f);
  });
  afterAll(() => f?.cleanup());

  const get = async (path: string, token = f.tokens.executive) => {
    const res = await app.request(path, { headers: bearer(token) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('overview counts active, new and retained customers of the period as hand-written SQL does', async () => {
    const { status, body } = await get('/v1/insights/overview?from=2024-01-01&to=2024-06-30&region=Europe');
    expect(status).toBe(200);
    const sql = await f.db.one(
      `WITH c AS (SELECT customer_durable_key FROM core.dim_customer WHERE is_current AND region = 'Europe'),
            cur AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
                    WHERE ordered_at >= '2024-01-01' AND ordered_at < '2024-07-01' AND customer_durable_key IN (SELECT * FROM c)),
            prev AS (SELECT DISTINCT customer_durable_key FROM core.fact_order_line
                     WHERE ordered_at >= '2023-07-03' AND ordered_at < '2024-01-01' AND customer_durable_key IN (SELECT * FROM c)),
            firsts AS (SELECT customer_durable_key, min(ordered_at) AS f FROM core.fact_order_line GROUP BY 1)
       SELECT (SELECT count(*) FROM cur) AS active,
              (SELECT count(*) FROM cur JOIN firsts USING (customer_durable_key) WHERE f >= '2024-01-01') AS new,
              (SELECT count(*) FROM prev WHERE customer_durable_key IN (SELECT * FROM cur)) AS retained,
              (SELECT count(*) FROM prev) AS prev_active`,
    );
    const cur = body.current as Record<string, number>;
    expect((body.previous as Record<string, string>).from).toBe('2023-07-03'); // the 182 days before 2024-01-01 (Jan–Jun 2024 has 182 days)
    expect(cur.active).toBe(Number(sql?.active));
    expect(cur.new).toBe(Number(sql?.new));
    expect(cur.returning).toBe(Number(sql?.active) - Number(sql?.new));
    expect(cur.retained).toBe(Number(sql?.retained));
    expect(cur.retention).toBeCloseTo(Number(sql?.retained) / Number(sql?.prev_active), 12);
    // every customer whose first order falls in the period is active in it, so the months add up to `new`
    const months = body.new_by_month as { month: string; new: number }[];
    expect(months.map((m) => m.month)).toEqual([
      '2024-01',
      '2024-02',
      '2024-03',
      '2024-04',
      '2024-05',
      '2024-06',
    ]);
    expect(months.reduce((a, m) => a + m.new, 0)).toBe(cur.new);
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
    const measure = await get('/v1/insights/distribution?measure=revenue');
    expect(measure.status).toBe(400);
  });

  it('a region-limited token sees only its regions, whatever region the query asks for', async () => {
    const eu = await get('/v1/insights/churn/at-risk?limit=1000', f.tokens.europe);
    const customers = eu.body.customers as { region: string }[];
    expect(customers.length).toBeGreaterThan(0);
    expect(new Set(customers.map((c) => c.region))).toEqual(new Set(['Europe']));
    const other = await get(
      '/v1/insights/overview?from=2024-01-01&to=2024-06-30&region=Asia%20Pacific',
      f.tokens.europe,
    );
    expect((other.body.current as Record<string, number>).active).toBe(0);
    const outside = await f.db.one(
      "SELECT min(customer_id) AS id FROM core.dim_customer WHERE is_current AND region <> 'Europe'",
    );
    expect((await get(`/v1/insights/customers/${outside?.id}/scores`, f.tokens.europe)).status).toBe(404);
    expect((await get(`/v1/insights/customers/${outside?.id}/scores`)).status).toBe(200);
  });

  it('the distribution counts every scored customer once and the Pareto curve ends at 100%', async () => {
    const d = await get('/v1/insights/distribution?measure=p_alive&bins=10');
    const bins = d.body.bins as { x1: number; x2: number; count: number }[];
    expect(bins).toHaveLength(10);
    expect(bins[0]?.x1).toBe(0);
    expect(bins[9]?.x2).toBeCloseTo(1, 12);
    const n = await f.db.scalar(
      'SELECT count(p_alive) FROM mining.customer_churn WHERE run_id = (SELECT max(run_id) FROM mining.customer_churn)',
    );
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(Number(n));
    const p = await get('/v1/insights/clv/pareto');
    const points = p.body.points as { customer_share: number; value_share: number }[];
    expect(points.at(-1)).toEqual({ customer_share: 1, value_share: expect.closeTo(1, 12) });
    for (let i = 1; i < points.length; i++)
      expect(points[i]?.value_share).toBeGreaterThanOrEqual(points[i - 1]?.value_share ?? 0);
  });

  it('the report card is the holdout check the latest calibrated run stored', async () => {
    const card = (await get('/v1/insights/clv/report-card')).body;
    const m = await f.db.one(
      "SELECT json_extract(metrics, '$.value.holdout') AS h FROM mining.mining_run ORDER BY run_id DESC LIMIT 1",
    );
    const holdout = JSON.parse(String(m?.h)) as {
      mae: number;
      bias: number;
      tracking: { cumulative_actual: number[] };
    };
    expect(card).toMatchObject({
      available: true,
      calibration_end: '2024-06-30',
      mae: holdout.mae,
      bias: holdout.bias,
    });
    const pts = (card.tracking as { points: { actual: number }[] }).points;
    expect(pts.map((q) => q.actual)).toEqual(holdout.tracking.cumulative_actual);
  });

  it('score history lists every run that scored the customer, oldest first', async () => {
    const row = await f.db.one(
      `SELECT c.customer_id, count(*) AS n FROM mining.customer_clv v JOIN core.dim_customer c USING (customer_durable_key)
       WHERE c.is_current GROUP BY 1 HAVING count(*) = 2 ORDER BY 1 LIMIT 1`,
    );
    const s = await get(`/v1/insights/customers/${row?.customer_id}/scores`);
    const runs = s.body.runs as { as_of: string }[];
    // the second run has no --as-of: it is as of the last order day of the warehouse
    const lastDay = String(await f.db.scalar('SELECT max(ordered_date)::VARCHAR FROM core.fact_order_line'));
    expect(lastDay > '2024-06-30').toBe(true);
    expect(runs.map((r) => r.as_of)).toEqual(['2024-06-30', lastDay]);
  });

  it('needs a token unless in demo mode', async () => {
    const res = await app.request('/v1/insights/clv/pareto');
    expect(res.status).toBe(401);
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
    const { openApiDocument } = await import('./openapi.ts');
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
