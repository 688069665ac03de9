/**
 * The one security rule, route by route: for every route and method in /openapi.json, a
 * region-limited token's answer equals the unrestricted answer filtered to its regions, where
 * "filtered" is computed here with hand-written SQL on the same warehouse (docs/api.md, "Region
 * limits"): a golden customer is visible, with its records, orders and scores, exactly when the
 * current version of its own record is in one of the token's regions.
 *
 * The fixture has what breaks weaker rules: a customer who moved from Europe to another region
 * (orders placed while in Europe stay with it), a golden customer of two sources and two regions
 * (a Europe record of a second source merged into a customer of another region, with orders of
 * its own), a region with no customers, and a second mining run with an older as-of created after
 * a newer one (the latest run is the newer as-of, not the higher id).
 *
 * A route in /openapi.json without a case here fails the first test.
 */
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import { createRegionalSandboxes, type RegionalSandboxes } from '../../src/api/sandbox/regional.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { refreshAccessRegions } from '../../src/db/access-region.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;
let sandbox: Sandbox;
let regional: RegionalSandboxes;

/** A token and the regions it may see (undefined: every region). */
interface Caller {
  readonly name: string;
  readonly token: string;
  readonly regions?: readonly string[];
}

const fx = {
  /** The region the moved customer left and the merged record lives in. */
  europe: 'Europe',
  /** Where the moved customer went and where the merged record's golden customer lives. */
  other: '',
  movedId: '',
  movedKey: 0,
  goldenId: '',
  goldenKey: 0,
  mergedId: 'SHOP-0001',
  mergedKey: 0,
  latestRun: 0,
  olderRun: 0,
};

/** Region-limited callers per role, and the unrestricted ones. */
let limited: Record<'executive' | 'marketing' | 'analyst', Caller[]>;
let all: Record<'executive' | 'marketing' | 'analyst' | 'admin', Caller>;

async function q(sql: string, params: (string | number)[] = []) {
  return f.db.all(sql, params);
}

/** `IN (...)` of bound placeholders from $start, for a region list (FALSE when empty). */
function regionIn(column: string, regions: readonly string[], start: number): string {
  if (regions.length === 0) return 'FALSE';
  return `${column} IN (${regions.map((_, i) => `$${start + i}`).join(', ')})`;
}

/**
 * Golden keys visible to `regions` (the rule, written out in SQL): golden records whose current
 * version is in the regions. Returned as a subquery over params starting at $start.
 */
function visibleGolden(regions: readonly string[] | undefined, start = 1): string {
  const where = regions === undefined ? 'TRUE' : regionIn('g.region', regions, start);
  return `(SELECT g.customer_durable_key FROM core.dim_customer g
    WHERE g.is_current AND coalesce(g.golden_customer_key, g.customer_durable_key) = g.customer_durable_key
      AND ${where})`;
}

/** Current records (durable keys) whose golden customer is visible to `regions`. */
function visibleRecords(regions: readonly string[] | undefined, start = 1): string {
  return `(SELECT c.customer_durable_key FROM core.dim_customer c
    WHERE c.is_current AND coalesce(c.golden_customer_key, c.customer_durable_key) IN ${visibleGolden(regions, start)})`;
}

const params = (regions: readonly string[] | undefined): string[] =>
  regions === undefined ? [] : [...regions];

async function get(path: string, caller: Caller) {
  const res = await app.request(path, { headers: bearer(caller.token) });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? ((await res.json()) as Record<string, unknown>) : await res.text();
  return { status: res.status, body };
}

async function post(path: string, caller: Caller, payload: unknown) {
  const res = await app.request(path, postJson(payload, caller.token));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sorted = <T>(xs: T[]): T[] =>
  [...xs].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));

