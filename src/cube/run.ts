/**
 * runQuery: parse → route to fresh rollups → compile for the engine's dialect → (cache) → the
 * engine (DuckDB, or a ClickHouse cluster: engine.ts) → Cube response.
 *
 * @example
 * const res = await runQuery(db, model, { measures: ['customers.count'], dimensions: ['customers.region'] });
 * res.data; // [{ 'customers.region': 'EU', 'customers.count': 120 }, ...]
 */
import type { Database } from '../db/duckdb.ts';
import type { QueryCache } from './cache.ts';
import { type CompiledQuery, type CompiledStatement, type CompileOptions, compileQuery } from './compile.ts';
import { type CubeEngine, cubeEngineOf } from './engine.ts';
import { cubeError } from './errors.ts';
import type { Model } from './model/types.ts';
import { mayReadRollups } from './planner/plan.ts';
import { parseQuery } from './query/parse.ts';
import type { Query } from './query/types.ts';
import { annotate, type CompareResponse, type CubeResponse, type LoadResponse } from './result/response.ts';

export interface RunOptions extends CompileOptions {
  /** A result cache; off when absent or false. */
  readonly cache?: QueryCache<CubeResponse> | false | null;
  /** Route to built, fresh rollups (default true). */
  readonly useRollups?: boolean;
  /** Stops each statement after this long (DuckDB interrupt): a 400 `query_timeout`. None when absent. */
  readonly timeoutMs?: number;
  /** Largest ungrouped result in rows: a higher limit is a 400 (the API uses UNGROUPED_ROW_CAP). */
  readonly maxUngroupedRows?: number;
  /** Largest result in bytes of JSON: a larger one is a 400 (the API uses RESULT_BYTE_CAP). */
  readonly maxBytes?: number;
  /**
   * A query anyone may shape (the cube REST routes): it runs as a heavy read, which can never take
   * the last reader of a pooled warehouse (see Database.read). Default false.
   */
  readonly heavy?: boolean;
}

/** Ungrouped rows fan out with every joined fact table; one page of them is enough for a screen. */
export const UNGROUPED_ROW_CAP = 10_000;
export const RESULT_BYTE_CAP = 32 * 1024 * 1024;

const engineIds = new WeakMap<CubeEngine, number>();
let nextEngineId = 1;

function engineId(engine: CubeEngine): number {
  let id = engineIds.get(engine);
  if (id === undefined) {
    id = nextEngineId++;
    engineIds.set(engine, id);
  }
  return id;
}

/**
 * Whether routing needs the engine's fresh rollups: only for a query that could read one (each
 * look-up is a round trip to the warehouse, more than compiling the query costs).
 */
function routesToRollups(model: Model, query: Query, options: RunOptions): boolean {
  return options.useRollups !== false && mayReadRollups(model, query);
}

/** Compiles with the rollups that are fresh in this warehouse (what `--sql-only` shows). */
export async function explainQuery(
  db: Database | CubeEngine,
  model: Model,
  input: unknown,
  options: RunOptions = {},
): Promise<CompiledQuery> {
  const engine = cubeEngineOf(db);
  const query = parseQuery(model, input, options);
  const rollups =
    options.rollups ??
    (routesToRollups(model, query, options)
      ? await engine.freshRollups(model, await engine.dataVersion())
      : new Set<string>());
  const dialect = (await engine.currentDialect?.()) ?? engine.dialect;
  return compileForEngine(engine, model, query, { ...options, rollups, dialect });
}

/**
 * Compiles for an engine, binding the ids of the runs the statement names when the engine looks
 * them up (src/cube/run-ids.ts): a second compile, only for statements that name a run.
 */
async function compileForEngine(
  engine: CubeEngine,
  model: Model,
  query: Query,
  options: CompileOptions,
): Promise<CompiledQuery> {
  const compiled = compileQuery(model, query, options);
  if (options.runIds !== undefined || engine.runIds === undefined) return compiled;
  if (!(compiled.compare ?? [compiled]).some((s) => s.runs.length > 0)) return compiled;
  return compileQuery(model, query, { ...options, runIds: await engine.runIds() });
}

/**
 * Runs a Cube query on a warehouse (a DuckDB handle, or an engine such as a ClickHouse cluster)
 * and returns Cube's response shape.
 */
