import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { effectiveRegions } from '../../src/api/routes/explore.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;
let oldRun: number;
let newRun: number;

beforeAll(async () => {
  f = await apiFixture();
  const last = String(
    await f.db.scalar(
      "SELECT strftime(max(ordered_at AT TIME ZONE 'UTC'), '%Y-%m-%d') FROM core.fact_order_line",
    ),
  );
  const earlier = String(await f.db.scalar(`SELECT strftime(DATE '${last}' - INTERVAL 120 DAY, '%Y-%m-%d')`));
  oldRun = (await runMining(f.db, { asOf: earlier, seed: 1 })).run_id;
  newRun = (await runMining(f.db, { asOf: last, seed: 1 })).run_id;
  app = quietApp(f);
});
afterAll(() => f?.cleanup());

/** The fields of the routes' answers these tests read. */
interface Body {
  run_id: number;
  total: number;
  cells: {
    r_score: number;
    f_score: number;
    customers: number;
    value: number;
    segment: string | null;
    cohort: string;
    months_since: number;
    retention: number;
    from: string;
    to: string;
    keys?: number[];
  }[];
  customers: { monetary_total: number }[];
  segments: {
    segment: string;
    customers: number;
    customer_share: number;
    value_share: number;
    mean_r: number;
    mean_f: number;
    mean_m: number;
  }[];
  clusters: { cluster: number; cluster_name: string; customers: number }[];
  matrix: number[][];
  error: { code: string; message: string };
  query: Record<string, unknown>;
}

const json = async (res: Response) => (await res.json()) as Body;

async function get(path: string, token = f.tokens.executive): Promise<{ status: number; body: Body }> {
  const res = await app.request(path, { headers: bearer(token) });
  return { status: res.status, body: await res.json() };
}

/** Scores of a run with each customer's current region, read plainly and aggregated in the test. */
async function scores(run: number) {
  const rows = await f.db.all(
    `SELECT r.customer_durable_key AS k, r.r_score, r.f_score, r.m_score, r.rfm_segment,
            r.monetary_total::DOUBLE AS m, c.region
     FROM mining.customer_rfm r JOIN core.dim_customer c USING (customer_durable_key)
     WHERE c.is_current AND r.run_id = $1`,
    [run],
  );
  return rows.map((r) => ({
    key: Number(r.k),
    r: Number(r.r_score),
    f: Number(r.f_score),
    m: Number(r.m_score),
    segment: String(r.rfm_segment),
    value: Number(r.m),
    region: String(r.region),
  }));
}

