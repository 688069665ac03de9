/**
 * Calendar periods of the dashboards: the presets (this/last month, quarter, year, year to date),
 * the period a page shows when no dates are set (the last complete quarter in the data), the
 * previous period a figure is compared with, and whether the data fully cover a period. Pure date
 * arithmetic on YYYY-MM-DD strings in UTC, shared by the pages and the insights routes.
 *
 * @example
 * presetPeriod('last_quarter', { start: '2010-12-01', end: '2011-12-09' })
 * // → { from: '2011-07-01', to: '2011-09-30' }
 * previousPeriodOf({ from: '2011-07-01', to: '2011-09-30' }) // → { from: '2011-04-01', to: '2011-06-30' }
 */

/** A period of whole days, both ends included (YYYY-MM-DD). */
export interface Period {
  readonly from: string;
  readonly to: string;
}

/** The first and the last day with an order in the data. */
export interface Coverage {
  readonly start: string;
  readonly end: string;
}

export const PRESET_IDS = [
  'this_month',
  'last_month',
  'this_quarter',
  'last_quarter',
  'this_year',
  'last_year',
  'ytd',
] as const;
export type PresetId = (typeof PRESET_IDS)[number];

export const PRESET_LABELS: Readonly<Record<PresetId | 'custom', string>> = {
  this_month: 'This month',
  last_month: 'Last month',
  this_quarter: 'This quarter',
  last_quarter: 'Last quarter',
  this_year: 'This year',
  last_year: 'Last year',
  ytd: 'Year to date',
  custom: 'Custom',
};

const DAY = 86_400_000;
const ms = (d: string) => Date.parse(`${d}T00:00:00Z`);
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
const ymd = (d: string) =>
  [Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))] as const;
/** The day `day` of month `m` (0-based, may overflow into other years) of year `y`, clamped to the month's end. */
function dayOf(y: number, m: number, day: number): string {
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return iso(Date.UTC(y, m, Math.min(day, last)));
}
const monthStart = (y: number, m: number) => dayOf(y, m, 1);
const monthEnd = (y: number, m: number) => dayOf(y, m, 31);

/** Days in a period, both ends included. */
export function daysIn(p: Period): number {
  return Math.round((ms(p.to) - ms(p.from)) / DAY) + 1;
}

/** True when `p` is whole calendar months: from the 1st of a month to the last day of a month. */
function wholeMonths(p: Period): number | null {
  const [fy, fm, fd] = ymd(p.from);
  const [ty, tm] = ymd(p.to);
  if (fd !== 1 || p.to !== monthEnd(ty, tm)) return null;
  return (ty - fy) * 12 + (tm - fm) + 1;
}

/**
 * The period a figure is compared with. Whole calendar months go back by as many months (a quarter
 * → the quarter before, 2024 → 2023); a period starting on the 1st of a month and ending mid-month
 * (month, quarter or year to date) → the same days one span of months earlier (2011-01-01..2011-12-09
 * → 2010-01-01..2010-12-09); any other range → the same number of days just before it.
 */
export function previousPeriodOf(p: Period): Period {
  const whole = wholeMonths(p);
  const [fy, fm, fd] = ymd(p.from);
  const [ty, tm, td] = ymd(p.to);
  if (whole !== null) return { from: monthStart(fy, fm - whole), to: monthEnd(ty, tm - whole) };
  if (fd === 1) {
    const span = (ty - fy) * 12 + (tm - fm) + 1;
    return { from: monthStart(fy, fm - span), to: dayOf(ty, tm - span, td) };
  }
  const days = daysIn(p);
  return { from: iso(ms(p.from) - days * DAY), to: iso(ms(p.from) - DAY) };
}

/** The calendar month, quarter or year containing `day`. */
function unitOf(day: string, unit: 'month' | 'quarter' | 'year'): Period {
  const [y, m] = ymd(day);
  if (unit === 'month') return { from: monthStart(y, m), to: monthEnd(y, m) };
  if (unit === 'quarter') {
    const q = m - (m % 3);
    return { from: monthStart(y, q), to: monthEnd(y, q + 2) };
  }
  return { from: monthStart(y, 0), to: monthEnd(y, 11) };
}

/**
 * A preset's period relative to the data's last day (the data are history, so "this" month is the
 * one holding the last order, not today's). "This" month, quarter and year are whole calendar
 * units (partial when the data end inside them); year to date runs from 1 January to the last day.
 */
export function presetPeriod(id: PresetId, coverage: Coverage): Period {
  const end = coverage.end;
  switch (id) {
    case 'this_month':
      return unitOf(end, 'month');
    case 'this_quarter':
      return unitOf(end, 'quarter');
    case 'this_year':
      return unitOf(end, 'year');
    case 'last_month':
      return previousPeriodOf(unitOf(end, 'month'));
    case 'last_quarter':
      return previousPeriodOf(unitOf(end, 'quarter'));
    case 'last_year':
      return previousPeriodOf(unitOf(end, 'year'));
    case 'ytd':
      return { from: unitOf(end, 'year').from, to: end };
  }
}

/** The preset giving exactly `p` for this coverage, or 'custom'. */
export function presetOf(p: Period, coverage: Coverage): PresetId | 'custom' {
  for (const id of PRESET_IDS) {
    const q = presetPeriod(id, coverage);
    if (q.from === p.from && q.to === p.to) return id;
  }
  return 'custom';
}

/** True when the data cover every day of `p` (it starts on or after the first day with an order and ends by the last). */
export function isCovered(p: Period, coverage: Coverage): boolean {
  return p.from >= coverage.start && p.to <= coverage.end;
}

/**
 * The period shown when no dates are set: the last calendar quarter the data fully cover, else the
 * last such month, else the whole data range.
 */
export function defaultPeriod(coverage: Coverage): Period {
  for (const unit of ['quarter', 'month'] as const) {
    let p = unitOf(coverage.end, unit);
    if (p.to > coverage.end) p = previousPeriodOf(p);
    if (isCovered(p, coverage)) return p;
  }
  return { from: coverage.start, to: coverage.end };
}

/** Why a comparison is not made: the edge of the data that cuts a period, and its day. */
export interface ComparisonGap {
  readonly edge: 'data start' | 'data end';
  readonly day: string;
}

/**
 * Why a period cannot be compared with its previous one, or null when the data fully cover both:
 * the data end when the period runs past them, the data start when the previous period begins
 * before them (Online Retail's 2011 against a 2010 that holds December only).
 */
export function comparisonGap(p: Period, coverage: Coverage): ComparisonGap | null {
  if (p.to > coverage.end) return { edge: 'data end', day: coverage.end };
  const prev = previousPeriodOf(p);
  if (prev.from < coverage.start) return { edge: 'data start', day: coverage.start };
  return null;
}

/**
 * For each month (YYYY-MM) of a monthly series, whether the data cover only part of it: the month of
 * the first order when it does not start on the 1st, the month of the last order when it ends early.
 */
export function partialMonths(months: readonly string[], coverage: Coverage): boolean[] {
  return months.map((m) => {
    const [y, mo] = ymd(`${m.slice(0, 7)}-01`);
    return monthStart(y, mo) < coverage.start || monthEnd(y, mo) > coverage.end;
  });
}
