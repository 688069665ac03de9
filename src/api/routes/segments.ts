/**
 * `GET /v1/segments` (executive and above): the RFM segments and clusters of the latest mining run
 * (mining.latest_run) with their sizes, through the cube's run_scores (so the region rule applies).
 *
 * `GET /v1/segments/:name/audience.csv` (marketing and above): the customers of an RFM segment or
 * cluster of the latest run, as CSV for a campaign tool: the one audience export of src/mining/
 * audience.ts that `crm-bi export-audience` writes too (same columns, CRLF lines, formula-safe
 * cells), streamed from the warehouse. A region-limited token gets only the customers it may see;
 * `region`, `country` and `channel` query parameters (repeatable) narrow the list.
 */
import { PassThrough, Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Model } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { csvCell, planAudience, writeAudience } from '../../mining/steps/audience.ts';
import { latestScoredRun } from '../../mining/steps/runs.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';
import { apiError } from '../errors.ts';
import { CustomerParams } from '../schemas.ts';
import { validate } from '../validate.ts';
import { effectiveRegions } from './explore.ts';

export interface SegmentRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
}

/** One CSV field, safe to open in a spreadsheet (OWASP CSV injection): the audience export's rule. */
export const csvField = csvCell;

type Kind = 'rfm_segment' | 'cluster';

export function segmentRoutes(options: SegmentRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  /** `GET /v1/segments`: what can be exported, with sizes (executive and above). */
  app.get('/', requireRole('executive'), async function segmentList(c) {
    // one pass over the latest run's rows: sizes per (segment, cluster), summed per kind here
    let run: number;
    try {
      run = (await latestScoredRun(options.db())).run_id;
    } catch (e) {
      if (e instanceof CrmBiError && e.code === 'no_mining_run') return c.json({ segments: [] });
      throw e;
    }
    const cells = await readCube(options.db(), options.model, c.get('principal'), {
      measures: ['run_scores.count'],
      dimensions: ['run_scores.rfm_segment', 'run_scores.cluster_name'],
      filters: [{ member: 'run_scores.run_id', operator: 'equals', values: [String(run)] }],
      limit: 10_000,
    });
    const sizes = new Map<string, { kind: Kind; name: string; run_id: number; customers: number }>();
    const add = (kind: Kind, name: CubeRow[string] | undefined, n: number) => {
      if (name === null || name === undefined) return;
      const key = `${kind}\u0000${name}`;
      const entry = sizes.get(key) ?? { kind, name: String(name), run_id: run, customers: 0 };
      entry.customers += n;
      sizes.set(key, entry);
    };
    for (const r of cells) {
      const n = Number(r['run_scores.count']);
      add('rfm_segment', r['run_scores.rfm_segment'], n);
      add('cluster', r['run_scores.cluster_name'], n);
    }
    const rows = [...sizes.values()];
    rows.sort(
      (a, b) =>
        a.kind.localeCompare(b.kind) ||
        b.customers - a.customers ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    return c.json({ segments: rows });
  });

  app.get('/:name/audience.csv', requireRole('marketing'), async function audienceCsv(c) {
    const { id: name } = validate(CustomerParams, { id: c.req.param('name') });
    // ?region=, ?country=, ?channel= (repeatable) narrow the audience; never past the token's regions
    const regions = effectiveRegions(c.get('principal').regions, c.req.queries('region') ?? []);
    const listOf = (key: string) => (c.req.queries(key) ?? []).filter((v) => v !== '');
    const country = listOf('country');
    const channel = listOf('channel');
    const db = options.db();
    let plan: Awaited<ReturnType<typeof planAudience>>;
    try {
      plan = await planAudience(db, {
        segment: name,
        ...(regions === null ? {} : { regions }),
        filter: {
          ...(country.length > 0 ? { country } : {}),
          ...(channel.length > 0 ? { channel } : {}),
        },
      });
    } catch (e) {
      if (e instanceof CrmBiError && (e.code === 'unknown_segment' || e.code === 'no_mining_run'))
        throw apiError('not_found', `no RFM segment or cluster named '${name}' in the latest mining run`);
      if (e instanceof CrmBiError && e.code === 'ambiguous_segment') throw apiError('bad_request', e.message);
      throw e;
    }
    const out = new PassThrough();
    writeAudience(db, plan, out).then(
      () => out.end(),
      (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))),
    );
    const file = `${name.replaceAll(/[^\w.-]+/g, '_')}.csv`;
    return c.body(Readable.toWeb(out) as ReadableStream<Uint8Array>, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${file}"`,
    });
  });
  return app;
}