beforeAll(async () => {
  f = await apiFixture();
  const regions = (await q('SELECT DISTINCT region FROM core.dim_customer WHERE is_current ORDER BY 1')).map(
    (r) => String(r.region),
  );
  fx.other = regions.find((r) => r !== fx.europe) as string;
  const withOrders = (region: string, not = -1) =>
    q(
      `SELECT c.customer_id, c.customer_durable_key, c.customer_key FROM core.dim_customer c
       WHERE c.is_current AND c.region = $1 AND c.customer_durable_key <> $2
         AND (SELECT count(*) FROM core.fact_order_line o WHERE o.customer_durable_key = c.customer_durable_key) >= 3
       ORDER BY c.customer_id LIMIT 1`,
      [region, not],
    );
  const nextKey = async (column: string) =>
    Number((await f.db.scalar(`SELECT max(${column}) + 1 FROM core.dim_customer`)) ?? 1);

  // A Europe customer moves to the other region on 2024-07-01: a new current version.
  const moved = (await withOrders(fx.europe))[0] as Record<string, unknown>;
  fx.movedId = String(moved.customer_id);
  fx.movedKey = Number(moved.customer_durable_key);
  const newVersion = await nextKey('customer_key');
  await f.db.run(
    `INSERT INTO core.dim_customer SELECT * REPLACE ($1::BIGINT AS customer_key, $2 AS region,
       TIMESTAMPTZ '2024-07-01 00:00:00+00' AS valid_from, TRUE AS is_current)
     FROM core.dim_customer WHERE customer_key = $3`,
    [newVersion, fx.other, Number(moved.customer_key)],
  );
  await f.db.run(
    `UPDATE core.dim_customer SET is_current = FALSE, valid_to = TIMESTAMPTZ '2024-07-01 00:00:00+00'
     WHERE customer_key = $1`,
    [Number(moved.customer_key)],
  );

  // A shop record in Europe, merged into a customer of the other region, with two orders of its own.
  const golden = (await withOrders(fx.other, fx.movedKey))[0] as Record<string, unknown>;
  fx.goldenId = String(golden.customer_id);
  fx.goldenKey = Number(golden.customer_durable_key);
  fx.mergedKey = await nextKey('customer_durable_key');
  const mergedVersion = await nextKey('customer_key');
  await f.db.run(
    `INSERT INTO core.dim_customer SELECT * REPLACE ($1::BIGINT AS customer_key, $2::BIGINT AS customer_durable_key,
       'shop' AS source, $3 AS customer_id, $4 AS region, $5::BIGINT AS golden_customer_key)
     FROM core.dim_customer WHERE customer_key = $6`,
    [mergedVersion, fx.mergedKey, fx.mergedId, fx.europe, fx.goldenKey, Number(golden.customer_key)],
  );
  await f.db.run('UPDATE core.dim_customer SET golden_customer_key = $1 WHERE customer_durable_key = $1', [
    fx.goldenKey,
  ]);
  await f.db.run(
    `INSERT INTO core.fact_order_line SELECT * REPLACE ('shop' AS source, 'SHOP-O-' || line_no AS order_id,
       $1::BIGINT AS customer_key, $2::BIGINT AS customer_durable_key)
     FROM core.fact_order_line WHERE customer_durable_key = $3 ORDER BY ordered_at LIMIT 2`,
    [mergedVersion, fx.mergedKey, fx.goldenKey],
  );
  // written as a load would leave them: every load ends by storing each record's access region
  await refreshAccessRegions(f.db);

  // Run 1 as of the last order day; run 2, created after it, as of 90 days earlier with a holdout.
  const last = String(await f.db.scalar('SELECT max(ordered_at)::DATE::VARCHAR FROM core.fact_order_line'));
  const earlier = String(await f.db.scalar('SELECT ($1::DATE - 90)::VARCHAR', [last]));
  const calibration = String(await f.db.scalar('SELECT ($1::DATE - 270)::VARCHAR', [last]));
  fx.latestRun = (await runMining(f.db, { asOf: last, seed: 3 })).run_id;
  fx.olderRun = (await runMining(f.db, { asOf: earlier, calibrationEnd: calibration, seed: 3 })).run_id;

  const token = async (role: 'executive' | 'marketing' | 'analyst', regions: string[]) =>
    (await createToken(f.db, { role, regions })).token;
  const callers = async (role: 'executive' | 'marketing' | 'analyst'): Promise<Caller[]> => [
    { name: `${role} Europe`, token: await token(role, [fx.europe]), regions: [fx.europe] },
    { name: `${role} ${fx.other}`, token: await token(role, [fx.other]), regions: [fx.other] },
    {
      name: `${role} Atlantis (no customers)`,
      token: await token(role, ['Atlantis']),
      regions: ['Atlantis'],
    },
  ];
  limited = {
    executive: await callers('executive'),
    marketing: await callers('marketing'),
    analyst: await callers('analyst'),
  };
  all = {
    executive: { name: 'executive', token: f.tokens.executive },
    marketing: { name: 'marketing', token: f.tokens.marketing },
    analyst: { name: 'analyst', token: f.tokens.analyst },
    admin: { name: 'admin', token: f.tokens.admin },
  };

  await f.db.run('CHECKPOINT');
  const snapshot = join(f.dir, 'warehouse.sandbox.duckdb');
  await publishSnapshot(f.dbPath, snapshot, { schemas: ['core', 'mining'] });
  sandbox = createSandbox({ snapshot, timeoutMs: 8000, rowCap: 1000 });
  regional = createRegionalSandboxes({ source: snapshot, timeoutMs: 8000, rowCap: 1000, max: 4 });
  app = quietApp(f, { sandbox, regionalSandboxes: regional, campaignWriter: (fn) => fn(f.db) });
}, 180_000);

afterAll(() => {
  sandbox?.close();
  regional?.close();
  f?.cleanup();
});

/** The latest run by the rule, computed here: newest as-of, then newest created. */
async function latestRun(): Promise<number> {
  return Number(
    await f.db.scalar('SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC LIMIT 1'),
  );
}

/** 404 unless the id's golden customer is visible; the moved and the merged customer in particular. */
async function onlyVisibleCustomers(pathOf: (id: string) => string): Promise<void> {
  for (const caller of limited.executive) {
    const seesOther = caller.regions?.includes(fx.other) ?? false;
    for (const id of [fx.movedId, fx.mergedId, fx.goldenId]) {
      const res = await get(pathOf(id), caller);
      expect(res.status, `${caller.name} asking for ${id}`).toBe(seesOther ? 200 : 404);
    }
  }
}

type Case = () => Promise<void>;

