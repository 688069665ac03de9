/**
 * ClickHouse (18.16 and later), a second dialect over the same planner. Values are rendered by
 * `clickhouseLiteral` (18.16 cannot bind parameters), so the compiled statement has no
 * parameters. toTimeZone/toStartOf* for time buckets, uniqExact/uniq for distinct counts,
 * -If combinators instead of FILTER, subtotals as a UNION ALL of one GROUP BY per grouping set,
 * CTEs inlined, joins on the shards where the left side is a table (`clickhouse-shard-joins.ts`),
 * several JOINs as nested single-join subqueries (`clickhouse-joins.ts`). What
 * 18.16 lacks — window functions (running totals, previous period, percent of total) — is
 * refused with a typed "not supported on this engine" error rather than answered with
 * different numbers.
 */

import { QueryCompiler } from '../compiler/query-compiler.ts';
import { cubeError } from '../errors.ts';
import { groupingSetIndexes, groupingValue } from '../ir/grouping.ts';
import type {
  AggregateNode,
  BinaryNode,
  CastNode,
  FrameNode,
  GroupingNode,
  JoinNode,
  SqlType,
  StringMatchNode,
  TimeTruncNode,
  ToLocalTimeNode,
  ValueNode,
  WindowNode,
} from '../ir/nodes.ts';
import {
  AliasNode,
  DerivedNode,
  GroupByNode,
  LiteralNode,
  type Node,
  SelectNode,
  StarNode,
  TableNode,
  UnionNode,
} from '../ir/nodes.ts';
import { nestJoins } from './clickhouse-joins.ts';
import { CUSTOMER_SHARDED_TABLES, type OneShardKey } from './clickhouse-layout.ts';
import { clickhouseLiteral } from './clickhouse-literal.ts';
import { shardDistinctCounts } from './clickhouse-shard-distinct.ts';
import {
  goldenJoinsOnShards,
  joinStaysOnShard,
  joinsMovedRight,
  joinsStayOnShards,
  leftTableByName,
  readsTableByName,
  shardJoin,
} from './clickhouse-shard-joins.ts';
import { subtotalsInOnePass } from './clickhouse-subtotals.ts';
import type { Dialect } from './dialect.ts';

const TRUNC = {
  day: 'toStartOfDay',
  week: 'toMonday',
  month: 'toStartOfMonth',
  quarter: 'toStartOfQuarter',
  year: 'toStartOfYear',
};

/** The join rewritten to run on the shards, or undefined when its ON uses the left alias otherwise than as `{alias}.column`. */
function tryShardJoin(from: TableNode, join: JoinNode, currentKeysUnique: boolean): JoinNode | undefined {
  try {
    return shardJoin(from, join, currentKeysUnique);
  } catch {
    return undefined;
  }
}

/** `joinsMovedRight`, or undefined when model SQL uses a cube alias otherwise than as `{alias}.column`. */
function tryJoinsMovedRight(node: SelectNode, golden: boolean): SelectNode | undefined {
  try {
    return joinsMovedRight(node, golden);
  } catch {
    return undefined;
  }
}

/** `goldenJoinsOnShards`, or undefined when model SQL uses a cube alias otherwise than as `{alias}.column`. */
function tryGoldenJoinsOnShards(
  node: SelectNode,
  golden: boolean,
  currentScores: boolean,
): SelectNode | undefined {
  try {
    return goldenJoinsOnShards(node, golden, currentScores);
  } catch {
    return undefined;
  }
}

/** `leftTableByName`, or undefined when model SQL uses a cube alias otherwise than as `{alias}.column`. */
function tryLeftTableByName(node: SelectNode): SelectNode | undefined {
  try {
    return leftTableByName(node);
  } catch {
    return undefined;
  }
}

function unsupported(what: string): Error {
  return cubeError('unsupported', `${what} is not supported on this engine (ClickHouse); run it on DuckDB`);
}

export interface ClickHouseCompilerOptions {
  /**
   * The shards have the golden-score views (`mining_golden.<table>`, src/clickhouse/sync-golden.ts),
   * which a sync by older code did not create: without them the joins to golden-keyed scores keep
   * the plan from before those views (a GLOBAL JOIN, or joins on the entry node). Default true.
   */
  readonly goldenViews?: boolean;
  /**
   * Keys whose values the sync found each on one shard (src/clickhouse/sync-checks.ts, recorded on
   * the cluster): their exact distinct counts are the sum of the shards' exact counts. Default
   * none: a distinct count of any key but the sharding key merges the shards' sets.
   */
  readonly oneShardKeys?: readonly OneShardKey[];
  /**
   * The shards hold their current customer records with the golden customers' latest scores side
   * by side (clickhouse-layout.ts, CURRENT_SCORES), rebuilt since the customers and scores last
   * moved, as the sync's record says (src/clickhouse/sync-checks.ts): the customers cube joined
   * to latest-run scores reads that table instead of joining each score table. Default false.
   */
  readonly currentScores?: boolean;
  /**
   * `core.dim_customer` has one current row per customer key, as the sync's record says
   * (src/clickhouse/sync-checks.ts): a fact's join to the current customers on the customer key,
   * run on the shards, stops at the first match (`ANY`). Default false: `ALL`, which meets every
   * current row of a key as DuckDB does.
   */
  readonly currentKeysUnique?: boolean;
}

