import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiEnv, createToken } from '../../src/api/auth.ts';
import { csvField } from '../../src/api/routes/segments.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;

beforeAll(async () => {
  f = await apiFixture();
  // run 1: every customer "Champions"; run 2 (latest): the first 40 customers by id "At Risk"
  await f.db.run(`INSERT INTO mining.mining_run VALUES
    (1, DATE '2024-01-01', 'full', '{"rfm":{"rules":{"segments":["Champions","Loyal","At Risk"]}}}', '{}', now()),
    (2, DATE '2024-06-01', 'full', '{"rfm":{"rules":{"segments":["Champions","Loyal","At Risk"]}}}', '{}', now())`);
  await f.db.run(`INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, frequency, monetary_total,
      rfm_segment, btyd_frequency, btyd_recency, btyd_t)
    SELECT 1, DATE '2024-01-01', customer_durable_key, 1, 10, 'Champions', 0, 0, 1 FROM core.dim_customer WHERE is_current`);
  await f.db.run(`INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, frequency, monetary_total,
      rfm_segment, btyd_frequency, btyd_recency, btyd_t)
    SELECT 2, DATE '2024-06-01', customer_durable_key, 1, 10,
      CASE WHEN row_number() OVER (ORDER BY customer_id) <= 40 THEN 'At Risk' ELSE 'Loyal' END, 0, 0, 1
    FROM core.dim_customer WHERE is_current`);
  await f.db.run(`UPDATE core.dim_customer SET name = '=HYPERLINK("http://x")'
    WHERE is_current AND customer_id = (SELECT min(customer_id) FROM core.dim_customer)`);
  app = quietApp(f);
});
afterAll(() => f?.cleanup());

describe('GET /v1/segments/:name/audience.csv', () => {
  it('exports the latest run members as CSV with formula-safe cells', async () => {
    const res = await app.request('/v1/segments/At%20Risk/audience.csv', {
      headers: bearer(f.tokens.marketing),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const text = await res.text();
    // the same columns and CRLF line endings as crm-bi export-audience
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'customer_id,name,email,region,country,city,channel,segment,cluster,r_score,f_score,m_score,recency_days,frequency,monetary,clv,churn_probability',
    );
    expect(lines.length).toBe(41);
    expect(lines.some((l) => l.includes(`"'=HYPERLINK(""http://x"")"`))).toBe(true);
    expect(lines.some((l) => /,=/.test(l))).toBe(false);
  });

  it('a region-limited token gets only its region', async () => {
    const { token } = await createToken(f.db, { role: 'marketing', regions: ['Europe'] });
    const text = await (
      await app.request('/v1/segments/Loyal/audience.csv', { headers: bearer(token) })
    ).text();
    const rows = text.trim().split('\r\n').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.split(',')[3] === 'Europe')).toBe(true);
  });

  it('an old run’s segment that the latest run lacks is empty, an unknown one is 404', async () => {
    const old = await app.request('/v1/segments/Champions/audience.csv', {
      headers: bearer(f.tokens.marketing),
    });
    expect(old.status).toBe(200);
    expect((await old.text()).trim().split('\r\n').length).toBe(1);
    const res = await app.request('/v1/segments/Nope/audience.csv', { headers: bearer(f.tokens.marketing) });
    expect(res.status).toBe(404);
  });

  it('is forbidden for executives and allowed for marketing, analyst and admin', async () => {
    const path = '/v1/segments/At%20Risk/audience.csv';
    expect((await app.request(path, { headers: bearer(f.tokens.executive) })).status).toBe(403);
    for (const role of ['marketing', 'analyst', 'admin'] as const)
      expect((await app.request(path, { headers: bearer(f.tokens[role]) })).status).toBe(200);
  });

  it('csvField quotes and defuses formulas', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+x')).toBe("'+x");
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
  });
});

describe('GET /v1/segments', () => {
  it('lists the latest run segments with their sizes, within the caller regions', async () => {
    const all = await app.request('/v1/segments', { headers: bearer(f.tokens.executive) });
    expect(all.status).toBe(200);
    const body = (await all.json()) as {
      segments: { kind: string; name: string; run_id: number; customers: number }[];
    };
    // run 2 is the latest: 40 "At Risk", the rest "Loyal"; run 1's "Champions" is history
    const total = Number(await f.db.scalar('SELECT count(*) FROM core.dim_customer WHERE is_current'));
    expect(body.segments).toEqual([
      { kind: 'rfm_segment', name: 'Loyal', run_id: 2, customers: total - 40 },
      { kind: 'rfm_segment', name: 'At Risk', run_id: 2, customers: 40 },
    ]);
    const europe = await app.request('/v1/segments', { headers: bearer(f.tokens.europe) });
    const eu = (await europe.json()) as { segments: { customers: number }[] };
    const euCustomers = Number(
      await f.db.scalar("SELECT count(*) FROM core.dim_customer WHERE is_current AND region = 'Europe'"),
    );
    expect(eu.segments.reduce((n, s) => n + s.customers, 0)).toBe(euCustomers);
    expect((await app.request('/v1/segments')).status).toBe(401);
  });
});

describe('GET /v1/mining/runs/:id', () => {
  it('gives one run with parsed params and metrics, 404 for an unknown run, 400 for a bad id', async () => {
    await f.db.run(`INSERT INTO mining.mining_run VALUES (7, DATE '2024-06-01', 'full', '{"period":"week"}',
      '{"k":3}', now())`);
    const res = await app.request('/v1/mining/runs/7', { headers: bearer(f.tokens.executive) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      run_id: 7,
      as_of: '2024-06-01',
      params: { period: 'week' },
      metrics: { k: 3 },
    });
    expect((await app.request('/v1/mining/runs/8', { headers: bearer(f.tokens.executive) })).status).toBe(
      404,
    );
    expect((await app.request('/v1/mining/runs/x', { headers: bearer(f.tokens.executive) })).status).toBe(
      400,
    );
  });
});
