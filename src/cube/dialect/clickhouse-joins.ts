/**
 * ClickHouse 18.16 allows one JOIN per SELECT. A SELECT with N joins becomes N nested single-join
 * SELECTs: the first N-1 joins move into a subquery that returns every column the rest of the
 * query reads, each under an explicit unambiguous alias (`<cube alias>__<column>`, since 18.16
 * drops or prefixes qualified names of a joined subquery's columns), and the outer SELECT keeps
 * the last join, the WHERE, GROUP BY, HAVING, ORDER BY and paging with its references rewritten.
 * `(A ⋈ B) ⋈ C` is how SQL evaluates `A ⋈ B ⋈ C`, so LEFT/INNER semantics are unchanged.
 *
 * @example
 * nestJoins(select) // FROM sales LEFT JOIN customers ON … LEFT JOIN rfm_scores ON coalesce(customers.g, customers.k) = …
 * // → FROM (SELECT `sales`.`revenue` AS `sales__revenue`, `customers`.`g` AS `customers__g`, …
 * //         FROM sales LEFT JOIN customers ON …) AS `joined_1`
 * //   LEFT JOIN rfm_scores ON coalesce(`joined_1`.`customers__g`, …) = …
 */
import { cubeError } from '../errors.ts';
import {
  AliasNode,
  ColumnNode,
  DerivedNode,
  LiteralNode,
  type Node,
  SelectNode,
  type TableNode,
  TemplateNode,
} from '../ir/nodes.ts';

const COLUMN_AFTER_ALIAS = /^\.(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"]|"")+)"|`((?:[^`\\]|\\.)+)`)/;

export function sourceAlias(source: TableNode | DerivedNode): string {
  return source.kind === 'Derived' ? source.alias : (source.alias ?? source.table);
}

function aliasUse(alias: string): Error {
  return cubeError(
    'unsupported',
    `model SQL that uses the cube alias '${alias}' other than as {${alias}}.column, in a query with more than one JOIN, is not supported on this engine (ClickHouse); run it on DuckDB`,
  );
}

export type Resolve = (alias: string, column: string) => Node;

/** A copy of `value` with every reference to a column of a `left` alias replaced by `resolve`. */
export function rewriteRefs<T>(value: T, left: ReadonlySet<string>, resolve: Resolve): T {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, left, resolve)) as T;
  if (value === null || typeof value !== 'object') return value;
  const node = value as unknown as Node;
  switch (node.kind) {
    case 'Column':
      return (
        node.table !== undefined && left.has(node.table) ? resolve(node.table, node.column) : node
      ) as T;
    case 'Template':
      return TemplateNode.create(rewriteTemplate(node.parts, left, resolve)) as T;
    case 'Identifier':
      if (left.has(node.name)) throw aliasUse(node.name);
      return value;
    // subqueries are self-contained (no correlated references to the joined aliases)
    case 'Select':
    case 'Union':
    case 'Derived':
    case 'Cte':
      return value;
    default: {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = rewriteRefs(v, left, resolve);
      return out as T;
    }
  }
}

/** Model SQL reads a cube's column as `{cube}.column`: an Identifier part, then text starting `.column`. */
function rewriteTemplate(
  parts: TemplateNode['parts'],
  left: ReadonlySet<string>,
  resolve: Resolve,
): (string | Node)[] {
  const out: (string | Node)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string | Node;
    if (typeof part === 'string') {
      out.push(part);
      continue;
    }
    if (part.kind !== 'Identifier' || !left.has(part.name)) {
      out.push(rewriteRefs(part, left, resolve));
      continue;
    }
    const next = parts[i + 1];
    const m = typeof next === 'string' ? COLUMN_AFTER_ALIAS.exec(next) : null;
    if (m === null || typeof next !== 'string') throw aliasUse(part.name);
    const column = m[1] ?? m[2]?.replaceAll('""', '"') ?? (m[3] as string).replace(/\\(.)/g, '$1');
    out.push(resolve(part.name, column));
    const rest = next.slice(m[0].length);
    if (rest !== '') out.push(rest);
    i++;
  }
  return out;
}

/**
 * The columns a rewritten query reads from its nested subquery `nested`: each `<alias>.<column>`
 * of the moved tables under the unique name `<alias>__<column>` (`reserved` names are taken
 * already). `resolve` names a column (and records it), `clauses` rewrites a SELECT's clauses
 * through it, `selections` lists what the subquery must select (with `orOne`, a constant when
 * there is nothing to read: the rows still count).
 */
export function nestedColumns(nested: string, reserved: ReadonlySet<string> = new Set()) {
  const columns = new Map<string, { alias: string; column: string; name: string }>();
  const names = new Set<string>(reserved);
  const resolve: Resolve = (alias, column) => {
    const key = JSON.stringify([alias, column]);
    let entry = columns.get(key);
    if (entry === undefined) {
      const name = `${alias}__${column}`;
      if (names.has(name)) throw new Error(`two joined columns would both be named ${name}`);
      names.add(name);
      entry = { alias, column, name };
      columns.set(key, entry);
    }
    return ColumnNode.create(entry.name, nested);
  };
  return {
    resolve,
    clauses: (node: SelectNode, aliases: ReadonlySet<string>) => ({
      selections: rewriteRefs(node.selections, aliases, resolve),
      where: rewriteRefs(node.where, aliases, resolve),
      groupBy: rewriteRefs(node.groupBy, aliases, resolve),
      having: rewriteRefs(node.having, aliases, resolve),
      orderBy: rewriteRefs(node.orderBy, aliases, resolve),
    }),
    selections: (orOne = true): Node[] => {
      const list = [...columns.values()].map((c) =>
        AliasNode.create(ColumnNode.create(c.column, c.alias), c.name),
      );
      return list.length > 0 || !orOne ? list : [AliasNode.create(LiteralNode.create(1), 'row')];
    },
  };
}

/**
 * Moves all joins but the last into a subquery (see the file comment). The subquery still has
 * `joins.length - 1` joins; the compiler nests it again when it visits it.
 */
export function nestJoins(node: SelectNode): SelectNode {
  const last = node.joins[node.joins.length - 1];
  if (last === undefined || node.joins.length < 2) throw new Error('nestJoins needs two or more joins');
  const before = node.joins.slice(0, -1);
  const leftAliases = [sourceAlias(node.from), ...before.map((j) => sourceAlias(j.table))];
  const left = new Set(leftAliases);
  const taken = new Set([...leftAliases, sourceAlias(last.table)]);
  let nested = `joined_${before.length}`;
  while (taken.has(nested)) nested = `_${nested}`;

  const { resolve, clauses, selections } = nestedColumns(nested);
  const outer = clauses(node, left);
  const on = rewriteRefs(last.on, left, resolve);
  const inner = SelectNode.create({
    // a query may read no column of the left side (count(*) of the right): the rows still count
    selections: selections(),
    from: node.from,
    joins: before,
  });
  return SelectNode.create({
    ...node,
    ...outer,
    from: DerivedNode.create(inner, nested),
    joins: [{ ...last, on }],
  });
}
