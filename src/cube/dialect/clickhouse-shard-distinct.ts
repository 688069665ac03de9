/**
 * Exact distinct counts of the sharding key, summed over the shards. Customer-sharded tables keep
 * each customer's rows on one shard, so within a group the customers counted on one shard are not
 * counted on another: the exact distinct count is the sum of the shards' own exact counts, and
 * the shards need not send their sets of keys to the entry node (18.16 merges `uniqExact` by
 * shipping every shard's hash set).
 *
 * A grouped SELECT over a customer-sharded table (no join, or a join that reads only the shard's
 * own rows) that counts `customer_durable_key` of that table becomes two levels:
 *
 *   SELECT dims, <measures from the partials> FROM (
 *     SELECT dims, <partials> FROM … GROUP BY dims SETTINGS distributed_group_by_no_merge = 1
 *   ) GROUP BY dims …
 *
 * The inner level runs to the end on every shard (`distributed_group_by_no_merge`) and returns
 * one row per group and shard; the outer level on the entry node adds up sums, counts and the
 * sharding-key distinct counts, takes min/max of min/max, and merges the -State of everything
 * else (averages, other distinct counts) with -Merge. Other distinct counts stay exact
 * (`uniqExact` states); `uniq` is used only for `count_distinct_approx`, as the model says.
 *
 * A key other than the sharding key is added up the same way when the sync checked that each of
 * its values has rows of one sharding-key value only (the order key, when every order's lines
 * carry one customer: src/clickhouse/sync-checks.ts) and the cluster's record says so; without
 * that record (a split order, or a cluster synced by older code) its sets are merged as above.
 */
import {
  type AggregateNode,
  AliasNode,
  ColumnNode,
  GroupByNode,
  type Node,
  SelectNode,
  TemplateNode,
} from '../ir/nodes.ts';
import { SHARD_COLUMN } from './clickhouse-layout.ts';

/** True when `arg` is `<alias>.customer_durable_key` (a column node or `{alias}.customer_durable_key`). */
function isShardKeyOf(arg: Node | null, alias: string): boolean {
  if (arg === null) return false;
  if (arg.kind === 'Column') return arg.column === SHARD_COLUMN && arg.table === alias;
  if (arg.kind !== 'Template') return false;
  const [first, second, ...rest] = arg.parts;
  return (
    rest.length === 0 &&
    typeof first === 'object' &&
    first.kind === 'Identifier' &&
    first.name === alias &&
    typeof second === 'string' &&
    second.trim() === `.${SHARD_COLUMN}`
  );
}

/**
 * The expression `arg` over `alias` as model SQL writes it without the alias (`{alias}.source ||
 * '/' || {alias}.order_id` → `source || '/' || order_id`, trimmed), or undefined when
 * it names another alias or holds anything but text and `{alias}.` references.
 */
export function withoutAlias(arg: Node | null, alias: string): string | undefined {
  if (arg === null) return undefined;
  if (arg.kind === 'Column') return arg.table === alias ? arg.column : undefined;
  if (arg.kind !== 'Template') return undefined;
  let text = '';
  let afterAlias = false;
  for (const part of arg.parts) {
    if (typeof part === 'string') {
      // `{alias}` is followed by `.column`: the dot goes with the alias
      if (afterAlias && !part.startsWith('.')) return undefined;
      text += afterAlias ? part.slice(1) : part;
      afterAlias = false;
    } else if (part.kind === 'Identifier' && part.name === alias && !afterAlias) afterAlias = true;
    else return undefined;
  }
  return afterAlias ? undefined : text.trim();
}

/** True when `arg` over `alias` is one of `keys` (expressions whose values each sit on one shard). */
function isOneShardKey(arg: Node | null, alias: string, keys: readonly string[]): boolean {
  if (keys.length === 0) return false;
  const text = withoutAlias(arg, alias);
  return text !== undefined && keys.some((k) => k.trim() === text);
}

export function containsAggregate(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsAggregate);
  if (value === null || typeof value !== 'object') return false;
  const node = value as Node;
  if (node.kind === 'Aggregate') return true;
  if (node.kind === 'Select' || node.kind === 'Union' || node.kind === 'Derived' || node.kind === 'Window') {
    return node.kind === 'Window';
  }
  return Object.values(value).some(containsAggregate);
}

