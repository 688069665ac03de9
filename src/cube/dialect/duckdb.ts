/** DuckDB: `$n` placeholders, ICU `timezone()`, contains/starts_with/ends_with, approx_count_distinct. */
import { quoteIdent } from '../../db/duckdb.ts';
import { QueryCompiler } from '../compiler/query-compiler.ts';
import type { AggregateNode, SqlType, StringMatchNode, ToLocalTimeNode } from '../ir/nodes.ts';
import type { Dialect } from './dialect.ts';

export class DuckDbQueryCompiler extends QueryCompiler {
  protected override quoteIdentifier(name: string): string {
    return quoteIdent(name);
  }

  protected override typeName(type: SqlType): string {
    switch (type) {
      case 'timestamptz':
        return 'TIMESTAMPTZ';
      case 'double':
        return 'DOUBLE';
      default:
        return super.typeName(type);
    }
  }

  protected override visitToLocalTime(node: ToLocalTimeNode): void {
    this.append('timezone(');
    this.visit(node.timezone);
    this.append(', ');
    this.visit(node.node);
    this.append(')');
  }

  protected override visitStringMatch(node: StringMatchNode): void {
    const fn =
      node.mode === 'contains' ? 'contains' : node.mode === 'startsWith' ? 'starts_with' : 'ends_with';
    this.append(`${fn}(lower(`);
    this.visit(node.node);
    this.append('), lower(');
    this.visit(node.value);
    this.append('))');
  }

  protected override aggregateName(fn: AggregateNode['fn']): string {
    return fn === 'count_distinct_approx' ? 'approx_count_distinct' : super.aggregateName(fn);
  }
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  createCompiler: () => new DuckDbQueryCompiler(),
  filtersInJoinOn: true,
};
