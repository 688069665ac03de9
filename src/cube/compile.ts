/**
 * compileQuery: Cube query JSON → SQL text and bound parameters for a dialect (DuckDB by default),
 * without touching a database. compareDateRange queries compile to one statement per range.
 *
 * @example
 * const { sql, params } = compileQuery(model, {
 *   measures: ['sales.revenue'], dimensions: ['customers.region'],
 *   filters: [{ member: 'customers.country', operator: 'equals', values: ['DE'] }],
 * });
 * // sql:    SELECT "customers"."region" AS "customers.region", sum("sales"."revenue") AS "sales.revenue"
 * //         FROM "core"."fact_order_line" AS "sales" LEFT JOIN (...) AS "customers" ON ...
 * //         WHERE ("customers"."country" = $1) GROUP BY "customers.region" ORDER BY "sales.revenue" DESC LIMIT $2
 * // params: ['DE', 10000]
 */
import type { Dialect } from './dialect/dialect.ts';
import { duckdbDialect } from './dialect/duckdb.ts';
import type { ParamValue } from './ir/nodes.ts';
import type { Model, RunRef } from './model/types.ts';
import { type ColumnInfo, type PlanOptions, planQuery } from './planner/plan.ts';
import { deriveQuery, type ParseOptions, parseQuery } from './query/parse.ts';
import type { Query } from './query/types.ts';
import { describeRange, type TimeRange } from './time.ts';

export interface CompileOptions extends ParseOptions, PlanOptions {
  readonly dialect?: Dialect;
}

export interface CompiledStatement {
  readonly sql: string;
  readonly params: readonly ParamValue[];
  /** The first rollup the statement reads, or null (all of them in `rollups`). */
  readonly rollup: string | null;
  readonly rollups: readonly string[];
  readonly columns: readonly ColumnInfo[];
  readonly query: Query;
  /** The mining runs the statement names ({LATEST_RUN_ID}, ...): bound when `runIds` gave their ids. */
  readonly runs: readonly RunRef[];
}

export interface CompiledQuery extends CompiledStatement {
  /** For a compareDateRange query: one statement per range (the top level is the first). */
  readonly compare?: readonly (CompiledStatement & { readonly dateRange: string })[];
}

/** Compiles a query (JSON text, a parsed object, or a `Query` from parseQuery) into SQL. */
export function compileQuery(model: Model, input: unknown, options: CompileOptions = {}): CompiledQuery {
  const query = parseQuery(model, input, options);
  const compareIndex = query.timeDimensions.findIndex((t) => t.compareDateRange !== undefined);
  if (compareIndex < 0) return compileStatement(model, query, options);
  const td = query.timeDimensions[compareIndex];
  const ranges = td?.compareDateRange ?? [];
  const compare = ranges.map((range: TimeRange) => {
    const timeDimensions = query.timeDimensions.map((t, i) => {
      if (i !== compareIndex) return t;
      const { compareDateRange: _, ...rest } = t;
      return { ...rest, dateRange: range };
    });
    const single = deriveQuery(query, { timeDimensions });
    return Object.freeze({
      ...compileStatement(model, single, options),
      dateRange: describeRange(range, query.timezone),
    });
  });
  const first = compare[0] as CompiledStatement;
  return Object.freeze({ ...first, query, compare: Object.freeze(compare) });
}

function compileStatement(model: Model, query: Query, options: CompileOptions): CompiledStatement {
  const dialect = options.dialect ?? duckdbDialect;
  const plan = planQuery(model, query, { ...options, filtersInJoinOn: dialect.filtersInJoinOn });
  const compiled = dialect.createCompiler().compile(plan.statement);
  return Object.freeze({
    sql: compiled.sql,
    params: compiled.parameters,
    rollup: plan.rollups[0] ?? null,
    rollups: plan.rollups,
    columns: plan.columns,
    query,
    runs: plan.runs,
  });
}
