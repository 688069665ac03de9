/**
 * `GET /v1/data/...`: data quality you can see. The load history (`/loads`), the quarantine
 * (`/rejects`, counts for every role, raw rows for analysts and admins), the rejects of one file as
 * CSV in its own layout (`/rejects.csv`, analysts and admins) and the quality checks (`/checks`).
 * Every figure is a cube query over model/data-quality.yml, so the region rule of the model cuts
 * it: a region-limited token sees rejects of its region's customers only.
 */
import { Hono } from 'hono';
import type { CubeResponse, Model, QueryCache } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { qualityChecks } from './data-checks.ts';
import { exportRejects } from './data-export.ts';
import { loadHistory } from './data-loads.ts';
import { loadFilterOf, rejectFilterOf } from './data-params.ts';
import { quarantine } from './data-rejects.ts';

export interface DataRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
  /**
   * The cube result cache (keyed by the warehouse data version): the quarantine and the checks
   * change only with a succeeded load, so their queries are answered from it until the next one.
   * The load history is not (failed and skipped loads change it without a new data version).
   */
  readonly cache?: QueryCache<CubeResponse> | null;
  /** The clock for freshness lags (tests pin it). */
  readonly now?: () => number;
}

export function dataRoutes(options: DataRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const now = options.now ?? Date.now;
  const cache = options.cache ?? null;
  app.get('/loads', requireRole('executive'), async function dataLoads(c) {
    const filter = loadFilterOf(c);
    return c.json(await loadHistory(options.db(), options.model, c.get('principal'), filter, now()));
  });
  app.get('/rejects', requireRole('executive'), async function dataRejects(c) {
    const filter = rejectFilterOf(c);
    const q = await quarantine(options.db(), options.model, c.get('principal'), filter, cache);
    return c.json({ ...q, limit: filter.limit, offset: filter.offset });
  });
  app.get('/rejects.csv', requireRole('analyst'), async function dataRejectsCsv(c) {
    const filter = rejectFilterOf(c);
    const file = await exportRejects(options.db(), options.model, c.get('principal'), filter);
    return c.body(file.text, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${file.filename.replaceAll(/[^A-Za-z0-9._-]/g, '_')}"`,
      'x-rows': String(file.rows),
    });
  });
  // the checks read every order line: their cube queries answer from the result cache until the
  // data version changes (the executive page asks them on every visit)
  app.get('/checks', requireRole('executive'), async function dataChecks(c) {
    try {
      return c.json(await qualityChecks(options.db(), options.model, c.get('principal'), cache));
    } catch (e) {
      // The checks' cubes have no ClickHouse form: on a cluster the answer says so instead of
      // failing, so the executive page (which shows their warnings) works there too.
      if (!(e instanceof CrmBiError && e.code === 'unsupported')) throw e;
      return c.json({ checks: [], trend: [], rejects: [], unavailable: e.message });
    }
  });
  return app;
}