export async function runQuery(
  db: Database | CubeEngine,
  model: Model,
  input: unknown,
  options: RunOptions = {},
): Promise<CubeResponse> {
  const engine = cubeEngineOf(db);
  const query = parseQuery(model, input, options);
  const maxUngrouped = options.maxUngroupedRows ?? Number.POSITIVE_INFINITY;
  if (query.ungrouped && (query.limit ?? Number.POSITIVE_INFINITY) > maxUngrouped)
    throw cubeError(
      'limit_too_large',
      `query.limit: an ungrouped query returns at most ${maxUngrouped} rows (asked ${query.limit ?? 'no limit'}); lower the limit, page with offset, or group the query`,
      { path: 'query.limit' },
    );
  const routed = options.rollups === undefined && routesToRollups(model, query, options);
  const version = options.cache || routed ? await engine.dataVersion() : '';
  const rollups = options.rollups ?? (routed ? await engine.freshRollups(model, version) : new Set<string>());
  const compiled = await compileForEngine(engine, model, query, {
    ...options,
    rollups,
    dialect: (await engine.currentDialect?.()) ?? engine.dialect,
  });
  const cache = options.cache || null;
  let key = '';
  if (cache) {
    const statements = compiled.compare ?? [compiled];
    key = JSON.stringify([engineId(engine), version, statements.map((s) => [s.sql, s.params])]);
    const hit = cache.get(key);
    if (hit) return hit;
  }
  let response: CubeResponse;
  const limits = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
    heavy: options.heavy ?? false,
  };
  if (compiled.compare) {
    response = await compareResponse(query, compiled.compare, (c) => execute(engine, model, c, limits));
  } else {
    response = await execute(engine, model, compiled, limits);
  }
  if (cache) {
    const rows =
      'results' in response ? response.results.reduce((n, r) => n + r.data.length, 0) : response.data.length;
    cache.set(key, response, 512 + rows * Math.max(1, compiled.columns.length) * 40);
  }
  return response;
}

/**
 * Cube's compareDateRange response: one statement per range, each result with the query as it would
 * be asked for that range alone (shared by every engine).
 */
export async function compareResponse(
  query: Query,
  statements: readonly (CompiledStatement & { readonly dateRange: string })[],
  execute: (c: CompiledStatement) => Promise<LoadResponse>,
): Promise<CompareResponse> {
  const results: CompareResponse['results'] = [];
  const rawTds = query.raw.timeDimensions ?? [];
  const at = rawTds.findIndex((t) => t.compareDateRange !== undefined);
  for (const [i, c] of statements.entries()) {
    const r = await execute(c);
    const rawRange = rawTds[at]?.compareDateRange?.[i];
    const timeDimensions = rawTds.map((t, j) => {
      if (j !== at) return t;
      const { compareDateRange: _, ...rest } = t;
      return rawRange === undefined ? rest : { ...rest, dateRange: rawRange };
    });
    results.push({
      ...r,
      query: { ...query.raw, timeDimensions },
      data: r.data.map((row) => ({ ...row, compareDateRange: c.dateRange })),
      compareDateRange: c.dateRange,
    });
  }
  return { queryType: 'compareDateRangeQuery', results };
}

async function execute(
  engine: CubeEngine,
  model: Model,
  c: CompiledStatement,
  limits: { readonly timeoutMs: number | undefined; readonly maxBytes: number; readonly heavy: boolean },
): Promise<LoadResponse> {
  const rows = await engine.execute(c, limits);
  checkBytes(rows.data, limits.maxBytes);
  return loadResponse(model, c, rows, engine.kind);
}

/** Throws a 400 when the rows' JSON would pass `maxBytes` (counted row by row, stopping early). */
export function checkBytes(data: readonly unknown[], maxBytes: number): void {
  if (maxBytes === Number.POSITIVE_INFINITY) return;
  let bytes = 0;
  for (const [i, row] of data.entries()) {
    bytes += JSON.stringify(row).length + 1;
    if (bytes > maxBytes)
      throw cubeError(
        'result_too_large',
        `the result is larger than ${Math.round(maxBytes / (1024 * 1024))} MB (passed it at row ${i + 1}); ask for fewer members or rows, add filters, or group the query`,
      );
  }
}

/** Cube's response for one statement's converted rows (shared by every engine). */
export function loadResponse(
  model: Model,
  c: CompiledStatement,
  { data, total }: { readonly data: LoadResponse['data']; readonly total?: number },
  dbType: string,
): LoadResponse {
  const q = c.query;
  const usedPreAggregations: LoadResponse['usedPreAggregations'] = {};
  for (const name of c.rollups) {
    const pre = model.preAggregations.find((p) => p.fullName === name);
    if (pre) usedPreAggregations[name] = { targetTableName: `rollup.${pre.table}` };
  }
  return {
    query: q.raw,
    data,
    annotation: annotate(model, q, c.columns),
    ...(q.total ? { total: total ?? 0 } : {}),
    ...(q.subtotals ? { subtotals: { over: q.subtotals.over } } : {}),
    lastRefreshTime: new Date().toISOString(),
    usedPreAggregations,
    dataSource: 'default',
    dbType,
  };
}
