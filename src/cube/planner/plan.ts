/**
 * The planner: a typed query → one SQL statement as IR.
 *
 * Fan-out correctness: measures are grouped by their cube and each group is aggregated at its
 * own grain, rooted at its cube, joining only the cubes its dimensions and filters need. When the
 * group's join tree still fans out (a dimension or filter on the 'many' side), additive measures
 * are aggregated over `SELECT DISTINCT dims, primary key, inputs` (each row of the measure's cube
 * counted once per group). Several groups are merged on the dimensions (UNION ALL + GROUP BY,
 * which treats NULL dimension values as equal). Number measures are computed after the merge.
 *
 * @example
 * planQuery(model, parseQuery(model, { measures: ['sales.revenue'], dimensions: ['customers.region'] }))
 * // SELECT "customers"."region" AS "customers.region", sum("sales"."revenue") AS "sales.revenue"
 * // FROM "core"."fact_order_line" AS "sales" LEFT JOIN (...) AS "customers" ON ... GROUP BY ...
 */
import { cubeError } from '../errors.ts';
import { groupingSetIndexes, groupingValue } from '../ir/grouping.ts';
import {
  type AggregateFn,
  AggregateNode,
  AliasNode,
  BinaryNode,
  CastNode,
  ColumnNode,
  CteNode,
  DerivedNode,
  FunctionNode,
  GroupByNode,
  GroupingNode,
  InNode,
  JoinNode,
  LiteralNode,
  LogicalNode,
  type Node,
  OrderItemNode,
  SelectNode,
  TableNode,
  TemplateNode,
  UnionNode,
  ValueNode,
  WindowNode,
} from '../ir/nodes.ts';
import { connected, joinTree } from '../model/graph.ts';
import type { Model, ModelDimension, ModelMeasure, PreAggregation, RunRef } from '../model/types.ts';
import type { Calculation, FilterTree, Query } from '../query/types.ts';
import type { RunIds } from '../run-ids.ts';
import type { Granularity } from '../time.ts';
import { havingExpr, havingMeasures, rangeExpr, whereCubes, whereExpr } from './filters.ts';
import { keyFilters } from './key-filters.ts';
import { type DimSpec, Renderer, rawSource, type Source } from './render.ts';
import { matchRollup, rollupParts } from './rollups.ts';

export interface SecurityContext {
  /** The user may only see customers of these regions (customers.region IN regions). */
  readonly regions?: readonly string[];
}

export interface PlanOptions {
  readonly security?: SecurityContext;
  /** Rollups (full names) that are built and fresh; the planner routes only to these. */
  readonly rollups?: ReadonlySet<string>;
  /** False when the dialect takes only key equalities in a join's ON (Dialect.filtersInJoinOn). */
  readonly filtersInJoinOn?: boolean;
  /**
   * The ids of the runs model templates name, bound as parameters (src/cube/run-ids.ts); without
   * them (or for a run without an id) the statement reads the run views in subqueries.
   */
  readonly runIds?: RunIds;
}

export type ColumnType = 'number' | 'string' | 'boolean' | 'time';

export interface ColumnInfo {
  readonly key: string;
  readonly kind: 'measure' | 'dimension' | 'timeDimension' | 'calculation' | 'grouping' | 'total';
  readonly type: ColumnType;
  readonly member?: string;
  readonly granularity?: Granularity;
}

export interface Plan {
  readonly statement: SelectNode;
  readonly columns: readonly ColumnInfo[];
  /** Rollups the statement reads (empty: warehouse tables only). */
  readonly rollups: readonly string[];
  /** The runs the statement names ({LATEST_RUN_ID}, ...), whether their ids were bound or not. */
  readonly runs: readonly RunRef[];
}

/** The pieces of one measure group's SELECT, whatever it reads from. */
export interface GroupParts {
  readonly from: TableNode | DerivedNode;
  readonly joins: readonly JoinNode[];
  readonly where: Node | null;
  readonly dims: readonly { readonly key: string; readonly node: Node }[];
  readonly aggregate: (m: ModelMeasure) => Node;
  readonly rollup: string | null;
  /** Already aggregated per (dimensions, __grouping) with a column per base measure (subtotals over distinct keys). */
  readonly preGrouped?: UnionNode;
  /**
   * Each row of `from` is a group of its own (a rollup row per primary key the query groups by):
   * `aggregate` gives the row's value and the SELECT has no GROUP BY.
   */
  readonly rowPerGroup?: boolean;
}

