/**
 * Cube's response shape: `{ query, data, annotation, ... }`. Keys are Cube's (`sales.revenue`,
 * `sales.ordered_at.month` plus `sales.ordered_at`); unlike Cube, numbers are JSON numbers (Cube
 * sends measures as strings). Time values are wall-clock times in the query's zone without a zone
 * suffix, as Cube writes them: '2024-01-01T00:00:00.000'.
 */
import type { DuckDBMaterializedResult } from '@duckdb/node-api';
import type { Model, ModelDimension, ModelMeasure, ModelSegment } from '../model/types.ts';
import type { ColumnInfo } from '../planner/plan.ts';
import { GROUPING_KEY, TOTAL_KEY } from '../planner/plan.ts';
import type { Query, RawQuery } from '../query/types.ts';

export type CellValue = string | number | boolean | null;
export type ResultRow = Record<string, CellValue>;

export interface MemberAnnotation {
  readonly title: string;
  readonly shortTitle: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly granularity?: { readonly name: string; readonly title: string; readonly interval: string };
}

export interface Annotation {
  readonly measures: Record<string, MemberAnnotation>;
  readonly dimensions: Record<string, MemberAnnotation>;
  readonly segments: Record<string, MemberAnnotation>;
  readonly timeDimensions: Record<string, MemberAnnotation>;
}

export interface LoadResponse {
  readonly queryType?: 'regularQuery';
  readonly query: RawQuery;
  readonly data: ResultRow[];
  readonly annotation: Annotation;
  /** Row count without limit/offset, when the query asked for `total: true`. */
  readonly total?: number;
  /** With subtotals: the dimensions `__grouping` bits refer to, most significant bit first. */
  readonly subtotals?: { readonly over: readonly string[] };
  readonly lastRefreshTime: string;
  readonly usedPreAggregations: Record<string, { readonly targetTableName: string }>;
  readonly dataSource: 'default';
  readonly dbType: string;
}

export interface CompareResponse {
  readonly queryType: 'compareDateRangeQuery';
  readonly results: (LoadResponse & { readonly compareDateRange: string })[];
}

export type CubeResponse = LoadResponse | CompareResponse;

export function isCompareResponse(r: CubeResponse): r is CompareResponse {
  return r.queryType === 'compareDateRangeQuery';
}

const INTERVALS: Record<string, string> = {
  day: '1 day',
  week: '1 week',
  month: '1 month',
  quarter: '3 months',
  year: '1 year',
};

const CALC_TITLES: Record<string, [string, string | undefined]> = {
  percentOfTotal: ['% of total', 'percent'],
  runningTotal: ['running total', undefined],
  previousPeriod: ['previous period', undefined],
  periodOverPeriod: ['change vs previous period', 'percent'],
};

function withFormat(a: MemberAnnotation, format: string | undefined, description?: string): MemberAnnotation {
  return {
    ...a,
    ...(format === undefined ? {} : { format }),
    ...(description === undefined ? {} : { description }),
  };
}

/** The annotation of a query's result columns. */
export function annotate(model: Model, query: Query, columns: readonly ColumnInfo[]): Annotation {
  const measures: Record<string, MemberAnnotation> = {};
  const dimensions: Record<string, MemberAnnotation> = {};
  const segments: Record<string, MemberAnnotation> = {};
  const timeDimensions: Record<string, MemberAnnotation> = {};
  for (const c of columns) {
    const member = c.member === undefined ? undefined : model.members.get(c.member);
    if (c.kind === 'measure' && member) {
      const m = member as ModelMeasure;
      measures[c.key] = withFormat(
        { title: m.title, shortTitle: m.shortTitle, type: 'number' },
        m.format,
        m.description,
      );
    } else if (c.kind === 'calculation' && member) {
      const m = member as ModelMeasure;
      const type = c.key.slice(m.fullName.length + 1);
      const [label, format] = CALC_TITLES[type] ?? [type, undefined];
      measures[c.key] = withFormat(
        { title: `${m.title} (${label})`, shortTitle: `${m.shortTitle} (${label})`, type: 'number' },
        format ?? m.format,
      );
    } else if (c.kind === 'dimension' && member) {
      const d = member as ModelDimension;
      dimensions[c.key] = withFormat(
        { title: d.title, shortTitle: d.shortTitle, type: d.type },
        d.format,
        d.description,
      );
    } else if (c.kind === 'timeDimension' && member) {
      const d = member as ModelDimension;
      const g = c.granularity as string;
      timeDimensions[c.key] = {
        title: `${d.title} (${g})`,
        shortTitle: `${d.shortTitle} (${g})`,
        type: 'time',
        granularity: { name: g, title: g, interval: INTERVALS[g] ?? g },
      };
      if (!(d.fullName in timeDimensions)) {
        timeDimensions[d.fullName] = { title: d.title, shortTitle: d.shortTitle, type: 'time' };
      }
    }
  }
  for (const s of query.segments as readonly ModelSegment[]) {
    segments[s.fullName] = { title: s.title, shortTitle: s.shortTitle, type: 'boolean' };
  }
  return { measures, dimensions, segments, timeDimensions };
}

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

function toTime(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().slice(0, 23);
  return String(v);
}

export function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

export function toBool(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  return Boolean(v);
}

export interface ConvertedRows {
  readonly data: ResultRow[];
  readonly total?: number;
}

/**
 * Rows of a DuckDB result as Cube rows. A time bucket column also gets its member key
 * (`sales.ordered_at.month` and `sales.ordered_at`), as Cube does.
 */
export async function convertRows(
  result: DuckDBMaterializedResult,
  columns: readonly ColumnInfo[],
): Promise<ConvertedRows> {
  const names = result.columnNames();
  const byKey = new Map(columns.map((c) => [c.key, c]));
  const plan = names.map((name) => {
    const info = byKey.get(name);
    const type = info?.type ?? 'string';
    const convert =
      type === 'number' ? toNumber : type === 'time' ? toTime : type === 'boolean' ? toBool : toText;
    const alsoAs =
      info?.kind === 'timeDimension' && info.member !== undefined && !byKey.has(info.member)
        ? info.member
        : undefined;
    return { name, convert, alsoAs, isTotal: name === TOTAL_KEY };
  });
  const seenAlso = new Set<string>();
  for (const p of plan) {
    if (p.alsoAs !== undefined) {
      if (seenAlso.has(p.alsoAs)) p.alsoAs = undefined;
      else seenAlso.add(p.alsoAs);
    }
  }
  const rows = (await result.getRowsJS()) as unknown[][];
  const data: ResultRow[] = new Array(rows.length);
  let total: number | undefined;
  for (let r = 0; r < rows.length; r++) {
    const values = rows[r] as unknown[];
    const row: ResultRow = {};
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i] as (typeof plan)[number];
      const v = p.convert(values[i]);
      if (p.isTotal) {
        total = (v as number | null) ?? 0;
        continue;
      }
      row[p.name] = v;
      if (p.alsoAs !== undefined) row[p.alsoAs] = v;
    }
    data[r] = row;
  }
  return total === undefined ? { data } : { data, total };
}

export { GROUPING_KEY };