describe('segmentation routes', () => {
  it('the RFM grid counts each scored customer once in its recency × frequency cell', async () => {
    const { status, body } = await get('/v1/segmentation/rfm-grid');
    expect(status).toBe(200);
    expect(body.run_id).toBe(newRun);
    const rows = await scores(newRun);
    const expected = new Map<string, { n: number; v: number }>();
    for (const r of rows) {
      const e = expected.get(`${r.r}/${r.f}`) ?? { n: 0, v: 0 };
      e.n += 1;
      e.v += r.value;
      expected.set(`${r.r}/${r.f}`, e);
    }
    expect(expected.size).toBeGreaterThan(4);
    expect(body.cells.length).toBe(expected.size);
    // each cell is named by the segment its scored customers carry (one per cell)
    const segments = new Map<string, Set<string>>();
    for (const r of rows)
      segments.set(`${r.r}/${r.f}`, (segments.get(`${r.r}/${r.f}`) ?? new Set()).add(r.segment));
    for (const cell of body.cells) {
      const e = expected.get(`${cell.r_score}/${cell.f_score}`);
      expect(cell.customers).toBe(e?.n);
      expect(cell.value).toBeCloseTo(e?.v ?? Number.NaN, 6);
      expect([cell.segment]).toEqual([...(segments.get(`${cell.r_score}/${cell.f_score}`) ?? [])]);
    }
  });

  it('a region parameter narrows the grid, and a region-limited token cannot look past its region', async () => {
    const rows = await scores(newRun);
    const europe = rows.filter((r) => r.region === 'Europe').length;
    expect(europe).toBeGreaterThan(0);
    const sum = (b: Body) => b.cells.reduce((s, c) => s + c.customers, 0);
    expect(sum((await get('/v1/segmentation/rfm-grid?region=Europe')).body)).toBe(europe);
    expect(sum((await get('/v1/segmentation/rfm-grid', f.tokens.europe)).body)).toBe(europe);
    const other = rows.find((r) => r.region !== 'Europe')?.region as string;
    const past = await get(`/v1/segmentation/rfm-grid?region=${encodeURIComponent(other)}`, f.tokens.europe);
    expect(sum(past.body)).toBe(0);
  });

  it('lists the customers of one cell, most valuable first, with the cell total', async () => {
    const rows = await scores(newRun);
    const top = rows[0] as { r: number; f: number };
    const inCell = rows.filter((r) => r.r === top.r && r.f === top.f);
    const { body } = await get(`/v1/segmentation/rfm-grid/customers?r=${top.r}&f=${top.f}&limit=3`);
    expect(body.total).toBe(inCell.length);
    expect(body.customers.length).toBe(Math.min(3, inCell.length));
    const values = inCell.map((r) => r.value).sort((a, b) => b - a);
    expect(body.customers.map((c) => c.monetary_total)).toEqual(values.slice(0, 3));
  });

  it('segment cards give size, shares of customers and value, and mean scores', async () => {
    const rows = await scores(newRun);
    const { body } = await get('/v1/segmentation/segments');
    const total = rows.reduce((s, r) => s + r.value, 0);
    for (const card of body.segments) {
      const members = rows.filter((r) => r.segment === card.segment);
      expect(card.customers).toBe(members.length);
      expect(card.customer_share).toBeCloseTo(members.length / rows.length, 9);
      expect(card.value_share).toBeCloseTo(members.reduce((s, r) => s + r.value, 0) / total, 9);
      expect(card.mean_r).toBeCloseTo(members.reduce((s, r) => s + r.r, 0) / members.length, 9);
      expect(card.mean_f).toBeCloseTo(members.reduce((s, r) => s + r.f, 0) / members.length, 9);
      expect(card.mean_m).toBeCloseTo(members.reduce((s, r) => s + r.m, 0) / members.length, 9);
    }
    expect(body.segments.reduce((s, c) => s + c.customers, 0)).toBe(rows.length);
  });

  it('cluster profiles give each cluster of the run its size and mean scores', async () => {
    const sizes = await f.db.all(
      `SELECT cluster, cluster_name, count(*) AS n FROM mining.customer_segment WHERE run_id = $1
       GROUP BY 1, 2 ORDER BY 1`,
      [newRun],
    );
    expect(sizes.length).toBeGreaterThan(1);
    const { body } = await get('/v1/segmentation/clusters');
    expect(body.clusters.map((c) => [c.cluster, c.cluster_name, c.customers])).toEqual(
      sizes.map((s) => [Number(s.cluster), s.cluster_name, Number(s.n)]),
    );
  });

  it('migration between two runs counts who moved where, narrowed to the caller region', async () => {
    const a = await scores(oldRun);
    const b = await scores(newRun);
    const from = new Map(a.map((r) => [r.key, r]));
    const europeMoves = new Map<string, number>();
    for (const r of b) {
      if (r.region !== 'Europe') continue;
      const k = `${from.get(r.key)?.segment ?? '(not scored)'}→${r.segment}`;
      europeMoves.set(k, (europeMoves.get(k) ?? 0) + 1);
    }
    const all = await get(`/v1/segmentation/migration?from=${oldRun}&to=${newRun}`);
    expect(all.status).toBe(200);
    const total = all.body.matrix.flat().reduce((s: number, n: number) => s + n, 0);
    expect(total).toBe(new Set([...a.map((r) => r.key), ...b.map((r) => r.key)]).size);
    const eu = await get(`/v1/segmentation/migration?from=${oldRun}&to=${newRun}`, f.tokens.europe);
    const got = new Map(eu.body.cells.map((c) => [`${c.from}→${c.to}`, c.customers]));
    expect(europeMoves.size).toBeGreaterThan(1);
    expect(got).toEqual(europeMoves);
    expect(eu.body.cells.every((c) => c.keys === undefined)).toBe(true);
  });

  it('cohort retention counts buyers by first-purchase month and months since', async () => {
    const lines = await f.db.all(
      `SELECT customer_durable_key AS k, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m') AS m
       FROM core.fact_order_line WHERE revenue > 0`,
    );
    const months = new Map<number, Set<string>>();
    for (const l of lines) {
      const set = months.get(Number(l.k)) ?? new Set<string>();
      set.add(String(l.m));
      months.set(Number(l.k), set);
    }
    const index = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
    const expected = new Map<string, number>();
    for (const set of months.values()) {
      const first = [...set].sort()[0] as string;
      for (const m of set) {
        const since = index(m) - index(first);
        if (since <= 6) expected.set(`${first}/${since}`, (expected.get(`${first}/${since}`) ?? 0) + 1);
      }
    }
    expect(expected.size).toBeGreaterThan(10);
    const { body } = await get('/v1/segmentation/cohorts?months=6');
    expect(body.cells.length).toBe(expected.size);
    for (const c of body.cells) {
      expect(c.customers).toBe(expected.get(`${c.cohort}/${c.months_since}`));
      expect(c.retention).toBeCloseTo(c.customers / (expected.get(`${c.cohort}/0`) ?? 0), 12);
    }
  });

  it('cohorts honour the date range and the region, and a repeated request is served from the cache', async () => {
    const all = (await get('/v1/segmentation/cohorts?months=3')).body.cells;
    const cohorts = [...new Set(all.map((c) => c.cohort))];
    expect(cohorts.length).toBeGreaterThan(3);
    const [from, to] = [cohorts[1] as string, cohorts[2] as string];
    const ranged = await get(`/v1/segmentation/cohorts?months=3&from=${from}-15&to=${to}-01`);
    expect(ranged.body.cells).toEqual(all.filter((c) => c.cohort === from || c.cohort === to));
    const europe = await f.db.scalar(
      `SELECT count(DISTINCT o.customer_durable_key) FROM core.fact_order_line o
       JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       WHERE o.revenue > 0 AND c.region = 'Europe'`,
    );
    const eu = (await get('/v1/segmentation/cohorts?months=3&region=Europe')).body.cells;
    expect(eu.filter((c) => c.months_since === 0).reduce((s, c) => s + c.customers, 0)).toBe(Number(europe));
    const again = await app.request('/v1/segmentation/cohorts?region=Europe&months=3', {
      headers: bearer(f.tokens.executive),
    });
    expect(again.headers.get('x-cache')).toBe('hit');
    expect((await json(again)).cells).toEqual(eu);
    const other = await app.request('/v1/segmentation/cohorts?region=Europe&months=3', {
      headers: bearer(f.tokens.europe),
    });
    expect(other.headers.get('x-cache')).toBeNull();
  });

  it('bad parameters are 400s naming the parameter; no mining run is a 404', async () => {
    const bad = await get('/v1/segmentation/rfm-grid/customers?r=9&f=1');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/\br\b.*at most 5/);
    const cohorts = await get('/v1/segmentation/cohorts?from=2024-13');
    expect(cohorts.status).toBe(400);
    expect(cohorts.body.error.message).toContain('from');
    expect((await get('/v1/segmentation/rfm-grid?run=999999')).status).toBe(404);
    expect((await get('/v1/segmentation/migration?from=1&to=999999')).status).toBe(400);
  });
});

