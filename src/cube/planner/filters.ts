/**
 * Filters as IR. Cube's semantics are kept where they are sound: notEquals / notIn / notContains
 * also keep NULL rows; string matching is case-insensitive; ranges are half-open in the query's
 * zone. Every value becomes a bound parameter.
 */
import {
  BinaryNode,
  InNode,
  IsNullNode,
  LiteralNode,
  LogicalNode,
  type Node,
  NotNode,
  StringMatchNode,
  ValueNode,
} from '../ir/nodes.ts';
import type { ModelDimension, ModelMeasure } from '../model/types.ts';
import type { FilterTree, Test, TypedValue } from '../query/types.ts';
import type { TimeRange } from '../time.ts';
import type { Renderer, Source, TimeMode } from './render.ts';

const TRUE = LiteralNode.create(true);

/** WHERE conditions: dimensions, segments, measureFilter. */
export function whereExpr(tree: FilterTree, src: Source, r: Renderer): Node {
  switch (tree.kind) {
    case 'and':
    case 'or':
      return (
        LogicalNode.create(
          tree.kind,
          tree.items.map((t) => whereExpr(t, src, r)),
        ) ?? TRUE
      );
    case 'segment':
      return src.segment(tree.segment);
    case 'measureFilter':
      return src.measureFilter(tree.measure);
    case 'condition': {
      const d = tree.member as ModelDimension;
      if (d.type === 'time') {
        const { node, mode } = src.timeOperand(d);
        return testExpr(node, tree.test, r, mode);
      }
      return testExpr(src.dimension(d), tree.test, r, 'instant');
    }
  }
}

/** HAVING conditions on measures, given how a measure's value is computed. */
export function havingExpr(tree: FilterTree, measure: (m: ModelMeasure) => Node, r: Renderer): Node {
  switch (tree.kind) {
    case 'and':
    case 'or':
      return (
        LogicalNode.create(
          tree.kind,
          tree.items.map((t) => havingExpr(t, measure, r)),
        ) ?? TRUE
      );
    case 'condition':
      return testExpr(measure(tree.member as ModelMeasure), tree.test, r, 'instant');
    default:
      throw new Error(`${tree.kind} in HAVING`);
  }
}

export function rangeExpr(node: Node, range: TimeRange, negated: boolean, r: Renderer, mode: TimeMode): Node {
  const start = r.timeValue(range.start, mode);
  const end = r.timeValue(range.end, mode);
  if (negated) {
    return LogicalNode.create('or', [
      BinaryNode.create('<', node, start),
      BinaryNode.create(range.endInclusive ? '>' : '>=', node, end),
    ]) as Node;
  }
  return LogicalNode.create('and', [
    BinaryNode.create('>=', node, start),
    BinaryNode.create(range.endInclusive ? '<=' : '<', node, end),
  ]) as Node;
}

function value(v: TypedValue, r: Renderer, mode: TimeMode): ValueNode {
  return v.kind === 'time' ? r.timeValue(v.point, mode) : ValueNode.create(v.value);
}

export function testExpr(node: Node, test: Test, r: Renderer, mode: TimeMode): Node {
  switch (test.kind) {
    case 'null':
      return IsNullNode.create(node, test.negated);
    case 'compare':
      return BinaryNode.create(test.op, node, value(test.value, r, mode));
    case 'range':
      return rangeExpr(node, test.range, test.negated, r, mode);
    case 'in': {
      const values = test.values.map((v) => value(v, r, mode));
      const positive =
        values.length === 1
          ? BinaryNode.create(test.negated ? '<>' : '=', node, values[0] as Node)
          : InNode.create(node, values, test.negated);
      if (!test.negated) return positive;
      return LogicalNode.create('or', [positive, IsNullNode.create(node, false)]) as Node;
    }
    case 'match': {
      const matches = test.values.map((v) => StringMatchNode.create(test.mode, node, ValueNode.create(v)));
      const any = LogicalNode.create('or', matches) as Node;
      if (!test.negated) return any;
      return LogicalNode.create('or', [NotNode.create(any), IsNullNode.create(node, false)]) as Node;
    }
  }
}

/** The cubes a WHERE tree reads (to join them in). */
export function whereCubes(tree: FilterTree | null, out: Set<string>): Set<string> {
  if (tree === null) return out;
  switch (tree.kind) {
    case 'and':
    case 'or':
      for (const t of tree.items) whereCubes(t, out);
      break;
    case 'segment':
      for (const c of tree.segment.cubes) out.add(c);
      break;
    case 'measureFilter':
      for (const c of tree.measure.cubes) out.add(c);
      break;
    case 'condition':
      for (const c of (tree.member as ModelDimension).cubes) out.add(c);
      break;
  }
  return out;
}

/** Measures used in a HAVING tree. */
export function havingMeasures(tree: FilterTree | null, out: ModelMeasure[]): ModelMeasure[] {
  if (tree === null) return out;
  if (tree.kind === 'and' || tree.kind === 'or') for (const t of tree.items) havingMeasures(t, out);
  else if (tree.kind === 'condition' && !out.includes(tree.member as ModelMeasure))
    out.push(tree.member as ModelMeasure);
  return out;
}