export class ClickHouseQueryCompiler extends QueryCompiler {
  protected override readonly sqlVariant = 'clickhouse';
  private readonly goldenViews: boolean;
  private readonly oneShardKeys: readonly OneShardKey[];
  private readonly currentScores: boolean;
  private readonly currentKeysUnique: boolean;

  constructor(options: ClickHouseCompilerOptions = {}) {
    super();
    this.goldenViews = options.goldenViews ?? true;
    this.oneShardKeys = options.oneShardKeys ?? [];
    this.currentScores = this.goldenViews && (options.currentScores ?? false);
    this.currentKeysUnique = options.currentKeysUnique ?? false;
  }
  /** CTE bodies by name: 18.16 has no `WITH name AS (SELECT ...)`, so references are inlined. */
  private readonly ctes = new Map<string, SelectNode | UnionNode>();

  /** SELECTs that run to the end on every shard (the inner level of clickhouse-shard-distinct.ts). */
  private readonly perShard = new WeakSet<SelectNode>();

  protected override visitSelect(node: SelectNode): void {
    this.visitSelectOnce(node);
    if (this.perShard.has(node)) this.append('\nSETTINGS distributed_group_by_no_merge = 1');
  }

  /** SELECTs already in the form they run in (the per-shard level of a plan built here): not rewritten again. */
  private readonly final = new WeakSet<SelectNode>();

  /**
   * Distinct counts of the sharding key as the sum of the shards' own counts, where that applies.
   * `joinOnShards`: the one join was built to run on the shards (goldenJoinsOnShards).
   */
  private perShardDistinct(node: SelectNode, joinOnShards = false): SelectNode | undefined {
    const from = node.from;
    if (this.perShard.has(node) || !readsTableByName(from)) return undefined;
    if (!CUSTOMER_SHARDED_TABLES.has(`${from.schema}.${from.table}`)) return undefined;
    const join = node.joins[0];
    if (node.joins.length > 1) return undefined;
    if (join !== undefined && !joinOnShards && !joinStaysOnShard(from, join)) return undefined;
    const table = `${from.schema}.${from.table}`;
    const keys = this.oneShardKeys.filter((k) => k.table === table).map((k) => k.sql);
    const twoLevels = shardDistinctCounts(node, from.alias ?? from.table, keys);
    if (twoLevels === undefined) return undefined;
    if (twoLevels.from.kind === 'Derived' && twoLevels.from.query.kind === 'Select') {
      this.perShard.add(twoLevels.from.query);
      if (joinOnShards) this.final.add(twoLevels.from.query);
    }
    return twoLevels;
  }

