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
}
