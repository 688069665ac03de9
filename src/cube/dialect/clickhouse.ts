/**
 * ClickHouse, as a second dialect over the same planner (a sketch: compiled and tested as SQL
 * text, not yet run against a server). Typed `{pN:Type}` placeholders, toTimeZone/toStartOf*,
 * uniqExact/uniq, -If combinators instead of FILTER. Previous-period windows (RANGE frames over
 * intervals) are not available and are refused.
 */

import { QueryCompiler } from '../compiler/query-compiler.ts';
import { cubeError } from '../errors.ts';
import type {
  AggregateNode,
  FrameNode,
  ParamValue,
  SqlType,
  StringMatchNode,
  TimeTruncNode,
  ToLocalTimeNode,
} from '../ir/nodes.ts';
import type { Dialect } from './dialect.ts';

const TRUNC = {
  day: 'toStartOfDay',
  week: 'toMonday',
  month: 'toStartOfMonth',
  quarter: 'toStartOfQuarter',
  year: 'toStartOfYear',
};

export class ClickHouseQueryCompiler extends QueryCompiler {
  protected override quoteIdentifier(name: string): string {
    return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
  }

  protected override placeholder(index: number, value: ParamValue): string {
    const type =
      typeof value === 'number'
        ? Number.isInteger(value)
          ? 'Int64'
          : 'Float64'
        : typeof value === 'boolean'
          ? 'Bool'
          : value === null
            ? 'Nullable(String)'
            : 'String';
    return `{p${index}:${type}}`;
  }

  protected override typeName(type: SqlType): string {
    switch (type) {
      case 'timestamptz':
        return "DateTime64(3, 'UTC')";
      case 'timestamp':
        return 'DateTime64(3)';
      case 'date':
        return 'Date';
      case 'double':
        return 'Float64';
      case 'varchar':
        return 'String';
      case 'boolean':
        return 'Bool';
      case 'bigint':
        return 'Int64';
    }
  }

  protected override visitToLocalTime(node: ToLocalTimeNode): void {
    this.append('toTimeZone(');
    this.visit(node.node);
    this.append(', ');
    this.visit(node.timezone);
    this.append(')');
  }

  protected override visitTimeTrunc(node: TimeTruncNode): void {
    this.append(`${TRUNC[node.granularity]}(`);
    this.visit(node.node);
    this.append(')');
  }

  protected override visitStringMatch(node: StringMatchNode): void {
    if (node.mode === 'contains') {
      this.append('(positionCaseInsensitiveUTF8(');
      this.visit(node.node);
      this.append(', ');
      this.visit(node.value);
      this.append(') > 0)');
      return;
    }
    this.append(node.mode === 'startsWith' ? 'startsWith(lowerUTF8(' : 'endsWith(lowerUTF8(');
    this.visit(node.node);
    this.append('), lowerUTF8(');
    this.visit(node.value);
    this.append('))');
  }

  protected override visitAggregate(node: AggregateNode): void {
    const base =
      node.fn === 'count_distinct' ? 'uniqExact' : node.fn === 'count_distinct_approx' ? 'uniq' : node.fn;
    const name = node.filter === null ? base : `${base}If`;
    this.append(`${name}(`);
    if (node.arg !== null) this.visit(node.arg);
    if (node.filter !== null) {
      if (node.arg !== null) this.append(', ');
      this.visit(node.filter);
    }
    this.append(')');
  }

  protected override visitFrame(frame: FrameNode): void {
    if (frame.kind === 'RangeAt') {
      throw cubeError(
        'unsupported',
        'previousPeriod and periodOverPeriod are not available on ClickHouse; use compareDateRange',
      );
    }
    super.visitFrame(frame);
  }
}

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  createCompiler: () => new ClickHouseQueryCompiler(),
};
