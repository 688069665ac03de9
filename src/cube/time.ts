/**
 * Calendar arithmetic in an IANA time zone, without a date library: local wall-clock times are
 * plain records, converted to and from UTC instants through Intl. Date ranges of the cube are
 * half-open `[start, end)` in local time, so a day is exactly the day in the query's zone.
 */
import { cubeError } from './errors.ts';

export type Granularity = 'day' | 'week' | 'month' | 'quarter' | 'year';
export const GRANULARITIES: readonly Granularity[] = ['day', 'week', 'month', 'quarter', 'year'];
export type TimeUnit = Granularity | 'hour' | 'minute' | 'second';

/** A wall-clock time (no zone). Months are 1-12. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
}

/** A point in time given either as local wall-clock time or as an absolute instant (epoch ms). */
export type TimePoint =
  | { readonly kind: 'local'; readonly t: LocalDateTime }
  | { readonly kind: 'instant'; readonly ms: number };

/** A half-open range `[start, end)`, or `[start, end]` when `endInclusive`. */
export interface TimeRange {
  readonly start: TimePoint;
  readonly end: TimePoint;
  readonly endInclusive: boolean;
}

const validZones = new Map<string, boolean>();

export function isValidTimeZone(tz: string): boolean {
  let ok = validZones.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = tz.length < 64 && /^[A-Za-z0-9_+\-/]+$/.test(tz);
    } catch {
      ok = false;
    }
    validZones.set(tz, ok);
  }
  return ok;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time of an instant in a zone. */
export function instantToLocal(ms: number, tz: string): LocalDateTime {
  if (tz === 'UTC' || tz === 'Etc/UTC') return fromUtcFields(ms);
  const parts = formatter(tz).formatToParts(new Date(ms));
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of parts) {
    if (p.type === 'year') year = Number(p.value);
    else if (p.type === 'month') month = Number(p.value);
    else if (p.type === 'day') day = Number(p.value);
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
    else if (p.type === 'second') second = Number(p.value);
    else if (p.type === 'era') bc = p.value.startsWith('B');
  }
  if (bc) year = 1 - year;
  return { year, month, day, hour, minute, second, ms: ((ms % 1000) + 1000) % 1000 };
}

function fromUtcFields(ms: number): LocalDateTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
  };
}

/** Epoch ms of a wall-clock time read as UTC (a helper for offsets and arithmetic). */
export function localAsUtc(t: LocalDateTime): number {
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute, t.second, t.ms);
  return d.getTime();
}

/**
 * The instant of a wall-clock time in a zone. In a DST gap (a time that does not exist) the
 * instant after the gap is taken; in an overlap, the earlier one.
 */
export function localToInstant(t: LocalDateTime, tz: string): number {
  const guess = localAsUtc(t);
  if (tz === 'UTC' || tz === 'Etc/UTC') return guess;
  const offsetAt = (ms: number) => localAsUtc(instantToLocal(ms, tz)) - ms;
  const before = guess - offsetAt(guess - 86_400_000);
  const after = guess - offsetAt(guess + 86_400_000);
  const fits = (ms: number) => localAsUtc(instantToLocal(ms, tz)) === guess;
  if (fits(before) && fits(after)) return Math.min(before, after);
  if (fits(after)) return after;
  if (fits(before)) return before;
  return before;
}

export function pointToInstant(p: TimePoint, tz: string): number {
  return p.kind === 'instant' ? p.ms : localToInstant(p.t, tz);
}

export function pointToLocal(p: TimePoint, tz: string): LocalDateTime {
  return p.kind === 'local' ? p.t : instantToLocal(p.ms, tz);
}

const DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * The dates every query may name. DuckDB's DATE and TIMESTAMP reach far wider, but a day-grained
 * range ending 9999-12-31 overflows once a bucket or an exclusive end (the next day) is computed,
 * and the CRM holds no history before 1900; one range for all routes keeps the answer simple.
 */
export const SUPPORTED_DATES = { first: '1900-01-01', last: '2199-12-31' } as const;
const FIRST_YEAR = 1900;
const LAST_YEAR = 2199;

