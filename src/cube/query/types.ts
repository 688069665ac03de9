/**
 * The typed query: what `parseQuery` makes of Cube's JSON once, at the edge. Members are resolved
 * model objects, filter values are typed and dates are resolved ranges; nothing downstream looks
 * at the raw JSON again.
 */
import type { ModelDimension, ModelMeasure, ModelSegment } from '../model/types.ts';
import type { Granularity, TimePoint, TimeRange } from '../time.ts';

export type FilterOperator =
  | 'equals'
  | 'notEquals'
  | 'contains'
  | 'notContains'
  | 'startsWith'
  | 'notStartsWith'
  | 'endsWith'
  | 'notEndsWith'
  | 'in'
  | 'notIn'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'set'
  | 'notSet'
  | 'inDateRange'
  | 'notInDateRange'
  | 'beforeDate'
  | 'beforeOrOnDate'
  | 'afterDate'
  | 'afterOrOnDate'
  | 'onTheDate'
  | 'measureFilter';

export const FILTER_OPERATORS: readonly FilterOperator[] = [
  'equals',
  'notEquals',
  'contains',
  'notContains',
  'startsWith',
  'notStartsWith',
  'endsWith',
  'notEndsWith',
  'in',
  'notIn',
  'gt',
  'gte',
  'lt',
  'lte',
  'set',
  'notSet',
  'inDateRange',
  'notInDateRange',
  'beforeDate',
  'beforeOrOnDate',
  'afterDate',
  'afterOrOnDate',
  'onTheDate',
  'measureFilter',
];

/** A filter value, typed by its member: a scalar, or a point in time. */
export type TypedValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'time'; readonly point: TimePoint };

/** What a condition tests, normalised from Cube's operators. */
export type Test =
  | { readonly kind: 'in'; readonly values: readonly TypedValue[]; readonly negated: boolean }
  | {
      readonly kind: 'match';
      readonly mode: 'contains' | 'startsWith' | 'endsWith';
      readonly values: readonly string[];
      readonly negated: boolean;
    }
  | { readonly kind: 'compare'; readonly op: '>' | '>=' | '<' | '<='; readonly value: TypedValue }
  | { readonly kind: 'null'; readonly negated: boolean }
  | { readonly kind: 'range'; readonly range: TimeRange; readonly negated: boolean };

export type FilterTree =
  | { readonly kind: 'and' | 'or'; readonly items: readonly FilterTree[] }
  | {
      readonly kind: 'condition';
      readonly member: ModelDimension | ModelMeasure;
      readonly operator: FilterOperator;
      readonly test: Test;
    }
  /** Cube's measureFilter: applies a filtered measure's own row filters. */
  | { readonly kind: 'measureFilter'; readonly measure: ModelMeasure }
  | { readonly kind: 'segment'; readonly segment: ModelSegment };

export interface TimeDimensionQuery {
  readonly dimension: ModelDimension;
  readonly granularity?: Granularity;
  readonly dateRange?: TimeRange;
  readonly compareDateRange?: readonly TimeRange[];
}

export type CalculationType = 'percentOfTotal' | 'runningTotal' | 'previousPeriod' | 'periodOverPeriod';

export interface Calculation {
  readonly measure: ModelMeasure;
  readonly type: CalculationType;
  /** Result key: `${measure}.${type}`. */
  readonly key: string;
}

export interface Subtotals {
  readonly mode: 'rollup' | 'cube' | 'sets';
  /** Output keys of the dimensions subtotals run over (others are grouped in every row). */
  readonly over: readonly string[];
  /** For 'sets': each set as indexes into `over`. */
  readonly sets?: readonly (readonly number[])[];
}

export interface OrderItem {
  /** An output key: a measure, dimension, `td.granularity` or calculation key. */
  readonly key: string;
  readonly direction: 'asc' | 'desc';
}

export interface Query {
  readonly measures: readonly ModelMeasure[];
  readonly dimensions: readonly ModelDimension[];
  readonly segments: readonly ModelSegment[];
  readonly timeDimensions: readonly TimeDimensionQuery[];
  /** Row-level conditions (dimensions, segments, measureFilter): WHERE. */
  readonly where: FilterTree | null;
  /** Conditions on measures: HAVING. */
  readonly having: FilterTree | null;
  readonly order: readonly OrderItem[];
  readonly limit: number | null;
  readonly offset: number;
  readonly total: boolean;
  readonly ungrouped: boolean;
  readonly timezone: string;
  readonly subtotals: Subtotals | null;
  readonly calculations: readonly Calculation[];
  /** The query as given (after JSON parsing), echoed in responses and used by drill helpers. */
  readonly raw: RawQuery;
}

/** Cube's query JSON, as accepted after the shape check. */
export interface RawQuery {
  measures?: string[];
  dimensions?: string[];
  segments?: string[];
  timeDimensions?: RawTimeDimension[];
  filters?: RawFilter[];
  order?: Record<string, 'asc' | 'desc'> | [string, 'asc' | 'desc'][];
  limit?: number;
  offset?: number;
  total?: boolean;
  ungrouped?: boolean;
  timezone?: string;
  renewQuery?: boolean;
  rowLimit?: number;
  subtotals?: 'rollup' | 'cube' | { rollup: string[] } | { cube: string[] } | { groupingSets: string[][] };
  calculations?: { measure: string; type: CalculationType }[];
}

export interface RawTimeDimension {
  dimension: string;
  granularity?: string;
  dateRange?: string | string[];
  compareDateRange?: (string | string[])[];
}

export type RawFilter =
  | { member?: string; dimension?: string; operator: string; values?: (string | number | boolean | null)[] }
  | { and: RawFilter[] }
  | { or: RawFilter[] };
