/**
 * `/v1/audiences`: the audience builder over HTTP, the same implementation as `crm-bi audience`
 * (src/campaigns). Reads go through the semantic layer as the caller (region limit, latest run);
 * saving and the export log write to the warehouse through `writer` (the server opens the
 * warehouse file for that one transaction). Roles: executive counts, lists and reads lift
 * reports; marketing and above also save and export.
 */
import { unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Hono } from 'hono';
import { z } from 'zod';
import { audienceSummary, latestRunOf, memberStatement } from '../../campaigns/audience.ts';
import { type AudienceNode, parseDefinition } from '../../campaigns/definition.ts';
import { exportFileName, writeCsv, writeParquet } from '../../campaigns/export.ts';
import { liftReport } from '../../campaigns/lift.ts';
import {
  audienceChanges,
  getAudience,
  listAudiences,
  recordExport,
  saveAudience,
} from '../../campaigns/store.ts';
import type { Model } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { type ApiEnv, type Principal, requireRole } from '../auth.ts';
import { readJson } from '../errors.ts';
import { IsoDate, validate } from '../validate.ts';

/** Runs `fn` on the writable warehouse (one transaction's worth), then makes the change visible. */
export type CampaignWriter = <T>(fn: (db: Database) => Promise<T>) => Promise<T>;

export interface AudienceRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
  /** Absent: saving and exporting answer 503 (the export log cannot be written). */
  readonly writer?: CampaignWriter | null;
}

export const CountRequest = z.strictObject({ definition: z.unknown() });
export const SaveRequest = z.strictObject({
  name: z.string().min(1).max(200),
  definition: z.unknown(),
  control_share: z.number().min(0).max(0.9).optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export const ExportRequest = z
  .strictObject({
    definition: z.unknown().optional(),
    audience_id: z.number().int().min(1).optional(),
    format: z.enum(['csv', 'parquet']).default('csv'),
    comment: z.boolean().default(false),
  })
  .refine((r) => (r.definition === undefined) !== (r.audience_id === undefined), {
    message: 'give definition or audience_id (one of them)',
  });
const IdParam = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
export const LiftQuery = z.strictObject({
  after: IsoDate,
  until: IsoDate.optional(),
  cost: z.coerce.number().finite().min(0).optional(),
});

const callerOf = (p: Principal) => ({ regions: p.regions });
const who = (p: Principal) => (p.tokenId === null ? 'demo' : `token:${p.tokenId}`);

export function audienceRoutes(options: AudienceRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const writer = (): CampaignWriter => {
    if (!options.writer)
      throw new CrmBiError('unavailable', 'this server cannot write to the warehouse', {}, 503);
    return options.writer;
  };

  app.post('/count', requireRole('executive'), async function audienceCount(c) {
    const body = validate(CountRequest, await readJson(c));
    const definition = parseDefinition(body.definition);
    return c.json(
      await audienceSummary(options.db(), options.model, callerOf(c.get('principal')), definition),
    );
  });

  app.get('/', requireRole('executive'), async function audienceList(c) {
    return c.json({
      audiences: await listAudiences(options.db(), options.model, callerOf(c.get('principal'))),
    });
  });

  app.post('/', requireRole('marketing'), async function audienceSave(c) {
    const body = validate(SaveRequest, await readJson(c));
    const definition = parseDefinition(body.definition);
    const principal = c.get('principal');
    const saved = await writer()((db) =>
      saveAudience(db, options.model, callerOf(principal), {
        name: body.name,
        definition,
        ...(body.control_share === undefined ? {} : { controlShare: body.control_share }),
        ...(body.seed === undefined ? {} : { seed: body.seed }),
        createdBy: who(principal),
      }),
    );
    return c.json(saved, 201);
  });

  app.get('/:id/changes', requireRole('executive'), async function audienceDiff(c) {
    const { id } = validate(IdParam, { id: c.req.param('id') });
    return c.json(await audienceChanges(options.db(), options.model, callerOf(c.get('principal')), id));
  });

  app.get('/:id/lift', requireRole('executive'), async function audienceLift(c) {
    const { id } = validate(IdParam, { id: c.req.param('id') });
    const q = validate(LiftQuery, c.req.query());
    const report = await liftReport(options.db(), options.model, callerOf(c.get('principal')), {
      audienceId: id,
      after: q.after,
      ...(q.until === undefined ? {} : { until: q.until }),
      ...(q.cost === undefined ? {} : { cost: q.cost }),
    });
    return c.json(report);
  });

  app.post('/export', requireRole('marketing'), async function audienceExport(c) {
    const body = validate(ExportRequest, await readJson(c));
    const principal = c.get('principal');
    const caller = callerOf(principal);
    const db = options.db();
    let definition: AudienceNode;
    if (body.audience_id !== undefined) {
      definition = (await getAudience(db, options.model, caller, body.audience_id)).definition;
    } else {
      definition = parseDefinition(body.definition);
      await audienceSummary(db, options.model, caller, definition); // checks the values first
    }
    const run = await latestRunOf(db, options.model);
    // checked after the input: a bad request is a 400 whatever the server can write
    const write = writer();
    const statement = await memberStatement(db, options.model, caller, body.audience_id ?? definition);
    const fileName = exportFileName(definition, body.format, body.audience_id);
    const log = (rows: number) =>
      write((w) =>
        recordExport(w, {
          audienceId: body.audience_id ?? null,
          definition,
          runId: run.run_id,
          format: body.format,
          rows,
          fileName,
          exportedBy: who(principal),
        }),
      );
    const disposition = `attachment; filename="${fileName.replaceAll('"', '')}"`;
    if (body.format === 'parquet') {
      const path = join(
        tmpdir(),
        `crm-bi-audience-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.parquet`,
      );
      try {
        const rows = await writeParquet(db, statement, path);
        const bytes = await readFile(path);
        await log(rows);
        return c.body(bytes, 200, {
          'content-type': 'application/vnd.apache.parquet',
          'content-disposition': disposition,
          'x-row-count': String(rows),
        });
      } finally {
        try {
          unlinkSync(path);
        } catch {
          // never written
        }
      }
    }
    const out = new PassThrough();
    const comment = body.comment
      ? `audience ${body.audience_id ?? ''} ${fileName} run ${run.run_id} as of ${run.as_of}`
      : undefined;
    // the export is logged before the last byte goes out, so a failed log never looks like a whole file
    void (async () => {
      try {
        await log(await writeCsv(db, statement, out, comment === undefined ? {} : { comment }));
        out.end();
      } catch (e) {
        out.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    })();
    return c.body(Readable.toWeb(out) as ReadableStream<Uint8Array>, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': disposition,
    });
  });
  return app;
}