  private visitSelectOnce(selected: SelectNode): void {
    if (this.final.has(selected)) {
      super.visitSelect(selected);
      return;
    }
    for (const cte of selected.with) this.ctes.set(cte.name, cte.query);
    // the customers cube on the left (current versions of a customer-sharded table) is read by
    // name when that lets every join run on the shards, as for a fact table on the left
    const byName = selected.joins.length > 0 ? tryLeftTableByName(selected) : undefined;
    const node = byName !== undefined && joinsStayOnShards(byName, this.goldenViews) ? byName : selected;
    const twoLevels = node.groupBy?.subtotals ? undefined : this.perShardDistinct({ ...node, with: [] });
    if (twoLevels !== undefined) {
      this.visitSelect(twoLevels);
      return;
    }
    if (node.groupBy?.subtotals) {
      // one pass over the rows when the measures allow it (clickhouse-subtotals.ts)
      this.visit(subtotalsInOnePass({ ...node, with: [] }) ?? subtotalsAsUnion({ ...node, with: [] }));
      return;
    }
    // the customers cube joined only to golden-keyed scores runs on the shards over their own
    // rows and golden-score views (clickhouse-shard-joins.ts, goldenJoinsOnShards)
    const golden =
      node.joins.length > 0
        ? tryGoldenJoinsOnShards({ ...node, with: [] }, this.goldenViews, this.currentScores)
        : undefined;
    if (golden !== undefined) {
      // golden keys each on one shard (the sync's record): the shards' exact counts added up
      const twoLevels = this.perShardDistinct(golden, true);
      if (twoLevels !== undefined) this.visitSelect(twoLevels);
      else super.visitSelect(golden);
      return;
    }
    // a table by name stays on the left so the joins run on the shards (clickhouse-shard-joins.ts)
    const moved =
      node.joins.length > 0 ? tryJoinsMovedRight({ ...node, with: [] }, this.goldenViews) : undefined;
    if (moved !== undefined) {
      // the customers cube read by name with every join on the shards: distinct counts of a key
      // whose values each sit on one shard are the shards' exact counts added up
      const twoLevels = node === byName ? this.perShardDistinct(moved, true) : undefined;
      if (twoLevels !== undefined) this.visitSelect(twoLevels);
      else super.visitSelect(moved);
      return;
    }
    if (node.joins.length > 1) {
      // 18.16 allows one JOIN per SELECT: the others move into nested single-join subqueries
      super.visitSelect(nestJoins({ ...node, with: [] }));
      return;
    }
    let from = node.from;
    const join = node.joins[0];
    if (join !== undefined && readsTableByName(from)) {
      const onShards = tryShardJoin(from, join, this.currentKeysUnique);
      if (onShards !== undefined) {
        super.visitSelect({ ...node, with: [], joins: [onShards] });
        return;
      }
    }
    if (node.joins.length > 0 && from.kind === 'Table' && from.schema !== undefined) {
      // 18.16 loses qualified names when a Distributed table on the left of a JOIN is rewritten
      // for its shards; reading it in a subquery joins on the entry node (correct, not pushed down).
      const table = TableNode.create(from.table, from.schema);
      from = DerivedNode.create(
        SelectNode.create({ selections: [StarNode.create()], from: table }),
        from.alias ?? from.table,
      );
    }
    super.visitSelect({ ...node, with: [], from });
  }

  protected override visitTable(node: TableNode): void {
    const cte = node.schema === undefined ? this.ctes.get(node.table) : undefined;
    if (cte === undefined) {
      super.visitTable(node);
      return;
    }
    this.append('(\n');
    this.visit(cte);
    this.append('\n)');
    if (node.alias !== undefined) this.append(` AS ${this.quoteIdentifier(node.alias)}`);
  }

  /** A join whose right side has one row per key (JoinNode.unique) stops at the first match: `ANY`. */
  protected override visitJoin(node: JoinNode): void {
    if (node.unique === true) this.append('ANY ');
    super.visitJoin(node);
  }

  protected override quoteIdentifier(name: string): string {
    return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
  }

  protected override visitValue(node: ValueNode): void {
    this.append(clickhouseLiteral(node.value, node.cast));
  }

  protected override visitLiteral(node: LiteralNode): void {
    if (typeof node.value === 'boolean') this.append(node.value ? '1' : '0');
    else super.visitLiteral(node);
  }

  protected override typeName(type: SqlType): string {
    switch (type) {
      case 'timestamptz':
      case 'timestamp':
        return "DateTime('UTC')";
      case 'date':
        return 'Date';
      case 'double':
        return 'Float64';
      case 'varchar':
        return 'String';
      case 'boolean':
        return 'UInt8';
      case 'bigint':
        return 'Int64';
    }
  }

  /** SQL's CAST keeps NULL; ClickHouse's refuses NULL unless the target type is Nullable. */
  protected override visitCast(node: CastNode): void {
    this.append('CAST(');
    this.visit(node.node);
    this.append(` AS Nullable(${this.typeName(node.type)}))`);
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
      this.append('(position(lowerUTF8(');
      this.visit(node.node);
      this.append('), lowerUTF8(');
      this.visit(node.value);
      this.append(')) > 0)');
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
    // DuckDB's sum/avg/min/max over no (non-NULL) input is NULL; ClickHouse's is 0 (or nan), and
    // 18.16 has no -OrNull combinator, so the NULL is spelled out.
    const nullWhenEmpty = node.arg !== null && node.fn !== 'count' && base === node.fn;
    if (nullWhenEmpty && node.arg !== null) {
      this.append('if(countIf((');
      this.visit(node.arg);
      this.append(') IS NOT NULL');
      if (node.filter !== null) {
        this.append(' AND (');
        this.visit(node.filter);
        this.append(')');
      }
      this.append(') = 0, NULL, ');
    }
    // sums and averages of Decimal stay Decimal in ClickHouse, and a model's `{a} / {b}` would
    // then divide at the column's scale; DuckDB divides in DOUBLE, so these leave as Float64
    const toFloat = node.fn === 'sum' || node.fn === 'avg';
    this.append(toFloat ? `toFloat64(${name}(` : `${name}(`);
    // avg of a Decimal is truncated to the column's scale, DuckDB's is a DOUBLE: average doubles
    if (node.arg !== null && node.fn === 'avg') {
      this.append('toFloat64(');
      this.visit(node.arg);
      this.append(')');
    } else if (node.arg !== null) this.visit(node.arg);
    if (node.filter !== null) {
      if (node.arg !== null) this.append(', ');
      this.visit(node.filter);
    }
    this.append(toFloat ? '))' : ')');
    if (nullWhenEmpty) this.append(')');
  }

