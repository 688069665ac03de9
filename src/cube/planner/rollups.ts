/**
 * Routing to pre-aggregations. A measure group can read a rollup of its cube when every piece
 * of the query is answerable from the rollup's rows: its measures are stored and re-aggregable
 * (sum, count → sum; min, max; avg from sum and count; count_distinct only over a stored key),
 * its dimensions and filter members are rollup dimensions, time buckets are the rollup's or
 * coarser (day → week/month/quarter/year; month → quarter/year; quarter → year), date bounds fall
 * on bucket boundaries in the rollup's time zone, and there are no measureFilters. A segment is
 * answered by a boolean rollup dimension of its cube with the same sql (its rows are the segment's
 * where that column is true), any other segment is not. A partitioned rollup (`partitions`) answers
 * only a query whose filters pin its `by` dimensions to one built partition.
 */
import {
  AggregateNode,
  BinaryNode,
  ColumnNode,
  FunctionNode,
  InNode,
  LiteralNode,
  LogicalNode,
  type Node,
  TableNode,
  TimeTruncNode,
  ValueNode,
} from '../ir/nodes.ts';
import { sameTemplate } from '../model/template.ts';
import type { ModelDimension, ModelMeasure, ModelSegment, PreAggregation } from '../model/types.ts';
import type { FilterTree, Test } from '../query/types.ts';
import {
  type Granularity,
  pointToLocal,
  sameLocal,
  startOf,
  type TimePoint,
  type TimeRange,
} from '../time.ts';
import type { GroupParts, Planner } from './plan.ts';
import type { Source } from './render.ts';

export const ROLLUP_SCHEMA = 'rollup';

/**
 * The entry of a fresh rollup set that says one partition of a partitioned rollup is built and
 * current: `run_migration.transitions@[3,4]` (values in the order of `partitions.by`).
 */
export function partitionEntry(fullName: string, values: readonly (string | number)[]): string {
  return `${fullName}@${JSON.stringify(values)}`;
}

/**
 * The partition a query reads: the one value each `by` dimension is pinned to by an equals
 * condition of the top-level AND of its filters; undefined when one is not pinned.
 */