export const GROUPING_KEY = '__grouping';
export const TOTAL_KEY = '__total';
const FAN_OUT_SAFE = new Set(['min', 'max', 'count_distinct', 'count_distinct_approx']);

export function planQuery(model: Model, query: Query, options: PlanOptions = {}): Plan {
  return new Planner(model, query, options).plan();
}

/** Output dimensions of a query in result order: dimensions, then time dimensions with a granularity. */
export function dimSpecs(query: Query): DimSpec[] {
  return [
    ...query.dimensions.map((dim) => ({ key: dim.fullName, dim })),
    ...query.timeDimensions
      .filter((t) => t.granularity)
      .map((t) => ({
        key: `${t.dimension.fullName}.${t.granularity}`,
        dim: t.dimension,
        granularity: t.granularity,
      })),
  ];
}

/** The non-number measures a measure is computed from (itself when it is not a number measure). */
export function baseMeasures(model: Model, measures: readonly ModelMeasure[]): ModelMeasure[] {
  const out: ModelMeasure[] = [];
  const visit = (m: ModelMeasure): void => {
    if (m.type !== 'number') {
      if (!out.includes(m)) out.push(m);
      return;
    }
    for (const ref of m.references) visit(model.members.get(ref) as ModelMeasure);
  };
  for (const m of measures) visit(m);
  return out;
}

/**
 * Whether any measure group of `query` is rooted at a cube with a pre-aggregation: only then can
 * routing pick a rollup, so only then is it worth asking the engine which rollups are fresh.
 */
export function mayReadRollups(model: Model, query: Query): boolean {
  if (query.ungrouped || model.preAggregations.length === 0) return false;
  const roots = new Set(model.preAggregations.map((p) => p.cube));
  const base = baseMeasures(model, [...query.measures, ...havingMeasures(query.having, [])]);
  return base.some((m) => roots.has(m.cube));
}

/** A measure's value, given how its base measures are computed (number measures substitute them). */
export function measureExpr(model: Model, m: ModelMeasure, base: (m: ModelMeasure) => Node): Node {
  if (m.type !== 'number') return base(m);
  const parts: (string | Node)[] = [];
  for (const p of m.sql?.parts ?? []) {
    if (p.kind === 'text') parts.push(p.text);
    else if (p.kind === 'measure') {
      parts.push('(', measureExpr(model, model.members.get(p.member) as ModelMeasure, base), ')');
    } else throw new Error(`number measure ${m.fullName} refers to a ${p.kind}`);
  }
  return TemplateNode.create(parts);
}

class Planner {
  readonly r: Renderer;
  readonly specs: DimSpec[];

  constructor(
    readonly model: Model,
    readonly query: Query,
    readonly options: PlanOptions,
  ) {
    this.r = new Renderer(model, query.timezone, options.runIds);
    this.specs = dimSpecs(query);
  }

  plan(): Plan {
    if (this.query.ungrouped) return this.ungrouped();
    const base = baseMeasures(this.model, [...this.query.measures, ...havingMeasures(this.query.having, [])]);
    const groups = new Map<string, ModelMeasure[]>();
    for (const m of base) {
      const list = groups.get(m.cube);
      if (list) list.push(m);
      else groups.set(m.cube, [m]);
    }
    const parts =
      groups.size === 0
        ? [this.groupParts(this.firstCube(), [])]
        : [...groups].map(([cube, measures]) => this.groupParts(cube, measures));
    const single = parts.length === 1 && parts[0]?.preGrouped === undefined;
    const measureGroups = groups.size === 0 ? [[]] : [...groups.values()];
    const core = single ? this.singleCore(parts[0] as GroupParts) : this.mergedCore(parts, measureGroups);
    const statement = this.query.calculations.length > 0 ? this.withCalculations(core) : this.finish(core);
    return {
      statement,
      columns: this.columns(),
      rollups: parts.map((p) => p.rollup).filter((x): x is string => x !== null),
      runs: [...this.r.runs],
    };
  }

  private firstCube(): string {
    const first = this.specs[0]?.dim ?? this.query.timeDimensions[0]?.dimension;
    if (!first) throw cubeError('invalid_query', 'query has no members');
    return first.cube;
  }

