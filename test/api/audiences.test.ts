/**
 * The audience routes end to end on a generated, mined warehouse: the live count equals the
 * exported rows and hand-written SQL; a miscased value is a 400, not an empty audience; a saved
 * audience holds its control group out of every export; each export is logged; roles and region
 * limits hold.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;
let europeMarketing: string;

const EU_AT_RISK_BIG = {
  and: [
    { field: 'churn_probability', op: 'gt', value: 0.5 },
    { field: 'monetary', op: 'gt', value: 'median' },
    { field: 'region', op: 'in', values: ['Europe'] },
  ],
};

/** The same audience in plain SQL: golden customers of the latest run, spend above the median. */
const HAND_SQL = `
  WITH run AS (SELECT run_id FROM mining.latest_run),
  med AS (SELECT median(monetary_total) AS m FROM mining.customer_rfm WHERE run_id = (SELECT run_id FROM run))
  SELECT c.customer_id, v.clv
  FROM core.dim_customer c
  JOIN mining.customer_rfm r ON r.customer_durable_key = c.customer_durable_key AND r.run_id = (SELECT run_id FROM run)
  JOIN mining.customer_churn h ON h.customer_durable_key = c.customer_durable_key AND h.run_id = r.run_id
  LEFT JOIN mining.customer_clv v ON v.customer_durable_key = c.customer_durable_key AND v.run_id = r.run_id
  WHERE c.is_current AND coalesce(c.golden_customer_key, c.customer_durable_key) = c.customer_durable_key
    AND h.churn_probability > 0.5 AND c.region = 'Europe' AND r.monetary_total > (SELECT m FROM med)
  ORDER BY c.customer_id`;

function csvRows(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(','));
}

beforeAll(async () => {
  f = await apiFixture();
  await runMining(f.db, { seed: 3 });
  europeMarketing = (await createToken(f.db, { role: 'marketing', regions: ['Europe'] })).token;
  app = quietApp(f, { campaignWriter: (fn) => fn(f.db) });
}, 120_000);

afterAll(() => f?.cleanup());

