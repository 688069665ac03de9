/**
 * Compiles a SELECT on schema `semantic` into the cube's JSON query, so the cube plans it (joins
 * without fan-out, rollups, the region rule). What compiles:
 *
 *   SELECT region, MEASURE(revenue) AS revenue, date_trunc('month', ordered_at)
 *   FROM semantic.sales WHERE region IN ($1, $2) AND ordered_at >= '2024-01-01'
 *   GROUP BY 1, 3 ORDER BY 2 DESC LIMIT 10
 *
 * → { dimensions: ['customers.region'], measures: ['sales.revenue'],
 *     timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
 *     filters: [...], order: { 'sales.revenue': 'desc' }, limit: 10 }
 *
 * Measures are aggregated with MEASURE(x), or with the plain aggregate that is the measure's own
 * (sum of a sum measure, count(x)/count(*) of a count, min/max of a min/max). Anything else (joins,
 * subqueries, expressions over columns, HAVING, DISTINCT, OR) is a 0A000 that names it.
 */
import type { RawQuery } from '../cube/index.ts';
import { PgError, SQLSTATE, unsupported } from './errors.ts';
import type { Column } from './messages.ts';
import type { SemanticColumn, SemanticTable } from './semantic-schema.ts';
import { isObject, type Json, type JsonObject, text } from './sql-tree.ts';

export interface SemanticPlan {
  readonly query: RawQuery;
  readonly columns: readonly Column[];
  /** The key of each column in the cube's rows. */
  readonly keys: readonly string[];
}

