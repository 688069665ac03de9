/**
 * Cube's own client library (@cubejs-client/core), unchanged, against a real server on
 * 127.0.0.1: meta, load → ResultSet (tablePivot, series, chartPivot) and sql, each checked
 * against hand-written SQL on the same warehouse.
 */
import cube, { type CubeApi } from '@cubejs-client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { type ApiFixture, apiFixture } from './fixture.ts';

let f: ApiFixture;
let server: RunningServer;
let api: CubeApi;

const CUSTOMERS = '(SELECT * FROM core.dim_customer WHERE is_current)';

beforeAll(async () => {
  f = await apiFixture();
  await f.db.run('CHECKPOINT');
  server = await startServer({ dbPath: f.dbPath, port: 0, refreshMs: 0, log: false });
  api = cube(f.tokens.executive, { apiUrl: `${server.url}/cubejs-api/v1` });
});
afterAll(async () => {
  await server?.close();
  f?.cleanup();
});

describe('@cubejs-client/core against the server', () => {
  it('meta() lists the cubes and their members', async () => {
    const meta = await api.meta();
    const names = meta.cubes.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['sales', 'customers']));
    const sales = meta.cubes.find((c) => c.name === 'sales');
    expect(sales?.measures.map((m) => m.name)).toContain('sales.revenue');
    expect(meta.resolveMember('sales.revenue', 'measures')).toMatchObject({ name: 'sales.revenue' });
    expect(meta.resolveMember('customers.region', 'dimensions')).toMatchObject({ name: 'customers.region' });
  });

  it('load() gives a ResultSet whose tablePivot() equals hand-written SQL', async () => {
    const rs = await api.load({
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      order: { 'customers.region': 'asc' },
    });
    const rows = rs.tablePivot();
    const hand = await f.db.all(
      `SELECT c.region, sum(s.revenue) AS revenue FROM core.fact_order_line s
       LEFT JOIN ${CUSTOMERS} c ON s.customer_durable_key = c.customer_durable_key
       GROUP BY 1 ORDER BY 1`,
    );
    expect(rows.length).toBe(hand.length);
    expect(rows.length).toBeGreaterThan(1);
    rows.forEach((row, i) => {
      expect(row['customers.region']).toBe(hand[i]?.region);
      expect(Number(row['sales.revenue'])).toBeCloseTo(Number(hand[i]?.revenue), 4);
    });
    // the annotation travels with the result
    expect(rs.annotation().measures['sales.revenue']).toMatchObject({ type: 'number' });
  });

  it('series() and chartPivot() by month give the monthly totals of hand-written SQL', async () => {
    const rs = await api.load({
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
    });
    const hand = await f.db.all(
      `SELECT strftime(date_trunc('month', timezone('UTC', ordered_at)), '%Y-%m-%dT%H:%M:%S.000') AS m,
              sum(revenue) AS revenue
       FROM core.fact_order_line GROUP BY 1 ORDER BY 1`,
    );
    expect(hand.length).toBeGreaterThan(3);
    const expected = new Map(hand.map((r) => [String(r.m), Number(r.revenue)]));

    // the client fills months without sales, so compare month by month over its whole axis
    const chart = rs.chartPivot();
    expect(chart[0]?.x).toBe(hand[0]?.m);
    expect(chart[chart.length - 1]?.x).toBe(hand[hand.length - 1]?.m);
    for (const point of chart) {
      expect(Number(point['sales.revenue'] ?? 0)).toBeCloseTo(expected.get(point.x) ?? 0, 4);
    }

    const series = rs.series();
    expect(series.map((s) => s.key)).toEqual(['sales.revenue']);
    const points = series[0]?.series ?? [];
    expect(points.length).toBe(chart.length);
    for (const p of points) {
      expect(Number(p.value ?? 0)).toBeCloseTo(expected.get(p.x) ?? 0, 4);
    }
    const total = points.reduce((a, p) => a + Number(p.value ?? 0), 0);
    const handTotal = hand.reduce((a, r) => a + Number(r.revenue), 0);
    expect(total).toBeCloseTo(handTotal, 2);
  });

  it('a region-limited token is limited through the client too', async () => {
    const europe = cube(f.tokens.europe, { apiUrl: `${server.url}/cubejs-api/v1` });
    const rs = await europe.load({ measures: ['customers.count'], dimensions: ['customers.region'] });
    expect(rs.tablePivot().map((r) => r['customers.region'])).toEqual(['Europe']);
  });

  it("a bad token and a bad query come back as the client's own errors, with our message", async () => {
    const stranger = cube('not-a-token', { apiUrl: `${server.url}/cubejs-api/v1` });
    await expect(stranger.load({ measures: ['sales.revenue'] })).rejects.toThrow(/token/i);
    await expect(api.load({ measures: ['sales.revenu'] })).rejects.toThrow(/sales\.revenu/);
  });

  it('sql() gives the compiled SQL as the client’s SqlQuery', async () => {
    const q = await api.sql({ measures: ['sales.revenue'], dimensions: ['customers.region'] });
    expect(q.sql()).toMatch(/select/i);
    expect(q.sql()).toContain('fact_order_line');
  });
});