export interface ParsedDate {
  readonly point: TimePoint;
  /** True for 'YYYY-MM-DD' without a time: the value means the whole day. */
  readonly dateOnly: boolean;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses 'YYYY-MM-DD', 'YYYY-MM-DDTHH:mm[:ss[.fff]]' (local time in the query's zone) or the
 * same with 'Z' / '+hh:mm' (an absolute instant). Returns undefined when it is not a real date
 * (2026-02-30 is rejected, not rolled over) or falls outside SUPPORTED_DATES.
 */
export function parseDate(text: string): ParsedDate | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (year < FIRST_YEAR || year > LAST_YEAR) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const t: LocalDateTime = { year, month, day, hour, minute, second, ms };
  const dateOnly = m[4] === undefined;
  const zone = m[8];
  if (zone === undefined) return { point: { kind: 'local', t }, dateOnly };
  let offsetMin = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  return { point: { kind: 'instant', ms: localAsUtc(t) - offsetMin * 60_000 }, dateOnly };
}

/** Adds whole units in local calendar terms (a month after Jan 31 is Feb 28/29). */
export function addUnits(t: LocalDateTime, unit: TimeUnit, n: number): LocalDateTime {
  switch (unit) {
    case 'year':
    case 'quarter':
    case 'month': {
      const months = unit === 'year' ? 12 * n : unit === 'quarter' ? 3 * n : n;
      const total = t.year * 12 + (t.month - 1) + months;
      const year = Math.floor(total / 12);
      const month = total - year * 12 + 1;
      return { ...t, year, month, day: Math.min(t.day, daysInMonth(year, month)) };
    }
    default: {
      const step =
        unit === 'week'
          ? 7 * 86_400_000
          : unit === 'day'
            ? 86_400_000
            : unit === 'hour'
              ? 3_600_000
              : unit === 'minute'
                ? 60_000
                : 1000;
      return fromUtcFields(localAsUtc(t) + step * n);
    }
  }
}

/** The start of the unit containing t: weeks start on Monday (ISO), quarters in Jan/Apr/Jul/Oct. */
export function startOf(t: LocalDateTime, unit: TimeUnit): LocalDateTime {
  const zero = { hour: 0, minute: 0, second: 0, ms: 0 };
  switch (unit) {
    case 'year':
      return { year: t.year, month: 1, day: 1, ...zero };
    case 'quarter':
      return { year: t.year, month: Math.floor((t.month - 1) / 3) * 3 + 1, day: 1, ...zero };
    case 'month':
      return { year: t.year, month: t.month, day: 1, ...zero };
    case 'week': {
      const day = { year: t.year, month: t.month, day: t.day, ...zero };
      const dow = (new Date(localAsUtc(day)).getUTCDay() + 6) % 7;
      return addUnits(day, 'day', -dow);
    }
    case 'day':
      return { year: t.year, month: t.month, day: t.day, ...zero };
    case 'hour':
      return { ...t, minute: 0, second: 0, ms: 0 };
    case 'minute':
      return { ...t, second: 0, ms: 0 };
    case 'second':
      return { ...t, ms: 0 };
  }
}

export function sameLocal(a: LocalDateTime, b: LocalDateTime): boolean {
  return localAsUtc(a) === localAsUtc(b);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** 'YYYY-MM-DDTHH:mm:ss.sss' (Cube's format for time values: local, no zone suffix). */
export function formatLocal(t: LocalDateTime): string {
  const y = t.year < 0 ? `-${pad(-t.year, 6)}` : pad(t.year, 4);
  return `${y}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}.${pad(t.ms, 3)}`;
}

/** 'YYYY-MM-DD' of a local time. */
export function formatLocalDate(t: LocalDateTime): string {
  return formatLocal(t).slice(0, 10);
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

const UNIT_RE = '(day|week|month|quarter|year)s?';

/**
 * Resolves Cube's relative date ranges against `now` in a zone, as half-open local ranges:
 * today, yesterday, tomorrow; this|last|next day|week|month|quarter|year; last|next N units
 * (the N whole units before the current one, or after it, as Cube does); from N units ago to now;
 * from now to N units from now. Returns undefined when the text is none of these.
 */
export function parseRelativeRange(text: string, now: Date, tz: string): TimeRange | undefined {
  const s = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const nowMs = now.getTime();
  const local = instantToLocal(nowMs, tz);
  const today = startOf(local, 'day');
  const range = (a: LocalDateTime, b: LocalDateTime): TimeRange => ({
    start: { kind: 'local', t: a },
    end: { kind: 'local', t: b },
    endInclusive: false,
  });
  if (s === 'today') return range(today, addUnits(today, 'day', 1));
  if (s === 'yesterday') return range(addUnits(today, 'day', -1), today);
  if (s === 'tomorrow') return range(addUnits(today, 'day', 1), addUnits(today, 'day', 2));
  let m = new RegExp(`^(this|last|next) ${UNIT_RE}$`).exec(s);
  if (m) {
    const unit = m[2] as Granularity;
    const shift = m[1] === 'this' ? 0 : m[1] === 'last' ? -1 : 1;
    const start = addUnits(startOf(local, unit), unit, shift);
    return range(start, addUnits(start, unit, 1));
  }
  m = new RegExp(`^(last|next) (\\d{1,4}) ${UNIT_RE}$`).exec(s);
  if (m) {
    const unit = m[3] as Granularity;
    const n = Number(m[2]);
    const current = startOf(local, unit);
    return m[1] === 'last'
      ? range(addUnits(current, unit, -n), current)
      : range(addUnits(current, unit, 1), addUnits(current, unit, n + 1));
  }
  m = new RegExp(`^from (\\d{1,4}) ${UNIT_RE} ago to now$`).exec(s);
  if (m) {
    const start = addUnits(today, m[2] as Granularity, -Number(m[1]));
    return { start: { kind: 'local', t: start }, end: { kind: 'instant', ms: nowMs }, endInclusive: true };
  }
  m = new RegExp(`^from now to (\\d{1,4}) ${UNIT_RE} from now$`).exec(s);
  if (m) {
    const end = addUnits(addUnits(today, 'day', 1), m[2] as Granularity, Number(m[1]));
    return { start: { kind: 'instant', ms: nowMs }, end: { kind: 'local', t: end }, endInclusive: false };
  }
  return undefined;
}

/** The range a date value stands for: a whole day for 'YYYY-MM-DD', the instant itself otherwise. */
export function dayRange(d: ParsedDate): TimeRange {
  if (d.dateOnly && d.point.kind === 'local') {
    return { start: d.point, end: { kind: 'local', t: addUnits(d.point.t, 'day', 1) }, endInclusive: false };
  }
  return { start: d.point, end: d.point, endInclusive: true };
}

/**
 * Parses a date range: a relative phrase, a single date (that day), or [from, to] with both ends
 * included (a date-only `to` includes that whole day).
 */
export function parseDateRange(
  value: string | readonly string[],
  now: Date,
  tz: string,
  where: string,
): TimeRange {
  if (typeof value === 'string') {
    const rel = parseRelativeRange(value, now, tz);
    if (rel) return rel;
    const d = parseDate(value);
    if (d) return dayRange(d);
    throw cubeError(
      'invalid_date_range',
      `${where}: '${value}' is neither a date (YYYY-MM-DD, ${SUPPORTED_DATES.first} to ${SUPPORTED_DATES.last}) nor a relative range such as 'last 12 months', 'this year' or 'last week'`,
      { path: where },
    );
  }
  if (value.length === 1 && value[0] !== undefined) return parseDateRange(value[0], now, tz, where);
  if (value.length !== 2) {
    throw cubeError(
      'invalid_date_range',
      `${where}: a date range is [from, to], got ${value.length} values`,
      {
        path: where,
      },
    );
  }
  const [a, b] = value as readonly [string, string];
  const from = parseDate(a);
  if (!from) throw invalidDate(a, where);
  const to = parseDate(b);
  if (!to) throw invalidDate(b, where);
  const end: TimePoint =
    to.dateOnly && to.point.kind === 'local'
      ? { kind: 'local', t: addUnits(to.point.t, 'day', 1) }
      : to.point;
  const range: TimeRange = { start: from.point, end, endInclusive: !to.dateOnly };
  if (pointToInstant(range.end, tz) < pointToInstant(range.start, tz)) {
    throw cubeError('invalid_date_range', `${where}: the range ends (${b}) before it starts (${a})`, {
      path: where,
    });
  }
  return range;
}

export function invalidDate(value: string, where: string) {
  return cubeError(
    'invalid_date',
    `${where}: '${value}' is not a valid date; use YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss (optionally with Z or an offset) between ${SUPPORTED_DATES.first} and ${SUPPORTED_DATES.last}`,
    { path: where },
  );
}

/** Human form of a range, e.g. for compareDateRange labels: '2024-01-01 - 2024-01-31'. */
export function describeRange(r: TimeRange, tz: string): string {
  const start = pointToLocal(r.start, tz);
  const endLocal = pointToLocal(r.end, tz);
  const startText = formatLocalDate(start);
  const lastDay =
    !r.endInclusive && sameLocal(endLocal, startOf(endLocal, 'day'))
      ? formatLocalDate(addUnits(endLocal, 'day', -1))
      : formatLocal(endLocal).slice(0, 19);
  return `${startText} - ${lastDay}`;
}
