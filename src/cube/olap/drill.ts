/**
 * Drill down and roll up along hierarchies. A dimension drills along a model hierarchy
 * (region → country → city, category → subcategory → name); a time dimension along
 * year → quarter → month → day. Both turn a query plus a clicked value into the next query.
 *
 * @example
 * drillDown(model, { measures: ['sales.revenue'], dimensions: ['customers.region'] },
 *           { member: 'customers.region', value: 'North' })
 * // → { measures: ['sales.revenue'], dimensions: ['customers.country'],
 * //     filters: [{ member: 'customers.region', operator: 'equals', values: ['North'] }] }
 */
import { cubeError } from '../errors.ts';
import type { Model, ModelHierarchy } from '../model/types.ts';
import type { RawFilter, RawQuery, RawTimeDimension } from '../query/types.ts';
import type { CellValue } from '../result/response.ts';
import {
  addUnits,
  formatLocalDate,
  type Granularity,
  type LocalDateTime,
  parseDate,
  parseDateRange,
  pointToLocal,
  sameLocal,
  startOf,
} from '../time.ts';

const FINER: Partial<Record<Granularity, Granularity>> = {
  year: 'quarter',
  quarter: 'month',
  month: 'day',
  week: 'day',
};
const COARSER: Partial<Record<Granularity, Granularity>> = {
  day: 'month',
  week: 'month',
  month: 'quarter',
  quarter: 'year',
};

export interface DrillTarget {
  /** The clicked column: a dimension (`customers.region`) or a time bucket (`sales.ordered_at.quarter`). */
  readonly member: string;
  readonly value: CellValue;
  /** Which hierarchy to follow when the member is in several. */
  readonly hierarchy?: string;
}

export interface DrillOptions {
  /** "Now" for resolving a relative dateRange being narrowed. */
  readonly now?: Date;
}

function hierarchyOf(model: Model, member: string, name?: string): { h: ModelHierarchy; level: number } {
  for (const h of model.hierarchies.values()) {
    if (name !== undefined && h.fullName !== name && h.name !== name) continue;
    const level = h.levels.indexOf(member);
    if (level >= 0) return { h, level };
  }
  throw cubeError(
    'invalid_drill',
    `'${member}' is in no hierarchy${name ? ` named '${name}'` : ''}; drilling needs one`,
    {
      member,
    },
  );
}

function timeTarget(query: RawQuery, member: string): { index: number; td: RawTimeDimension } | undefined {
  const tds = query.timeDimensions ?? [];
  const index = tds.findIndex(
    (t) => t.granularity && (member === `${t.dimension}.${t.granularity}` || member === t.dimension),
  );
  return index < 0 ? undefined : { index, td: tds[index] as RawTimeDimension };
}

function bucketRange(start: LocalDateTime, g: Granularity): [LocalDateTime, LocalDateTime] {
  return [start, addUnits(addUnits(start, g, 1), 'day', -1)];
}

/** The next query after clicking a value: one level finer, filtered to the clicked value. */
export function drillDown(
  model: Model,
  query: RawQuery,
  target: DrillTarget,
  options: DrillOptions = {},
): RawQuery {
  const time = timeTarget(query, target.member);
  if (time) {
    const g = time.td.granularity as Granularity;
    const next = FINER[g];
    if (!next)
      throw cubeError('invalid_drill', `'${target.member}' is already at ${g}, the finest level`, {
        member: target.member,
      });
    if (typeof target.value !== 'string') {
      throw cubeError(
        'invalid_drill',
        `drilling into '${target.member}' needs the clicked time value as a string`,
      );
    }
    const parsed = parseDate(target.value);
    if (parsed?.point.kind !== 'local') {
      throw cubeError(
        'invalid_drill',
        `'${target.value}' is not a time bucket such as '2024-01-01T00:00:00.000'`,
      );
    }
    let [from, to] = bucketRange(startOf(parsed.point.t, g), g);
    if (time.td.dateRange !== undefined) {
      const tz = query.timezone ?? 'UTC';
      const current = parseDateRange(time.td.dateRange, options.now ?? new Date(), tz, 'dateRange');
      const start = pointToLocal(current.start, tz);
      const endExclusive = pointToLocal(current.end, tz);
      const end = current.endInclusive ? endExclusive : addUnits(endExclusive, 'day', -1);
      if (cmp(start, from) > 0) from = start;
      if (cmp(end, to) < 0) to = end;
    }
    const td: RawTimeDimension = {
      dimension: time.td.dimension,
      granularity: next,
      dateRange: [formatLocalDate(from), formatLocalDate(to)],
    };
    const timeDimensions = (query.timeDimensions ?? []).map((t, i) => (i === time.index ? td : t));
    return withOrder(
      { ...query, timeDimensions },
      `${time.td.dimension}.${g}`,
      `${time.td.dimension}.${next}`,
    );
  }
  const { h, level } = hierarchyOf(model, target.member, target.hierarchy);
  const next = h.levels[level + 1];
  if (next === undefined) {
    throw cubeError('invalid_drill', `'${target.member}' is the finest level of hierarchy '${h.fullName}'`, {
      member: target.member,
    });
  }
  const dims = query.dimensions ?? [];
  if (!dims.includes(target.member)) {
    throw cubeError('invalid_drill', `'${target.member}' is not one of the query's dimensions`, {
      member: target.member,
    });
  }
  const filter: RawFilter =
    target.value === null
      ? { member: target.member, operator: 'notSet' }
      : { member: target.member, operator: 'equals', values: [String(target.value)] };
  return withOrder(
    {
      ...query,
      dimensions: dims.includes(next)
        ? dims.filter((d) => d !== target.member)
        : dims.map((d) => (d === target.member ? next : d)),
      filters: [...(query.filters ?? []), filter],
    },
    target.member,
    next,
  );
}

