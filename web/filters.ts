/**
 * The global filter bar's state and its home in the URL: `from`, `to` (YYYY-MM-DD, inclusive),
 * `region` and `segment` (an RFM segment), each repeatable (`?region=Europe&region=Asia`) or a
 * comma list (`?region=Europe,Asia`). `cubeFilters` turns them into a Cube query's filters.
 */
import { type Period, previousPeriodOf } from './periods.ts';

export interface Filters {
  readonly from: string | null;
  readonly to: string | null;
  readonly region: readonly string[];
  readonly segment: readonly string[];
}

export const EMPTY_FILTERS: Filters = { from: null, to: null, region: [], segment: [] };

/** The filter names that live in the URL. */
export const FILTER_KEYS = ['from', 'to', 'region', 'segment'] as const;

/** Members of the default model the filters apply to. */
export const MEMBERS = {
  date: 'sales.ordered_at',
  region: 'customers.region',
  segment: 'customers.rfm_segment',
} as const;

/**
 * The filter bar's choices (every page waits for them): the regions of the current customers, and
 * the RFM segments of the latest run, largest first. The segments are ordered by the scored
 * customers of each (customer_scores.count: one row per golden customer scored, the same figure as
 * customers.count of the segment), which the alive_matrix rollup holds; customers.count is a
 * distinct count no rollup can re-aggregate, so it read the customers and scores cold (about 1 s at
 * 1M customers against 0.08 s).
 */
export const CHOICE_QUERIES = {
  region: {
    dimensions: [MEMBERS.region],
    measures: ['customers.count'],
    order: { [MEMBERS.region]: 'asc' },
  },
  segment: {
    dimensions: [MEMBERS.segment],
    measures: ['customer_scores.count'],
    order: { 'customer_scores.count': 'desc' },
  },
} as const;

/**
 * The region choice that sets no region filter. For a token limited to some regions (`GET /v1/me`)
 * that is all of its own regions, never every region, so it says so.
 */
export function allRegionsLabel(limit: readonly string[] | null): string {
  if (limit === null) return 'All regions';
  if (limit.length === 1) return `${limit[0]} (your region)`;
  return `All your regions (${limit.length})`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date written YYYY-MM-DD (2026-02-30 is not one). */
export function isIsoDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function list(params: URLSearchParams, key: string): string[] {
  const out: string[] = [];
  for (const v of params.getAll(key)) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t !== '' && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

/** Reads the filters from a query string; malformed dates are ignored rather than sent to the API. */
export function parseFilters(search: string | URLSearchParams): Filters {
  const p = typeof search === 'string' ? new URLSearchParams(search) : search;
  const date = (k: string) => {
    const v = p.get(k);
    return v !== null && isIsoDate(v) ? v : null;
  };
  return { from: date('from'), to: date('to'), region: list(p, 'region'), segment: list(p, 'segment') };
}

/** Writes the filters into a query string (lists as repeated parameters), keeping other parameters. */
export function filtersToSearch(f: Filters, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const p = new URLSearchParams(base);
  for (const k of FILTER_KEYS) p.delete(k);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  for (const r of f.region) p.append('region', r);
  for (const s of f.segment) p.append('segment', s);
  return p;
}

/** A link to another page that keeps the global filters (and nothing page-specific). */
export function hrefWithFilters(path: string, f: Filters): string {
  const s = filtersToSearch(f).toString();
  return s ? `${path}?${s}` : path;
}

export interface CubeFilter {
  readonly member: string;
  readonly operator: string;
  readonly values: string[];
}

export interface CubeTimeDimension {
  readonly dimension: string;
  readonly granularity?: string;
  readonly dateRange?: [string, string];
}

/** Filter parts of a Cube query: region and segment as `equals` filters, the dates as a dateRange. */
export function cubeFilters(
  f: Filters,
  options: { granularity?: string; dates?: boolean } = {},
): { filters: CubeFilter[]; timeDimensions: CubeTimeDimension[] } {
  const filters: CubeFilter[] = [];
  if (f.region.length > 0)
    filters.push({ member: MEMBERS.region, operator: 'equals', values: [...f.region] });
  if (f.segment.length > 0)
    filters.push({ member: MEMBERS.segment, operator: 'equals', values: [...f.segment] });
  const timeDimensions: CubeTimeDimension[] = [];
  const range = options.dates === false ? null : dateRange(f);
  if (range || options.granularity) {
    timeDimensions.push({
      dimension: MEMBERS.date,
      ...(options.granularity ? { granularity: options.granularity } : {}),
      ...(range ? { dateRange: range } : {}),
    });
  }
  return { filters, timeDimensions };
}

/** The date range of the filters, open ends filled with far dates; null when neither end is set. */
export function dateRange(f: Filters): [string, string] | null {
  if (!f.from && !f.to) return null;
  return [f.from ?? '1900-01-01', f.to ?? '2999-12-31'];
}

/** The period `from`..`to` is compared with (see periods.ts), or null without both ends. */
export function previousPeriod(f: Filters): Period | null {
  if (!f.from || !f.to) return null;
  return previousPeriodOf({ from: f.from, to: f.to });
}