const GRANULARITIES = new Set(['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);

/** The plain aggregates that equal a measure of this aggregation. */
const SAME_AGGREGATE: Record<string, readonly string[]> = {
  sum: ['sum'],
  count: ['count', 'count_star'],
  count_distinct: [],
  min: ['min'],
  max: ['max'],
};

interface Item {
  readonly column: Column;
  readonly key: string;
  readonly member: string;
  readonly kind: 'dimension' | 'measure' | 'time';
  readonly granularity?: string;
}

type Values = readonly (string | null)[];

function columnOf(table: SemanticTable, node: JsonObject): SemanticColumn {
  const names = Array.isArray(node.column_names) ? node.column_names.map((n) => text(n)) : [];
  const name = (names.length > 1 && names[0] === table.name ? names.slice(1) : names).join('.');
  const column = table.byName.get(name.toLowerCase());
  if (!column)
    throw new PgError(
      SQLSTATE.undefinedColumn,
      `column "${name}" does not exist in semantic.${table.name}`,
      `see its columns with \\d semantic.${table.name}`,
    );
  return column;
}

function constantOrParam(node: Json | undefined, params: Values, what: string): string | null {
  if (!isObject(node)) throw unsupported(what);
  if (text(node.class) === 'PARAMETER') {
    const index = Number(text(node.identifier)) - 1;
    if (!(index >= 0 && index < params.length))
      throw new PgError(SQLSTATE.protocolViolation, `parameter $${index + 1} was not bound`);
    return params[index] ?? null;
  }
  if (text(node.class) === 'CAST') return constantOrParam(node.child, params, what);
  if (text(node.class) === 'CONSTANT' && isObject(node.value)) {
    if (node.value.is_null === true) return null;
    const v = node.value.value;
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  }
  throw unsupported(`${what} other than a constant or a $n parameter`);
}

function selectItem(table: SemanticTable, node: JsonObject, params: Values): Item {
  const alias = text(node.alias);
  const cls = text(node.class);
  if (cls === 'COLUMN_REF') {
    const c = columnOf(table, node);
    if (c.kind === 'measure')
      throw new PgError(
        SQLSTATE.syntax,
        `column "${c.name}" is a measure: aggregate it, e.g. MEASURE(${c.name})`,
      );
    return {
      column: { name: alias || c.name, type: c.type },
      key: c.member,
      member: c.member,
      kind: 'dimension',
    };
  }
  if (cls === 'FUNCTION') {
    const fn = text(node.function_name).toLowerCase();
    const args = Array.isArray(node.children) ? node.children.filter(isObject) : [];
    if (
      fn === 'date_trunc' &&
      args.length === 2 &&
      isObject(args[1]) &&
      text(args[1].class) === 'COLUMN_REF'
    ) {
      const granularity = (constantOrParam(args[0], params, 'a date_trunc unit') ?? '').toLowerCase();
      const c = columnOf(table, args[1]);
      if (!c.time || !GRANULARITIES.has(granularity))
        throw unsupported(
          `date_trunc('${granularity}', ${c.name})`,
          'truncate a time column to day, week, month, quarter or year',
        );
      return {
        column: { name: alias || c.name, type: c.type },
        key: `${c.member}.${granularity}`,
        member: c.member,
        kind: 'time',
        granularity,
      };
    }
    if (node.distinct === true) throw unsupported(`${fn}(DISTINCT ...)`, 'use the distinct-count measure');
    if (fn === 'count_star') {
      // the cube's row count: its `count` measure, else its first measure of type count
      const counts = table.columns.filter((c) => c.kind === 'measure' && c.aggType === 'count');
      const count = counts.find((c) => c.name === 'count') ?? counts[0];
      if (!count) throw unsupported(`count(*) on semantic.${table.name} (it has no count measure)`);
      return {
        column: { name: alias || 'count', type: count.type },
        key: count.member,
        member: count.member,
        kind: 'measure',
      };
    }
    const arg = args[0];
    if (args.length !== 1 || !isObject(arg) || text(arg.class) !== 'COLUMN_REF')
      throw unsupported(`${fn}() over anything but one column`);
    const c = columnOf(table, arg);
    if (c.kind !== 'measure')
      throw unsupported(`${fn}(${c.name}) on a dimension`, 'aggregate measures only; group by dimensions');
    if (fn !== 'measure' && !(SAME_AGGREGATE[c.aggType ?? ''] ?? []).includes(fn))
      throw unsupported(`${fn}(${c.name}) (${c.name} is a ${c.aggType} measure)`, `use MEASURE(${c.name})`);
    return {
      column: { name: alias || c.name, type: c.type },
      key: c.member,
      member: c.member,
      kind: 'measure',
    };
  }
  throw unsupported(`the select item ${alias || cls.toLowerCase()}`, 'select dimensions and MEASURE(x)');
}

const COMPARISONS: Record<string, { readonly plain: string; readonly time?: string }> = {
  COMPARE_EQUAL: { plain: 'equals' },
  COMPARE_NOTEQUAL: { plain: 'notEquals' },
  COMPARE_GREATERTHAN: { plain: 'gt', time: 'afterDate' },
  COMPARE_GREATERTHANOREQUALTO: { plain: 'gte', time: 'afterOrOnDate' },
  COMPARE_LESSTHAN: { plain: 'lt', time: 'beforeDate' },
  COMPARE_LESSTHANOREQUALTO: { plain: 'lte', time: 'beforeOrOnDate' },
};

function filterOf(table: SemanticTable, node: JsonObject, params: Values): Record<string, unknown>[] {
  const type = text(node.type);
  if (type === 'CONJUNCTION_AND')
    return (Array.isArray(node.children) ? node.children.filter(isObject) : []).flatMap((c) =>
      filterOf(table, c, params),
    );
  const dimension = (n: Json | undefined): SemanticColumn => {
    if (!isObject(n) || text(n.class) !== 'COLUMN_REF')
      throw unsupported('a WHERE condition whose left side is not a column');
    const c = columnOf(table, n);
    if (c.kind === 'measure') throw unsupported(`a WHERE condition on the measure ${c.name}`);
    return c;
  };
  const value = (n: Json | undefined): string => {
    const v = constantOrParam(n, params, 'a WHERE value');
    if (v === null) throw unsupported('comparing with NULL', 'use IS NULL / IS NOT NULL');
    return v;
  };
  const cmp = COMPARISONS[type];
  if (cmp) {
    const c = dimension(node.left);
    const operator = c.time && cmp.time ? cmp.time : cmp.plain;
    if (c.type.name === 'text' && !['equals', 'notEquals'].includes(operator))
      throw unsupported(`${type.replace('COMPARE_', '').toLowerCase()} on the text column ${c.name}`);
    return [{ member: c.member, operator, values: [value(node.right)] }];
  }
  const children = Array.isArray(node.children) ? node.children : [];
  if (type === 'COMPARE_IN' || type === 'COMPARE_NOT_IN') {
    const c = dimension(children[0]);
    return [
      {
        member: c.member,
        operator: type === 'COMPARE_IN' ? 'equals' : 'notEquals',
        values: children.slice(1).map(value),
      },
    ];
  }
  if (type === 'OPERATOR_IS_NULL' || type === 'OPERATOR_IS_NOT_NULL')
    return [
      { member: dimension(children[0]).member, operator: type === 'OPERATOR_IS_NULL' ? 'notSet' : 'set' },
    ];
  if (text(node.class) === 'FUNCTION' && ['~~', '!~~'].includes(text(node.function_name))) {
    const c = dimension(children[0]);
    const pattern = value(children[1]);
    const negate = text(node.function_name) === '!~~';
    const inner = pattern.replace(/^%/, '').replace(/%$/, '');
    if (/[%_]/.test(inner)) throw unsupported(`LIKE '${pattern}'`, "use 'x%', '%x' or '%x%'");
    const operator =
      pattern.startsWith('%') && pattern.endsWith('%') && pattern.length > 1
        ? 'contains'
        : pattern.endsWith('%')
          ? 'startsWith'
          : pattern.startsWith('%')
            ? 'endsWith'
            : 'equals';
    const negated: Record<string, string> = {
      contains: 'notContains',
      startsWith: 'notStartsWith',
      endsWith: 'notEndsWith',
      equals: 'notEquals',
    };
    return [{ member: c.member, operator: negate ? negated[operator] : operator, values: [inner] }];
  }
  throw unsupported(
    `the WHERE condition ${type.toLowerCase()}`,
    'combine =, <>, <, >, IN, LIKE and IS NULL with AND',
  );
}

function integerOf(node: Json | undefined, params: Values, what: string): number {
  const v = constantOrParam(node, params, what);
  const n = Number(v);
  if (v === null || !Number.isInteger(n) || n < 0)
    throw new PgError(SQLSTATE.invalidParameterValue, `${what} must be a whole number ≥ 0, got ${v}`);
  return n;
}

/** Finds which select item an ORDER BY / GROUP BY expression names (ordinal, alias or same column). */
function itemIndex(
  items: readonly Item[],
  node: JsonObject,
  table: SemanticTable,
  params: Values,
  what: string,
): number {
  if (text(node.class) === 'CONSTANT') {
    const n = integerOf(node, params, what);
    if (n < 1 || n > items.length)
      throw new PgError(SQLSTATE.syntax, `${what} position ${n} is not in the select list`);
    return n - 1;
  }
  if (text(node.class) === 'COLUMN_REF') {
    const name = (Array.isArray(node.column_names) ? node.column_names.map((x) => text(x)) : []).join('.');
    const byAlias = items.findIndex((i) => i.column.name === name);
    if (byAlias >= 0) return byAlias;
    const c = columnOf(table, node);
    const byMember = items.findIndex((i) => i.member === c.member && i.kind !== 'time');
    if (byMember >= 0) return byMember;
    throw new PgError(SQLSTATE.syntax, `${what} ${name} must be in the select list`);
  }
  const probe = selectItem(table, { ...node, alias: '' }, params);
  const same = items.findIndex((i) => i.key === probe.key);
  if (same >= 0) return same;
  throw unsupported(`${what} on an expression that is not in the select list`);
}

/** The cube query of a SELECT on semantic.<table>. */
export function compileSemantic(statement: JsonObject, table: SemanticTable, params: Values): SemanticPlan {
  const node = statement.node;
  if (!isObject(node) || text(node.type) !== 'SELECT_NODE')
    throw unsupported('UNION, INTERSECT, EXCEPT and VALUES on semantic tables');
  const from = node.from_table;
  if (!isObject(from) || text(from.type) !== 'BASE_TABLE')
    throw unsupported(
      'joins and subqueries on semantic tables',
      'the cube joins for you: select the columns from one table',
    );
  const ctes = isObject(node.cte_map) && Array.isArray(node.cte_map.map) ? node.cte_map.map : [];
  if (ctes.length > 0) throw unsupported('WITH on semantic tables');
  if (node.having !== null && node.having !== undefined) throw unsupported('HAVING on semantic tables');
  if (node.qualify !== null && node.qualify !== undefined) throw unsupported('QUALIFY');
  if (node.sample !== null && node.sample !== undefined) throw unsupported('SAMPLE');
  const list = Array.isArray(node.select_list) ? node.select_list.filter(isObject) : [];
  if (list.some((i) => text(i.class) === 'STAR'))
    throw unsupported('SELECT * on a semantic table', 'name the dimensions and MEASURE(x) columns you want');
  const items = list.map((i) => selectItem(table, i, params));
  if (items.length === 0) throw new PgError(SQLSTATE.syntax, 'select at least one column');

  const groups = Array.isArray(node.group_expressions) ? node.group_expressions.filter(isObject) : [];
  const grouped = new Set(groups.map((g) => itemIndex(items, g, table, params, 'GROUP BY')));
  const hasMeasure = items.some((i) => i.kind === 'measure');
  items.forEach((item, i) => {
    if (item.kind !== 'measure' && hasMeasure && !grouped.has(i))
      throw new PgError(SQLSTATE.syntax, `column "${item.column.name}" must appear in the GROUP BY clause`);
  });

  const query: Record<string, unknown> = {};
  const dimensions = items.filter((i) => i.kind === 'dimension').map((i) => i.member);
  const measures = items.filter((i) => i.kind === 'measure').map((i) => i.member);
  const timeDimensions = items
    .filter((i) => i.kind === 'time')
    .map((i) => ({ dimension: i.member, granularity: i.granularity }));
  if (measures.length > 0) query.measures = [...new Set(measures)];
  if (dimensions.length > 0) query.dimensions = [...new Set(dimensions)];
  if (timeDimensions.length > 0) query.timeDimensions = timeDimensions;
  if (isObject(node.where_clause)) query.filters = filterOf(table, node.where_clause, params);

  const modifiers = Array.isArray(node.modifiers) ? node.modifiers.filter(isObject) : [];
  for (const m of modifiers) {
    const type = text(m.type);
    if (type === 'ORDER_MODIFIER') {
      const order: Record<string, 'asc' | 'desc'> = {};
      for (const o of Array.isArray(m.orders) ? m.orders.filter(isObject) : []) {
        if (!isObject(o.expression)) continue;
        const item = items[itemIndex(items, o.expression, table, params, 'ORDER BY')];
        if (item) order[item.member] = text(o.type) === 'DESCENDING' ? 'desc' : 'asc';
      }
      query.order = order;
    } else if (type === 'LIMIT_MODIFIER') {
      if (m.limit !== null && m.limit !== undefined) query.limit = integerOf(m.limit, params, 'LIMIT');
      if (m.offset !== null && m.offset !== undefined) query.offset = integerOf(m.offset, params, 'OFFSET');
    } else if (type === 'DISTINCT_MODIFIER') {
      if (hasMeasure || grouped.size === 0)
        throw unsupported('DISTINCT on semantic tables', 'GROUP BY the dimensions');
    } else {
      throw unsupported(type.replace('_MODIFIER', '').toLowerCase());
    }
  }
  return { query: query as RawQuery, columns: items.map((i) => i.column), keys: items.map((i) => i.key) };
}
