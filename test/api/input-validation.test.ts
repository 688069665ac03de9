import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;

beforeAll(async () => {
  f = await apiFixture();
  app = quietApp(f);
});
afterAll(() => f?.cleanup());

async function get(path: string) {
  const res = await app.request(path, { headers: bearer(f.tokens.admin) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

async function post(path: string, body: unknown) {
  const res = await app.request(path, postJson(body, f.tokens.admin));
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

const revenueByRegion = { measures: ['sales.revenue'], dimensions: ['customers.region'] };

describe('dates outside the supported range are a 400 naming the range', () => {
  it('insights overview: to=9999-12-31', async () => {
    const { status, body } = await get('/v1/insights/overview?to=9999-12-31');
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/to.*1900-01-01.*2199-12-31/);
  });

  it('segmentation cohorts: from=2024-02-30 (no such day)', async () => {
    const { status, body } = await get('/v1/segmentation/cohorts?from=2024-02-30');
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/from/);
  });

  it('segmentation cohorts: a real day inside the range still answers', async () => {
    const { status } = await get('/v1/segmentation/cohorts?from=2020-01-01&to=2199-12-31');
    expect(status).toBe(200);
  });

  it('/v1/load: a dateRange ending 9999-12-31 with granularity day', async () => {
    const { status, body } = await post('/v1/load', {
      query: {
        measures: ['sales.revenue'],
        timeDimensions: [
          { dimension: 'sales.ordered_at', granularity: 'day', dateRange: ['2024-01-01', '9999-12-31'] },
        ],
      },
    });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/9999-12-31.*2199-12-31/);
  });

  it('/v1/load: a date filter value in year 1', async () => {
    const { status } = await post('/v1/load', {
      query: {
        measures: ['sales.revenue'],
        filters: [{ member: 'sales.ordered_at', operator: 'afterDate', values: ['0001-01-01'] }],
      },
    });
    expect(status).toBe(400);
  });
});

describe('drill and roll-up bodies are read with the cube query schema', () => {
  const bad: [string, unknown][] = [
    ['dimensions is a string', { ...revenueByRegion, dimensions: 'x' }],
    ['filters holds numbers', { ...revenueByRegion, filters: [1, 2, 3] }],
    ['filters is a string', { ...revenueByRegion, filters: 'bad' }],
    ['a null time dimension', { ...revenueByRegion, timeDimensions: [null] }],
    ['an unknown key', { ...revenueByRegion, dimensionz: ['customers.region'] }],
    ['an unknown member', { measures: ['sales.nope'] }],
  ];
  for (const [what, query] of bad) {
    it(`drill: ${what} is a 400`, async () => {
      const { status, body } = await post('/v1/explore/drill', {
        query,
        member: 'customers.region',
        value: 'Europe',
      });
      expect(status).toBe(400);
      expect(body.error?.message.length).toBeGreaterThan(0);
    });
    it(`rollup: ${what} is a 400`, async () => {
      const { status } = await post('/v1/explore/rollup', { query, member: 'customers.region' });
      expect(status).toBe(400);
    });
  }

  it('a well-formed drill still moves down the hierarchy', async () => {
    const res = await app.request(
      '/v1/explore/drill',
      postJson({ query: revenueByRegion, member: 'customers.region', value: 'Europe' }, f.tokens.admin),
    );
    expect(res.status).toBe(200);
    const { query } = (await res.json()) as {
      query: { dimensions: string[]; filters: { member: string; values: string[] }[] };
    };
    expect(query.dimensions).not.toContain('customers.region');
    expect(query.filters).toEqual([
      expect.objectContaining({ member: 'customers.region', values: ['Europe'] }),
    ]);
  });
});

describe('ungrouped queries', () => {
  it('a ratio over a distinct count answers a number per row (it was a 500: revenue / an order id)', async () => {
    const line = await f.db.one(
      `SELECT source || '/' || order_id AS id, order_id, revenue::DOUBLE AS revenue FROM core.fact_order_line
       WHERE order_id IN (SELECT order_id FROM core.fact_order_line GROUP BY order_id HAVING count(*) = 1)
       ORDER BY order_id LIMIT 1`,
    );
    const res = await app.request(
      '/v1/load',
      postJson(
        {
          query: {
            measures: ['sales.avg_order_value', 'sales.order_count'],
            dimensions: ['sales.order_id'],
            filters: [{ member: 'sales.order_id', operator: 'equals', values: [String(line?.order_id)] }],
            ungrouped: true,
          },
        },
        f.tokens.admin,
      ),
    );
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Record<string, unknown>[] };
    // one line: the order's value is its revenue over one order
    expect(data).toHaveLength(1);
    expect(Number(data[0]?.['sales.avg_order_value'])).toBeCloseTo(Number(line?.revenue), 6);
    expect(Number(data[0]?.['sales.order_count'])).toBe(1);
  });
});
