/**
 * `GET /v1/mining/runs` and `/v1/mining/runs/:id`: the mining run records, latest first (the order
 * of mining.latest_run), as the caller may see them (src/api/run-visibility.ts): a region-limited
 * token gets the run settings only, no figures over customers of other regions; nobody but an admin
 * sees server file paths or code versions.
 */
import { Hono } from 'hono';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { getRun, listRuns } from '../../mining/steps/runs.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError } from '../errors.ts';
import { visibleRun } from '../run-visibility.ts';

export interface MiningRoutesOptions {
  readonly db: () => Database;
}

export function miningRoutes(options: MiningRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/runs', requireRole('executive'), async function miningRuns(c) {
    const principal = c.get('principal');
    const runs = await listRuns(options.db(), 1000);
    return c.json({ runs: runs.map((r) => visibleRun(r, principal)) });
  });
  app.get('/runs/:id', requireRole('executive'), async function miningRun(c) {
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id < 1)
      throw apiError('bad_request', `run id must be a whole number, got '${c.req.param('id')}'`);
    try {
      return c.json(visibleRun(await getRun(options.db(), id), c.get('principal')));
    } catch (e) {
      if (e instanceof CrmBiError && e.code === 'unknown_run')
        throw apiError('not_found', `no mining run ${id}`);
      throw e;
    }
  });
  return app;
}
