/**
 * Key filters copied across a join: when the query keeps only some values of a cube's key column
 * (`customers.customer_durable_key IN (7, 9)`) and a parent joins that cube on a plain key equality
 * (`{sales}.customer_durable_key = {customers}.customer_durable_key`), the same test on the parent's
 * column gives the same rows (a parent row whose key fails it finds no kept row to join, and NULL
 * fails both) and lets the engine skip the parent's rows while scanning, instead of probing all of
 * them against the join. Only positive IN / equals tests on a single column that every row must
 * pass (the top-level AND of the filters) are copied.
 *
 * @example
 * // filter customers.customer_durable_key equals 7, sales → customers on customer_durable_key
 * keyFilters(where, tree, r) // ["sales".customer_durable_key = $n]
 */
import { ColumnNode, type Node } from '../ir/nodes.ts';
import type { JoinTree } from '../model/graph.ts';
import type { ModelDimension, SqlTemplate } from '../model/types.ts';
import type { FilterTree, Test } from '../query/types.ts';
import { testExpr } from './filters.ts';
import type { Renderer } from './render.ts';

/** The columns of `{a}.x = {b}.y` (either way round) as [column of from, column of to], else null. */
function keyEquality(on: SqlTemplate, from: string, to: string): [string, string] | null {
  const [p0, p1, p2, p3, ...rest] = on.parts;
  if (
    rest.length > 0 ||
    p0?.kind !== 'cube' ||
    p1?.kind !== 'text' ||
    p2?.kind !== 'cube' ||
    p3?.kind !== 'text'
  )
    return null;
  const left = /^\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*$/.exec(p1.text)?.[1];
  const right = /^\.([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(p3.text)?.[1];
  if (left === undefined || right === undefined) return null;
  if (p0.cube === from && p2.cube === to) return [left, right];
  if (p0.cube === to && p2.cube === from) return [right, left];
  return null;
}

/** The conditions every row must pass: the filter itself, or the items of a top-level AND. */
function required(tree: FilterTree): FilterTree[] {
  return tree.kind === 'and' ? tree.items.flatMap(required) : [tree];
}

/** The plain column a dimension reads, as [cube, column], else null. */
function plainColumn(d: ModelDimension): [string, string] | null {
  const only = d.sql.parts.length === 1 ? d.sql.parts[0] : undefined;
  return only?.kind === 'column' ? [only.cube, only.column] : null;
}

/** The copies of the query's key tests onto the parents that join on those keys. */
export function keyFilters(where: FilterTree | null, tree: JoinTree, r: Renderer): Node[] {
  if (where === null) return [];
  const tests: { cube: string; column: string; test: Test }[] = [];
  for (const c of required(where)) {
    if (c.kind !== 'condition' || c.member.memberKind !== 'dimension') continue;
    if (c.test.kind !== 'in' || c.test.negated || c.member.type === 'time') continue;
    const col = plainColumn(c.member);
    if (col !== null) tests.push({ cube: col[0], column: col[1], test: c.test });
  }
  const out: Node[] = [];
  for (const e of tree.edges) {
    const cols = keyEquality(e.on, e.from, e.to);
    if (cols === null) continue;
    for (const t of tests) {
      if (t.cube === e.to && t.column === cols[1])
        out.push(testExpr(ColumnNode.create(cols[0], e.from), t.test, r, 'instant'));
    }
  }
  return out;
}