  /** Cubes the query's dimensions, filters and date ranges read. */
  private queryCubes(): Set<string> {
    const cubes = new Set<string>();
    for (const s of this.specs) for (const c of s.dim.cubes) cubes.add(c);
    for (const t of this.query.timeDimensions)
      if (t.dateRange) for (const c of t.dimension.cubes) cubes.add(c);
    whereCubes(this.query.where, cubes);
    return cubes;
  }

  /** The row-level security condition for a group, adding the cubes it needs. */
  private security(root: string, cubes: Set<string>): Node | null {
    const regions = this.options.security?.regions;
    if (regions === undefined) return null;
    const memberName = this.model.securityMember;
    const member =
      memberName === undefined ? undefined : (this.model.members.get(memberName) as ModelDimension);
    if (member === undefined) {
      throw cubeError(
        'security_denied',
        'this model has no security member, so a region-limited user cannot query it',
      );
    }
    const all = new Set([root, ...cubes]);
    const needs = [...all].some((c) => !(this.model.cubes.get(c)?.shared ?? false));
    if (!needs) return null;
    for (const c of member.cubes) {
      if (!connected(this.model, root, c)) {
        throw cubeError(
          'security_denied',
          `cube '${root}' has no join path to '${member.cube}', so a region-limited user cannot query it`,
          { member: root },
        );
      }
      cubes.add(c);
    }
    if (regions.length === 0) return LiteralNode.create(false);
    const expr = this.r.dimension(member);
    return InNode.create(
      expr,
      regions.map((v) => ValueNode.create(v)),
      false,
    );
  }

  /**
   * The joins of a tree: LEFT JOINs, except on the path to the security member when the security
   * condition applies. There a row without a match fails the condition anyway (NULL IN (...) is
   * not true), so an INNER JOIN gives the same rows and lets the engine filter before joining.
   * `extraOn` adds copied key tests to a join's ON (key-filters.ts).
   */
  /** Key tests copied into joins' ON, unless the dialect takes only key equalities there. */
  private joinOnCopies(on: ReadonlyMap<string, readonly Node[]>): ReadonlyMap<string, readonly Node[]> {
    return this.options.filtersInJoinOn === false ? new Map() : on;
  }

  private joins(
    tree: ReturnType<typeof joinTree>,
    security: Node | null,
    extraOn: ReadonlyMap<string, readonly Node[]> = new Map(),
  ): JoinNode[] {
    const inner = new Set<string>();
    const memberName = this.model.securityMember;
    if (security !== null && memberName !== undefined) {
      const member = this.model.members.get(memberName) as ModelDimension | undefined;
      const parent = new Map(tree.edges.map((e) => [e.to, e.from]));
      for (let c of member?.cubes ?? []) {
        while (parent.has(c)) {
          inner.add(c);
          c = parent.get(c) as string;
        }
      }
    }
    return tree.edges.map((e) => {
      const on = LogicalNode.create('and', [this.r.template(e.on), ...(extraOn.get(e.to) ?? [])]) as Node;
      return JoinNode.create(inner.has(e.to) ? 'inner' : 'left', this.r.cubeSource(e.to), on);
    });
  }

  whereFor(src: Source): Node | null {
    const items: (Node | null)[] = [];
    if (this.query.where) items.push(whereExpr(this.query.where, src, this.r));
    for (const t of this.query.timeDimensions) {
      if (!t.dateRange) continue;
      const { node, mode } = src.timeOperand(t.dimension);
      items.push(rangeExpr(node, t.dateRange, false, this.r, mode));
    }
    return LogicalNode.create('and', items);
  }