  protected override visitBinary(node: BinaryNode): void {
    if (node.op !== '/') {
      super.visitBinary(node);
      return;
    }
    // Decimal / Decimal keeps the scale (4 digits) in ClickHouse; DuckDB divides in DOUBLE
    this.append('(toFloat64(');
    this.visit(node.left);
    this.append(') / toFloat64(');
    this.visit(node.right);
    this.append('))');
  }

  protected override visitGroupBy(node: GroupByNode): void {
    if (node.subtotals !== null)
      throw new Error('subtotals reach the GROUP BY only through subtotalsAsUnion');
    super.visitGroupBy(node);
  }

  protected override visitGrouping(_node: GroupingNode): void {
    throw unsupported('subtotals (GROUPING)');
  }

  protected override visitWindow(_node: WindowNode): void {
    throw unsupported('a calculation over windows (running totals, previous period)');
  }

  protected override visitFrame(_frame: FrameNode): void {
    throw unsupported('a calculation over windows (running totals, previous period)');
  }
}

/**
 * 18.16 has no GROUPING SETS and no GROUPING() (its WITH ROLLUP marks subtotal rows with default
 * values, indistinguishable from real ones), so subtotals become a UNION ALL of one GROUP BY per
 * grouping set: rolled-up dimensions are NULL and GROUPING(...) is the set's constant; order and
 * paging apply to the union.
 */
function subtotalsAsUnion(node: SelectNode): SelectNode {
  const group = node.groupBy as GroupByNode;
  const st = group.subtotals as NonNullable<GroupByNode['subtotals']>;
  const overKeys = st.over.map((n) => {
    if (n.kind !== 'Column') throw unsupported('subtotals over an expression');
    return n.column;
  });
  const branches = groupingSetIndexes(st.mode, st.over.length, st.sets).map((set) => {
    const kept = new Set(set.map((i) => overKeys[i]));
    const selections = node.selections.map((sel) => {
      if (sel.kind !== 'Alias') return sel;
      if (sel.node.kind === 'Grouping') {
        return AliasNode.create(LiteralNode.create(groupingValue(st.over.length, set)), sel.alias);
      }
      return overKeys.includes(sel.alias) && !kept.has(sel.alias)
        ? AliasNode.create(LiteralNode.create(null), sel.alias)
        : sel;
    });
    const items = [...group.items, ...set.map((i) => st.over[i] as Node)];
    return SelectNode.create({
      ...node,
      selections,
      groupBy: items.length > 0 ? GroupByNode.create(items) : null,
      orderBy: [],
      limit: null,
      offset: null,
    });
  });
  return SelectNode.create({
    selections: [StarNode.create()],
    from: DerivedNode.create(UnionNode.create(branches), 'subtotals'),
    orderBy: node.orderBy,
    limit: node.limit,
    offset: node.offset,
  });
}

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  createCompiler: () => new ClickHouseQueryCompiler(),
  filtersInJoinOn: false,
};

/** The dialect for a cluster synced by older code, without golden-score views (`goldenViews: false`). */
export const clickhouseDialectWithoutGoldenViews: Dialect = {
  ...clickhouseDialect,
  createCompiler: () => new ClickHouseQueryCompiler({ goldenViews: false }),
};

/**
 * The dialect for what a cluster holds: its golden-score views, and the keys its sync found on
 * one shard and whether its current records with their latest scores are in place
 * (`ClickHouseCompilerOptions`). Without keys or that table, and with the views: `clickhouseDialect`.
 */
export function clickhouseDialectFor(options: ClickHouseCompilerOptions): Dialect {
  const goldenViews = options.goldenViews ?? true;
  const keys = options.oneShardKeys ?? [];
  const currentScores = options.currentScores ?? false;
  const currentKeysUnique = options.currentKeysUnique ?? false;
  if (keys.length === 0 && !currentScores && !currentKeysUnique) {
    return goldenViews ? clickhouseDialect : clickhouseDialectWithoutGoldenViews;
  }
  return {
    ...clickhouseDialect,
    createCompiler: () =>
      new ClickHouseQueryCompiler({ goldenViews, oneShardKeys: keys, currentScores, currentKeysUnique }),
  };
}
