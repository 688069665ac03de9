/**
 * The SQL IR: plain, readonly, serializable nodes discriminated on `kind`, one per concept, each
 * with a small `{ create, is }` companion. The planner builds these; a dialect's compiler turns
 * them into `{ sql, parameters }`. Values live only in `Value` nodes (bound parameters);
 * identifiers only in `Table`, `Column`, `Alias`, `Cte` (quoted by the compiler); `Template` text
 * is model-authored SQL, never query input.
 */
import type { Granularity } from '../time.ts';

export type ParamValue = string | number | boolean | null;
export type SqlType = 'timestamptz' | 'timestamp' | 'date' | 'double' | 'varchar' | 'boolean' | 'bigint';
export type BinaryOp = '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/';
export type AggregateFn =
  | 'count'
  | 'count_distinct'
  | 'count_distinct_approx'
  | 'sum'
  | 'avg'
  | 'min'
  | 'max';
export type FunctionName = 'nullif' | 'coalesce';
export type MatchMode = 'contains' | 'startsWith' | 'endsWith';

export interface SelectNode {
  readonly kind: 'Select';
  readonly with: readonly CteNode[];
  readonly distinct: boolean;
  readonly selections: readonly Node[];
  readonly from: TableNode | DerivedNode;
  readonly joins: readonly JoinNode[];
  readonly where: Node | null;
  readonly groupBy: GroupByNode | null;
  readonly having: Node | null;
  readonly orderBy: readonly OrderItemNode[];
  readonly limit: Node | null;
  readonly offset: Node | null;
}
export interface UnionNode {
  readonly kind: 'Union';
  readonly queries: readonly SelectNode[];
}
export interface CteNode {
  readonly kind: 'Cte';
  readonly name: string;
  readonly query: SelectNode | UnionNode;
}
export interface TableNode {
  readonly kind: 'Table';
  readonly schema?: string;
  readonly table: string;
  readonly alias?: string;
}
export interface DerivedNode {
  readonly kind: 'Derived';
  readonly query: SelectNode | UnionNode | TemplateNode;
  readonly alias: string;
  /** Model SQL written for a given dialect (by name), used instead of `query` there; null: none can be. */
  readonly variants?: Readonly<Record<string, TemplateNode | null>>;
}
export interface JoinNode {
  readonly kind: 'Join';
  readonly type: 'left' | 'inner';
  readonly table: TableNode | DerivedNode;
  readonly on: Node;
  /**
   * The right side holds at most one row per value of the ON's key, checked where it is built (a
   * dialect's own tables, e.g. the cluster's latest scores): the join may stop at the first match
   * (ClickHouse `ANY`). Never set by the planner.
   */
  readonly unique?: boolean;
}
export interface AliasNode {
  readonly kind: 'Alias';
  readonly node: Node;
  readonly alias: string;
}
/** A bare quoted identifier, e.g. a cube alias in model SQL (`{CUBE}.col`). */
export interface IdentifierNode {
  readonly kind: 'Identifier';
  readonly name: string;
}
export interface ColumnNode {
  readonly kind: 'Column';
  readonly table?: string;
  readonly column: string;
}
export interface ValueNode {
  readonly kind: 'Value';
  readonly value: ParamValue;
  readonly cast?: SqlType;
}
/** Constants that are part of the query's structure, not user values: NULL, TRUE, FALSE, small integers. */
export interface LiteralNode {
  readonly kind: 'Literal';
  readonly value: null | boolean | number;
}
export interface TemplateNode {
  readonly kind: 'Template';
  readonly parts: readonly (string | Node)[];
}
export interface BinaryNode {
  readonly kind: 'Binary';
  readonly op: BinaryOp;
  readonly left: Node;
  readonly right: Node;
}
export interface LogicalNode {
  readonly kind: 'Logical';
  readonly op: 'and' | 'or';
  readonly items: readonly Node[];
}
export interface NotNode {
  readonly kind: 'Not';
  readonly node: Node;
}
export interface IsNullNode {
  readonly kind: 'IsNull';
  readonly node: Node;
  readonly negated: boolean;
}
export interface InNode {
  readonly kind: 'In';
  readonly node: Node;
  readonly values: readonly Node[];
  readonly negated: boolean;
}
export interface FunctionNode {
  readonly kind: 'Function';
  readonly name: FunctionName;
  readonly args: readonly Node[];
}
export interface AggregateNode {
  readonly kind: 'Aggregate';
  readonly fn: AggregateFn;
  /** null: count rows (count(*)). */
  readonly arg: Node | null;
  readonly filter: Node | null;
}
export type FrameNode =
  | { readonly kind: 'RowsToCurrent' }
  /** Exactly `n` units before the current row's ORDER BY value (the previous period). */
  | { readonly kind: 'RangeAt'; readonly unit: Granularity; readonly n: number };
