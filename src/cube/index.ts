/**
 * The OLAP cube: a semantic model over the warehouse, Cube-compatible queries compiled to SQL,
 * and helpers for results and OLAP navigation. See docs/cube.md and CONTEXT.md.
 */
export { createQueryCache, QueryCache, type QueryCacheOptions } from './cache.ts';
export { type CompiledQuery, type CompiledStatement, type CompileOptions, compileQuery } from './compile.ts';
export { dataVersion } from './data-version.ts';
export type { Dialect } from './dialect/dialect.ts';
export { DuckDbQueryCompiler, duckdbDialect } from './dialect/duckdb.ts';
export { ModelError, type ModelProblem } from './errors.ts';
export { type Meta, modelMeta } from './meta.ts';
export { defaultModelDir, type LoadModelOptions, loadModel, loadModelFromSources } from './model/load.ts';
export type { Model } from './model/types.ts';
export { type DrillTarget, drillDown, rollUp } from './olap/drill.ts';
export { type PivotSpec, type PivotTable, pivot } from './olap/pivot.ts';
export type { ColumnInfo, SecurityContext } from './planner/plan.ts';
export { type ParseOptions, parseQuery } from './query/parse.ts';
export { rawQuerySchema } from './query/schema.ts';
export type { Query, RawQuery } from './query/types.ts';
export { toArrow, toArrowTable } from './result/arrow.ts';
export { type CsvOptions, csvLines, toCsv } from './result/csv.ts';
export type {
  Annotation,
  CompareResponse,
  CubeResponse,
  LoadResponse,
  ResultRow,
} from './result/response.ts';
export { isCompareResponse } from './result/response.ts';
export { toTextTable } from './result/table.ts';
export { type BuiltRollup, buildRollups, freshRollups, rollupBuildSql, rollupNames } from './rollups.ts';
export { explainQuery, RESULT_BYTE_CAP, type RunOptions, runQuery, UNGROUPED_ROW_CAP } from './run.ts';
