/**
 * `POST /v1/adhoc` `{ sql }`: one read-only SELECT over a snapshot of core.* and mining.*, run in
 * the sandbox child process (see sandbox/). Analysts and admins only. A region-limited token runs
 * in a sandbox over a snapshot cut to its regions (sandbox/regional.ts), or is refused when the
 * server has none. The statement is checked on its parse tree before it reaches the child, and
 * each token has its own limit of queries running or waiting (429 with Retry-After past it). The
 * answer is streamed; its caps were checked in the child before the first byte is sent.
 * With `format: "csv"` or `"parquet"` the same checked, capped result comes back as a file to save
 * (`query.csv`, `query.parquet`); `x-crm-bi-truncated: true` says the row cap cut it.
 */
import { Hono } from 'hono';
import { resultToParquet } from '../../db/result-parquet.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError, readJson } from '../errors.ts';
import type { RegionalSandboxes } from '../sandbox/regional.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { AdhocRequest } from '../schemas.ts';
import { validate } from '../validate.ts';
import { resultCsv } from './adhoc-csv.ts';
import { jsonPieces, streamOf } from './streamed.ts';

export interface AdhocRoutesOptions {
  readonly sandbox?: Sandbox | null;
  /** Sandboxes for region-limited tokens; without them such tokens get 403. */
  readonly regional?: RegionalSandboxes | null;
}

export function adhocRoutes(options: AdhocRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/', requireRole('analyst'), async function adhoc(c) {
    const { regions, tokenId } = c.get('principal');
    if (regions !== undefined && !options.regional)
      throw apiError('forbidden', 'ad hoc SQL is not available to region-limited tokens on this server');
    const { sql, format } = validate(AdhocRequest, await readJson(c));
    if (!options.sandbox) throw apiError('not_found', 'ad hoc SQL is not enabled on this server');
    const sandbox =
      regions !== undefined && options.regional ? await options.regional.get(regions) : options.sandbox;
    // the child refused anything past the row or byte cap: the answer is whole, and streamed
    const result = await sandbox.query(sql, tokenId ?? 'local');
    if (format === 'json')
      return c.body(streamOf(jsonPieces(result)), 200, { 'content-type': 'application/json' });
    const file = {
      'content-disposition': `attachment; filename="query.${format}"`,
      'x-crm-bi-truncated': String(result.truncated),
      'cache-control': 'no-store',
    };
    if (format === 'csv')
      return c.body(resultCsv(result), 200, { ...file, 'content-type': 'text/csv; charset=utf-8' });
    const bytes = await resultToParquet(result.columns, result.rows).catch(() => {
      throw apiError('not_acceptable', 'this result cannot be written as Parquet; download it as CSV');
    });
    return c.body(new Uint8Array(bytes), 200, { ...file, 'content-type': 'application/vnd.apache.parquet' });
  });
  return app;
}