  groupParts(root: string, measures: readonly ModelMeasure[]): GroupParts {
    const cubes = this.queryCubes();
    for (const m of measures) for (const c of m.cubes) cubes.add(c);
    const security = this.security(root, cubes);
    const pre = measures.length > 0 ? matchRollup(this, root, measures, security !== null) : null;
    if (pre) return rollupParts(this, pre, security !== null);
    const tree = joinTree(this.model, root, cubes);
    const src = rawSource(this.r);
    const from = this.r.cubeSource(root);
    const keys = keyFilters(this.query.where, tree, this.r);
    const joins = this.joins(tree, security, this.joinOnCopies(keys.on));
    const where = LogicalNode.create('and', [security, this.whereFor(src), ...keys.where]);
    const dims = this.specs.map((s) => ({ key: s.key, node: src.output(s) }));
    const safe = !tree.multiplied || measures.every((m) => FAN_OUT_SAFE.has(m.type));
    if (safe) {
      return { from, joins, where, dims, aggregate: (m) => this.r.rawAggregate(m), rollup: null };
    }
    // The group fans out: aggregate over distinct (dimensions, primary key) rows of the root cube.
    const cube = this.model.cubes.get(root);
    const pk = (cube?.primaryKey ?? []).map((k) =>
      this.r.dimension(this.model.members.get(k) as ModelDimension),
    );
    const keysOf = (grouped: readonly { key: string; node: Node }[]) => {
      const selections: Node[] = grouped.map((d) => AliasNode.create(d.node, d.key));
      pk.forEach((n, i) => {
        selections.push(AliasNode.create(n, `__pk${i}`));
      });
      const columns = new Map<string, { input: string | null; filter: string | null }>();
      measures.forEach((m, i) => {
        const input = this.r.measureInput(m);
        const filter = this.r.measureFilter(m);
        if (input) selections.push(AliasNode.create(input, `__m${i}`));
        if (filter) selections.push(AliasNode.create(filter, `__f${i}`));
        columns.set(m.fullName, { input: input ? `__m${i}` : null, filter: filter ? `__f${i}` : null });
      });
      const aggregate = (m: ModelMeasure): Node => {
        const io = columns.get(m.fullName);
        const input = io?.input ? ColumnNode.create(io.input, 'k') : null;
        const filter = io?.filter ? ColumnNode.create(io.filter, 'k') : null;
        return AggregateNode.create(m.type as AggregateFn, input, filter);
      };
      const derived = DerivedNode.create(
        SelectNode.create({ distinct: true, selections, from, joins, where }),
        'k',
      );
      return { derived, aggregate };
    };
    const st = this.query.subtotals;
    if (st === null) {
      const { derived, aggregate } = keysOf(dims);
      return {
        from: derived,
        joins: [],
        where: null,
        dims: dims.map((d) => ({ key: d.key, node: ColumnNode.create(d.key, 'k') })),
        aggregate,
        rollup: null,
      };
    }
    // With subtotals each grouping set needs its own distinct keys: a customer bought in two
    // categories is one customer in the region subtotal.
    const sets = groupingSetIndexes(st.mode, st.over.length, st.sets).map((set) => {
      const inSet = new Set([
        ...dims.map((d) => d.key).filter((k) => !st.over.includes(k)),
        ...set.map((i) => st.over[i]),
      ]);
      const grouped = dims.filter((d) => inSet.has(d.key));
      const { derived, aggregate } = keysOf(grouped);
      return SelectNode.create({
        selections: [
          ...dims.map((d) =>
            inSet.has(d.key)
              ? AliasNode.create(ColumnNode.create(d.key, 'k'), d.key)
              : AliasNode.create(LiteralNode.create(null), d.key),
          ),
          AliasNode.create(LiteralNode.create(groupingValue(st.over.length, set)), GROUPING_KEY),
          ...measures.map((m) => AliasNode.create(aggregate(m), m.fullName)),
        ],
        from: derived,
        groupBy: grouped.length > 0 ? GroupByNode.create(grouped.map((d) => ColumnNode.create(d.key))) : null,
      });
    });
    return {
      from: this.r.cubeSource(root),
      joins: [],
      where: null,
      dims,
      aggregate: () => {
        throw new Error('a pre-grouped measure group has no per-row aggregate');
      },
      rollup: null,
      preGrouped: UnionNode.create(sets),
    };
  }

  private groupBy(dimKeys: readonly string[], withSubtotals: boolean): GroupByNode | null {
    const st = this.query.subtotals;
    if (dimKeys.length === 0) return null;
    if (!withSubtotals || st === null) return GroupByNode.create(dimKeys.map((k) => ColumnNode.create(k)));
    const always = dimKeys.filter((k) => !st.over.includes(k));
    return GroupByNode.create(
      always.map((k) => ColumnNode.create(k)),
      {
        mode: st.mode,
        over: st.over.map((k) => ColumnNode.create(k)),
        ...(st.sets === undefined ? {} : { sets: st.sets }),
      },
    );
  }

