import { Hono } from 'hono';
import type { Database, SqlValue } from '../../db/duckdb.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError } from '../errors.ts';

export interface MiningRoutesOptions {
  readonly db: () => Database;
}

function json(v: SqlValue | undefined): unknown {
  if (typeof v !== 'string') return v ?? null;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** `GET /v1/mining/runs`: every mining run, newest first. */
export function miningRoutes(options: MiningRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/runs', requireRole('executive'), async function miningRuns(c) {
    const rows = await options
      .db()
      .all(
        'SELECT run_id, as_of, kind, params, metrics, created_at FROM mining.mining_run ORDER BY created_at DESC, run_id DESC',
      );
    return c.json({
      runs: rows.map((r) => ({
        ...r,
        run_id: Number(r.run_id),
        params: json(r.params),
        metrics: json(r.metrics),
      })),
    });
  });
  /** `GET /v1/mining/runs/:id`: one run with its params and metrics (holdout figures included). */
  app.get('/runs/:id', requireRole('executive'), async function miningRun(c) {
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id))
      throw apiError('bad_request', `run id must be a whole number, got '${c.req.param('id')}'`);
    const r = await options
      .db()
      .one(
        'SELECT run_id, as_of, kind, params, metrics, created_at FROM mining.mining_run WHERE run_id = $1',
        [id],
      );
    if (!r) throw apiError('not_found', `no mining run ${id}`);
    return c.json({ ...r, run_id: Number(r.run_id), params: json(r.params), metrics: json(r.metrics) });
  });
  return app;
}