describe('explore routes', () => {
  const base = { measures: ['sales.revenue'], dimensions: ['customers.region'] };

  it('a drill adds the clicked member as a filter and moves one level down; roll-up restores', async () => {
    const res = await app.request(
      '/v1/explore/drill',
      postJson({ query: base, member: 'customers.region', value: 'Europe' }, f.tokens.executive),
    );
    expect(res.status).toBe(200);
    const { query } = await json(res);
    expect(query).toEqual({
      measures: ['sales.revenue'],
      dimensions: ['customers.country'],
      filters: [{ member: 'customers.region', operator: 'equals', values: ['Europe'] }],
    });
    const up = await app.request(
      '/v1/explore/rollup',
      postJson({ query, member: 'customers.country' }, f.tokens.executive),
    );
    expect((await json(up)).query).toEqual(base);
  });

  it('drilling a time bucket narrows the range to it and goes one granularity finer', async () => {
    const query = {
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    };
    const res = await app.request(
      '/v1/explore/drill',
      postJson(
        { query, member: 'sales.ordered_at.year', value: '2024-01-01T00:00:00.000' },
        f.tokens.executive,
      ),
    );
    const body = await json(res);
    expect(body.query.timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'quarter', dateRange: ['2024-01-01', '2024-12-31'] },
    ]);
  });

  it('drilling past the finest level or without a token is refused with a clear error', async () => {
    const res = await app.request(
      '/v1/explore/drill',
      postJson(
        { query: { ...base, dimensions: ['customers.city'] }, member: 'customers.city', value: 'x' },
        f.tokens.executive,
      ),
    );
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'invalid_drill' });
    const anon = await app.request('/v1/explore/drill', postJson({ query: base, member: 'x', value: 1 }));
    expect(anon.status).toBe(401);
    const missing = await app.request('/v1/explore/rollup', postJson({ query: base }, f.tokens.executive));
    expect(missing.status).toBe(400);
    expect((await json(missing)).error.message).toContain('member');
  });
});