  private groupingColumn(): Node[] {
    const st = this.query.subtotals;
    if (st === null) return [];
    return [AliasNode.create(GroupingNode.create(st.over.map((k) => ColumnNode.create(k))), GROUPING_KEY)];
  }

  /** One group: the whole query is one SELECT. */
  private singleCore(p: GroupParts): SelectNode {
    const measure = (m: ModelMeasure) => measureExpr(this.model, m, p.aggregate);
    return SelectNode.create({
      selections: [
        ...p.dims.map((d) => AliasNode.create(d.node, d.key)),
        ...this.groupingColumn(),
        ...this.query.measures.map((m) => AliasNode.create(measure(m), m.fullName)),
      ],
      from: p.from,
      joins: p.joins,
      where: p.where,
      groupBy: p.rowPerGroup
        ? null
        : this.groupBy(
            p.dims.map((d) => d.key),
            true,
          ),
      having: this.query.having ? havingExpr(this.query.having, measure, this.r) : null,
    });
  }

  /** Several groups: each aggregated at its grain in a CTE, merged on the dimensions. */
  private mergedCore(parts: readonly GroupParts[], groups: readonly (readonly ModelMeasure[])[]): SelectNode {
    const keys = this.specs.map((s) => s.key);
    const allBase = groups.flat();
    const withGrouping = this.query.subtotals !== null;
    const ctes = parts.map((p, i) =>
      CteNode.create(
        `q${i}`,
        p.preGrouped ??
          SelectNode.create({
            selections: [
              ...p.dims.map((d) => AliasNode.create(d.node, d.key)),
              ...this.groupingColumn(),
              ...(groups[i] ?? []).map((m) => AliasNode.create(p.aggregate(m), m.fullName)),
            ],
            from: p.from,
            joins: p.joins,
            where: p.where,
            groupBy: p.rowPerGroup ? null : this.groupBy(keys, true),
          }),
      ),
    );
    const branches = parts.map((_, i) =>
      SelectNode.create({
        selections: [
          ...keys.map((k) => ColumnNode.create(k)),
          ...(withGrouping ? [ColumnNode.create(GROUPING_KEY)] : []),
          ...allBase.map((m) =>
            (groups[i] ?? []).includes(m)
              ? ColumnNode.create(m.fullName)
              : AliasNode.create(LiteralNode.create(null), m.fullName),
          ),
        ],
        from: TableNode.create(`q${i}`),
      }),
    );
    const base = (m: ModelMeasure) => AggregateNode.create('max', ColumnNode.create(m.fullName, 'u'));
    const measure = (m: ModelMeasure) => measureExpr(this.model, m, base);
    const groupKeys = [...keys, ...(withGrouping ? [GROUPING_KEY] : [])];
    return SelectNode.create({
      with: ctes,
      selections: [
        ...keys.map((k) => AliasNode.create(ColumnNode.create(k, 'u'), k)),
        ...(withGrouping ? [AliasNode.create(ColumnNode.create(GROUPING_KEY, 'u'), GROUPING_KEY)] : []),
        ...this.query.measures.map((m) => AliasNode.create(measure(m), m.fullName)),
      ],
      from: DerivedNode.create(UnionNode.create(branches), 'u'),
      groupBy: groupKeys.length > 0 ? GroupByNode.create(groupKeys.map((k) => ColumnNode.create(k))) : null,
      having: this.query.having ? havingExpr(this.query.having, measure, this.r) : null,
    });
  }

  private orderBy(): OrderItemNode[] {
    return this.query.order.map((o) => OrderItemNode.create(ColumnNode.create(o.key), o.direction));
  }

  private paging(): Pick<SelectNode, 'limit' | 'offset'> {
    return {
      limit: this.query.limit === null ? null : ValueNode.create(this.query.limit),
      offset: this.query.offset > 0 ? ValueNode.create(this.query.offset) : null,
    };
  }

  private totalColumn(): Node[] {
    return this.query.total
      ? [AliasNode.create(WindowNode.create(AggregateNode.create('count', null), [], [], null), TOTAL_KEY)]
      : [];
  }

  private finish(core: SelectNode): SelectNode {
    return {
      ...core,
      selections: [...core.selections, ...this.totalColumn()],
      orderBy: this.orderBy(),
      ...this.paging(),
    };
  }

