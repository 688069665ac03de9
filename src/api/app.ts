/**
 * The HTTP API: a Hono app over a warehouse and a semantic model.
 *
 * @example
 * const app = createApp({ db, model, sandbox: createSandbox({ snapshot }) });
 * const res = await app.request('/v1/load', { method: 'POST', headers: { authorization: `Bearer ${token}` },
 *   body: JSON.stringify({ query: { measures: ['sales.revenue'] } }) });
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CubeResponse, Model, QueryCache } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import { type ApiEnv, authenticate, claimOwnRequest } from './auth.ts';
import { apiError, handleError } from './errors.ts';
import { adhocRoutes } from './routes/adhoc.ts';
import { audienceRoutes, type CampaignWriter } from './routes/audiences.ts';
import { batchRoutes } from './routes/batch.ts';
import { cubeRoutes } from './routes/cube.ts';
import { customerRoutes } from './routes/customers.ts';
import { dataRoutes } from './routes/data.ts';
import { exploreRoutes } from './routes/explore.ts';
import { healthRoutes } from './routes/health.ts';
import { insightRoutes } from './routes/insights.ts';
import { meRoutes } from './routes/me.ts';
import { miningRoutes } from './routes/mining.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { segmentRoutes } from './routes/segments.ts';
import type { RegionalSandboxes } from './sandbox/regional.ts';
import type { Sandbox } from './sandbox/sandbox.ts';
import { type WarmUp, warmableRead } from './warm-up.ts';

export interface AppOptions {
  /** The warehouse to read, or a function giving the current one (when a snapshot is swapped). */
  readonly db: Database | (() => Database);
  /**
   * The server's last handle, closed while the file is handed to a writer (docs/serving.md):
   * /healthz answers its pinned load status, and tokens and cube answers remembered with it keep
   * being answered from memory meanwhile. Default: `db`.
   */
  readonly lastDb?: () => Database;
  readonly model: Model;
  readonly cache?: QueryCache<CubeResponse> | null;
  /** Ad hoc SQL; the route answers 404 when absent. */
  readonly sandbox?: Sandbox | null;
  /** Ad hoc SQL for region-limited tokens (403 for them when absent). */
  readonly regionalSandboxes?: RegionalSandboxes | null;
  /** Requests without a token act as admin (the local demo only). */
  readonly demoMode?: boolean;
  /** Time limit of each cube statement in ms (default 20 s). */
  readonly cubeTimeoutMs?: number;
  /** Largest request body in bytes (default 1 MB). */
  readonly maxBodyBytes?: number;
  /** Most bytes of answers one `POST /v1/batch` carries (routes/batch.ts; default 32 MB). */
  readonly maxBatchBytes?: number;
  /** One JSON line per request on stderr (default true). */
  readonly log?: boolean;
  /** The dashboards' routes (routes/web.ts, bundled at start-up); none when absent. */
  readonly web?: Hono<ApiEnv> | null;
  /** Notes the pages' reads and yields to live requests while it asks them again (warm-up.ts). */
  readonly warmUp?: WarmUp | null;
  /** Writes saved audiences and the export log to the warehouse (routes/audiences.ts); 503 there when absent. */
  readonly campaignWriter?: CampaignWriter | null;
}

export function createApp(options: AppOptions): Hono<ApiEnv> {
  const db = typeof options.db === 'function' ? options.db : () => options.db as Database;
  const app = new Hono<ApiEnv>();
  app.onError(handleError);
  app.notFound((c) =>
    c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  const warmUp = options.warmUp ?? null;
  if (warmUp) {
    app.use('*', async function warmUpNotes(c, next) {
      if (claimOwnRequest(c)) return next();
      const ended = warmUp.live();
      try {
        await next();
      } finally {
        ended();
      }
      const read = warmableRead(c.req.method, new URL(c.req.url));
      if (!read || c.res.status !== 200) return;
      if (!(c.res.headers.get('content-type') ?? '').startsWith('application/json')) return;
      const principal = c.get('principal');
      if (!principal) return;
      warmUp.note({
        ...read,
        body: read.method === 'POST' ? await c.req.text() : null,
        regions: principal.regions ?? null,
      });
    });
  }

  if (options.log !== false) {
    app.use('*', async function requestLog(c, next) {
      const t0 = performance.now();
      await next();
      const line = {
        time: new Date().toISOString(),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - t0),
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    });
  }
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1024 * 1024,
      onError: () => {
        throw apiError('too_large', 'the request body is too large');
      },
    }),
  );

  app.route('/', healthRoutes({ db: options.lastDb ?? db }));
  app.route('/', openApiRoutes());

  const auth = authenticate({
    db,
    demoMode: options.demoMode ?? false,
    ...(options.lastDb ? { lastDb: options.lastDb } : {}),
  });
  const cube = cubeRoutes({
    db,
    model: options.model,
    cache: options.cache ?? null,
    ...(options.lastDb ? { lastDb: options.lastDb } : {}),
    ...(options.cubeTimeoutMs === undefined ? {} : { timeoutMs: options.cubeTimeoutMs }),
  });
  for (const prefix of ['/v1', '/cubejs-api/v1']) {
    app.use(`${prefix}/*`, auth);
    app.route(prefix, cube);
  }
  // each read of a batch goes through the whole app again, its checks included
  app.route(
    '/v1/batch',
    batchRoutes(async (request) => app.fetch(request), {
      ...(options.maxBatchBytes === undefined ? {} : { maxBytes: options.maxBatchBytes }),
    }),
  );
  app.route('/v1/me', meRoutes());
  app.route('/v1/customers', customerRoutes({ db, model: options.model }));
  app.route('/v1/mining', miningRoutes({ db }));
  app.route('/v1/insights', insightRoutes({ db, model: options.model }));
  app.route('/v1/segments', segmentRoutes({ db, model: options.model }));
  app.route(
    '/v1/adhoc',
    adhocRoutes({ sandbox: options.sandbox ?? null, regional: options.regionalSandboxes ?? null }),
  );
  app.route('/v1', exploreRoutes({ db, model: options.model }));
  app.route('/v1/data', dataRoutes({ db, model: options.model, cache: options.cache ?? null }));
  app.route(
    '/v1/audiences',
    audienceRoutes({ db, model: options.model, writer: options.campaignWriter ?? null }),
  );
  if (options.web) app.route('/', options.web);
  return app;
}
