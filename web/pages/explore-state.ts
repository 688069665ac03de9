/**
 * The Explorer's state and its home in the URL (`?q=` the cube query as JSON, `trail=` the drill
 * breadcrumbs, `view=chart|table`, `col=` the pivot's column member), the query actually sent
 * (page filters and pivot subtotals added), and which member a click drills into.
 */
import type { Filters } from '../filters.ts';
import { cubeFilters } from '../filters.ts';

export interface TimeDim {
  readonly dimension: string;
  readonly granularity?: string;
  readonly dateRange?: string | readonly [string, string];
}

export interface ExploreQuery {
  readonly measures: readonly string[];
  readonly dimensions: readonly string[];
  readonly timeDimensions?: readonly TimeDim[];
  readonly filters?: readonly Record<string, unknown>[];
}

/** One drill step: what was clicked (for the breadcrumb) and the member to roll up from to undo it. */
export interface Crumb {
  readonly label: string;
  readonly up: string;
}

export interface ExploreState {
  readonly query: ExploreQuery;
  readonly trail: readonly Crumb[];
  readonly view: 'chart' | 'table';
  readonly col: string | null;
}

export const DEFAULT_QUERY: ExploreQuery = { measures: ['sales.revenue'], dimensions: ['customers.region'] };

export const GRANULARITIES = ['year', 'quarter', 'month', 'week', 'day'] as const;

const strings = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;

function parseQuery(text: string | null): ExploreQuery | null {
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  const measures = strings(o.measures ?? []);
  const dimensions = strings(o.dimensions ?? []);
  if (!measures || !dimensions) return null;
  const tds = Array.isArray(o.timeDimensions) ? o.timeDimensions : [];
  const timeDimensions: TimeDim[] = [];
  for (const t of tds) {
    if (typeof t !== 'object' || t === null || typeof (t as TimeDim).dimension !== 'string') return null;
    const td = t as TimeDim;
    timeDimensions.push({
      dimension: td.dimension,
      ...(typeof td.granularity === 'string' ? { granularity: td.granularity } : {}),
      ...(td.dateRange !== undefined ? { dateRange: td.dateRange } : {}),
    });
  }
  const filters = Array.isArray(o.filters)
    ? o.filters.filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null)
    : [];
  return {
    measures,
    dimensions,
    ...(timeDimensions.length > 0 ? { timeDimensions } : {}),
    ...(filters.length > 0 ? { filters } : {}),
  };
}

function parseTrail(text: string | null): Crumb[] {
  if (text === null) return [];
  try {
    const raw: unknown = JSON.parse(text);
    if (!Array.isArray(raw)) return [];
    return raw.filter(
      (c): c is Crumb =>
        typeof c === 'object' && c !== null && typeof c.label === 'string' && typeof c.up === 'string',
    );
  } catch {
    return [];
  }
}

/** Reads the state from the URL; a malformed `q` falls back to the default query (`invalid` says so). */
export function parseState(p: URLSearchParams): ExploreState & { invalid: boolean } {
  const q = p.get('q');
  const query = parseQuery(q);
  return {
    query: query ?? DEFAULT_QUERY,
    trail: query ? parseTrail(p.get('trail')) : [],
    view: p.get('view') === 'table' ? 'table' : 'chart',
    col: p.get('col') || null,
    invalid: q !== null && query === null,
  };
}

/** The URL parameters of a state (null removes a parameter). */
export function stateParams(s: ExploreState): Record<string, string | null> {
  return {
    q: JSON.stringify(s.query),
    trail: s.trail.length > 0 ? JSON.stringify(s.trail) : null,
    view: s.view === 'table' ? 'table' : null,
    col: s.col,
  };
}

/** Result column keys of the time buckets (`sales.ordered_at.month`) and dimensions. */
export function groupKeys(q: ExploreQuery): string[] {
  const times = (q.timeDimensions ?? [])
    .filter((t) => t.granularity)
    .map((t) => `${t.dimension}.${t.granularity}`);
  return [...times, ...q.dimensions];
}

