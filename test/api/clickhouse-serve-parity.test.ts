/**
 * `crm-bi serve --db clickhouse://...` answers like `crm-bi serve --db FILE.duckdb`: one demo-like
 * warehouse is synced to the 2-shard test cluster, one server runs over each, and every GET route
 * of /openapi.json (with the parameters the pages send) must give the same JSON on both, floats
 * within a relative 1e-9. A GET route of /openapi.json missing from the list below fails the test.
 * Two documented exceptions (docs/scale-out.md): the run-record routes, which ClickHouse 18.16
 * cannot read (JSON paths), answer 400 `unsupported`; and the open ends of customer history
 * (1900-01-01, 9999-12-31) lie outside ClickHouse's DateTime range, so they are not compared.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/routes/openapi.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { Database } from '../../src/db/duckdb.ts';
import { buildDemoWarehouse, EARLIER_AS_OF, syncToCluster } from '../browser/harness.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';
import { tempDir } from '../helpers/warehouse.ts';
import { largestRfmSegment } from './fixture.ts';

const BASE = await clickHouseUrl();
const URL = BASE?.replace(/\/[A-Za-z0-9_]+(\?|$)/, '/crm_bi_h14c_parity$1');

/** Fields that name the engine or the moment of answering, not the figures. */
const VOLATILE = new Set(['lastRefreshTime', 'dbType', 'lag_seconds']);

/** A DuckDB time ClickHouse cannot hold (its DateTime covers 1970 to 2105). */
function outsideClickHouseTimes(v: unknown): boolean {
  const year = typeof v === 'string' ? /^(\d{4})-\d{2}-\d{2}T/.exec(v)?.[1] : undefined;
  return year !== undefined && (Number(year) < 1970 || Number(year) > 2105);
}

