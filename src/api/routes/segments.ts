/**
 * `GET /v1/segments` (executive and above): the RFM segments and clusters of the latest mining run
 * (mining.latest_run) with their sizes, through the cube's latest_segments (so the region rule
 * applies); empty before any run.
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
import { type ApiEnv, requireRole } from '../auth.ts';
import { readCube } from '../cube-reader.ts';
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
    // one count over the latest run's RFM segments and clusters side by side (the cube
    // latest_segments): one pass of the region rule, and no look-up of the run before it
    const cells = await readCube(options.db(), options.model, c.get('principal'), {
      measures: ['latest_segments.count'],
      dimensions: ['latest_segments.kind', 'latest_segments.name', 'latest_segments.run_id'],
      filters: [{ member: 'latest_segments.name', operator: 'set' }],
      limit: 10_000,
    });
    const rows = cells.map((r) => ({
      kind: String(r['latest_segments.kind']) as Kind,
      name: String(r['latest_segments.name']),
      run_id: Number(r['latest_segments.run_id']),
      customers: Number(r['latest_segments.count']),
    }));
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