export interface WindowNode {
  readonly kind: 'Window';
  readonly fn: AggregateNode;
  readonly partitionBy: readonly Node[];
  readonly orderBy: readonly OrderItemNode[];
  readonly frame: FrameNode | null;
}
export interface CastNode {
  readonly kind: 'Cast';
  readonly node: Node;
  readonly type: SqlType;
}
/** An instant (timestamptz) as wall-clock time in a zone. */
export interface ToLocalTimeNode {
  readonly kind: 'ToLocalTime';
  readonly node: Node;
  readonly timezone: ValueNode;
}
/** Truncates a wall-clock time to the start of its day/week (Monday)/month/quarter/year. */
export interface TimeTruncNode {
  readonly kind: 'TimeTrunc';
  readonly granularity: Granularity;
  readonly node: Node;
}
/** Case-insensitive substring / prefix / suffix test. */
export interface StringMatchNode {
  readonly kind: 'StringMatch';
  readonly mode: MatchMode;
  readonly node: Node;
  readonly value: ValueNode;
}
export interface GroupingNode {
  readonly kind: 'Grouping';
  readonly nodes: readonly Node[];
}
export interface StarNode {
  readonly kind: 'Star';
}
export interface OrderItemNode {
  readonly kind: 'OrderItem';
  readonly node: Node;
  readonly direction: 'asc' | 'desc';
}
export interface GroupByNode {
  readonly kind: 'GroupBy';
  /** Grouped in every set. */
  readonly items: readonly Node[];
  /** Subtotals over these, after `items`: rollup (a, b) → (a,b),(a),(); cube; or explicit sets (indexes into `over`). */
  readonly subtotals: null | {
    readonly mode: 'rollup' | 'cube' | 'sets';
    readonly over: readonly Node[];
    readonly sets?: readonly (readonly number[])[];
  };
}

export type Node =
  | SelectNode
  | UnionNode
  | CteNode
  | TableNode
  | DerivedNode
  | JoinNode
  | AliasNode
  | IdentifierNode
  | ColumnNode
  | ValueNode
  | LiteralNode
  | TemplateNode
  | BinaryNode
  | LogicalNode
  | NotNode
  | IsNullNode
  | InNode
  | FunctionNode
  | AggregateNode
  | WindowNode
  | CastNode
  | ToLocalTimeNode
  | TimeTruncNode
  | StringMatchNode
  | GroupingNode
  | StarNode
  | OrderItemNode
  | GroupByNode;

export type NodeKind = Node['kind'];
type NodeOf<K extends NodeKind> = Extract<Node, { kind: K }>;

function is<K extends NodeKind>(kind: K): (n: Node | null | undefined) => n is NodeOf<K> {
  return (n): n is NodeOf<K> => n?.kind === kind;
}