/** JSON equal, floats within 1e-9 relative, volatile fields left out; reports the first path that differs. */
function firstDifference(a: unknown, b: unknown, path = '$'): string | null {
  if (outsideClickHouseTimes(a)) return null;
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b) return null;
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) ? null : `${path}: ${a} vs ${b}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} items`;
    for (const [i, v] of a.entries()) {
      const d = firstDifference(v, b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).filter((k) => !VOLATILE.has(k));
    const kb = Object.keys(b).filter((k) => !VOLATILE.has(k));
    if (ka.sort().join() !== kb.sort().join()) return `${path}: keys ${ka.join()} vs ${kb.join()}`;
    for (const k of ka) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? null
    : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Each GET route of /openapi.json with the paths the pages ask (several where a parameter changes the plan). */
function requests(customerId: string, segment: string): Record<string, readonly string[]> {
  const load = (q: unknown) => `/v1/load?query=${encodeURIComponent(JSON.stringify(q))}`;
  const revenueByRegion = {
    measures: ['sales.revenue', 'customers.count'],
    dimensions: ['customers.region'],
  };
  return {
    '/healthz': ['/healthz'],
    '/v1/customers/{id}': [`/v1/customers/${encodeURIComponent(customerId)}`],
    '/v1/me': ['/v1/me'],
    '/v1/mining/runs': ['/v1/mining/runs'],
    '/v1/mining/runs/{id}': ['/v1/mining/runs/1', '/v1/mining/runs/2'],
    '/v1/segments': ['/v1/segments'],
    '/v1/segments/{name}/audience.csv': [`/v1/segments/${encodeURIComponent(segment)}/audience.csv`],
    '/v1/segmentation/rfm-grid': ['/v1/segmentation/rfm-grid', '/v1/segmentation/rfm-grid?region=Europe'],
    '/v1/segmentation/rfm-grid/customers': ['/v1/segmentation/rfm-grid/customers?r=5&f=5&limit=20'],
    '/v1/segmentation/segments': ['/v1/segmentation/segments', '/v1/segmentation/segments?run=1'],
    '/v1/segmentation/clusters': ['/v1/segmentation/clusters'],
    '/v1/segmentation/migration': ['/v1/segmentation/migration?from=1&to=2'],
    '/v1/segmentation/cohorts': ['/v1/segmentation/cohorts', '/v1/segmentation/cohorts?months=6'],
    '/v1/insights/overview': [
      `/v1/insights/overview?from=2024-01-01&to=${EARLIER_AS_OF}`,
      `/v1/insights/overview?from=2023-01-01&to=2023-12-31&region=Europe`,
    ],
    '/v1/insights/distribution': [
      '/v1/insights/distribution?measure=clv',
      '/v1/insights/distribution?measure=p_alive&bins=10',
      // 20 bins: counted by the warehouse (churn_latest.p_alive_bin), not from every score
      '/v1/insights/distribution?measure=p_alive&bins=20&region=Europe',
    ],
    '/v1/insights/clv/pareto': ['/v1/insights/clv/pareto'],
    '/v1/insights/clv/report-card': ['/v1/insights/clv/report-card'],
    '/v1/insights/clv/alive-matrix': ['/v1/insights/clv/alive-matrix'],
    '/v1/insights/churn/at-risk': ['/v1/insights/churn/at-risk?limit=25'],
    '/v1/insights/churn/quality': ['/v1/insights/churn/quality'],
    '/v1/insights/customers/{id}/churn-reasons': [
      `/v1/insights/customers/${encodeURIComponent(customerId)}/churn-reasons`,
    ],
    '/v1/insights/customers/{id}/scores': [`/v1/insights/customers/${encodeURIComponent(customerId)}/scores`],
    '/v1/meta': ['/v1/meta'],
    '/v1/load': [load(revenueByRegion)],
    '/cubejs-api/v1/meta': ['/cubejs-api/v1/meta'],
    '/cubejs-api/v1/load': [
      `/cubejs-api${load({ measures: ['customers.count'], dimensions: ['customers.rfm_segment'] })}`,
    ],
    '/v1/audiences': ['/v1/audiences'],
    '/v1/audiences/{id}/changes': ['/v1/audiences/1/changes'],
    '/v1/audiences/{id}/lift': ['/v1/audiences/1/lift?after=2024-01-01'],
    '/v1/data/loads': ['/v1/data/loads'],
    '/v1/data/rejects': ['/v1/data/rejects'],
  };
}

/** GET routes whose answer is engine-specific by design: the SQL text of each dialect. */
const ENGINE_SPECIFIC = new Set([
  '/v1/sql',
  '/cubejs-api/v1/sql',
  // the data-quality cubes have no ClickHouse form: on a cluster the checks answer empty with
  // `unavailable` (so the executive page works), and the reject export needs the quarantine
  '/v1/data/checks',
  '/v1/data/rejects.csv',
]);

/** Routes that read the run record's JSON (cube mining_runs), which ClickHouse 18.16 cannot parse. */
const NOT_ON_CLICKHOUSE = new Set([
  '/v1/insights/clv/report-card',
  '/v1/insights/churn/quality',
  // saved audiences stay in the DuckDB warehouse (docs/campaigns.md)
  '/v1/audiences',
  '/v1/audiences/{id}/changes',
  '/v1/audiences/{id}/lift',
  // the load history and the quarantine read the DuckDB warehouse's meta tables (docs/data-quality.md)
  '/v1/data/loads',
  '/v1/data/rejects',
]);

describe.skipIf(URL === undefined)('the API served from the ClickHouse cluster', () => {
  let duck: RunningServer;
  let house: RunningServer;
  let cleanup: () => void = () => {};
  let customerId = '';
  let segment = '';

  beforeAll(async () => {
    const t = tempDir('crm-bi-ch-serve-');
    cleanup = t.cleanup;
    const dbPath = join(t.dir, 'warehouse.duckdb');
    await buildDemoWarehouse(t.dir, dbPath, { customers: 600, seed: 7 });
    const stagingPath = await syncToCluster(dbPath, URL as string);
    const db = await Database.open(dbPath, { readOnly: true });
    try {
      // a customer with orders in both runs, and the biggest segment of the latest run
      customerId = String(
        await db.scalar(
          `SELECT c.customer_id FROM core.dim_customer c JOIN core.fact_order_line o USING (customer_durable_key)
           WHERE c.is_current GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
        ),
      );
      segment = await largestRfmSegment(db);
    } finally {
      db.close();
    }
    const common = { port: 0, demoMode: true, log: false, refreshMs: 0, dashboards: false } as const;
    duck = await startServer({ ...common, dbPath });
    house = await startServer({ ...common, dbPath: URL as string, stagingPath });
    // one saved audience on the DuckDB server, for the audience routes
    const saved = await fetch(`${duck.url}/v1/audiences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'all',
        definition: { field: 'churn_probability', op: 'gte', value: 0 },
        seed: 1,
      }),
    });
    expect(saved.status).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await duck?.close();
    await house?.close();
    cleanup();
  });

  it('every GET route of /openapi.json is compared (or named as engine-specific)', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const gets = Object.entries(doc.paths)
      .filter(([, ops]) => 'get' in ops)
      .map(([p]) => p);
    const covered = new Set(Object.keys(requests('x', 'y')));
    expect(gets.filter((p) => !covered.has(p) && !ENGINE_SPECIFIC.has(p))).toEqual([]);
  });

  const paths = Object.entries(requests('{customer}', '{segment}'));
  it.each(paths)('%s answers the same on ClickHouse as on DuckDB', async (route) => {
    const list = requests(customerId, segment)[route] ?? [];
    for (const path of list) {
      const [a, b] = await Promise.all([fetch(`${duck.url}${path}`), fetch(`${house.url}${path}`)]);
      const [ta, tb] = await Promise.all([a.text(), b.text()]);
      expect(a.status, `${path}: ${ta.slice(0, 300)}`).toBe(200);
      if (NOT_ON_CLICKHOUSE.has(route)) {
        expect({ path, status: b.status, code: JSON.parse(tb).error?.code }).toEqual({
          path,
          status: 400,
          code: 'unsupported',
        });
        continue;
      }
      expect({ path, status: b.status, body: b.status === a.status ? '' : tb.slice(0, 600) }).toEqual({
        path,
        status: a.status,
        body: '',
      });
      if (path.endsWith('.csv')) {
        expect(tb).toBe(ta);
        continue;
      }
      const diff = firstDifference(JSON.parse(ta), JSON.parse(tb));
      expect(diff, path).toBeNull();
    }
  });
});