  /** Window calculations over the finished groups, in an outer SELECT. */
  private withCalculations(core: SelectNode): SelectNode {
    const inner: SelectNode = { ...core, with: [] };
    const keys = [
      ...this.specs.map((s) => s.key),
      ...(this.query.subtotals ? [GROUPING_KEY] : []),
      ...this.query.measures.map((m) => m.fullName),
    ];
    return SelectNode.create({
      with: core.with,
      selections: [
        ...keys.map((k) => AliasNode.create(ColumnNode.create(k, 'c'), k)),
        ...this.query.calculations.map((c) => AliasNode.create(this.calculation(c), c.key)),
        ...this.totalColumn(),
      ],
      from: DerivedNode.create(inner, 'c'),
      orderBy: this.orderBy(),
      ...this.paging(),
    });
  }

  private calculation(c: Calculation): Node {
    const x = ColumnNode.create(c.measure.fullName, 'c');
    const grouping = this.query.subtotals ? [ColumnNode.create(GROUPING_KEY, 'c')] : [];
    if (c.type === 'percentOfTotal') {
      const total = WindowNode.create(AggregateNode.create('sum', x), grouping, [], null);
      return BinaryNode.create(
        '/',
        CastNode.create(x, 'double'),
        FunctionNode.create('nullif', [total, LiteralNode.create(0)]),
      );
    }
    const td = this.specs.find((s) => s.granularity) as DimSpec;
    const others = this.specs.filter((s) => s !== td).map((s) => ColumnNode.create(s.key, 'c'));
    const partition = [...others, ...grouping];
    const order = [OrderItemNode.create(ColumnNode.create(td.key, 'c'), 'asc')];
    if (c.type === 'runningTotal') {
      return WindowNode.create(AggregateNode.create('sum', x), partition, order, { kind: 'RowsToCurrent' });
    }
    const previous = WindowNode.create(AggregateNode.create('max', x), partition, order, {
      kind: 'RangeAt',
      unit: td.granularity as Granularity,
      n: 1,
    });
    if (c.type === 'previousPeriod') return previous;
    return BinaryNode.create(
      '/',
      CastNode.create(BinaryNode.create('-', x, previous), 'double'),
      FunctionNode.create('nullif', [previous, LiteralNode.create(0)]),
    );
  }

  /** Raw rows: no GROUP BY, measures as their per-row expressions. */
  private ungrouped(): Plan {
    const q = this.query;
    const root = q.measures[0]?.cube ?? this.firstCube();
    const base = baseMeasures(this.model, q.measures);
    const cubes = this.queryCubes();
    for (const m of base) for (const c of m.cubes) cubes.add(c);
    const security = this.security(root, cubes);
    const tree = joinTree(this.model, root, cubes);
    const keys = keyFilters(this.query.where, tree, this.r);
    const src = rawSource(this.r);
    const rowValue = (m: ModelMeasure): Node => {
      const raw = this.r.measureInput(m);
      // a count is a number on each row: 1 where the counted value is there (a distinct count's
      // input is often an id string, which a ratio such as revenue / order_count cannot divide by)
      const counted = m.type === 'count' || m.type === 'count_distinct' || m.type === 'count_distinct_approx';
      const input =
        raw === null
          ? LiteralNode.create(1)
          : counted
            ? TemplateNode.create(['CASE WHEN ', raw, ' IS NOT NULL THEN 1 END'])
            : raw;
      const filter = this.r.measureFilter(m);
      return filter ? TemplateNode.create(['CASE WHEN ', filter, ' THEN ', input, ' END']) : input;
    };
    const statement = SelectNode.create({
      selections: [
        ...this.specs.map((s) => AliasNode.create(src.output(s), s.key)),
        ...q.measures.map((m) => AliasNode.create(measureExpr(this.model, m, rowValue), m.fullName)),
        ...this.totalColumn(),
      ],
      from: this.r.cubeSource(root),
      joins: this.joins(tree, security, this.joinOnCopies(keys.on)),
      where: LogicalNode.create('and', [security, this.whereFor(src), ...keys.where]),
      orderBy: this.orderBy(),
      ...this.paging(),
    });
    return { statement, columns: this.columns(), rollups: [], runs: [...this.r.runs] };
  }

