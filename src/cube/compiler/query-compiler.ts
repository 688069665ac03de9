/**
 * The default IR → SQL compiler: a visitor typed by node kind, so a new node kind cannot be
 * forgotten. Dialects subclass it and override small hooks only (identifier quoting, placeholders,
 * type names, time zone conversion, truncation, string matching, approximate distinct counts,
 * grouping sets, window frames). Values are bound parameters; identical values share one.
 *
 * @example
 * new DuckDbQueryCompiler().compile(select) // → { sql: 'SELECT ... WHERE ("c"."region" = $1)', parameters: ['EU'] }
 */

import { cubeError } from '../errors.ts';
import { groupingSetIndexes } from '../ir/grouping.ts';
import type {
  AggregateNode,
  AliasNode,
  BinaryNode,
  CastNode,
  ColumnNode,
  CteNode,
  DerivedNode,
  FrameNode,
  FunctionNode,
  GroupByNode,
  GroupingNode,
  IdentifierNode,
  InNode,
  IsNullNode,
  JoinNode,
  LiteralNode,
  LogicalNode,
  Node,
  NodeKind,
  NotNode,
  OrderItemNode,
  ParamValue,
  SelectNode,
  SqlType,
  StarNode,
  StringMatchNode,
  TableNode,
  TemplateNode,
  TimeTruncNode,
  ToLocalTimeNode,
  UnionNode,
  ValueNode,
  WindowNode,
} from '../ir/nodes.ts';
import type { Granularity } from '../time.ts';

export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly ParamValue[];
}

type Visitors = { readonly [K in NodeKind]: (node: Extract<Node, { kind: K }>) => void };

export class QueryCompiler {
  private out: string[] = [];
  private params: ParamValue[] = [];
  private paramIndex = new Map<string, number>();
  private readonly visitors: Visitors = {
    Select: (n) => this.visitSelect(n),
    Union: (n) => this.visitUnion(n),
    Cte: (n) => this.visitCte(n),
    Table: (n) => this.visitTable(n),
    Derived: (n) => this.visitDerived(n),
    Join: (n) => this.visitJoin(n),
    Alias: (n) => this.visitAlias(n),
    Identifier: (n) => this.visitIdentifier(n),
    Column: (n) => this.visitColumn(n),
    Value: (n) => this.visitValue(n),
    Literal: (n) => this.visitLiteral(n),
    Template: (n) => this.visitTemplate(n),
    Binary: (n) => this.visitBinary(n),
    Logical: (n) => this.visitLogical(n),
    Not: (n) => this.visitNot(n),
    IsNull: (n) => this.visitIsNull(n),
    In: (n) => this.visitIn(n),
    Function: (n) => this.visitFunction(n),
    Aggregate: (n) => this.visitAggregate(n),
    Window: (n) => this.visitWindow(n),
    Cast: (n) => this.visitCast(n),
    ToLocalTime: (n) => this.visitToLocalTime(n),
    TimeTrunc: (n) => this.visitTimeTrunc(n),
    StringMatch: (n) => this.visitStringMatch(n),
    Grouping: (n) => this.visitGrouping(n),
    Star: (n) => this.visitStar(n),
    OrderItem: (n) => this.visitOrderItem(n),
    GroupBy: (n) => this.visitGroupBy(n),
  };

  /** Compiles a statement into frozen SQL text and its parameters. */
  compile(root: SelectNode | UnionNode): CompiledSql {
    this.out = [];
    this.params = [];
    this.paramIndex = new Map();
    this.visit(root);
    return Object.freeze({ sql: this.out.join(''), parameters: Object.freeze(this.params.slice()) });
  }

  protected append(text: string): void {
    this.out.push(text);
  }

  protected visit(node: Node): void {
    (this.visitors[node.kind] as (n: Node) => void)(node);
  }

  protected list(nodes: readonly Node[], separator = ', '): void {
    nodes.forEach((n, i) => {
      if (i > 0) this.append(separator);
      this.visit(n);
    });
  }

  // ---- hooks a dialect overrides -------------------------------------------------------------