export function findAggregates(value: unknown, out: AggregateNode[] = []): AggregateNode[] {
  if (Array.isArray(value)) {
    for (const v of value) findAggregates(v, out);
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  const node = value as Node;
  if (node.kind === 'Aggregate') out.push(node);
  else if (node.kind !== 'Select' && node.kind !== 'Union' && node.kind !== 'Derived') {
    for (const v of Object.values(value)) findAggregates(v, out);
  }
  return out;
}

/** A copy of `value` with every aggregate replaced by `replace(aggregate)`. */
export function mapAggregates<T>(value: T, replace: (a: AggregateNode) => Node): T {
  if (Array.isArray(value)) return value.map((v) => mapAggregates(v, replace)) as T;
  if (value === null || typeof value !== 'object') return value;
  const node = value as unknown as Node;
  if (node.kind === 'Aggregate') return replace(node) as T;
  if (node.kind === 'Select' || node.kind === 'Union' || node.kind === 'Derived') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = mapAggregates(v, replace);
  return out as T;
}

const BASE = { count_distinct: 'uniqExact', count_distinct_approx: 'uniq' } as const;

export function q(name: string): string {
  return `\`${name}\``;
}

/** `fn(arg[, filter])` as a template, with `fn` spelled out by the caller. */
export function call(fn: string, arg: Node | null, filter: Node | null, wrapArg?: string): TemplateNode {
  const parts: (string | Node)[] = [`${fn}(`];
  if (arg !== null) {
    if (wrapArg) parts.push(`${wrapArg}(`, arg, ')');
    else parts.push(arg);
  }
  if (filter !== null) parts.push(arg !== null ? ', ' : '', filter);
  parts.push(')');
  return TemplateNode.create(parts);
}

/**
 * The two-level form of a grouped SELECT over `fromAlias` (see the file comment), or undefined
 * when it counts no sharding key or has a shape this rewrite does not cover. `oneShardKeys`:
 * expressions over the table (as `withoutAlias` writes them) whose values the sync found each on
 * one shard (src/clickhouse/sync-checks.ts); their distinct counts are added up like the
 * sharding key's.
 */
export function shardDistinctCounts(
  node: SelectNode,
  fromAlias: string,
  oneShardKeys: readonly string[] = [],
): SelectNode | undefined {
  if (node.distinct || node.groupBy === null || node.groupBy.subtotals !== null) return undefined;
  const onOneShard = (a: AggregateNode): boolean =>
    a.fn === 'count_distinct' &&
    (isShardKeyOf(a.arg, fromAlias) || isOneShardKey(a.arg, fromAlias, oneShardKeys));
  const aggregates = findAggregates([node.selections, node.having, node.orderBy]);
  if (!aggregates.some(onOneShard)) return undefined;
  if (containsAggregate(node.where) || containsAggregate(node.groupBy)) return undefined;
  if (findAggregates(node.selections).length === 0) return undefined;

  const dims: { alias: string; node: Node }[] = [];
  for (const sel of node.selections) {
    if (sel.kind !== 'Alias') return undefined;
    if (!containsAggregate(sel.node)) dims.push({ alias: sel.alias, node: sel.node });
  }
  const inner: Node[] = dims.map((d) => AliasNode.create(d.node, d.alias));
  const innerNames = new Set(dims.map((d) => d.alias));
  const byValue = new Map<string, string>();
  const column = (prefix: string, value: Node): string => {
    // the same partial (e.g. an order count used by two measures) is computed once
    const key = `${prefix}${JSON.stringify(value)}`;
    const known = byValue.get(key);
    if (known !== undefined) return known;
    let name = `${prefix}${inner.length}`;
    while (innerNames.has(name)) name = `_${name}`;
    innerNames.add(name);
    byValue.set(key, name);
    inner.push(AliasNode.create(value, name));
    return name;
  };

  const replace = (a: AggregateNode): Node => {
    const filtered = a.filter !== null;
    const shardKey = onOneShard(a);
    let outer: string;
    if (a.fn === 'sum' || a.fn === 'count' || a.fn === 'min' || a.fn === 'max' || shardKey) {
      const fn = a.fn === 'count_distinct' ? 'uniqExact' : a.fn;
      const partial = column('__p', call(filtered ? `${fn}If` : fn, a.arg, a.filter));
      const combine = a.fn === 'min' || a.fn === 'max' ? a.fn : 'sum';
      outer = `${combine}(${q(partial)})`;
    } else {
      const base = a.fn === 'count_distinct' || a.fn === 'count_distinct_approx' ? BASE[a.fn] : a.fn;
      const fn = filtered ? `${base}If` : base;
      const state = column(
        '__s',
        call(`${fn}State`, a.arg, a.filter, a.fn === 'avg' ? 'toFloat64' : undefined),
      );
      outer = `${fn}Merge(${q(state)})`;
    }
    if (a.fn === 'sum' || a.fn === 'avg') outer = `toFloat64(${outer})`;
    // as the one-level form: NULL when no non-NULL value (ClickHouse's sum/avg/min/max of nothing is 0 or nan)
    if (a.arg !== null && a.fn !== 'count' && a.fn !== 'count_distinct' && a.fn !== 'count_distinct_approx') {
      const test: (string | Node)[] = ['countIf((', a.arg, ') IS NOT NULL'];
      if (a.filter !== null) test.push(' AND (', a.filter, ')');
      test.push(')');
      const seen = column('__n', TemplateNode.create(test));
      outer = `if(sum(${q(seen)}) = 0, NULL, ${outer})`;
    }
    return TemplateNode.create([outer]);
  };

  const selections = node.selections.map((sel) =>
    sel.kind === 'Alias' && containsAggregate(sel.node)
      ? AliasNode.create(mapAggregates(sel.node, replace), sel.alias)
      : AliasNode.create(ColumnNode.create((sel as AliasNode).alias), (sel as AliasNode).alias),
  );
  const having = node.having === null ? null : mapAggregates(node.having, replace);
  const orderBy = mapAggregates(node.orderBy, replace);
  const partials = SelectNode.create({
    ...node,
    selections: inner,
    having: null,
    orderBy: [],
    limit: null,
    offset: null,
  });
  return SelectNode.create({
    selections,
    from: { kind: 'Derived', query: partials, alias: '__per_shard' },
    groupBy: dims.length > 0 ? GroupByNode.create(dims.map((d) => ColumnNode.create(d.alias))) : null,
    having,
    orderBy,
    limit: node.limit,
    offset: node.offset,
  });
}