describe('the OpenAPI document', () => {
  it('lists the explore and segmentation routes with their parameters', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; required: boolean }[] }>>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/explore/drill', '/v1/explore/rollup', '/v1/segmentation/migration']),
    );
    const cell = doc.paths['/v1/segmentation/rfm-grid/customers']?.get?.parameters ?? [];
    expect(cell.map((p) => [p.name, p.required])).toEqual([
      ['run', false],
      ['r', true],
      ['f', true],
      ['limit', false],
      ['region', false],
    ]);
  });
});

describe('audience export filters', () => {
  it('country and channel parameters narrow the CSV to the matching customers', async () => {
    const seg = String(
      await f.db.scalar(
        'SELECT rfm_segment FROM mining.customer_rfm WHERE run_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1',
        [newRun],
      ),
    );
    const pick = await f.db.one(
      `SELECT c.country, c.channel FROM mining.customer_rfm r JOIN core.dim_customer c USING (customer_durable_key)
       WHERE c.is_current AND r.run_id = $1 AND r.rfm_segment = $2 LIMIT 1`,
      [newRun, seg],
    );
    const expected = Number(
      await f.db.scalar(
        `SELECT count(*) FROM mining.customer_rfm r JOIN core.dim_customer c USING (customer_durable_key)
         WHERE c.is_current AND r.run_id = $1 AND r.rfm_segment = $2 AND c.country = $3 AND c.channel = $4`,
        [newRun, seg, String(pick?.country), String(pick?.channel)],
      ),
    );
    const q = `country=${encodeURIComponent(String(pick?.country))}&channel=${encodeURIComponent(String(pick?.channel))}`;
    const res = await app.request(`/v1/segments/${encodeURIComponent(seg)}/audience.csv?${q}`, {
      headers: bearer(f.tokens.marketing),
    });
    const rows = (await res.text()).trim().split('\n').slice(1);
    expect(rows.length).toBe(expected);
  });

  it('effectiveRegions narrows the token limit and never widens it', () => {
    expect(effectiveRegions(undefined, [])).toBeNull();
    expect(effectiveRegions(undefined, ['North'])).toEqual(['North']);
    expect(effectiveRegions(['Europe'], [])).toEqual(['Europe']);
    expect(effectiveRegions(['Europe'], ['North'])).toEqual([]);
    expect(effectiveRegions(['Europe', 'North'], ['North', ''])).toEqual(['North']);
  });
});
