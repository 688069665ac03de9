/**
 * Routes behind the Segmentation and Explorer pages, mounted under /v1:
 * - `POST /explore/drill` `{ query, member, value }` and `POST /explore/rollup` `{ query, member }`:
 *   the cube's drill-down / roll-up (src/cube/olap/drill.ts) applied to a query, so the page follows
 *   the model's hierarchies without knowing them;
 * - `GET /segmentation/{rfm-grid,rfm-grid/customers,segments,clusters,migration,cohorts}`: the
 *   figures of the Segmentation page.
 * All need the executive role or above. A region-limited token sees only its regions; a `region`
 * query parameter (repeatable) narrows further and can never widen the token's limit. Segmentation
 * answers are cached until the server swaps in a new warehouse copy (`x-cache: hit`).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  drillDown,
  type Model,
  parseQuery,
  type RawQuery,
  rawQuerySchema,
  rollUp,
} from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { getRun, latestScoredRun, type MiningRun } from '../../mining/steps/runs.ts';
import { answerCache } from '../answer-cache.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError, readJson } from '../errors.ts';
import { IsoDate, validate } from '../validate.ts';
import {
  clusterNames,
  clusterProfiles,
  cohortRetention,
  rfmCellCustomers,
  rfmGrid,
  ruleCells,
  type SegmentationScope,
  segmentCards,
  segmentMigration,
} from './segmentation-queries.ts';

export interface ExploreRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
}

/** The cube's own query schema: `dimensions: "x"` or `"filters": "bad"` is a 400 here. */
const Query = rawQuerySchema;
const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const DrillRequest = z.object({ query: Query, member: z.string().min(1).max(200), value: Cell });
export const RollUpRequest = z.object({ query: Query, member: z.string().min(1).max(200) });

const Int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

export const RunParams = z.object({ run: Int('run', 1, Number.MAX_SAFE_INTEGER).optional() });
export const CellParams = RunParams.extend({
  r: Int('r', 1, 5),
  f: Int('f', 1, 5),
  limit: Int('limit', 1, 1000).default(100),
});
export const MigrationParams = z.object({
  from: Int('from', 1, Number.MAX_SAFE_INTEGER),
  to: Int('to', 1, Number.MAX_SAFE_INTEGER),
  by: z.enum(['rfm_segment', 'cluster_name']).default('rfm_segment'),
});
export const CohortParams = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  months: Int('months', 1, 120).default(12),
});

function params(c: Context<ApiEnv>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.req.query())) if (k !== 'region') out[k] = v;
  return out;
}

/**
 * The regions to show, or null for all: the token's limit, narrowed by the
 * `region` parameters (an empty intersection shows nothing).
 */
export function effectiveRegions(
  limit: readonly string[] | undefined,
  asked: readonly string[],
): string[] | null {
  const wanted = asked.filter((r) => r !== '');
  if (limit === undefined) return wanted.length > 0 ? wanted : null;
  return wanted.length > 0 ? wanted.filter((r) => limit.includes(r)) : [...limit];
}

/** The caller's effective regions as the scope of the segmentation queries. */
function scopeOf(c: Context<ApiEnv>, options: ExploreRoutesOptions): SegmentationScope {
  const regions = effectiveRegions(c.get('principal').regions, c.req.queries('region') ?? []);
  return { db: options.db(), model: options.model, regions: regions ?? undefined };
}

/** The run to show: the given one, or the latest (mining.latest_run); 404 when there is none. */
async function runOf(db: Database, run: number | undefined): Promise<{ run_id: number; as_of: string }> {
  const r = await runRecordOf(db, run);
  return { run_id: r.run_id, as_of: r.as_of };
}

/** The record of the run to show (runOf), with its parameters. */
async function runRecordOf(db: Database, run: number | undefined): Promise<MiningRun> {
  try {
    return run === undefined ? await latestScoredRun(db) : await getRun(db, run);
  } catch (e) {
    if (e instanceof CrmBiError && (e.code === 'unknown_run' || e.code === 'no_mining_run')) {
      throw apiError(
        'not_found',
        run === undefined
          ? 'no mining run has scored customers yet; run crm-bi mine first'
          : `no mining run ${run}`,
      );
    }
    throw e;
  }
}

const CACHE_ENTRIES = 200;

export function exploreRoutes(options: ExploreRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use('/explore/*', requireRole('executive'));
  app.use('/segmentation/*', requireRole('executive'), answerCache(options.db, CACHE_ENTRIES));

  app.post('/explore/drill', async function exploreDrill(c) {
    const body = validate(DrillRequest, await readJson(c));
    // in depth (members, filters, dates) the way /v1/load would read it
    parseQuery(options.model, body.query);
    const query = drillDown(options.model, body.query as RawQuery, {
      member: body.member,
      value: body.value,
    });
    return c.json({ query });
  });

  app.post('/explore/rollup', async function exploreRollUp(c) {
    const body = validate(RollUpRequest, await readJson(c));
    parseQuery(options.model, body.query);
    return c.json({ query: rollUp(options.model, body.query as RawQuery, body.member) });
  });

  app.get('/segmentation/rfm-grid', async function rfmGridRoute(c) {
    const { run } = validate(RunParams, params(c));
    const scope = scopeOf(c, options);
    const record = await runRecordOf(scope.db, run);
    const r = { run_id: record.run_id, as_of: record.as_of };
    return c.json({ ...r, cells: await rfmGrid(scope, r.run_id, ruleCells(record.params)) });
  });

  app.get('/segmentation/rfm-grid/customers', async function rfmCellRoute(c) {
    const p = validate(CellParams, params(c));
    const scope = scopeOf(c, options);
    const r = await runOf(scope.db, p.run);
    const cell = await rfmCellCustomers(scope, r.run_id, p.r, p.f, p.limit);
    return c.json({ ...r, r_score: p.r, f_score: p.f, ...cell });
  });

  app.get('/segmentation/segments', async function segmentCardsRoute(c) {
    const { run } = validate(RunParams, params(c));
    const scope = scopeOf(c, options);
    const record = await runRecordOf(scope.db, run);
    const r = { run_id: record.run_id, as_of: record.as_of };
    return c.json({ ...r, segments: await segmentCards(scope, r.run_id, ruleCells(record.params)) });
  });

  app.get('/segmentation/clusters', async function clustersRoute(c) {
    const { run } = validate(RunParams, params(c));
    const scope = scopeOf(c, options);
    const record = await runRecordOf(scope.db, run);
    const r = { run_id: record.run_id, as_of: record.as_of };
    return c.json({ ...r, clusters: await clusterProfiles(scope, r.run_id, clusterNames(record.params)) });
  });

  app.get('/segmentation/migration', async function migrationRoute(c) {
    const p = validate(MigrationParams, params(c));
    const scope = scopeOf(c, options);
    // an unknown run is a 400 naming the latest runs (getRun's error)
    const [from, to] = [await getRun(scope.db, p.from), await getRun(scope.db, p.to)];
    return c.json(await segmentMigration(scope, from, to, p.by));
  });

  app.get('/segmentation/cohorts', async function cohortsRoute(c) {
    const p = validate(CohortParams, params(c));
    return c.json({
      months: p.months,
      cells: await cohortRetention(scopeOf(c, options), p.from, p.to, p.months),
    });
  });
  return app;
}
