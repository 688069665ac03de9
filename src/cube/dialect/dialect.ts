/**
 * A SQL dialect: how the IR becomes SQL for one engine. DuckDB is the first; a ClickHouse
 * dialect overrides the same hooks (toTimeZone/toStartOfMonth, uniq, WITH ROLLUP, `{p1:Type}`
 * placeholders) without touching the planner.
 */
import type { QueryCompiler } from '../compiler/query-compiler.ts';

export interface Dialect {
  readonly name: string;
  /** A fresh compiler (compilers keep per-statement state). */
  createCompiler(): QueryCompiler;
  /**
   * Whether a join's ON may carry tests beyond its key equalities (the planner's copied key
   * filters, planner/key-filters.ts). ClickHouse 18.16 reads every equality in ON as a join key,
   * so `run_id = 2` there is refused as a type mismatch; without it the copies go to WHERE only.
   */
  readonly filtersInJoinOn: boolean;
}