  /** The one function identifiers pass through. */
  protected quoteIdentifier(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  /** Placeholder of the n-th (1-based) parameter (the value is given for dialects that type them). */
  protected placeholder(index: number, _value: ParamValue): string {
    return `$${index}`;
  }

  protected typeName(type: SqlType): string {
    switch (type) {
      case 'timestamptz':
        return 'TIMESTAMP WITH TIME ZONE';
      case 'timestamp':
        return 'TIMESTAMP';
      case 'date':
        return 'DATE';
      case 'double':
        return 'DOUBLE PRECISION';
      case 'varchar':
        return 'VARCHAR';
      case 'boolean':
        return 'BOOLEAN';
      case 'bigint':
        return 'BIGINT';
    }
  }

  protected visitToLocalTime(node: ToLocalTimeNode): void {
    this.append('(');
    this.visit(node.node);
    this.append(' AT TIME ZONE ');
    this.visit(node.timezone);
    this.append(')');
  }

  protected visitTimeTrunc(node: TimeTruncNode): void {
    this.append(`date_trunc('${node.granularity}', `);
    this.visit(node.node);
    this.append(')');
  }

  protected visitStringMatch(node: StringMatchNode): void {
    const lowerValue = () => {
      this.append('LOWER(');
      this.visit(node.value);
      this.append(')');
    };
    const lowerNode = () => {
      this.append('LOWER(');
      this.visit(node.node);
      this.append(')');
    };
    if (node.mode === 'endsWith') {
      this.append('(RIGHT(');
      lowerNode();
      this.append(', LENGTH(');
      this.visit(node.value);
      this.append(')) = ');
      lowerValue();
      this.append(')');
      return;
    }
    this.append('(POSITION(');
    lowerValue();
    this.append(' IN ');
    lowerNode();
    this.append(node.mode === 'contains' ? ') > 0)' : ') = 1)');
  }

  protected aggregateName(fn: AggregateNode['fn']): string {
    switch (fn) {
      case 'count':
      case 'count_distinct':
      case 'count_distinct_approx':
        return 'count';
      default:
        return fn;
    }
  }

  protected visitAggregate(node: AggregateNode): void {
    this.append(`${this.aggregateName(node.fn)}(`);
    if (
      node.fn === 'count_distinct' ||
      (node.fn === 'count_distinct_approx' && this.aggregateName(node.fn) === 'count')
    ) {
      this.append('DISTINCT ');
    }
    if (node.arg === null) this.append('*');
    else this.visit(node.arg);
    this.append(')');
    if (node.filter !== null) {
      this.append(' FILTER (WHERE ');
      this.visit(node.filter);
      this.append(')');
    }
  }

  protected visitGroupBy(node: GroupByNode): void {
    this.append('GROUP BY ');
    const st = node.subtotals;
    if (st === null) {
      this.list(node.items);
      return;
    }
    const sets = groupingSetIndexes(st.mode, st.over.length, st.sets);
    this.append('GROUPING SETS (');
    sets.forEach((set, i) => {
      if (i > 0) this.append(', ');
      this.append('(');
      this.list([...node.items, ...set.map((j) => st.over[j] as Node)]);
      this.append(')');
    });
    this.append(')');
  }

  protected visitFrame(frame: FrameNode): void {
    if (frame.kind === 'RowsToCurrent') {
      this.append('ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW');
      return;
    }
    const interval = intervalText(frame.unit, frame.n);
    this.append(`RANGE BETWEEN INTERVAL '${interval}' PRECEDING AND INTERVAL '${interval}' PRECEDING`);
  }

  // ---- structure -------------------------------------------------------------------------------

  protected visitSelect(node: SelectNode): void {
    if (node.with.length > 0) {
      this.append('WITH ');
      node.with.forEach((cte, i) => {
        if (i > 0) this.append(',\n');
        this.visit(cte);
      });
      this.append('\n');
    }
    this.append(node.distinct ? 'SELECT DISTINCT ' : 'SELECT ');
    this.list(node.selections);
    this.append('\nFROM ');
    this.visit(node.from);
    for (const j of node.joins) {
      this.append('\n');
      this.visit(j);
    }
    if (node.where !== null) {
      this.append('\nWHERE ');
      this.visit(node.where);
    }
    if (node.groupBy !== null && (node.groupBy.items.length > 0 || node.groupBy.subtotals !== null)) {
      this.append('\n');
      this.visit(node.groupBy);
    }
    if (node.having !== null) {
      this.append('\nHAVING ');
      this.visit(node.having);
    }
    if (node.orderBy.length > 0) {
      this.append('\nORDER BY ');
      this.list(node.orderBy);
    }
    if (node.limit !== null) {
      this.append('\nLIMIT ');
      this.visit(node.limit);
    }
    if (node.offset !== null) {
      this.append('\nOFFSET ');
      this.visit(node.offset);
    }
  }

  protected visitUnion(node: UnionNode): void {
    node.queries.forEach((q, i) => {
      if (i > 0) this.append('\nUNION ALL\n');
      this.visit(q);
    });
  }

  protected visitCte(node: CteNode): void {
    this.append(`${this.quoteIdentifier(node.name)} AS (\n`);
    this.visit(node.query);
    this.append('\n)');
  }

  protected visitTable(node: TableNode): void {
    if (node.schema !== undefined) this.append(`${this.quoteIdentifier(node.schema)}.`);
    this.append(this.quoteIdentifier(node.table));
    if (node.alias !== undefined) this.append(` AS ${this.quoteIdentifier(node.alias)}`);
  }

  /** The dialect whose model SQL variants (`sql_<dialect>` in YAML) this compiler prefers. */
  protected readonly sqlVariant: string | undefined = undefined;

  protected visitDerived(node: DerivedNode): void {
    const variant =
      this.sqlVariant !== undefined && node.variants && Object.hasOwn(node.variants, this.sqlVariant)
        ? node.variants[this.sqlVariant]
        : undefined;
    if (variant === null) {
      throw cubeError(
        'unsupported',
        `cube '${node.alias}' is not available on this engine (${this.sqlVariant}): its model SQL has no form this engine can run; run it on DuckDB`,
      );
    }
    const query = variant ?? node.query;
    this.append('(');
    if (query.kind !== 'Template') this.append('\n');
    this.visit(query);
    if (query.kind !== 'Template') this.append('\n');
    this.append(`) AS ${this.quoteIdentifier(node.alias)}`);
  }

  protected visitJoin(node: JoinNode): void {
    this.append(node.type === 'left' ? 'LEFT JOIN ' : 'INNER JOIN ');
    this.visit(node.table);
    this.append(' ON ');
    this.visit(node.on);
  }

  protected visitAlias(node: AliasNode): void {
    this.visit(node.node);
    this.append(` AS ${this.quoteIdentifier(node.alias)}`);
  }

  protected visitIdentifier(node: IdentifierNode): void {
    this.append(this.quoteIdentifier(node.name));
  }

  protected visitColumn(node: ColumnNode): void {
    if (node.table !== undefined) this.append(`${this.quoteIdentifier(node.table)}.`);
    this.append(this.quoteIdentifier(node.column));
  }

  protected visitValue(node: ValueNode): void {
    const key = `${typeof node.value}:${String(node.value)}`;
    let index = this.paramIndex.get(key);
    if (index === undefined) {
      this.params.push(node.value);
      index = this.params.length;
      this.paramIndex.set(key, index);
    }
    const placeholder = this.placeholder(index, node.value);
    if (node.cast !== undefined) this.append(`CAST(${placeholder} AS ${this.typeName(node.cast)})`);
    else this.append(placeholder);
  }

  protected visitLiteral(node: LiteralNode): void {
    this.append(
      node.value === null
        ? 'NULL'
        : node.value === true
          ? 'TRUE'
          : node.value === false
            ? 'FALSE'
            : String(node.value),
    );
  }

  protected visitTemplate(node: TemplateNode): void {
    for (const p of node.parts) {
      if (typeof p === 'string') this.append(p);
      else this.visit(p);
    }
  }

  protected visitBinary(node: BinaryNode): void {
    this.append('(');
    this.visit(node.left);
    this.append(` ${node.op} `);
    this.visit(node.right);
    this.append(')');
  }

  protected visitLogical(node: LogicalNode): void {
    this.append('(');
    this.list(node.items, node.op === 'and' ? ' AND ' : ' OR ');
    this.append(')');
  }

  protected visitNot(node: NotNode): void {
    this.append('(NOT ');
    this.visit(node.node);
    this.append(')');
  }

  protected visitIsNull(node: IsNullNode): void {
    this.append('(');
    this.visit(node.node);
    this.append(node.negated ? ' IS NOT NULL)' : ' IS NULL)');
  }

  protected visitIn(node: InNode): void {
    this.append('(');
    this.visit(node.node);
    this.append(node.negated ? ' NOT IN (' : ' IN (');
    this.list(node.values);
    this.append('))');
  }

  protected visitFunction(node: FunctionNode): void {
    this.append(`${node.name.toUpperCase()}(`);
    this.list(node.args);
    this.append(')');
  }

  protected visitWindow(node: WindowNode): void {
    this.visit(node.fn);
    this.append(' OVER (');
    let space = false;
    if (node.partitionBy.length > 0) {
      this.append('PARTITION BY ');
      this.list(node.partitionBy);
      space = true;
    }
    if (node.orderBy.length > 0) {
      if (space) this.append(' ');
      this.append('ORDER BY ');
      this.list(node.orderBy);
      space = true;
    }
    if (node.frame !== null) {
      if (space) this.append(' ');
      this.visitFrame(node.frame);
    }
    this.append(')');
  }

  protected visitCast(node: CastNode): void {
    this.append('CAST(');
    this.visit(node.node);
    this.append(` AS ${this.typeName(node.type)})`);
  }

  protected visitGrouping(node: GroupingNode): void {
    this.append('GROUPING(');
    this.list(node.nodes);
    this.append(')');
  }

  protected visitStar(_node: StarNode): void {
    this.append('*');
  }

  protected visitOrderItem(node: OrderItemNode): void {
    this.visit(node.node);
    this.append(node.direction === 'asc' ? ' ASC' : ' DESC');
  }
}

export function intervalText(unit: Granularity, n: number): string {
  switch (unit) {
    case 'day':
      return `${n} day`;
    case 'week':
      return `${7 * n} day`;
    case 'month':
      return `${n} month`;
    case 'quarter':
      return `${3 * n} month`;
    case 'year':
      return `${n} year`;
  }
}
