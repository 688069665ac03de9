/**
 * The insights routes through the cube against the hand-written SQL they replaced
 * (insights-sql-baseline.ts), on the same warehouse connection, in the same run: for each request
 * the dashboards send, the median time of several uncached answers both ways, and the ratio.
 * Run from bench/dashboards.bench.ts; the target is a ratio of at most 1.1 per page.
 */
import { Hono } from 'hono';
import type { ApiEnv, Principal } from '../src/api/auth.ts';
import { churnRoutes } from '../src/api/routes/insights/churn.ts';
import { clvRoutes } from '../src/api/routes/insights/clv.ts';
import { customerRoutes } from '../src/api/routes/insights/customer.ts';
import { kpiRoutes } from '../src/api/routes/insights/kpis.ts';
import type { Model } from '../src/cube/model/types.ts';
import type { Database } from '../src/db/duckdb.ts';
import { insightSqlRoutes } from './insights-sql-baseline.ts';
import { report } from './util.ts';

const TARGET_RATIO = 1.1;

/** The insights requests of each page, as the pages send them (no filters). */
export function insightRequests(period: { from: string; to: string }, customerId: string) {
  const id = encodeURIComponent(customerId);
  return {
    '/executive': [`/overview?from=${period.from}&to=${period.to}`],
    '/clv': ['/clv/pareto', '/distribution?measure=clv&bins=30', '/clv/report-card', '/clv/alive-matrix'],
    '/churn': ['/churn/at-risk?limit=50', '/churn/quality', '/distribution?measure=p_alive&bins=20'],
    '/customers/:id': [`/customers/${id}/churn-reasons`, `/customers/${id}/scores`],
  } as const;
}

function mount(routes: Hono<ApiEnv>[]): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const everyone: Principal = { role: 'admin', tokenId: null };
  app.use('*', async (c, next) => {
    c.set('principal', everyone);
    await next();
  });
  for (const r of routes) app.route('/', r);
  return app;
}

async function timed(app: Hono<ApiEnv>, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await app.request(path);
  await res.text();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** Prints per request and per page: cube median, hand-written SQL median, ratio. */
export async function benchInsightRoutes(
  db: Database,
  model: Model,
  requests: Record<string, readonly string[]>,
  runs = 5,
): Promise<void> {
  const options = { db: () => db, model };
  const cube = mount([kpiRoutes(options), clvRoutes(options), churnRoutes(options), customerRoutes(options)]);
  const sql = mount([insightSqlRoutes({ db: () => db })]);
  console.log(
    `\ninsights API, cube vs the hand-written SQL it replaced (median of ${runs}, no answer cache):`,
  );
  let worst = 0;
  for (const [page, paths] of Object.entries(requests)) {
    let cubeSum = 0;
    let sqlSum = 0;
    for (const path of paths) {
      // one unmeasured answer each way first: DuckDB's caches start equal
      await timed(cube, path);
      await timed(sql, path);
      const c: number[] = [];
      const s: number[] = [];
      for (let i = 0; i < runs; i++) {
        c.push(await timed(cube, path));
        s.push(await timed(sql, path));
      }
      cubeSum += median(c);
      sqlSum += median(s);
      report(
        `  ${path.split('?')[0]}${path.includes('measure=') ? ` (${path.split('measure=')[1]})` : ''}`,
        median(c),
        'ms',
        {
          label: 'SQL',
          value: median(s),
        },
      );
    }
    worst = Math.max(worst, cubeSum / sqlSum);
    report(`${page}: all insights calls`, cubeSum, 'ms', { label: 'SQL', value: sqlSum });
  }
  console.log(
    `target: each page's insights answers through the cube ≤ ${TARGET_RATIO}x the SQL — worst ${worst.toFixed(2)}x: ${worst <= TARGET_RATIO ? 'met' : 'NOT met'}`,
  );
}
