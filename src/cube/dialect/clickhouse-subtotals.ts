/**
 * Subtotals in one pass over the rows. 18.16 has no GROUPING SETS, and a UNION ALL of one GROUP BY
 * per grouping set reads and joins the rows once per set. When every measure is a sum, count,
 * min or max (with or without a filter), each set's figures follow from the finest groups' partial
 * figures, so the rows are read, joined and grouped once, by every subtotalled dimension (on the
 * shards, as any grouped query), and the entry node expands each finest group into one row per
 * grouping set and groups those:
 *
 *   SELECT dims, measures FROM (
 *     SELECT arrayJoin([1, 2, 3]) AS __set,
 *            if(has([sets that roll d up], __set), NULL, d) AS d, …,
 *            [GROUPING values][__set] AS g, <measures from the partials>
 *     FROM (SELECT dims, <partials> FROM … GROUP BY items, over) AS __finest
 *     GROUP BY __set, dims HAVING …
 *   ) AS subtotals ORDER BY … LIMIT …
 *
 * A sum of the finest groups' sums is the set's sum (and so for counts, mins and maxes), and a
 * rolled-up dimension is NULL, GROUPING(...) the set's constant, as in the UNION ALL form. The
 * grand total over no rows is one row (NULL sums, zero counts), as SQL's GROUPING SETS give it: a
 * marker row (`__marker = 1`, zero counts, NULL sums) joins the finest groups and expands into the
 * empty set only. Distinct counts and averages keep the UNION ALL form.
 */
import { groupingSetIndexes, groupingValue } from '../ir/grouping.ts';
import {
  type AggregateNode,
  AliasNode,
  ColumnNode,
  DerivedNode,
  GroupByNode,
  LiteralNode,
  type Node,
  SelectNode,
  TableNode,
  TemplateNode,
  UnionNode,
} from '../ir/nodes.ts';
import { call, containsAggregate, findAggregates, mapAggregates, q } from './clickhouse-shard-distinct.ts';

/** Names this form gives its own columns. */
const RESERVED = /^__(?:set|marker|[pn]\d+)$/;

const PARTIAL_FNS: ReadonlySet<string> = new Set(['sum', 'count', 'min', 'max']);

