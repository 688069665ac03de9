/**
 * Key filters copied across a join, so the engine can skip rows while scanning a table instead of
 * probing all of them against the join. A join `A = {c}.col` (either way round) where the query's
 * filters require `A IN (values)` lets the same test apply to `{c}.col`:
 *
 * - `{c}` the parent (e.g. `{sales}.customer_durable_key = {customers}.customer_durable_key` with
 *   customers.customer_durable_key IN (7, 9)): the test is added to WHERE. A is a plain column of
 *   the child, so a parent row without a match has A NULL and fails the query's own test anyway.
 * - `{c}` the child (e.g. `coalesce({customers}.golden_customer_key, …) = {rfm_scores}.customer_durable_key`
 *   with customers.golden_customer_key = 7): the test is added to that join's ON, which only drops
 *   child rows no kept parent row could match.
 *
 * Each ANDed equality of an ON counts (`{a}.run_id = {b}.run_id AND {a}.key = {b}.key`). Only
 * positive IN / equals tests that every row must pass (the top-level AND of the filters) are
 * copied, and only when A is exactly the SQL of the filtered dimension.
 *
 * @example
 * // filter customers.customer_durable_key equals 7, sales → customers on customer_durable_key
 * keyFilters(where, tree, r).where // ["sales".customer_durable_key = $n]
 */
import { ColumnNode, type Node } from '../ir/nodes.ts';
import type { JoinTree } from '../model/graph.ts';
import type { SqlTemplate } from '../model/types.ts';
import type { FilterTree, Test } from '../query/types.ts';
import { testExpr } from './filters.ts';
import type { Renderer } from './render.ts';

export interface KeyFilters {
  /** Conditions to AND into WHERE. */
  readonly where: Node[];
  /** Conditions to AND into the ON of the join that brings in each cube. */
  readonly on: Map<string, Node[]>;
}

/** A template as text with every cube reference spelled `{cube}` (dimension references: null). */
function canonical(t: SqlTemplate): string | null {
  let s = '';
  for (const p of t.parts) {
    if (p.kind === 'text') s += p.text;
    else if (p.kind === 'cube') s += `{${p.cube}}`;
    else if (p.kind === 'column') s += `{${p.cube}}.${p.column}`;
    else return null;
  }
  return s.trim();
}

const PLAIN = /^\{([A-Za-z_][A-Za-z0-9_]*)\}\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** The conditions every row must pass: the filter itself, or the items of a top-level AND. */
function required(tree: FilterTree): FilterTree[] {
  return tree.kind === 'and' ? tree.items.flatMap(required) : [tree];
}

/** The copies of the query's key tests across the joins of `tree`. */
export function keyFilters(where: FilterTree | null, tree: JoinTree, r: Renderer): KeyFilters {
  const out: KeyFilters = { where: [], on: new Map() };
  if (where === null) return out;
  const tests: { sql: string; test: Test }[] = [];
  for (const c of required(where)) {
    if (c.kind !== 'condition' || c.member.memberKind !== 'dimension') continue;
    if (c.test.kind !== 'in' || c.test.negated || c.member.type === 'time') continue;
    const sql = canonical(c.member.sql);
    if (sql !== null) tests.push({ sql, test: c.test });
  }
  if (tests.length === 0) return out;
  for (const e of tree.edges) {
    const on = canonical(e.on);
    if (on === null) continue;
    // each ANDed equality of the ON must hold for a match (no OR: it would not split on ' AND ')
    if (/\bOR\b/i.test(on)) continue;
    const pairs = on
      .split(/\s+AND\s+/i)
      .map((c) => c.split(' = ').map((x) => x.trim()))
      .filter((sides): sides is [string, string] => sides.length === 2);
    const oriented: [string, string][] = pairs.flatMap(([a, b]): [string, string][] => [
      [a, b],
      [b, a],
    ]);
    for (const [expr, other] of oriented) {
      const col = PLAIN.exec(other);
      if (col === null) continue;
      const [, cube, column] = col as unknown as [string, string, string];
      const child = cube === e.to;
      // a WHERE copy needs the filtered side to be a plain column of the child (NULL when unmatched)
      if (!child && !(cube === e.from && PLAIN.exec(expr)?.[1] === e.to)) continue;
      // an ON copy needs the filtered side to read the parent only
      if (child && expr.includes(`{${e.to}}`)) continue;
      for (const t of tests) {
        if (t.sql !== expr) continue;
        const node = testExpr(ColumnNode.create(column, cube), t.test, r, 'instant');
        if (child) out.on.set(cube, [...(out.on.get(cube) ?? []), node]);
        else out.where.push(node);
      }
    }
  }
  return out;
}