/** The members a pivot puts in rows: every group key but the column member. */
export function rowMembers(s: ExploreState): string[] {
  return groupKeys(s.query).filter((k) => k !== s.col);
}

/**
 * The query sent to /v1/load: the state's query plus the page filters (region and segment as
 * filters, the date range as an inDateRange filter on order time), and for the table view
 * subtotals rolled up over the row members.
 */
export function loadQuery(s: ExploreState, filters: Filters, forTable: boolean): Record<string, unknown> {
  const page = cubeFilters(filters, { dates: false });
  const range =
    filters.from || filters.to ? [filters.from ?? '1900-01-01', filters.to ?? '2999-12-31'] : null;
  const all = [
    ...(s.query.filters ?? []),
    ...page.filters,
    ...(range ? [{ member: 'sales.ordered_at', operator: 'inDateRange', values: range }] : []),
  ];
  const rows = rowMembers(s);
  const subtotals = forTable && rows.length > 0 && s.query.measures.length > 0;
  // subtotal rows come on top of the detail rows: a rollup over k members adds at most k per
  // detail row and a grand total, so the table gets every detail row the export has
  return {
    measures: s.query.measures,
    dimensions: s.query.dimensions,
    ...(s.query.timeDimensions ? { timeDimensions: s.query.timeDimensions } : {}),
    ...(all.length > 0 ? { filters: all } : {}),
    ...(subtotals ? { subtotals: { rollup: rows } } : {}),
    limit: subtotals ? Math.min(MAX_LOAD_LIMIT, ROW_LIMIT * (rows.length + 1) + 1) : ROW_LIMIT,
  };
}

/** Rows the Explorer shows and exports at most. */
export const ROW_LIMIT = 5000;
/** The API's largest `limit` (src/cube/query/parse.ts DEFAULT_MAX_LIMIT). */
const MAX_LOAD_LIMIT = 50_000;

/**
 * The row count the Explorer states: the rows of the result and of its export (not subtotals).
 * @example rowCountText(1228) // '1,228 rows'; rowCountText(7000) // 'the first 5,000 rows (the limit; narrow it with a filter)'
 */
export function rowCountText(detailRows: number): string {
  if (detailRows >= ROW_LIMIT)
    return `the first ${ROW_LIMIT.toLocaleString('en-US')} rows (the limit; narrow it with a filter)`;
  return `${detailRows.toLocaleString('en-US')} ${detailRows === 1 ? 'row' : 'rows'}`;
}

/** A hierarchy from /v1/meta: levels coarse → fine, as full member names. */
export interface Hierarchy {
  readonly name: string;
  readonly levels: readonly string[];
}

/** The member one level below `member` (a dimension in a hierarchy, or a time bucket), or null. */
export function finerOf(member: string, q: ExploreQuery, hierarchies: readonly Hierarchy[]): string | null {
  const td = (q.timeDimensions ?? []).find(
    (t) => t.granularity && `${t.dimension}.${t.granularity}` === member,
  );
  if (td) {
    const next = { year: 'quarter', quarter: 'month', month: 'day', week: 'day' }[td.granularity as string];
    return next ? `${td.dimension}.${next}` : null;
  }
  if (!q.dimensions.includes(member)) return null;
  for (const h of hierarchies) {
    const i = h.levels.indexOf(member);
    if (i >= 0 && i + 1 < h.levels.length) return h.levels[i + 1] as string;
  }
  return null;
}

/** The member a click on a chart bar drills into: the first time bucket, else the first drillable dimension. */
export function drillMember(q: ExploreQuery, hierarchies: readonly Hierarchy[]): string | null {
  for (const k of groupKeys(q)) if (finerOf(k, q, hierarchies) !== null) return k;
  return null;
}
