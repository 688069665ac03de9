/**
 * The resolved semantic model: what `loadModel` returns after validating the YAML. Everything
 * here is checked (names exist, joins connect, number measures are acyclic), so the planner never
 * re-validates it.
 */
import type { Granularity } from '../time.ts';

export type Relationship = 'many_to_one' | 'one_to_many' | 'one_to_one';
export type MeasureType =
  | 'count'
  | 'count_distinct'
  | 'count_distinct_approx'
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'number';
export type DimensionType = 'string' | 'number' | 'boolean' | 'time';
/** How a time dimension's column stores time: an instant, or a wall-clock time / calendar date. */
export type TimeStorage = 'timestamptz' | 'timestamp' | 'date';
export type Format = 'currency' | 'percent' | 'number' | 'id';

/**
 * Model SQL, parsed once: text is model-authored SQL kept verbatim; references become nodes the
 * compiler quotes (`{CUBE}`, `{cube}`, `{member}`, `{cube.member}`, or a bare column name).
 */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'cube'; readonly cube: string }
  | { readonly kind: 'column'; readonly cube: string; readonly column: string }
  | { readonly kind: 'dimension'; readonly member: string }
  | { readonly kind: 'measure'; readonly member: string }
  /** `{LATEST_RUN_ID}` / `{PREVIOUS_RUN_ID}`: a mining run's id (src/cube/run-ids.ts). */
  | { readonly kind: 'run'; readonly run: RunRef };

/** The mining runs a template may name: mining.latest_run and mining.previous_run. */
export type RunRef = 'latest' | 'previous';

export interface SqlTemplate {
  readonly parts: readonly TemplatePart[];
}

interface MemberBase {
  readonly cube: string;
  readonly name: string;
  /** `cube.name`, the public member name. */
  readonly fullName: string;
  readonly title: string;
  readonly shortTitle: string;
  readonly description?: string;
  readonly format?: Format;
  readonly public: boolean;
}

export interface ModelDimension extends MemberBase {
  readonly memberKind: 'dimension';
  readonly type: DimensionType;
  readonly sql: SqlTemplate;
  readonly primaryKey: boolean;
  /** For time dimensions: how the column stores time (default timestamptz). */
  readonly timeStorage: TimeStorage;
  /** Cubes the expression reads (its own and any referenced through `{other.member}`). */
  readonly cubes: ReadonlySet<string>;
}

export interface ModelMeasure extends MemberBase {
  readonly memberKind: 'measure';
  readonly type: MeasureType;
  /** Absent for `count` without sql (counts rows). */
  readonly sql?: SqlTemplate;
  /** Row filters of a filtered measure (ANDed), e.g. `sum(revenue)` of returns only. */
  readonly filters: readonly SqlTemplate[];
  /** Cubes the expression and filters read (always includes its own). */
  readonly cubes: ReadonlySet<string>;
  /** For `number` measures: the measures it is computed from (full names). */
  readonly references: readonly string[];
}

export interface ModelSegment {
  readonly memberKind: 'segment';
  readonly cube: string;
  readonly name: string;
  readonly fullName: string;
  readonly title: string;
  readonly shortTitle: string;
  readonly description?: string;
  readonly sql: SqlTemplate;
  readonly cubes: ReadonlySet<string>;
}

export type ModelMember = ModelDimension | ModelMeasure | ModelSegment;

export interface ModelJoin {
  /** The cube that declares the join. */
  readonly from: string;
  readonly to: string;
  /** Seen from `from`: many_to_one means many `from` rows per `to` row. */
  readonly relationship: Relationship;
  readonly on: SqlTemplate;
}

export interface ModelHierarchy {
  readonly cube: string;
  readonly name: string;
  readonly fullName: string;
  readonly title: string;
  /** Dimension full names, coarse to fine. */
  readonly levels: readonly string[];
}

export interface PreAggregation {
  readonly cube: string;
  readonly name: string;
  readonly fullName: string;
  /** Table name inside the `rollup` schema. */
  readonly table: string;
  /** Base (non-number) measures stored, full names. */
  readonly measures: readonly string[];
  readonly dimensions: readonly string[];
  readonly timeDimension?: string;
  readonly granularity?: Granularity;
  /** Zone the time buckets are built in; only queries in the same zone use the rollup. */
  readonly timezone: string;
  /**
   * count_distinct measures stored as a distinct count per row (no key dimension in the rollup):
   * re-added only by a query that drops nothing but `determinedByKey` dimensions.
   */
  readonly storedDistinct: readonly string[];
  /** Rollup dimensions decided by the key of each stored distinct count (`determined_by_key`). */
  readonly determinedByKey: readonly string[];
  /**
   * Only some values of the `by` dimensions (full names) are stored: the rows of `sql` (raw SQL
   * returning the `by` columns, by dimension name, and a `stamp`). See src/cube/rollups.ts.
   */
  readonly partitions?: { readonly by: readonly string[]; readonly sql: string };
  /** A stable hash of the definition, stored with the built table to detect stale builds. */
  readonly hash: string;
}

export type CubeSource =
  | { readonly kind: 'table'; readonly schema?: string; readonly table: string }
  | {
      readonly kind: 'sql';
      readonly sql: SqlTemplate;
      /**
       * The same rows for another engine, by dialect name (`sql_clickhouse` in YAML); null: the
       * cube cannot be read on that engine.
       */
      readonly dialectSql?: Readonly<Record<string, SqlTemplate | null>>;
    };

export interface ModelCube {
  readonly name: string;
  readonly title: string;
  readonly description?: string;
  readonly file: string;
  readonly source: CubeSource;
  readonly public: boolean;
  /**
   * Reference data with no customer rows (products, campaigns): a region-limited security
   * context does not need a path to customers for it.
   */
  readonly shared: boolean;
  readonly primaryKey: readonly string[];
  readonly measures: ReadonlyMap<string, ModelMeasure>;
  readonly dimensions: ReadonlyMap<string, ModelDimension>;
  readonly segments: ReadonlyMap<string, ModelSegment>;
  readonly hierarchies: ReadonlyMap<string, ModelHierarchy>;
  readonly preAggregations: readonly PreAggregation[];
}

export interface JoinEdge {
  readonly to: string;
  /** Seen from the edge's origin. */
  readonly relationship: Relationship;
  readonly on: SqlTemplate;
}

export interface Model {
  readonly cubes: ReadonlyMap<string, ModelCube>;
  /** Every member by full name. */
  readonly members: ReadonlyMap<string, ModelMember>;
  readonly joins: readonly ModelJoin[];
  /** Adjacency of the join graph, both directions, in declaration order. */
  readonly edges: ReadonlyMap<string, readonly JoinEdge[]>;
  readonly hierarchies: ReadonlyMap<string, ModelHierarchy>;
  readonly preAggregations: readonly PreAggregation[];
  /** The dimension a region-limited security context filters on (customers.access_region by default). */
  readonly securityMember?: string;
}

export function isMeasure(m: ModelMember | undefined): m is ModelMeasure {
  return m?.memberKind === 'measure';
}

export function isDimension(m: ModelMember | undefined): m is ModelDimension {
  return m?.memberKind === 'dimension';
}

export function isSegment(m: ModelMember | undefined): m is ModelSegment {
  return m?.memberKind === 'segment';
}