const CASES: Record<string, Case> = {
  'GET /healthz': async () => {
    // no customer figures: every caller gets the same answer
    const strip = (b: unknown) => JSON.stringify(b).replaceAll(/"lag_seconds":[0-9.e+-]+/g, '');
    const base = await get('/healthz', all.admin);
    for (const caller of limited.executive)
      expect(strip((await get('/healthz', caller)).body)).toBe(strip(base.body));
  },

  'GET /v1/customers/{id}': async () => {
    await onlyVisibleCustomers((id) => `/v1/customers/${id}`);
    const other = limited.executive[1] as Caller;
    // the moved customer: all its order lines, also those placed in Europe
    const moved = (await get(`/v1/customers/${fx.movedId}`, other)).body as Record<string, unknown[]>;
    const movedLines = Number(
      await f.db.scalar('SELECT count(*) FROM core.fact_order_line WHERE customer_durable_key = $1', [
        fx.movedKey,
      ]),
    );
    expect(moved.orders?.length).toBe(Math.min(50, movedLines));
    // the merged record: its golden customer's scores of the latest run, and the golden customer's orders
    const merged = (await get(`/v1/customers/${fx.mergedId}`, other)).body as {
      scores: { rfm: Record<string, unknown> | null };
      orders: { order_id: string }[];
    };
    const rfm = await f.db.one(
      'SELECT run_id, rfm_segment, monetary_total::DOUBLE AS m FROM mining.customer_rfm WHERE run_id = $1 AND customer_durable_key = $2',
      [await latestRun(), fx.goldenKey],
    );
    expect(merged.scores.rfm).toMatchObject({ run_id: rfm?.run_id, rfm_segment: rfm?.rfm_segment });
    expect(merged.scores.rfm?.monetary_total).toBeCloseTo(Number(rfm?.m), 6);
    expect(merged.orders.some((o) => o.order_id.startsWith('SHOP-O-'))).toBe(true);
  },

  'GET /v1/mining/runs': async () => {
    const order = (await q('SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC')).map(
      (r) => Number(r.run_id),
    );
    expect(order[0]).toBe(fx.latestRun);
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/mining/runs', caller)).body as { runs: Record<string, unknown>[] };
      expect(body.runs.map((r) => r.run_id)).toEqual(order);
      const text = JSON.stringify(body);
      expect(text).not.toContain('"code_version":');
      expect(text).not.toMatch(/"\/[^"]*\.yml"/);
      // metrics summarise customers of every region: withheld from a region-limited token
      if (caller.regions) for (const r of body.runs) expect(r.metrics).toEqual({});
    }
    const admin = (await get('/v1/mining/runs', all.admin)).body as {
      runs: { metrics: Record<string, unknown> }[];
    };
    expect(admin.runs[0]?.metrics).toHaveProperty('code_version');
  },

  'GET /v1/mining/runs/{id}': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const res = await get(`/v1/mining/runs/${fx.latestRun}`, caller);
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain('"code_version":');
      expect(text).not.toMatch(/"\/[^"]*\.yml"/);
      if (caller.regions) {
        expect((res.body as Record<string, unknown>).metrics).toEqual({});
        // tier cut-offs and centroids are fitted on every region's customers
        expect(text).not.toContain('tier_cutoffs');
        expect(text).not.toContain('centroids');
      }
    }
  },

  // the caller's own role and the regions its token was created with, nothing about the warehouse
  'GET /v1/me': async () => {
    for (const [role, caller] of Object.entries(all)) {
      expect(await get('/v1/me', caller)).toEqual({ status: 200, body: { role, regions: null } });
    }
    for (const [role, callers] of Object.entries(limited)) {
      for (const caller of callers) {
        expect(await get('/v1/me', caller)).toEqual({ status: 200, body: { role, regions: caller.regions } });
      }
    }
  },

  'GET /v1/segments': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/segments', caller)).body as {
        segments: { kind: string; name: string; customers: number }[];
      };
      const expected = await q(
        `SELECT 'rfm_segment' AS kind, rfm_segment AS name, count(*) AS n FROM mining.customer_rfm
         WHERE run_id = ${await latestRun()} AND rfm_segment IS NOT NULL AND customer_durable_key IN ${visibleGolden(caller.regions)}
         GROUP BY ALL
         UNION ALL
         SELECT 'cluster', cluster_name, count(*) FROM mining.customer_segment
         WHERE run_id = ${await latestRun()} AND customer_durable_key IN ${visibleGolden(caller.regions)}
         GROUP BY ALL`,
        params(caller.regions),
      );
      const key = (k: string, n: string, c: number) => `${k}|${n}|${c}`;
      expect(sorted(body.segments.map((s) => key(s.kind, s.name, s.customers))), caller.name).toEqual(
        sorted(expected.map((r) => key(String(r.kind), String(r.name), Number(r.n)))),
      );
    }
  },

  'GET /v1/segments/{name}/audience.csv': async () => {
    const segment = String(
      await f.db.scalar(
        'SELECT rfm_segment FROM mining.customer_rfm WHERE run_id = $1 AND customer_durable_key = $2',
        [await latestRun(), fx.goldenKey],
      ),
    );
    for (const caller of [all.marketing, ...limited.marketing]) {
      const res = await get(`/v1/segments/${encodeURIComponent(segment)}/audience.csv`, caller);
      expect(res.status).toBe(200);
      const ids = String(res.body)
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0]);
      const expected = await q(
        `SELECT c.customer_id FROM mining.customer_rfm r
         JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
         WHERE r.run_id = ${await latestRun()} AND r.rfm_segment = $1
           AND r.customer_durable_key IN ${visibleGolden(caller.regions, 2)}`,
        [segment, ...params(caller.regions)],
      );
      expect(sorted(ids), caller.name).toEqual(sorted(expected.map((r) => String(r.customer_id))));
    }
  },

  'POST /v1/adhoc': async () => {
    const sql = `SELECT count(*) AS lines, round(sum(revenue), 2)::DOUBLE AS revenue,
      count(DISTINCT customer_durable_key) AS records FROM core.fact_order_line`;
    for (const caller of limited.analyst) {
      const res = await post('/v1/adhoc', caller, { sql });
      expect(res.status).toBe(200);
      const expected = await f.db.one(
        `SELECT count(*) AS lines, round(sum(revenue), 2)::DOUBLE AS revenue,
           count(DISTINCT customer_durable_key) AS records
         FROM core.fact_order_line WHERE customer_durable_key IN ${visibleRecords(caller.regions)}`,
        params(caller.regions),
      );
      const row = (res.body.rows as unknown[][])[0] as unknown[];
      expect(row.map(Number), caller.name).toEqual([
        Number(expected?.lines),
        Number(expected?.revenue ?? 0),
        Number(expected?.records),
      ]);
      // the moved customer's history and the merged record follow their golden customer's region
      const seen = await post('/v1/adhoc', caller, {
        sql: 'SELECT DISTINCT customer_durable_key FROM core.dim_customer ORDER BY 1',
      });
      const keys = (seen.body.rows as unknown[][]).map((r) => Number(r[0]));
      const seesOther = caller.regions?.includes(fx.other) ?? false;
      expect(keys.includes(fx.movedKey)).toBe(seesOther);
      expect(keys.includes(fx.mergedKey)).toBe(seesOther);
    }
  },

  'POST /v1/explore/drill': async () => {
    const payload = {
      query: { measures: ['sales.revenue'], dimensions: ['customers.region'] },
      member: 'customers.region',
      value: fx.europe,
    };
    const base = await post('/v1/explore/drill', all.executive, payload);
    for (const caller of limited.executive)
      expect((await post('/v1/explore/drill', caller, payload)).body).toEqual(base.body);
  },

  'POST /v1/explore/rollup': async () => {
    const payload = {
      query: { measures: ['sales.revenue'], dimensions: ['customers.country'] },
      member: 'customers.country',
    };
    const base = await post('/v1/explore/rollup', all.executive, payload);
    for (const caller of limited.executive)
      expect((await post('/v1/explore/rollup', caller, payload)).body).toEqual(base.body);
  },

  'GET /v1/segmentation/rfm-grid': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/segmentation/rfm-grid', caller)).body as {
        run_id: number;
        cells: { r_score: number; f_score: number; customers: number }[];
      };
      expect(body.run_id).toBe(await latestRun());
      const expected = await q(
        `SELECT r_score, f_score, count(*) AS n FROM mining.customer_rfm
         WHERE run_id = ${await latestRun()} AND r_score IS NOT NULL AND f_score IS NOT NULL
           AND customer_durable_key IN ${visibleGolden(caller.regions)} GROUP BY ALL`,
        params(caller.regions),
      );
      const key = (r: unknown, f2: unknown, n: unknown) => `${r}${f2}:${n}`;
      expect(sorted(body.cells.map((c) => key(c.r_score, c.f_score, c.customers))), caller.name).toEqual(
        sorted(expected.map((r) => key(r.r_score, r.f_score, r.n))),
      );
    }
  },

  'GET /v1/segmentation/rfm-grid/customers': async () => {
    const cell = await f.db.one(
      'SELECT r_score, f_score FROM mining.customer_rfm WHERE run_id = $1 AND customer_durable_key = $2',
      [await latestRun(), fx.goldenKey],
    );
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (
        await get(
          `/v1/segmentation/rfm-grid/customers?r=${cell?.r_score}&f=${cell?.f_score}&limit=1000`,
          caller,
        )
      ).body as { total: number; customers: { customer_id: string }[] };
      const expected = await q(
        `SELECT c.customer_id FROM mining.customer_rfm r
         JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
         WHERE r.run_id = ${await latestRun()} AND r.r_score = ${Number(cell?.r_score)} AND r.f_score = ${Number(cell?.f_score)}
           AND r.customer_durable_key IN ${visibleGolden(caller.regions)}`,
        params(caller.regions),
      );
      expect(body.total, caller.name).toBe(expected.length);
      expect(sorted(body.customers.map((c) => c.customer_id))).toEqual(
        sorted(expected.map((r) => String(r.customer_id))),
      );
    }
  },

  'GET /v1/segmentation/segments': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/segmentation/segments', caller)).body as {
        segments: { segment: string; customers: number }[];
      };
      const expected = await q(
        `SELECT rfm_segment, count(*) AS n FROM mining.customer_rfm
         WHERE run_id = ${await latestRun()} AND rfm_segment IS NOT NULL
           AND customer_durable_key IN ${visibleGolden(caller.regions)} GROUP BY ALL`,
        params(caller.regions),
      );
      expect(sorted(body.segments.map((s) => `${s.segment}:${s.customers}`)), caller.name).toEqual(
        sorted(expected.map((r) => `${r.rfm_segment}:${r.n}`)),
      );
    }
  },

  'GET /v1/segmentation/clusters': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/segmentation/clusters', caller)).body as {
        clusters: { cluster_name: string; customers: number }[];
      };
      const expected = await q(
        `SELECT cluster_name, count(*) AS n FROM mining.customer_segment
         WHERE run_id = ${await latestRun()} AND customer_durable_key IN ${visibleGolden(caller.regions)} GROUP BY ALL`,
        params(caller.regions),
      );
      expect(sorted(body.clusters.map((s) => `${s.cluster_name}:${s.customers}`)), caller.name).toEqual(
        sorted(expected.map((r) => `${r.cluster_name}:${r.n}`)),
      );
    }
  },

  'GET /v1/segmentation/migration': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get(`/v1/segmentation/migration?from=${fx.olderRun}&to=${fx.latestRun}`, caller))
        .body as {
        cells: { customers: number }[];
      };
      // customers scored in either run (new or gone ones have a label of their own), visible to the caller
      const expected = Number(
        await f.db.scalar(
          `SELECT count(DISTINCT customer_durable_key) FROM mining.customer_rfm
           WHERE run_id IN (${fx.olderRun}, ${fx.latestRun}) AND customer_durable_key IN ${visibleGolden(caller.regions)}`,
          params(caller.regions),
        ),
      );
      const shown = body.cells.reduce((n, c) => n + c.customers, 0);
      expect(shown, caller.name).toBe(expected);
    }
  },

  'GET /v1/segmentation/cohorts': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/segmentation/cohorts?months=1', caller)).body as {
        cells: { months_since: number; customers: number }[];
      };
      // month 0 of every cohort: each visible golden customer once, in the month of its first sale
      const expected = Number(
        await f.db.scalar(
          `SELECT count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key))
           FROM core.fact_order_line o JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
           WHERE o.revenue > 0 AND c.customer_durable_key IN ${visibleRecords(caller.regions)}`,
          params(caller.regions),
        ),
      );
      const firsts = body.cells.filter((c) => c.months_since === 0).reduce((n, c) => n + c.customers, 0);
      expect(firsts, caller.name).toBe(expected);
    }
  },

  'GET /v1/insights/overview': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/insights/overview?from=2024-01-01&to=2024-12-31', caller)).body as {
        clv: { latest: { run_id: number; customers: number } | null };
      };
      const n = Number(
        await f.db.scalar(
          `SELECT count(*) FROM mining.customer_clv WHERE run_id = ${await latestRun()}
             AND customer_durable_key IN ${visibleGolden(caller.regions)}`,
          params(caller.regions),
        ),
      );
      // a scope with no scored customer has no CLV figure, rather than one of another scope
      if (n === 0) expect(body.clv.latest, caller.name).toBeNull();
      else expect(body.clv.latest?.run_id, caller.name).toBe(await latestRun());
      expect(body.clv.latest?.customers ?? 0, caller.name).toBe(n);
    }
  },

  'GET /v1/insights/distribution': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/insights/distribution?measure=churn_probability&bins=10', caller))
        .body as {
        customers: number;
      };
      const n = Number(
        await f.db.scalar(
          `SELECT count(*) FROM mining.customer_churn WHERE run_id = ${await latestRun()} AND churn_probability IS NOT NULL
             AND customer_durable_key IN ${visibleGolden(caller.regions)}`,
          params(caller.regions),
        ),
      );
      expect(body.customers, caller.name).toBe(n);
    }
  },

  'GET /v1/insights/clv/pareto': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/insights/clv/pareto', caller)).body as { customers: number };
      const n = Number(
        await f.db.scalar(
          `SELECT count(*) FROM mining.customer_clv WHERE run_id = ${await latestRun()} AND clv IS NOT NULL
             AND customer_durable_key IN ${visibleGolden(caller.regions)}`,
          params(caller.regions),
        ),
      );
      expect(body.customers, caller.name).toBe(n);
    }
  },

  'GET /v1/insights/clv/report-card': async () => {
    // the holdout figures of run 2 are over every region's customers: a region-limited token must
    // not get them as they are (they are either recomputed in its scope or withheld)
    const full = JSON.stringify((await get('/v1/insights/clv/report-card', all.executive)).body);
    const figures = [...full.matchAll(/"(mae|bias)":(-?[0-9.e+-]+)/g)].map((m) => `"${m[1]}":${m[2]}`);
    expect(figures.length).toBeGreaterThan(0);
    for (const caller of limited.executive) {
      const text = JSON.stringify((await get('/v1/insights/clv/report-card', caller)).body);
      for (const figure of figures) expect(text, caller.name).not.toContain(figure);
    }
  },

  'GET /v1/insights/clv/alive-matrix': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/insights/clv/alive-matrix', caller)).body as {
        cells: { customers: number }[];
      };
      const n = Number(
        await f.db.scalar(
          `SELECT count(*) FROM mining.customer_rfm r JOIN mining.customer_churn ch USING (run_id, customer_durable_key)
           WHERE r.run_id = ${await latestRun()} AND r.btyd_frequency IS NOT NULL
             AND customer_durable_key IN ${visibleGolden(caller.regions)}`,
          params(caller.regions),
        ),
      );
      expect(
        body.cells.reduce((s, c) => s + c.customers, 0),
        caller.name,
      ).toBe(n);
    }
  },

  'GET /v1/insights/churn/at-risk': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/insights/churn/at-risk?limit=1000', caller)).body as {
        at_risk_customers: number;
        customers: { customer_id: string }[];
      };
      const rows = await q(
        `SELECT c.customer_id, ch.churn_probability FROM mining.customer_churn ch
         JOIN mining.customer_clv v USING (run_id, customer_durable_key)
         JOIN core.dim_customer c ON c.customer_durable_key = ch.customer_durable_key AND c.is_current
         WHERE ch.run_id = ${await latestRun()} AND ch.customer_durable_key IN ${visibleGolden(caller.regions)}`,
        params(caller.regions),
      );
      expect(body.at_risk_customers, caller.name).toBe(
        rows.filter((r) => Number(r.churn_probability) >= 0.5).length,
      );
      expect(sorted(body.customers.map((c) => c.customer_id))).toEqual(
        sorted(rows.map((r) => String(r.customer_id))),
      );
    }
  },

  'GET /v1/insights/churn/quality': async () => {
    // figures over customers: a region-limited token's answer is its own scope's (customers counted
    // in it never exceed the customers it may see) or withheld
    for (const caller of limited.executive) {
      const res = await get('/v1/insights/churn/quality', caller);
      expect(res.status).toBeLessThan(500);
      const visible = Number(
        await f.db.scalar(`SELECT count(*) FROM ${visibleGolden(caller.regions)}`, params(caller.regions)),
      );
      const counts = [...JSON.stringify(res.body).matchAll(/"(customers|n)":([0-9]+)/g)].map((m) =>
        Number(m[2]),
      );
      for (const n of counts) expect(n, caller.name).toBeLessThanOrEqual(visible);
    }
  },

  'GET /v1/insights/customers/{id}/churn-reasons': async () => {
    await onlyVisibleCustomers((id) => `/v1/insights/customers/${id}/churn-reasons`);
  },

  'GET /v1/insights/customers/{id}/scores': async () => {
    await onlyVisibleCustomers((id) => `/v1/insights/customers/${id}/scores`);
    const other = limited.executive[1] as Caller;
    const body = (await get(`/v1/insights/customers/${fx.mergedId}/scores`, other)).body as {
      runs: { run_id: number }[];
    };
    // the merged record shows its golden customer's scores of both runs
    expect(sorted(body.runs.map((r) => r.run_id))).toEqual(sorted([fx.latestRun, fx.olderRun]));
  },

  'GET /v1/meta': async () => {
    const base = await get('/v1/meta', all.executive);
    for (const caller of limited.executive) expect((await get('/v1/meta', caller)).body).toEqual(base.body);
  },

  'GET /v1/load': async () => loadCase('GET', '/v1'),
  'POST /v1/load': async () => loadCase('POST', '/v1'),
  'GET /v1/sql': async () => sqlCase('GET', '/v1'),
  'POST /v1/sql': async () => sqlCase('POST', '/v1'),
  'GET /cubejs-api/v1/meta': async () => {
    const base = await get('/cubejs-api/v1/meta', all.executive);
    for (const caller of limited.executive)
      expect((await get('/cubejs-api/v1/meta', caller)).body).toEqual(base.body);
  },
  'GET /cubejs-api/v1/load': async () => loadCase('GET', '/cubejs-api/v1'),
  'POST /cubejs-api/v1/load': async () => loadCase('POST', '/cubejs-api/v1'),
  'GET /cubejs-api/v1/sql': async () => sqlCase('GET', '/cubejs-api/v1'),
  'POST /cubejs-api/v1/sql': async () => sqlCase('POST', '/cubejs-api/v1'),

  // the quarantine: a reject is visible when the customer its row names is (unknown: never)
  'GET /v1/data/rejects': async () => {
    const base = (await get('/v1/data/rejects?limit=1000', all.analyst)).body as { total: number };
    expect(base.total).toBe(Number(await f.db.scalar('SELECT count(*) FROM meta.etl_reject')));
    for (const caller of limited.analyst) {
      const expected = await visibleRejects(caller.regions);
      const body = (await get('/v1/data/rejects?limit=1000', caller)).body as {
        total: number;
        rows: { load_id: number; source_file: string; line: number; reason: string }[];
      };
      expect(body.total, caller.name).toBe(expected.length);
      expect(sorted(body.rows.map((r) => `${r.load_id}:${r.source_file}:${r.line}:${r.reason}`))).toEqual(
        sorted(expected),
      );
    }
    // executive and marketing: counts only
    for (const caller of [all.executive, all.marketing, ...limited.executive]) {
      const body = (await get('/v1/data/rejects', caller)).body as { total: number; rows: unknown };
      expect(body.rows, caller.name).toBeNull();
      expect(body.total).toBe((await visibleRejects(caller.regions)).length);
    }
  },

  'GET /v1/data/rejects.csv': async () => {
    const file = String(
      await f.db.scalar("SELECT min(source_file) FROM meta.etl_reject WHERE reason = 'invalid_date'"),
    );
    const path = `/v1/data/rejects.csv?reason=invalid_date&file=${encodeURIComponent(file)}`;
    for (const caller of [all.analyst, ...limited.analyst]) {
      const expected = (await visibleRejects(caller.regions)).filter((k) =>
        k.endsWith(`:${file}:${k.split(':')[2]}:invalid_date`),
      );
      const res = await get(path, caller);
      if (expected.length === 0) {
        expect(res.status, caller.name).toBe(404);
        continue;
      }
      expect(res.status, caller.name).toBe(200);
      expect(String(res.body).trimEnd().split('\r\n').length - 1).toBe(expected.length);
    }
    for (const caller of [all.executive, all.marketing, ...limited.executive])
      expect((await get(path, caller)).status).toBe(403);
  },

  'GET /v1/data/loads': async () => {
    const loads = await q('SELECT load_id, rows_read, rejects_by_reason::VARCHAR AS r FROM meta.etl_load');
    const base = (await get('/v1/data/loads', all.executive)).body as {
      loads: { load_id: number; rows_read: number | null; rejects_by_reason: Record<string, number> }[];
    };
    for (const l of loads) {
      const got = base.loads.find((x) => x.load_id === Number(l.load_id));
      expect(got?.rows_read).toBe(Number(l.rows_read));
      expect(got?.rejects_by_reason).toEqual(JSON.parse(String(l.r)));
    }
    for (const caller of limited.executive) {
      const body = (await get('/v1/data/loads', caller)).body as typeof base;
      const byReason: Record<string, number> = {};
      for (const k of await visibleRejects(caller.regions)) {
        const reason = k.split(':')[3] as string;
        byReason[reason] = (byReason[reason] ?? 0) + 1;
      }
      const seen: Record<string, number> = {};
      for (const l of body.loads) {
        // totals over every region are withheld
        expect(l.rows_read, caller.name).toBeNull();
        for (const [k, v] of Object.entries(l.rejects_by_reason)) seen[k] = (seen[k] ?? 0) + v;
      }
      expect(seen, caller.name).toEqual(byReason);
    }
  },

  'GET /v1/data/checks': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const body = (await get('/v1/data/checks', caller)).body as {
        checks: { source: string; check: string; rows: number; of: number }[];
      };
      const where = `c.customer_durable_key IN ${visibleRecords(caller.regions)}`;
      const customers = await q(
        `SELECT c.source, count(*) AS n, count(*) FILTER (WHERE c.email IS NULL OR trim(c.email) = '') AS no_email
         FROM core.dim_customer c WHERE c.is_current AND ${where} GROUP BY 1`,
        params(caller.regions),
      );
      const lines = await q(
        `SELECT o.source, count(*) AS n, count(*) FILTER (WHERE o.customer_durable_key IS NULL) AS unknown
         FROM core.fact_order_line o
         WHERE ${caller.regions === undefined ? 'TRUE' : `o.customer_durable_key IN ${visibleRecords(caller.regions)}`}
         GROUP BY 1`,
        params(caller.regions),
      );
      const check = (source: unknown, name: string) =>
        body.checks.find((c) => c.source === String(source) && c.check === name);
      expect(body.checks.filter((c) => c.check === 'missing_email').length, caller.name).toBe(
        customers.length,
      );
      for (const r of customers) {
        expect(check(r.source, 'missing_email')?.rows, caller.name).toBe(Number(r.no_email));
        expect(check(r.source, 'missing_email')?.of).toBe(Number(r.n));
      }
      for (const r of lines) {
        expect(check(r.source, 'unknown_customer')?.rows, caller.name).toBe(Number(r.unknown));
        expect(check(r.source, 'unknown_customer')?.of).toBe(Number(r.n));
      }
    }
  },
  'POST /v1/audiences/count': async () => {
    for (const caller of [all.executive, ...limited.executive]) {
      const res = await post('/v1/audiences/count', caller, { definition: SCORED });
      expect(res.status, caller.name).toBe(200);
      expect(res.body.customers, caller.name).toBe((await visibleScored(caller.regions)).length);
    }
  },
  'POST /v1/batch': async () => {
    // each read of a batch is the caller's own request: the rule cuts it as it cuts that request alone
    const reads = [
      { method: 'POST', path: '/v1/audiences/count', body: { definition: SCORED } },
      { method: 'GET', path: `/v1/customers/${fx.movedId}` },
      { method: 'GET', path: `/v1/customers/${fx.goldenId}` },
      { method: 'GET', path: `/v1/customers/${fx.mergedId}` },
      { method: 'GET', path: '/v1/segments' },
      { method: 'POST', path: '/v1/load', body: { query: { measures: ['customers.count'] } } },
    ] as const;
    for (const caller of [all.executive, ...limited.executive]) {
      const res = await app.request('/v1/batch', postJson({ requests: reads }, caller.token));
      expect(res.status, caller.name).toBe(200);
      const lines = (await res.text())
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { i: number; status: number; body: Record<string, unknown> });
      const byIndex = new Map(lines.map((l) => [l.i, l]));
      expect(byIndex.size, caller.name).toBe(reads.length);
      expect(byIndex.get(0)?.body.customers, caller.name).toBe((await visibleScored(caller.regions)).length);
      for (const [i, read] of reads.entries()) {
        const alone =
          read.method === 'GET' ? await get(read.path, caller) : await post(read.path, caller, read.body);
        const line = byIndex.get(i);
        const { lastRefreshTime: _a, ...got } = (line?.body ?? {}) as Record<string, unknown>;
        const { lastRefreshTime: _b, ...expected } = alone.body as Record<string, unknown>;
        expect({ status: line?.status, body: got }, `${caller.name} ${read.path}`).toEqual({
          status: alone.status,
          body: expected,
        });
      }
    }
  },
  'POST /v1/audiences': async () => {
    for (const caller of [all.marketing, ...limited.marketing]) {
      const res = await post('/v1/audiences', caller, { name: caller.name, definition: SCORED, seed: 1 });
      expect(res.status, caller.name).toBe(201);
      expect(sorted(await frozenIds(Number(res.body.audience_id))), caller.name).toEqual(
        await visibleScored(caller.regions),
      );
    }
  },
  'GET /v1/audiences': async () => {
    const id = await savedForAll();
    for (const caller of limited.executive) {
      const body = (await get('/v1/audiences', caller)).body as {
        audiences: { audience_id: number; members: number }[];
      };
      const seen = body.audiences.find((a) => a.audience_id === id);
      const n = (await visibleScored(caller.regions)).length;
      if (n === 0) expect(seen, caller.name).toBeUndefined();
      else expect(seen?.members, caller.name).toBe(n);
    }
  },
  'POST /v1/audiences/export': async () => {
    const id = await savedForAll();
    for (const caller of [all.marketing, ...limited.marketing]) {
      const res = await app.request('/v1/audiences/export', postJson({ definition: SCORED }, caller.token));
      expect(res.status, caller.name).toBe(200);
      const ids = (await res.text())
        .split('\r\n')
        .slice(1, -1)
        .map((l) => l.split(',')[0] as string);
      expect(sorted(ids), caller.name).toEqual(await visibleScored(caller.regions));
      // a saved audience exports its treated members the caller may see, never the control group
      const saved = await app.request('/v1/audiences/export', postJson({ audience_id: id }, caller.token));
      const visibleFrozen = new Set(await visibleScored(caller.regions));
      const treated = (await frozenIds(id, false)).filter((x) => visibleFrozen.has(x));
      if (treated.length === 0 && caller.regions !== undefined) expect(saved.status).toBe(404);
      else {
        const got = (await saved.text())
          .split('\r\n')
          .slice(1, -1)
          .map((l) => l.split(',')[0] as string);
        expect(sorted(got), caller.name).toEqual(sorted(treated));
      }
    }
  },
  'GET /v1/audiences/{id}/changes': async () => {
    const id = await savedForAll();
    for (const caller of limited.executive) {
      const res = await get(`/v1/audiences/${id}/changes`, caller);
      const n = (await visibleScored(caller.regions)).length;
      if (n === 0) expect(res.status, caller.name).toBe(404);
      else expect((res.body as Record<string, unknown>).stayed, caller.name).toBe(n);
    }
  },
  'GET /v1/audiences/{id}/lift': async () => {
    const id = await savedForAll();
    for (const caller of limited.executive) {
      const res = await get(`/v1/audiences/${id}/lift?after=2020-01-01`, caller);
      const n = (await visibleScored(caller.regions)).length;
      if (n < 4) expect(res.status, caller.name).toBeGreaterThanOrEqual(400);
      else {
        const body = res.body as { treated: { customers: number }; control: { customers: number } };
        expect(body.treated.customers + body.control.customers, caller.name).toBe(n);
      }
    }
  },
};

