/**
 * Model objects as IR: cube sources, member expressions (templates resolved recursively), raw
 * aggregates of measures, and the `Source` abstraction the planner reads members through — the
 * warehouse tables (raw), a DISTINCT keys subquery, or a pre-aggregated rollup table.
 */
import {
  AggregateNode,
  CastNode,
  ColumnNode,
  DerivedNode,
  IdentifierNode,
  LiteralNode,
  LogicalNode,
  type Node,
  type SqlType,
  TableNode,
  TemplateNode,
  TimeTruncNode,
  ToLocalTimeNode,
  ValueNode,
} from '../ir/nodes.ts';
import type {
  Model,
  ModelDimension,
  ModelMeasure,
  ModelSegment,
  RunRef,
  SqlTemplate,
} from '../model/types.ts';
import { RUN_SUBQUERY, type RunIds } from '../run-ids.ts';
import {
  formatInstant,
  formatLocal,
  type Granularity,
  pointToInstant,
  pointToLocal,
  type TimePoint,
} from '../time.ts';

export interface DimSpec {
  /** Output key: the member, or `member.granularity` for a time bucket. */
  readonly key: string;
  readonly dim: ModelDimension;
  readonly granularity?: Granularity;
}

export type TimeMode = 'instant' | 'local';

/** Where a group reads members from. */
export interface Source {
  /** The member's value, for filters on non-time members. */
  dimension(d: ModelDimension): Node;
  /** The operand time filters compare with, and how their bounds must be bound. */
  timeOperand(d: ModelDimension): { readonly node: Node; readonly mode: TimeMode };
  /** The selected value of an output dimension (a time bucket in the query's zone, for time). */
  output(spec: DimSpec): Node;
  segment(s: ModelSegment): Node;
  /** The row filters of a filtered measure (TRUE when it has none). */
  measureFilter(m: ModelMeasure): Node;
}

/** Renders model templates and raw member expressions for one statement. */
export class Renderer {
  readonly tz: ValueNode;
  /** The runs the rendered templates name ({LATEST_RUN_ID}, ...), bound or not. */
  readonly runs = new Set<RunRef>();
  private readonly dimCache = new Map<string, Node>();

  constructor(
    readonly model: Model,
    readonly timezone: string,
    /** Run ids to bind; a run without one reads its view in a subquery. */
    private readonly runIds?: RunIds,
  ) {
    this.tz = ValueNode.create(timezone);
  }

  /** A run reference: its id as a bound value when known, else the subquery over its view. */
  private run(run: RunRef): Node | string {
    this.runs.add(run);
    const id = this.runIds?.[run];
    return id === null || id === undefined ? RUN_SUBQUERY[run] : ValueNode.create(id);
  }

  template(t: SqlTemplate): Node {
    const only = t.parts.length === 1 ? t.parts[0] : undefined;
    if (only?.kind === 'column') return ColumnNode.create(only.column, only.cube);
    if (only?.kind === 'dimension')
      return this.dimension(this.model.members.get(only.member) as ModelDimension);
    const parts: (string | Node)[] = [];
    for (const p of t.parts) {
      switch (p.kind) {
        case 'text':
          parts.push(p.text);
          break;
        case 'cube':
          parts.push(IdentifierNode.create(p.cube));
          break;
        case 'column':
          parts.push(ColumnNode.create(p.column, p.cube));
          break;
        case 'dimension':
          parts.push(this.wrapped(this.dimension(this.model.members.get(p.member) as ModelDimension)));
          break;
        case 'run':
          parts.push(this.run(p.run));
          break;
        case 'measure':
          throw new Error(`measure reference ${p.member} outside a number measure`);
      }
    }
    return TemplateNode.create(parts);
  }

  private wrapped(n: Node): Node {
    return n.kind === 'Column' ? n : TemplateNode.create(['(', n, ')']);
  }

  /** The dimension's raw SQL expression over the warehouse tables (aliases = cube names). */
  dimension(d: ModelDimension): Node {
    let n = this.dimCache.get(d.fullName);
    if (!n) {
      n = this.template(d.sql);
      this.dimCache.set(d.fullName, n);
    }
    return n;
  }

  cubeSource(cube: string): TableNode | DerivedNode {
    const c = this.model.cubes.get(cube);
    if (!c) throw new Error(`unknown cube ${cube}`);
    if (c.source.kind === 'table') return TableNode.create(c.source.table, c.source.schema, cube);
    const dialectSql = c.source.dialectSql;
    const variants =
      dialectSql === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(dialectSql).map(([name, sql]) => [
              name,
              sql === null ? null : (this.template(sql) as TemplateNode),
            ]),
          );
    return DerivedNode.create(this.template(c.source.sql) as TemplateNode, cube, variants);
  }

  /** A wall-clock time expression for a time dimension, in the query's zone. */
  localTime(d: ModelDimension, expr: Node): Node {
    return d.timeStorage === 'timestamptz'
      ? ToLocalTimeNode.create(expr, this.tz)
      : CastNode.create(expr, 'timestamp');
  }

  /** The measure's per-row input (null for a plain count) and its row filter. */
  measureInput(m: ModelMeasure): Node | null {
    return m.sql === undefined ? null : this.template(m.sql);
  }

  measureFilter(m: ModelMeasure): Node | null {
    return LogicalNode.create(
      'and',
      m.filters.map((f) => this.wrapped(this.template(f))),
    );
  }

  rawAggregate(m: ModelMeasure): AggregateNode {
    const input = this.measureInput(m);
    const filter = this.measureFilter(m);
    switch (m.type) {
      case 'count':
        return AggregateNode.create('count', input, filter);
      case 'count_distinct':
      case 'count_distinct_approx':
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
        return AggregateNode.create(m.type, input, filter);
      case 'number':
        throw new Error(`number measure ${m.fullName} has no aggregate of its own`);
    }
  }

  /** A bound time value, as an instant or as wall-clock time in the query's zone. */
  timeValue(point: TimePoint, mode: TimeMode): ValueNode {
    return mode === 'instant'
      ? ValueNode.create(formatInstant(pointToInstant(point, this.timezone)), 'timestamptz')
      : ValueNode.create(formatLocal(pointToLocal(point, this.timezone)), 'timestamp');
  }
}

/** Reads members straight from the warehouse tables joined in the group's join tree. */
export function rawSource(r: Renderer): Source {
  return {
    dimension: (d) => r.dimension(d),
    timeOperand: (d) =>
      d.timeStorage === 'timestamptz'
        ? { node: r.dimension(d), mode: 'instant' }
        : { node: CastNode.create(r.dimension(d), 'timestamp'), mode: 'local' },
    output: (spec) => {
      const d = spec.dim;
      if (d.type !== 'time') return r.dimension(d);
      const local = r.localTime(d, r.dimension(d));
      return spec.granularity ? TimeTruncNode.create(spec.granularity, local) : local;
    },
    segment: (s) => TemplateNode.create(['(', r.template(s.sql), ')']),
    measureFilter: (m) => r.measureFilter(m) ?? LiteralNode.create(true),
  };
}

export function castFor(mode: TimeMode): SqlType {
  return mode === 'instant' ? 'timestamptz' : 'timestamp';
}