describe('audience routes', () => {
  it('counts what the export writes and what hand-written SQL finds', async () => {
    const count = await app.request(
      '/v1/audiences/count',
      postJson({ definition: EU_AT_RISK_BIG }, f.tokens.executive),
    );
    expect(count.status).toBe(200);
    const summary = (await count.json()) as { customers: number; total_clv: number };
    const expected = await f.db.all(HAND_SQL);
    expect(expected.length).toBeGreaterThan(0);
    expect(summary.customers).toBe(expected.length);
    expect(summary.total_clv).toBeCloseTo(
      expected.reduce((s, r) => s + Number(r.clv ?? 0), 0),
      6,
    );

    const file = await app.request(
      '/v1/audiences/export',
      postJson({ definition: EU_AT_RISK_BIG, comment: true }, f.tokens.marketing),
    );
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toContain(
      'churn_probability-gt-0.5_and_monetary-gt-median_and_region-in-Europe',
    );
    const text = await file.text();
    expect(text.startsWith('# audience')).toBe(true);
    const [header, ...rows] = csvRows(text);
    expect(header).toEqual([
      'id',
      'name',
      'email',
      'region',
      'country',
      'channel',
      'segment',
      'cluster',
      'churn_probability',
      'clv',
      'p_alive',
      'monetary',
    ]);
    // the export is not sorted (a sort costs more than the rest of a large export): compare as sets
    expect(rows.map((r) => String(r[0])).sort()).toEqual(expected.map((r) => String(r.customer_id)).sort());
    // rounded for people: at most 3 decimals on shares, 2 on money
    for (const r of rows) {
      expect(r[8]).toMatch(/^\d(\.\d{1,3})?$/);
      expect(r[9] ?? '').toMatch(/^-?\d+(\.\d{1,2})?$|^$/);
    }
    const logged = await f.db.one(
      'SELECT row_count, format, exported_by FROM campaign.audience_export ORDER BY export_id DESC LIMIT 1',
    );
    expect(Number(logged?.row_count)).toBe(expected.length);
    expect(logged?.format).toBe('csv');
  });

  it('tells a miscased or unknown value apart from an empty audience', async () => {
    const wrongCase = await app.request(
      '/v1/audiences/count',
      postJson({ definition: { field: 'region', op: 'in', values: ['europe'] } }, f.tokens.executive),
    );
    expect(wrongCase.status).toBe(400);
    expect(JSON.stringify(await wrongCase.json())).toContain("did you mean 'Europe'");
    const unknown = await app.request(
      '/v1/audiences/count',
      postJson({ definition: { field: 'region', op: 'in', values: ['Atlantis'] } }, f.tokens.executive),
    );
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('known values');
    const empty = await app.request(
      '/v1/audiences/count',
      postJson(
        {
          definition: {
            and: [
              { field: 'region', op: 'in', values: ['Europe'] },
              { field: 'churn_probability', op: 'gt', value: 1 },
            ],
          },
        },
        f.tokens.executive,
      ),
    );
    expect(empty.status).toBe(200);
    expect(((await empty.json()) as { customers: number }).customers).toBe(0);
    const bad = await app.request(
      '/v1/audiences/count',
      postJson({ definition: { field: 'region', op: 'gt', value: 3 } }, f.tokens.executive),
    );
    expect(bad.status).toBe(400);
  });

  it('saves members with a seeded 10% control group that no export contains', async () => {
    const res = await app.request(
      '/v1/audiences',
      postJson(
        { name: 'Win back EU', definition: EU_AT_RISK_BIG, control_share: 0.1, seed: 11 },
        f.tokens.marketing,
      ),
    );
    expect(res.status).toBe(201);
    // the document says the same status the route answers
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths['/v1/audiences']?.post?.responses ?? {})).toContain('201');
    expect(doc.paths['/v1/audiences']?.post?.responses['200']).toBeUndefined();
    const saved = (await res.json()) as { audience_id: number; members: number; control: number };
    const expected = await f.db.all(HAND_SQL);
    expect(saved.members).toBe(expected.length);
    expect(saved.control).toBe(Math.round(0.1 * expected.length));
    const control = await f.db.all(
      `SELECT c.customer_id FROM campaign.audience_member m JOIN core.dim_customer c
       ON c.customer_durable_key = m.customer_durable_key AND c.is_current WHERE m.audience_id = $1 AND m.is_control`,
      [saved.audience_id],
    );
    expect(control.length).toBe(saved.control);
    const file = await app.request(
      '/v1/audiences/export',
      postJson({ audience_id: saved.audience_id }, f.tokens.marketing),
    );
    const ids = new Set(
      csvRows(await file.text())
        .slice(1)
        .map((r) => r[0]),
    );
    expect(ids.size).toBe(saved.members - saved.control);
    for (const c of control) expect(ids.has(String(c.customer_id))).toBe(false);

    const list = (await (
      await app.request('/v1/audiences', { headers: bearer(f.tokens.executive) })
    ).json()) as { audiences: { audience_id: number; members: number; control: number }[] };
    expect(list.audiences.find((a) => a.audience_id === saved.audience_id)).toMatchObject({
      members: saved.members,
      control: saved.control,
    });
    const changes = (await (
      await app.request(`/v1/audiences/${saved.audience_id}/changes`, { headers: bearer(f.tokens.executive) })
    ).json()) as { joined: number; left: number; stayed: number };
    expect(changes).toMatchObject({ joined: 0, left: 0, stayed: saved.members });
    const lift = await app.request(`/v1/audiences/${saved.audience_id}/lift?after=2024-01-01`, {
      headers: bearer(f.tokens.executive),
    });
    expect(lift.status).toBe(200);
    const report = (await lift.json()) as {
      treated: { customers: number };
      control: { customers: number };
      verdict: string;
    };
    expect(report.treated.customers + report.control.customers).toBe(saved.members);
  });

  it('lets executives count but not save or export, and limits a regional token to its region', async () => {
    const save = await app.request(
      '/v1/audiences',
      postJson({ name: 'x', definition: EU_AT_RISK_BIG }, f.tokens.executive),
    );
    expect(save.status).toBe(403);
    const exp = await app.request(
      '/v1/audiences/export',
      postJson({ definition: EU_AT_RISK_BIG }, f.tokens.executive),
    );
    expect(exp.status).toBe(403);
    const north = await app.request(
      '/v1/audiences/count',
      postJson({ definition: { field: 'churn_probability', op: 'gte', value: 0 } }, europeMarketing),
    );
    const inEurope = await f.db.scalar(
      `SELECT count(*) FROM core.dim_customer c JOIN mining.customer_churn h ON h.customer_durable_key = c.customer_durable_key
       AND h.run_id = (SELECT run_id FROM mining.latest_run) WHERE c.is_current AND c.region = 'Europe'
       AND coalesce(c.golden_customer_key, c.customer_durable_key) = c.customer_durable_key`,
    );
    expect(((await north.json()) as { customers: number }).customers).toBe(Number(inEurope));
  });

  it('reads "above the median" of a region-limited token as the median of its regions, in count and export alike', async () => {
    const aboveMedian = {
      and: [
        { field: 'churn_probability', op: 'gt', value: 0.5 },
        { field: 'monetary', op: 'gt', value: 'median' },
      ],
    };
    // Europe's scored golden customers, their median net spend, and who is above it (hand-written)
    const europe = `
      WITH run AS (SELECT run_id FROM mining.latest_run),
      eu AS (
        SELECT c.customer_id, r.monetary_total, h.churn_probability
        FROM core.dim_customer c
        JOIN mining.customer_rfm r ON r.customer_durable_key = c.customer_durable_key AND r.run_id = (SELECT run_id FROM run)
        JOIN mining.customer_churn h ON h.customer_durable_key = c.customer_durable_key AND h.run_id = r.run_id
        WHERE c.is_current AND c.region = 'Europe'
          AND coalesce(c.golden_customer_key, c.customer_durable_key) = c.customer_durable_key)`;
    const [medians] = await f.db.all(`${europe}
      SELECT (SELECT median(monetary_total) FROM eu) AS eu_median,
        (SELECT median(monetary_total) FROM mining.customer_rfm WHERE run_id = (SELECT run_id FROM run)) AS all_median`);
    // the two medians differ on this data, so the test tells the two readings apart
    expect(Number(medians?.eu_median)).not.toBe(Number(medians?.all_median));
    const expected = (
      await f.db.all(`${europe}
        SELECT customer_id FROM eu WHERE churn_probability > 0.5
          AND monetary_total > (SELECT median(monetary_total) FROM eu) ORDER BY customer_id`)
    ).map((r) => String(r.customer_id));
    const atOrBelow = Number(
      await f.db.scalar(`${europe}
        SELECT count(*) FROM eu WHERE churn_probability > 0.5
          AND monetary_total <= (SELECT median(monetary_total) FROM eu)`),
    );
    expect(expected.length).toBeGreaterThan(0);

    const count = await app.request(
      '/v1/audiences/count',
      postJson({ definition: aboveMedian }, europeMarketing),
    );
    expect(((await count.json()) as { customers: number }).customers).toBe(expected.length);
    const below = {
      and: [aboveMedian.and[0], { field: 'monetary', op: 'lte', value: 'median' }],
    };
    const countBelow = await app.request(
      '/v1/audiences/count',
      postJson({ definition: below }, europeMarketing),
    );
    expect(((await countBelow.json()) as { customers: number }).customers).toBe(atOrBelow);

    const file = await app.request(
      '/v1/audiences/export',
      postJson({ definition: aboveMedian }, europeMarketing),
    );
    expect(file.status).toBe(200);
    const ids = csvRows(await file.text())
      .slice(1)
      .map((r) => r[0])
      .sort();
    expect(ids).toEqual(expected);
  });
});