/** One level coarser: the dimension is replaced by its parent and the filter a drill added on the parent is removed. */
export function rollUp(
  model: Model,
  query: RawQuery,
  member: string,
  options: DrillOptions & { hierarchy?: string } = {},
): RawQuery {
  const time = timeTarget(query, member);
  if (time) {
    const g = time.td.granularity as Granularity;
    const up = COARSER[g];
    if (!up)
      throw cubeError('invalid_drill', `'${member}' is already at ${g}, the coarsest level`, { member });
    const td: RawTimeDimension = { dimension: time.td.dimension, granularity: up };
    const range = time.td.dateRange;
    const parentOfCurrent = COARSER[g] ?? g;
    if (range !== undefined) {
      const tz = query.timezone ?? 'UTC';
      const r = parseDateRange(range, options.now ?? new Date(), tz, 'dateRange');
      const start = pointToLocal(r.start, tz);
      const end = pointToLocal(r.end, tz);
      const isDrillRange =
        !r.endInclusive &&
        sameLocal(startOf(start, parentOfCurrent), start) &&
        sameLocal(addUnits(start, parentOfCurrent, 1), end);
      const grand = COARSER[up];
      if (!isDrillRange) td.dateRange = range;
      else if (grand && up !== 'year') {
        const [from, to] = bucketRange(startOf(start, grand), grand);
        td.dateRange = [formatLocalDate(from), formatLocalDate(to)];
      }
    }
    const timeDimensions = (query.timeDimensions ?? []).map((t, i) => (i === time.index ? td : t));
    return withOrder({ ...query, timeDimensions }, `${time.td.dimension}.${g}`, `${time.td.dimension}.${up}`);
  }
  const { h, level } = hierarchyOf(model, member, options.hierarchy);
  const parent = h.levels[level - 1];
  if (parent === undefined) {
    throw cubeError('invalid_drill', `'${member}' is the coarsest level of hierarchy '${h.fullName}'`, {
      member,
    });
  }
  const filters = (query.filters ?? []).filter(
    (f) =>
      !(
        'operator' in f &&
        (f.member ?? f.dimension) === parent &&
        (f.operator === 'equals' || f.operator === 'notSet')
      ),
  );
  const dims = (query.dimensions ?? []).map((d) => (d === member ? parent : d));
  const next: RawQuery = { ...query, dimensions: [...new Set(dims)] };
  if (filters.length > 0) next.filters = filters;
  else delete next.filters;
  return withOrder(next, member, parent);
}

function cmp(a: LocalDateTime, b: LocalDateTime): number {
  return formatLocalDate(a) < formatLocalDate(b) ? -1 : formatLocalDate(a) > formatLocalDate(b) ? 1 : 0;
}

/** Renames an order key when the member it orders by is replaced. */
function withOrder(query: RawQuery, from: string, to: string): RawQuery {
  const order = query.order;
  if (order === undefined) return query;
  if (Array.isArray(order)) return { ...query, order: order.map(([k, d]) => [k === from ? to : k, d]) };
  // fromEntries defines keys as own properties, so a user key such as __proto__ stays a plain key
  return {
    ...query,
    order: Object.fromEntries(Object.entries(order).map(([k, d]) => [k === from ? to : k, d])),
  };
}
