/**
 * How the insights routes read: cube queries (JSON, as `/v1/load` takes them) run under the
 * caller's security context, so the planner applies the region rule; the dashboard filters become
 * cube filters. Internal queries may return one row per customer (the Pareto curve, histograms),
 * so their row limit is the warehouse's, not the public API's.
 */
import type { Context } from 'hono';
import { cubeEngineOf } from '../../../cube/engine.ts';
import type { Model } from '../../../cube/model/types.ts';
import type { CellValue, ResultRow } from '../../../cube/result/response.ts';
import { isCompareResponse } from '../../../cube/result/response.ts';
import { explainQuery, runQuery } from '../../../cube/run.ts';
import type { Database } from '../../../db/duckdb.ts';
import type { ApiEnv } from '../../auth.ts';
import type { Scope } from './scope.ts';

export interface InsightRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
}

/** Most rows an internal per-customer query may return. */
export const MAX_ROWS = 20_000_000;

export type CubeQuery = Record<string, unknown>;

export interface Reader {
  /** Rows of a cube query; `rollups: true` routes it to fresh rollups (sales, the P(alive) matrix). */
  rows(query: CubeQuery, how?: { rollups?: boolean }): Promise<ResultRow[]>;
  /** Rows of each range of a `compareDateRange` query, in the order of the ranges. */
  compare(query: CubeQuery, how?: { rollups?: boolean }): Promise<ResultRow[][]>;
  /**
   * The values of number dimensions, one array per dimension and one entry per row of an ungrouped
   * cube query (rows where any of them is NULL left out), in `order` or none: the planner compiles
   * the query (region rule included) and the columns are read straight into typed arrays, since a
   * row object per customer costs ten times the query.
   */
  numbers(
    dimensions: readonly string[],
    filters: readonly CubeQuery[],
    order?: readonly [string, 'asc' | 'desc'][],
  ): Promise<Float64Array[]>;
  /**
   * As numbers(), grouped: one entry per distinct combination of the dimensions (NULLs left out),
   * with the count measure `count` as the last array; routed to fresh rollups, so a rollup that
   * stores the dimensions answers without the rows behind it.
   */
  counts(
    dimensions: readonly string[],
    count: string,
    filters: readonly CubeQuery[],
    order?: readonly [string, 'asc' | 'desc'][],
  ): Promise<Float64Array[]>;
}

/**
 * numbers() reads under way, by engine and statement: the CLV page asks the same million scores
 * for its distribution and its Pareto curve at once, and the second request shares the first's
 * read instead of running it again (an entry lives only while its read is under way).
 */
const numbersInFlight = new WeakMap<object, Map<string, Promise<Float64Array[]>>>();

/** A reader for one request: the caller's regions go to the planner as its security context. */
export function readerFor(c: Context<ApiEnv>, options: InsightRoutesOptions): Reader {
  const regions = c.get('principal').regions;
  const security = regions === undefined ? {} : { security: { regions } };
  // without rollups, a query skips the data-version and rollup-freshness look-ups
  const run = (query: CubeQuery, how: { rollups?: boolean } = {}) =>
    runQuery(options.db(), options.model, query, {
      ...security,
      maxLimit: MAX_ROWS,
      useRollups: how.rollups === true,
    });
  return {
    async rows(query, how) {
      const r = await run(query, how);
      if (isCompareResponse(r)) throw new Error('rows() got a compareDateRange query');
      return r.data;
    },
    async compare(query, how) {
      const r = await run(query, how);
      if (!isCompareResponse(r)) throw new Error('compare() needs a compareDateRange query');
      return r.results.map((x) => x.data);
    },
    async numbers(dimensions, filters, order = []) {
      const engine = cubeEngineOf(options.db());
      const query = {
        dimensions: [...dimensions],
        filters: [...filters, ...dimensions.map((member) => ({ member, operator: 'set' }))],
        ungrouped: true,
        order: [...order],
        limit: MAX_ROWS,
      };
      // the score cubes have no rollups, so routing is skipped
      const compiled = await explainQuery(engine, options.model, query, {
        ...security,
        maxLimit: MAX_ROWS,
        useRollups: false,
      });
      let pending = numbersInFlight.get(engine);
      if (!pending) {
        pending = new Map();
        numbersInFlight.set(engine, pending);
      }
      const key = JSON.stringify([compiled.sql, compiled.params, dimensions.length]);
      const shared = pending.get(key);
      if (shared) return shared;
      const read = engine.numbers(compiled, dimensions.length);
      const inFlight = pending;
      inFlight.set(key, read);
      const forget = () => {
        if (inFlight.get(key) === read) inFlight.delete(key);
      };
      read.then(forget, forget);
      return read;
    },
    async counts(dimensions, count, filters, order = []) {
      const engine = cubeEngineOf(options.db());
      const query = {
        dimensions: [...dimensions],
        measures: [count],
        filters: [...filters, ...dimensions.map((member) => ({ member, operator: 'set' }))],
        order: [...order],
        limit: MAX_ROWS,
      };
      const compiled = await explainQuery(engine, options.model, query, {
        ...security,
        maxLimit: MAX_ROWS,
        useRollups: true,
      });
      return engine.numbers(compiled, dimensions.length + 1);
    },
  };
}

/** The dashboard filters of a scope as cube filters (the token's regions are the planner's job). */
export function scopeFilters(scope: Scope): CubeQuery[] {
  const filters: CubeQuery[] = [];
  if (scope.regions !== null)
    filters.push({ member: 'customers.region', operator: 'equals', values: [...scope.regions] });
  if (scope.segments !== null)
    filters.push({ member: 'customers.rfm_segment', operator: 'equals', values: [...scope.segments] });
  return filters;
}

export const num = (v: CellValue | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

export const str = (v: CellValue | undefined): string | null =>
  v === null || v === undefined ? null : String(v);

/** Parses a JSON text column; null when absent or not an object. */
export function jsonObject(v: CellValue | undefined): Record<string, unknown> | null {
  if (typeof v !== 'string') return null;
  try {
    const o = JSON.parse(v) as unknown;
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