export const SelectNode = {
  create(
    parts: Partial<Omit<SelectNode, 'kind' | 'from'>> & { readonly from: TableNode | DerivedNode },
  ): SelectNode {
    return {
      kind: 'Select',
      with: parts.with ?? [],
      distinct: parts.distinct ?? false,
      selections: parts.selections ?? [],
      from: parts.from,
      joins: parts.joins ?? [],
      where: parts.where ?? null,
      groupBy: parts.groupBy ?? null,
      having: parts.having ?? null,
      orderBy: parts.orderBy ?? [],
      limit: parts.limit ?? null,
      offset: parts.offset ?? null,
    };
  },
  is: is('Select'),
};
export const UnionNode = {
  create: (queries: readonly SelectNode[]): UnionNode => ({ kind: 'Union', queries }),
  is: is('Union'),
};
export const CteNode = {
  create: (name: string, query: SelectNode | UnionNode): CteNode => ({ kind: 'Cte', name, query }),
  is: is('Cte'),
};
export const TableNode = {
  create: (table: string, schema?: string, alias?: string): TableNode => ({
    kind: 'Table',
    table,
    ...(schema === undefined ? {} : { schema }),
    ...(alias === undefined ? {} : { alias }),
  }),
  is: is('Table'),
};
export const DerivedNode = {
  create: (
    query: SelectNode | UnionNode | TemplateNode,
    alias: string,
    variants?: Readonly<Record<string, TemplateNode | null>>,
  ): DerivedNode =>
    variants === undefined ? { kind: 'Derived', query, alias } : { kind: 'Derived', query, alias, variants },
  is: is('Derived'),
};
export const JoinNode = {
  create: (type: 'left' | 'inner', table: TableNode | DerivedNode, on: Node): JoinNode => ({
    kind: 'Join',
    type,
    table,
    on,
  }),
  is: is('Join'),
};
export const AliasNode = {
  create: (node: Node, alias: string): AliasNode => ({ kind: 'Alias', node, alias }),
  is: is('Alias'),
};
export const IdentifierNode = {
  create: (name: string): IdentifierNode => ({ kind: 'Identifier', name }),
  is: is('Identifier'),
};
export const ColumnNode = {
  create: (column: string, table?: string): ColumnNode => ({
    kind: 'Column',
    column,
    ...(table === undefined ? {} : { table }),
  }),
  is: is('Column'),
};
export const ValueNode = {
  create: (value: ParamValue, cast?: SqlType): ValueNode => ({
    kind: 'Value',
    value,
    ...(cast === undefined ? {} : { cast }),
  }),
  is: is('Value'),
};
export const LiteralNode = {
  create(value: null | boolean | number): LiteralNode {
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new Error(`literal ${value} is not a safe integer`);
    return { kind: 'Literal', value };
  },
  is: is('Literal'),
};
export const TemplateNode = {
  create: (parts: readonly (string | Node)[]): TemplateNode => ({ kind: 'Template', parts }),
  is: is('Template'),
};
export const BinaryNode = {
  create: (op: BinaryOp, left: Node, right: Node): BinaryNode => ({ kind: 'Binary', op, left, right }),
  is: is('Binary'),
};
export const LogicalNode = {
  /** AND/OR of the items; a single item is returned as is, none gives null. */
  create(op: 'and' | 'or', items: readonly (Node | null)[]): Node | null {
    const kept = items.filter((n): n is Node => n !== null);
    if (kept.length === 0) return null;
    if (kept.length === 1) return kept[0] as Node;
    return { kind: 'Logical', op, items: kept };
  },
  is: is('Logical'),
};
export const NotNode = {
  create: (node: Node): NotNode => ({ kind: 'Not', node }),
  is: is('Not'),
};
export const IsNullNode = {
  create: (node: Node, negated: boolean): IsNullNode => ({ kind: 'IsNull', node, negated }),
  is: is('IsNull'),
};
export const InNode = {
  create: (node: Node, values: readonly Node[], negated: boolean): InNode => ({
    kind: 'In',
    node,
    values,
    negated,
  }),
  is: is('In'),
};
export const FunctionNode = {
  create: (name: FunctionName, args: readonly Node[]): FunctionNode => ({ kind: 'Function', name, args }),
  is: is('Function'),
};
export const AggregateNode = {
  create: (fn: AggregateFn, arg: Node | null, filter: Node | null = null): AggregateNode => ({
    kind: 'Aggregate',
    fn,
    arg,
    filter,
  }),
  is: is('Aggregate'),
};
export const WindowNode = {
  create: (
    fn: AggregateNode,
    partitionBy: readonly Node[],
    orderBy: readonly OrderItemNode[],
    frame: FrameNode | null,
  ): WindowNode => ({ kind: 'Window', fn, partitionBy, orderBy, frame }),
  is: is('Window'),
};
export const CastNode = {
  create: (node: Node, type: SqlType): CastNode => ({ kind: 'Cast', node, type }),
  is: is('Cast'),
};
export const ToLocalTimeNode = {
  create: (node: Node, timezone: ValueNode): ToLocalTimeNode => ({ kind: 'ToLocalTime', node, timezone }),
  is: is('ToLocalTime'),
};
export const TimeTruncNode = {
  create: (granularity: Granularity, node: Node): TimeTruncNode => ({ kind: 'TimeTrunc', granularity, node }),
  is: is('TimeTrunc'),
};
export const StringMatchNode = {
  create: (mode: MatchMode, node: Node, value: ValueNode): StringMatchNode => ({
    kind: 'StringMatch',
    mode,
    node,
    value,
  }),
  is: is('StringMatch'),
};
export const GroupingNode = {
  create: (nodes: readonly Node[]): GroupingNode => ({ kind: 'Grouping', nodes }),
  is: is('Grouping'),
};
export const StarNode = {
  create: (): StarNode => ({ kind: 'Star' }),
  is: is('Star'),
};
export const OrderItemNode = {
  create: (node: Node, direction: 'asc' | 'desc'): OrderItemNode => ({ kind: 'OrderItem', node, direction }),
  is: is('OrderItem'),
};
export const GroupByNode = {
  create: (items: readonly Node[], subtotals: GroupByNode['subtotals'] = null): GroupByNode => ({
    kind: 'GroupBy',
    items,
    subtotals,
  }),
  is: is('GroupBy'),
};