/**
 * Rejects visible to `regions` by the rule, written out in SQL: the row names a customer of its
 * load's source whose current record is visible. Keys are `load:file:line:reason`.
 */
async function visibleRejects(regions: readonly string[] | undefined): Promise<string[]> {
  const rows = await q(
    `SELECT r.load_id, r.source_file, r.line, r.reason FROM meta.etl_reject r
     JOIN meta.etl_load l ON l.load_id = r.load_id
     WHERE ${
       regions === undefined
         ? 'TRUE'
         : `EXISTS (SELECT 1 FROM core.dim_customer c
       WHERE c.is_current AND c.source = l.source_system AND c.customer_id = r.customer_id
         AND c.customer_durable_key IN ${visibleRecords(regions)})`
     }`,
    params(regions),
  );
  return rows.map((r) => `${r.load_id}:${r.source_file}:${r.line}:${r.reason}`);
}

/** Every customer scored by the latest run: an audience with no region of its own. */
const SCORED = { field: 'churn_probability', op: 'gte', value: 0 };

/** Customer ids of the golden customers `regions` may see that the latest run scored, sorted. */
async function visibleScored(regions: readonly string[] | undefined): Promise<string[]> {
  const rows = await q(
    `SELECT g.customer_id FROM core.dim_customer g JOIN mining.customer_churn h
       ON h.customer_durable_key = g.customer_durable_key AND h.run_id = ${await latestRun()}
     WHERE g.is_current AND g.customer_durable_key IN ${visibleGolden(regions)}`,
    params(regions),
  );
  return sorted(rows.map((r) => String(r.customer_id)));
}

