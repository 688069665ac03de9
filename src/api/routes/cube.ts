/**
 * Cube's REST protocol: `GET /meta`, `POST|GET /load`, `POST|GET /sql` (dry run). Mounted under
 * /v1 and /cubejs-api/v1. A region-limited token's regions go to the cube as its security context,
 * so every query is limited and no filter in the query can lift the limit. Each statement has a
 * time limit, ungrouped queries a row cap and every answer a byte cap (400s that say how to narrow
 * the query); cube statements run as heavy reads, so small reads keep a connection of their own.
 * JSON and CSV answers are streamed (streamed.ts) once every cap has passed.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  type CubeResponse,
  csvLines,
  explainQuery,
  isCompareResponse,
  type LoadResponse,
  type Model,
  modelMeta,
  type QueryCache,
  RESULT_BYTE_CAP,
  runQuery,
  toArrow,
  UNGROUPED_ROW_CAP,
} from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { isCrmBiError } from '../../errors.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { cubeAnswerMemo } from '../cube-answer-memo.ts';
import { apiError, readJson } from '../errors.ts';
import { LoadRequest } from '../schemas.ts';
import { validate } from '../validate.ts';
import { gathered, jsonBody, SMALL_ANSWER_ROWS, streamOf } from './streamed.ts';

export interface CubeRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
  readonly cache?: QueryCache<CubeResponse> | null;
  /** Time limit of each cube statement (default 20 s). */
  readonly timeoutMs?: number;
  /**
   * The last read-only handle, while `db` answers `warehouse_busy` (the file is handed to a
   * writer): an answer kept with it is still given (the data as it was before the write), any
   * other waits (503).
   */
  readonly lastDb?: () => Database;
}

const ARROW = 'application/vnd.apache.arrow.stream';

interface QueryRequest {
  readonly query: unknown;
  /** `multi`: Cube's client (@cubejs-client/core) asks for `{ queryType, results: [...] }`. */
  readonly queryType?: unknown;
}

async function requestOf(c: Context<ApiEnv>): Promise<QueryRequest> {
  if (c.req.method === 'GET') {
    const text = c.req.query('query');
    if (text === undefined) throw apiError('bad_request', 'give the query as ?query={...}');
    return { query: text, queryType: c.req.query('queryType') };
  }
  const body = validate(LoadRequest, await readJson(c));
  return { query: body.query, queryType: body.queryType };
}

async function queryOf(c: Context<ApiEnv>): Promise<unknown> {
  return (await requestOf(c)).query;
}

/**
 * Cube's client sends `queryType=multi` on every load and reads `{ queryType, results, pivotQuery }`:
 * `results` holds one answer per query (a compareDateRange answer already has that shape), and
 * `pivotQuery` (the first query with its queryType) drives ResultSet's tablePivot/chartPivot/series.
 */
function multiOf(response: CubeResponse): MultiResponse {
  const results: readonly LoadResponse[] = isCompareResponse(response) ? response.results : [response];
  const queryType = isCompareResponse(response) ? response.queryType : 'regularQuery';
  return { queryType, results, pivotQuery: { ...results[0]?.query, queryType } };
}

function security(c: Context<ApiEnv>) {
  const { regions } = c.get('principal');
  return regions === undefined ? {} : { security: { regions } };
}

interface MultiResponse {
  readonly queryType: 'regularQuery' | 'compareDateRangeQuery';
  readonly results: readonly LoadResponse[];
  readonly pivotQuery: Record<string, unknown>;
}

export function cubeRoutes(options: CubeRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const meta = modelMeta(options.model);
  app.use('*', requireRole('executive'));

  app.get('/meta', function cubeMeta(c) {
    return c.json(meta);
  });

  // answers of a server's read-only handle, as JSON text, when results are cached at all
  const memo = options.cache ? cubeAnswerMemo() : null;
  const run = (db: Database, query: unknown, regions: readonly string[] | null) =>
    runQuery(db, options.model, query, {
      ...(regions === null ? {} : { security: { regions } }),
      cache: options.cache ?? null,
      timeoutMs: options.timeoutMs ?? 20_000,
      maxUngroupedRows: UNGROUPED_ROW_CAP,
      maxBytes: RESULT_BYTE_CAP,
      heavy: true,
    });
  /** The JSON answer, as text when it is small enough to keep (then kept under `key`). */
  const jsonAnswer = (db: Database, response: CubeResponse, queryType: unknown, key: string | null) => {
    const answer = queryType === 'multi' ? multiOf(response) : response;
    const rows = isCompareResponse(response)
      ? response.results.reduce((n, r) => n + r.data.length, 0)
      : response.data.length;
    if (key === null || !memo || rows > SMALL_ANSWER_ROWS) return jsonBody(answer, rows);
    const text = JSON.stringify(answer);
    memo.set(db, key, text);
    return text;
  };
  const memoKey = (db: Database, query: unknown, queryType: unknown, regions: readonly string[] | null) =>
    memo ? memo.key(db, [queryType === 'multi', regions, query]) : null;

  const load = async function cubeLoad(c: Context<ApiEnv>) {
    const { query, queryType } = await requestOf(c);
    const accept = c.req.header('accept') ?? '';
    const regions = c.get('principal').regions ?? null;
    const asJson = !accept.includes('text/csv') && !accept.includes(ARROW);
    let db: Database;
    try {
      db = options.db();
    } catch (e) {
      const last = isCrmBiError(e) && e.code === 'warehouse_busy' && asJson ? options.lastDb?.() : undefined;
      const key = last ? memoKey(last, query, queryType, regions) : null;
      const kept = last && key !== null ? memo?.get(last, key) : undefined;
      if (kept === undefined) throw e;
      return c.body(kept, 200, { 'content-type': 'application/json', 'x-cache': 'hit' });
    }
    const key = asJson ? memoKey(db, query, queryType, regions) : null;
    const known = key === null ? undefined : memo?.get(db, key);
    if (known !== undefined)
      return c.body(known, 200, { 'content-type': 'application/json', 'x-cache': 'hit' });
    const response = await run(db, query, regions);
    // every cap was checked by runQuery: what follows is streamed, never cut short
    if (accept.includes('text/csv')) {
      return c.body(streamOf(gathered(csvLines(response, { safeFormulas: true }))), 200, {
        'content-type': 'text/csv; charset=utf-8',
      });
    }
    if (accept.includes(ARROW)) {
      const bytes = toArrow(response);
      return c.body(bytes.slice().buffer as ArrayBuffer, 200, { 'content-type': ARROW });
    }
    return c.body(jsonAnswer(db, response, queryType, key), 200, { 'content-type': 'application/json' });
  };
  app.get('/load', load);
  app.post('/load', load);

  const sql = async function cubeSql(c: Context<ApiEnv>) {
    const query = await queryOf(c);
    const compiled = await explainQuery(options.db(), options.model, query, security(c));
    return c.json({ sql: { sql: [compiled.sql, compiled.params], rollup: compiled.rollup } });
  };
  app.get('/sql', sql);
  app.post('/sql', sql);
  return app;
}