function pinnedPartition(p: Planner, pre: PreAggregation): (string | number)[] | undefined {
  const where = p.query.where;
  if (!pre.partitions || !where) return undefined;
  const items = where.kind === 'and' ? where.items : [where];
  const values: (string | number)[] = [];
  for (const name of pre.partitions.by) {
    let value: string | number | undefined;
    for (const item of items) {
      if (item.kind !== 'condition' || item.member.fullName !== name) continue;
      const t = item.test;
      if (t.kind !== 'in' || t.negated || t.values.length !== 1) continue;
      const v = t.values[0];
      if (v?.kind === 'number' || v?.kind === 'string') value = v.value;
    }
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values;
}

const COARSER: Record<Granularity, readonly Granularity[]> = {
  day: ['day', 'week', 'month', 'quarter', 'year'],
  week: ['week'],
  month: ['month', 'quarter', 'year'],
  quarter: ['quarter', 'year'],
  year: ['year'],
};

const RANK: Record<Granularity, number> = { day: 0, week: 1, month: 2, quarter: 3, year: 4 };

/** The smallest fresh rollup that answers this measure group, if any. */
export function matchRollup(
  p: Planner,
  root: string,
  measures: readonly ModelMeasure[],
  secured: boolean,
): PreAggregation | null {
  const available = p.options.rollups;
  if (!available || available.size === 0) return null;
  const candidates = p.model.preAggregations
    .filter((pre) => pre.cube === root && (pre.partitions !== undefined || available.has(pre.fullName)))
    .sort(
      (a, b) =>
        a.dimensions.length - b.dimensions.length ||
        RANK[b.granularity ?? 'year'] - RANK[a.granularity ?? 'year'],
    );
  for (const pre of candidates) if (fits(p, pre, measures, secured)) return pre;
  return null;
}

function fits(p: Planner, pre: PreAggregation, measures: readonly ModelMeasure[], secured: boolean): boolean {
  const q = p.query;
  if (!measures.every((m) => pre.measures.includes(m.fullName))) return false;
  if (pre.partitions) {
    // only a query of one built partition: the rollup holds no other rows
    const values = pinnedPartition(p, pre);
    if (!values || !p.options.rollups?.has(partitionEntry(pre.fullName, values))) return false;
  }
  let usesTime = false;
  for (const spec of p.specs) {
    if (spec.granularity) {
      if (spec.dim.fullName !== pre.timeDimension || !pre.granularity) return false;
      if (!COARSER[pre.granularity].includes(spec.granularity)) return false;
      usesTime = true;
    } else if (!pre.dimensions.includes(spec.dim.fullName)) return false;
    // a time dimension stored as its value was rendered in the rollup's zone
    else if (spec.dim.type === 'time') usesTime = true;
  }
  const aligned = (point: TimePoint): boolean => {
    if (!pre.granularity) return false;
    const local = pointToLocal(point, q.timezone);
    return sameLocal(local, startOf(local, pre.granularity));
  };
  const rangeAligned = (r: TimeRange): boolean => !r.endInclusive && aligned(r.start) && aligned(r.end);
  for (const t of q.timeDimensions) {
    if (!t.dateRange) continue;
    if (t.dimension.fullName !== pre.timeDimension || !rangeAligned(t.dateRange)) return false;
    usesTime = true;
  }
  const testFits = (test: Test): boolean => {
    switch (test.kind) {
      case 'null':
        return true;
      case 'compare':
        return (
          (test.op === '>=' || test.op === '<') && test.value.kind === 'time' && aligned(test.value.point)
        );
      case 'range':
        return rangeAligned(test.range);
      default:
        return false;
    }
  };
  const treeFits = (tree: FilterTree): boolean => {
    switch (tree.kind) {
      case 'and':
      case 'or':
        return tree.items.every(treeFits);
      case 'segment':
        return segmentColumn(p, pre, tree.segment) !== undefined;
      case 'measureFilter':
        return false;
      case 'condition': {
        const d = tree.member as ModelDimension;
        if (d.type === 'time') {
          usesTime = true;
          return d.fullName === pre.timeDimension && testFits(tree.test);
        }
        return pre.dimensions.includes(d.fullName);
      }
    }
  };
  if (q.where && !treeFits(q.where)) return false;
  if (secured && (p.model.securityMember === undefined || !pre.dimensions.includes(p.model.securityMember)))
    return false;
  if (usesTime && q.timezone !== pre.timezone) return false;
  if (measures.some((m) => pre.storedDistinct.includes(m.fullName)) && !distinctAddsUp(p, pre)) return false;
  return true;
}

/**
 * The rollup dimension that stores a segment: a boolean dimension of the segment's cube whose sql
 * is the segment's (`customers.is_scored` for `customers.scored`). A row is in the segment exactly
 * when the stored value is true (NULL fails both), so the routed WHERE tests the column.
 */
function segmentColumn(p: Planner, pre: PreAggregation, segment: ModelSegment): string | undefined {
  return pre.dimensions.find((name) => {
    const d = p.model.members.get(name) as ModelDimension;
    return d.cube === segment.cube && d.type === 'boolean' && sameTemplate(d.sql, segment.sql);
  });
}

/**
 * Whether the distinct counts a rollup stores per row add up to the query's: each key must fall in
 * one of the rows added into a group, so the query may drop (not group by) only dimensions the key
 * decides, must group by the rollup's time bucket at exactly its granularity (a key is in many
 * buckets), and must not ask subtotals (a subtotal drops a dimension).
 */
function distinctAddsUp(p: Planner, pre: PreAggregation): boolean {
  if (p.query.subtotals !== null) return false;
  const grouped = new Set<string>();
  let bucketGrouped = false;
  for (const spec of p.specs) {
    if (spec.granularity) {
      if (spec.granularity !== pre.granularity) return false;
      bucketGrouped = true;
    } else grouped.add(spec.dim.fullName);
  }
  if (pre.timeDimension !== undefined && !bucketGrouped) return false;
  return pre.dimensions.every((d) => grouped.has(d) || pre.determinedByKey.includes(d));
}

/** A measure group read from a rollup table. */
export function rollupParts(p: Planner, pre: PreAggregation, secured: boolean): GroupParts {
  const col = (key: string) => ColumnNode.create(key, 'r');
  const bucket = `${pre.timeDimension}.${pre.granularity}`;
  const src: Source = {
    dimension: (d) => col(d.fullName),
    timeOperand: () => ({ node: col(bucket), mode: 'local' }),
    output: (spec) => {
      if (!spec.granularity) return col(spec.dim.fullName);
      return spec.granularity === pre.granularity
        ? col(bucket)
        : TimeTruncNode.create(spec.granularity, col(bucket));
    },
    segment: (s) => {
      const column = segmentColumn(p, pre, s);
      if (column === undefined) throw new Error(`segment ${s.fullName} is not stored in ${pre.fullName}`);
      return col(column);
    },
    measureFilter: () => {
      throw new Error('measureFilter is not routed to rollups');
    },
  };
  let security: Node | null = null;
  if (secured) {
    const regions = p.options.security?.regions ?? [];
    security =
      regions.length === 0
        ? LiteralNode.create(false)
        : InNode.create(
            col(p.model.securityMember as string),
            regions.map((v) => ValueNode.create(v)),
            false,
          );
  }
  const perRow = rowPerGroup(p, pre);
  const sum = (key: string) => (perRow ? col(key) : AggregateNode.create('sum', col(key)));
  return {
    from: TableNode.create(pre.table, ROLLUP_SCHEMA, 'r'),
    joins: [],
    where: LogicalNode.create('and', [security, p.whereFor(src)]),
    dims: p.specs.map((s) => ({ key: s.key, node: src.output(s) })),
    aggregate: (m) => {
      switch (m.type) {
        case 'sum':
        case 'count':
          return sum(m.fullName);
        case 'min':
        case 'max':
          return perRow ? col(m.fullName) : AggregateNode.create(m.type, col(m.fullName));
        case 'avg':
          return BinaryNode.create(
            '/',
            sum(`${m.fullName}.sum`),
            FunctionNode.create('nullif', [sum(`${m.fullName}.count`), LiteralNode.create(0)]),
          );
        default: {
          if (pre.storedDistinct.includes(m.fullName)) return sum(m.fullName);
          const key = pre.dimensions.find((d) =>
            sameTemplate((p.model.members.get(d) as ModelDimension).sql, m.sql),
          ) as string;
          return AggregateNode.create(
            m.type === 'count_distinct_approx' ? 'count_distinct_approx' : 'count_distinct',
            col(key),
          );
        }
      }
    },
    rollup: pre.fullName,
    ...(perRow ? { rowPerGroup: true } : {}),
  };
}

/**
 * Whether each rollup row is a group of the query: the rollup holds the primary key of its cube
 * and the query groups by all of it (and by the time bucket at the rollup's granularity, if the
 * rollup has one), with no subtotals or HAVING, and no measure is a distinct count over a stored
 * key. A rollup row is one (dimensions, bucket) tuple, and the key decides every other dimension
 * of its cube, so the GROUP BY would only copy the rows (a top-N list then is an ORDER BY ... LIMIT
 * over the rollup).
 */
function rowPerGroup(p: Planner, pre: PreAggregation): boolean {
  const q = p.query;
  if (q.subtotals !== null || q.having !== null) return false;
  const key = p.model.cubes.get(pre.cube)?.primaryKey ?? [];
  if (key.length === 0 || !key.every((k) => pre.dimensions.includes(k))) return false;
  const grouped = new Set(p.specs.filter((s) => !s.granularity).map((s) => s.dim.fullName));
  if (!key.every((k) => grouped.has(k))) return false;
  if (pre.timeDimension !== undefined) {
    if (!p.specs.some((s) => s.granularity === pre.granularity && s.dim.fullName === pre.timeDimension))
      return false;
  }
  return pre.measures.every((name) => {
    const m = p.model.members.get(name) as ModelMeasure;
    return (
      (m.type !== 'count_distinct' && m.type !== 'count_distinct_approx') || pre.storedDistinct.includes(name)
    );
  });
}