  private columns(): ColumnInfo[] {
    const q = this.query;
    const cols: ColumnInfo[] = this.specs.map((s) =>
      s.granularity
        ? {
            key: s.key,
            kind: 'timeDimension',
            type: 'time',
            member: s.dim.fullName,
            granularity: s.granularity,
          }
        : { key: s.key, kind: 'dimension', type: s.dim.type, member: s.dim.fullName },
    );
    if (q.subtotals) cols.push({ key: GROUPING_KEY, kind: 'grouping', type: 'number' });
    for (const m of q.measures)
      cols.push({ key: m.fullName, kind: 'measure', type: 'number', member: m.fullName });
    for (const c of q.calculations)
      cols.push({ key: c.key, kind: 'calculation', type: 'number', member: c.measure.fullName });
    if (q.total) cols.push({ key: TOTAL_KEY, kind: 'total', type: 'number' });
    return cols;
  }
}

export type { Planner };

/**
 * The statement that builds a rollup table: the rollup's dimensions and time bucket, and for
 * each stored measure the columns it re-aggregates from (avg keeps its sum and count). With
 * `partition` (one value per `pre.partitions.by` dimension), only that partition's rows, the
 * values bound as parameters.
 */
export function planRollupBuild(
  model: Model,
  pre: PreAggregation,
  partition?: readonly (string | number)[],
): Plan {
  const dimensions = pre.dimensions.map((d) => model.members.get(d) as ModelDimension);
  const by = pre.partitions?.by ?? [];
  if (partition !== undefined && partition.length !== by.length) {
    throw new Error(`rollup ${pre.fullName}: a partition needs one value per 'by' dimension`);
  }
  const where: FilterTree | null =
    partition === undefined
      ? null
      : {
          kind: 'and',
          items: by.map((name, i) => ({
            kind: 'condition',
            member: model.members.get(name) as ModelDimension,
            operator: 'equals',
            test: {
              kind: 'in',
              values: [
                typeof partition[i] === 'number'
                  ? { kind: 'number', value: partition[i] as number }
                  : { kind: 'string', value: String(partition[i]) },
              ],
              negated: false,
            },
          })),
        };
  const td =
    pre.timeDimension === undefined ? undefined : (model.members.get(pre.timeDimension) as ModelDimension);
  const query: Query = {
    measures: [],
    dimensions,
    segments: [],
    timeDimensions: td && pre.granularity ? [{ dimension: td, granularity: pre.granularity }] : [],
    where,
    having: null,
    order: [],
    limit: null,
    offset: 0,
    total: false,
    ungrouped: false,
    timezone: pre.timezone,
    subtotals: null,
    calculations: [],
    raw: {},
  };
  const planner = new Planner(model, query, {});
  const measures = pre.measures.map((m) => model.members.get(m) as ModelMeasure);
  const parts = planner.groupParts(pre.cube, measures);
  const r = planner.r;
  const selections: Node[] = parts.dims.map((d) => AliasNode.create(d.node, d.key));
  const columns: ColumnInfo[] = planner.specs.map((s) =>
    s.granularity
      ? {
          key: s.key,
          kind: 'timeDimension',
          type: 'time',
          member: s.dim.fullName,
          granularity: s.granularity,
        }
      : { key: s.key, kind: 'dimension', type: s.dim.type, member: s.dim.fullName },
  );
  for (const m of measures) {
    if (m.type === 'avg') {
      const input = r.measureInput(m);
      const filter = r.measureFilter(m);
      selections.push(AliasNode.create(AggregateNode.create('sum', input, filter), `${m.fullName}.sum`));
      selections.push(AliasNode.create(AggregateNode.create('count', input, filter), `${m.fullName}.count`));
      columns.push({ key: `${m.fullName}.sum`, kind: 'measure', type: 'number', member: m.fullName });
      columns.push({ key: `${m.fullName}.count`, kind: 'measure', type: 'number', member: m.fullName });
    } else if (
      (m.type !== 'count_distinct' && m.type !== 'count_distinct_approx') ||
      pre.storedDistinct.includes(m.fullName)
    ) {
      selections.push(AliasNode.create(parts.aggregate(m), m.fullName));
      columns.push({ key: m.fullName, kind: 'measure', type: 'number', member: m.fullName });
    }
  }
  const statement = SelectNode.create({
    selections,
    from: parts.from,
    joins: parts.joins,
    where: parts.where,
    groupBy:
      parts.dims.length > 0 ? GroupByNode.create(parts.dims.map((d) => ColumnNode.create(d.key))) : null,
  });
  return { statement, columns, rollups: [], runs: [...r.runs] };
}