/** Customer ids frozen in a saved audience (only the treated ones when `control` is false). */
async function frozenIds(id: number, control?: boolean): Promise<string[]> {
  const rows = await q(
    `SELECT c.customer_id FROM campaign.audience_member m JOIN core.dim_customer c
       ON c.customer_durable_key = m.customer_durable_key AND c.is_current
     WHERE m.audience_id = $1 ${control === undefined ? '' : `AND m.is_control = ${control}`}`,
    [id],
  );
  return rows.map((r) => String(r.customer_id));
}

let savedAll: number | undefined;
/** One audience of every scored customer, saved by an unrestricted marketing token. */
async function savedForAll(): Promise<number> {
  if (savedAll === undefined) {
    const res = await post('/v1/audiences', all.marketing, { name: 'everyone', definition: SCORED, seed: 5 });
    savedAll = Number(res.body.audience_id);
  }
  return savedAll;
}

/** Revenue, customers and the latest run's CLV by record region, against SQL under the rule. */
async function loadCase(method: 'GET' | 'POST', prefix: string): Promise<void> {
  const query = {
    measures: ['sales.revenue', 'customers.count', 'customers.total_clv'],
    dimensions: ['customers.region'],
  };
  for (const caller of [all.executive, ...limited.executive]) {
    const res =
      method === 'GET'
        ? await get(`${prefix}/load?query=${encodeURIComponent(JSON.stringify(query))}`, caller)
        : await post(`${prefix}/load`, caller, { query });
    const data = (res.body as { data: Record<string, unknown>[] }).data;
    const revenue = await q(
      `SELECT c.region, sum(o.revenue)::DOUBLE AS revenue FROM core.fact_order_line o
       JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       WHERE c.customer_durable_key IN ${visibleRecords(caller.regions)} GROUP BY 1`,
      params(caller.regions),
    );
    const clv = await q(
      `SELECT c.region, count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS n,
         sum(v.clv) FILTER (WHERE c.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)) AS clv
       FROM core.dim_customer c
       LEFT JOIN mining.customer_clv v ON v.run_id = ${await latestRun()}
         AND v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
       WHERE c.is_current AND c.customer_durable_key IN ${visibleRecords(caller.regions)} GROUP BY 1`,
      params(caller.regions),
    );
    const byRegion = new Map(data.map((r) => [String(r['customers.region']), r]));
    expect(sorted([...byRegion.keys()]), caller.name).toEqual(sorted(clv.map((r) => String(r.region))));
    for (const r of revenue)
      expect(Number(byRegion.get(String(r.region))?.['sales.revenue'])).toBeCloseTo(Number(r.revenue), 2);
    for (const r of clv) {
      const got = byRegion.get(String(r.region));
      expect(Number(got?.['customers.count'])).toBe(Number(r.n));
      expect(Number(got?.['customers.total_clv'] ?? 0)).toBeCloseTo(Number(r.clv ?? 0), 4);
    }
  }
}

/** The dry run's SQL for a region-limited token carries its regions as bound values. */
async function sqlCase(method: 'GET' | 'POST', prefix: string): Promise<void> {
  const query = { measures: ['sales.revenue'], dimensions: ['customers.region'] };
  for (const caller of limited.executive) {
    const res =
      method === 'GET'
        ? await get(`${prefix}/sql?query=${encodeURIComponent(JSON.stringify(query))}`, caller)
        : await post(`${prefix}/sql`, caller, { query });
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.body);
    // the rule's member: the golden customer's current region (customers.access_region)
    expect(text).toContain('\\"customers\\".access_region END IN');
    for (const region of caller.regions ?? []) expect(text).toContain(JSON.stringify(region));
  }
}

describe('the security rule on every route of /openapi.json', () => {
  it('has a case for every route and method (a route missing here fails)', async () => {
    const spec = (await get('/openapi.json', all.admin)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => !(r in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((c) => !routes.includes(c))).toEqual([]);
  });

  for (const [route, run] of Object.entries(CASES)) {
    it(`${route}: a region-limited answer is the unrestricted one cut by the rule`, run, 60_000);
  }
});
