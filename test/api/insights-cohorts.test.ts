/**
 * The cohort members of the model (model/cohorts.yml) through /v1/load: the retention matrix of a
 * region-limited token equals a per-customer count written by hand on the same warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, apiFixture, postJson, quietApp } from './fixture.ts';

describe('cohort retention in the model', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture();
  });
  afterAll(() => f?.cleanup());

  it('customers of each first-purchase month still buying k months later, for a Europe-limited token', async () => {
    const query = {
      measures: ['cohort_activity.customers'],
      dimensions: ['cohort_activity.months_since'],
      timeDimensions: [{ dimension: 'cohort_activity.cohort_month', granularity: 'month' }],
      filters: [{ member: 'cohort_activity.months_since', operator: 'lte', values: ['6'] }],
      limit: 10000,
    };
    const res = await quietApp(f).request('/v1/load', postJson({ query }, f.tokens.europe));
    expect(res.status).toBe(200);
    const data = ((await res.json()) as { data: Record<string, string | number>[] }).data;
    const got = new Map(
      data.map((r) => [
        `${String(r['cohort_activity.cohort_month.month']).slice(0, 7)}|${r['cohort_activity.months_since']}`,
        Number(r['cohort_activity.customers']),
      ]),
    );
    // month indexes of each Europe customer's positive sales (UTC), and its first one
    const rows = await f.db.all(
      `WITH m AS (
         SELECT DISTINCT o.customer_durable_key,
                CAST(strftime(o.ordered_at AT TIME ZONE 'UTC', '%Y') AS INTEGER) * 12
                  + CAST(strftime(o.ordered_at AT TIME ZONE 'UTC', '%m') AS INTEGER) - 1 AS idx
         FROM core.fact_order_line o
         JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current AND c.region = 'Europe'
         WHERE o.revenue > 0),
       first AS (SELECT customer_durable_key, min(idx) AS f FROM m GROUP BY 1)
       SELECT first.f AS cohort, m.idx - first.f AS k, count(*) AS n
       FROM m JOIN first USING (customer_durable_key) WHERE m.idx - first.f <= 6 GROUP BY 1, 2`,
    );
    const want = new Map(
      rows.map((r) => {
        const c = Number(r.cohort);
        const month = `${Math.floor(c / 12)}-${String((c % 12) + 1).padStart(2, '0')}`;
        return [`${month}|${Number(r.k)}`, Number(r.n)];
      }),
    );
    expect(want.size).toBeGreaterThan(10);
    expect(got).toEqual(want);
  });
});
