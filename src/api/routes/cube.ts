/**
 * Cube's REST protocol: `GET /meta`, `POST|GET /load`, `POST|GET /sql` (dry run). Mounted under
 * /v1 and /cubejs-api/v1. A region-limited token's regions go to the cube as its security context,
 * so every query is limited and no filter in the query can lift the limit.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  type CubeResponse,
  explainQuery,
  type Model,
  modelMeta,
  type QueryCache,
  runQuery,
  toArrow,
  toCsv,
} from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError, readJson } from '../errors.ts';
import { LoadRequest } from '../schemas.ts';
import { validate } from '../validate.ts';

export interface CubeRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
  readonly cache?: QueryCache<CubeResponse> | null;
}

const ARROW = 'application/vnd.apache.arrow.stream';

async function queryOf(c: Context<ApiEnv>): Promise<unknown> {
  if (c.req.method === 'GET') {
    const text = c.req.query('query');
    if (text === undefined) throw apiError('bad_request', 'give the query as ?query={...}');
    return text;
  }
  return validate(LoadRequest, await readJson(c)).query;
}

function security(c: Context<ApiEnv>) {
  const { regions } = c.get('principal');
  return regions === undefined ? {} : { security: { regions } };
}

export function cubeRoutes(options: CubeRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const meta = modelMeta(options.model);
  app.use('*', requireRole('executive'));

  app.get('/meta', function cubeMeta(c) {
    return c.json(meta);
  });

  const load = async function cubeLoad(c: Context<ApiEnv>) {
    const query = await queryOf(c);
    const response = await runQuery(options.db(), options.model, query, {
      ...security(c),
      cache: options.cache ?? null,
    });
    const accept = c.req.header('accept') ?? '';
    if (accept.includes('text/csv')) {
      return c.body(toCsv(response, { safeFormulas: true }), 200, {
        'content-type': 'text/csv; charset=utf-8',
      });
    }
    if (accept.includes(ARROW)) {
      const bytes = toArrow(response);
      return c.body(bytes.slice().buffer as ArrayBuffer, 200, { 'content-type': ARROW });
    }
    return c.json(response);
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