/** The one-pass form of a SELECT with subtotals (see the file comment), or undefined when it does not apply. */
export function subtotalsInOnePass(node: SelectNode): SelectNode | undefined {
  const group = node.groupBy;
  const st = group?.subtotals;
  if (group === null || st === null || st === undefined || node.distinct) return undefined;
  if (node.with.length > 0) return undefined;
  const aggregates = findAggregates([node.selections, node.having]);
  if (aggregates.length === 0 || aggregates.some((a) => !PARTIAL_FNS.has(a.fn))) return undefined;
  if (containsAggregate(node.where) || containsAggregate(group) || containsAggregate(node.orderBy)) {
    return undefined;
  }
  const overKeys: string[] = [];
  for (const n of st.over) {
    if (n.kind !== 'Column' || n.table !== undefined) return undefined;
    overKeys.push(n.column);
  }
  const sets = groupingSetIndexes(st.mode, st.over.length, st.sets);
  if (sets.length === 0) return undefined;

  const dims: { alias: string; node: Node }[] = [];
  const outputs: string[] = [];
  for (const sel of node.selections) {
    if (sel.kind !== 'Alias' || RESERVED.test(sel.alias)) return undefined;
    outputs.push(sel.alias);
    if (sel.node.kind !== 'Grouping' && !containsAggregate(sel.node))
      dims.push({ alias: sel.alias, node: sel.node });
  }
  const dimNames = new Set(dims.map((d) => d.alias));
  // every grouped item must be a selected dimension, so the outer level can group by it
  for (const item of group.items) {
    if (item.kind !== 'Column' || item.table !== undefined || !dimNames.has(item.column)) return undefined;
  }
  if (!overKeys.every((k) => dimNames.has(k))) return undefined;

  const inner: Node[] = dims.map((d) => AliasNode.create(d.node, d.alias));
  /** per partial column: its value in the marker row (0 for counts, NULL for sums, mins and maxes) */
  const markerValues: Node[] = dims.map((d) => AliasNode.create(LiteralNode.create(null), d.alias));
  const byValue = new Map<string, string>();
  let n = 0;
  const column = (prefix: string, value: Node, zeroWhenEmpty: boolean): string => {
    const key = `${prefix}${JSON.stringify(value)}`;
    const known = byValue.get(key);
    if (known !== undefined) return known;
    const name = `${prefix}${n++}`;
    byValue.set(key, name);
    inner.push(AliasNode.create(value, name));
    markerValues.push(AliasNode.create(LiteralNode.create(zeroWhenEmpty ? 0 : null), name));
    return name;
  };
  const replace = (a: AggregateNode): Node => {
    const fn = a.filter !== null ? `${a.fn}If` : a.fn;
    const partial = column('__p', call(fn, a.arg, a.filter), a.fn === 'count');
    let outer = `${a.fn === 'count' ? 'sum' : a.fn}(${q(partial)})`;
    if (a.fn === 'sum') outer = `toFloat64(${outer})`;
    // as the one-level form: NULL when no non-NULL value (ClickHouse's sum/min/max of nothing is 0)
    if (a.arg !== null && a.fn !== 'count') {
      const test: (string | Node)[] = ['countIf((', a.arg, ') IS NOT NULL'];
      if (a.filter !== null) test.push(' AND (', a.filter, ')');
      test.push(')');
      const seen = column('__n', TemplateNode.create(test), true);
      outer = `if(sum(${q(seen)}) = 0, NULL, ${outer})`;
    }
    return TemplateNode.create([outer]);
  };

  // sets are numbered from 1 (ClickHouse arrays are 1-based)
  const numbers = sets.map((_, i) => i + 1);
  const selections: Node[] = [];
  for (const sel of node.selections as AliasNode[]) {
    if (sel.node.kind === 'Grouping') {
      const values = sets.map((set) => groupingValue(st.over.length, set));
      selections.push(AliasNode.create(TemplateNode.create([`[${values.join(', ')}][__set]`]), sel.alias));
    } else if (containsAggregate(sel.node)) {
      selections.push(AliasNode.create(mapAggregates(sel.node, replace), sel.alias));
    } else {
      const index = overKeys.indexOf(sel.alias);
      const rolled = index < 0 ? [] : numbers.filter((_, i) => !(sets[i] as number[]).includes(index));
      selections.push(
        AliasNode.create(
          rolled.length === 0
            ? ColumnNode.create(sel.alias)
            : TemplateNode.create([
                `if(has([${rolled.join(', ')}], __set), NULL, `,
                ColumnNode.create(sel.alias),
                ')',
              ]),
          sel.alias,
        ),
      );
    }
  }
  const having = node.having === null ? null : mapAggregates(node.having, replace);

  const finest = SelectNode.create({
    ...node,
    selections: inner,
    groupBy: GroupByNode.create([...group.items, ...st.over]),
    having: null,
    orderBy: [],
    limit: null,
    offset: null,
  });
  // the grand total over no rows is one row: a marker row that expands into the empty set only
  const empty = sets.findIndex((s) => s.length === 0);
  const marked = group.items.length === 0 && empty >= 0;
  let source: SelectNode | UnionNode = finest;
  let expand = `arrayJoin([${numbers.join(', ')}])`;
  if (marked) {
    source = UnionNode.create([
      SelectNode.create({
        ...finest,
        selections: [...inner, AliasNode.create(LiteralNode.create(0), '__marker')],
      }),
      SelectNode.create({
        selections: [...markerValues, AliasNode.create(LiteralNode.create(1), '__marker')],
        from: TableNode.create('one', 'system'),
      }),
    ]);
    expand = `arrayJoin(if(__marker = 1, [${empty + 1}], [${numbers.join(', ')}]))`;
  }
  const grouped = SelectNode.create({
    selections: [AliasNode.create(TemplateNode.create([expand]), '__set'), ...selections],
    from: DerivedNode.create(source, '__finest'),
    groupBy: GroupByNode.create([ColumnNode.create('__set'), ...dims.map((d) => ColumnNode.create(d.alias))]),
    having,
  });
  return SelectNode.create({
    selections: outputs.map((o) => AliasNode.create(ColumnNode.create(o), o)),
    from: DerivedNode.create(grouped, 'subtotals'),
    orderBy: node.orderBy,
    limit: node.limit,
    offset: node.offset,
  });
}
