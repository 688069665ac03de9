import { describe, expect, it } from 'vitest';
import {
  addUnits,
  formatInstant,
  formatLocal,
  localToInstant,
  parseDate,
  parseDateRange,
  parseRelativeRange,
  pointToInstant,
  startOf,
  type TimeRange,
} from './time.ts';

const local = (text: string) => {
  const d = parseDate(text);
  if (d?.point.kind !== 'local') throw new Error(text);
  return d.point.t;
};
const span = (r: TimeRange | undefined, tz = 'UTC') =>
  r && [formatInstant(pointToInstant(r.start, tz)), formatInstant(pointToInstant(r.end, tz)), r.endInclusive];

describe('dates', () => {
  it('rejects impossible dates instead of rolling them over', () => {
    expect(parseDate('2026-02-30')).toBeUndefined();
    expect(parseDate('2024-02-29')).toBeDefined();
    expect(parseDate('2023-02-29')).toBeUndefined();
    expect(parseDate('2024-13-01')).toBeUndefined();
    expect(parseDate('2024-01-01T24:00')).toBeUndefined();
    expect(parseDate('yesterday')).toBeUndefined();
  });

  it('reads local times, and instants with Z or an offset', () => {
    expect(parseDate('2024-03-05')).toMatchObject({ dateOnly: true, point: { kind: 'local' } });
    expect(parseDate('2024-03-05T10:30:15.250')?.point).toEqual({
      kind: 'local',
      t: { year: 2024, month: 3, day: 5, hour: 10, minute: 30, second: 15, ms: 250 },
    });
    const z = parseDate('2024-03-05T10:30:00+02:00');
    expect(z?.point.kind === 'instant' && formatInstant(z.point.ms)).toBe('2024-03-05T08:30:00.000Z');
  });

  it('converts wall-clock time to instants across DST changes', () => {
    expect(formatInstant(localToInstant(local('2024-01-01'), 'Europe/Berlin'))).toBe(
      '2023-12-31T23:00:00.000Z',
    );
    expect(formatInstant(localToInstant(local('2024-07-01'), 'Europe/Berlin'))).toBe(
      '2024-06-30T22:00:00.000Z',
    );
    // 02:30 does not exist on 2024-03-31 in Berlin: the instant after the gap
    expect(formatInstant(localToInstant(local('2024-03-31T02:30'), 'Europe/Berlin'))).toBe(
      '2024-03-31T01:30:00.000Z',
    );
    // 02:30 happens twice on 2024-10-27: the earlier one
    expect(formatInstant(localToInstant(local('2024-10-27T02:30'), 'Europe/Berlin'))).toBe(
      '2024-10-27T00:30:00.000Z',
    );
    expect(formatInstant(localToInstant(local('2024-03-10T12:00'), 'America/New_York'))).toBe(
      '2024-03-10T16:00:00.000Z',
    );
  });

  it('calendar arithmetic clamps month ends and weeks start on Monday', () => {
    expect(formatLocal(addUnits(local('2024-01-31'), 'month', 1))).toBe('2024-02-29T00:00:00.000');
    expect(formatLocal(addUnits(local('2024-03-31'), 'quarter', -1))).toBe('2023-12-31T00:00:00.000');
    expect(formatLocal(startOf(local('2024-06-30T22:00'), 'week'))).toBe('2024-06-24T00:00:00.000');
    expect(formatLocal(startOf(local('2024-08-15'), 'quarter'))).toBe('2024-07-01T00:00:00.000');
  });
});

describe('relative ranges (Cube semantics, now = Wednesday 2024-07-10 12:00 UTC)', () => {
  const now = new Date('2024-07-10T12:00:00Z');
  const cases: [string, string, string][] = [
    ['today', '2024-07-10T00:00:00.000Z', '2024-07-11T00:00:00.000Z'],
    ['yesterday', '2024-07-09T00:00:00.000Z', '2024-07-10T00:00:00.000Z'],
    ['this week', '2024-07-08T00:00:00.000Z', '2024-07-15T00:00:00.000Z'],
    ['last week', '2024-07-01T00:00:00.000Z', '2024-07-08T00:00:00.000Z'],
    ['this month', '2024-07-01T00:00:00.000Z', '2024-08-01T00:00:00.000Z'],
    ['last quarter', '2024-04-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['this year', '2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    ['last year', '2023-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
    ['last 7 days', '2024-07-03T00:00:00.000Z', '2024-07-10T00:00:00.000Z'],
    ['last 12 months', '2023-07-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['Last  3  Months', '2024-04-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    ['next month', '2024-08-01T00:00:00.000Z', '2024-09-01T00:00:00.000Z'],
    ['next 2 weeks', '2024-07-15T00:00:00.000Z', '2024-07-29T00:00:00.000Z'],
  ];
  for (const [text, start, end] of cases) {
    it(`'${text}' is [${start.slice(0, 10)}, ${end.slice(0, 10)})`, () => {
      expect(span(parseRelativeRange(text, now, 'UTC'))).toEqual([start, end, false]);
    });
  }

  it('is computed in the query zone', () => {
    // 2024-07-10 12:00 UTC is still July 10 in Los Angeles; its day starts at 07:00 UTC
    expect(span(parseRelativeRange('today', now, 'America/Los_Angeles'), 'America/Los_Angeles')).toEqual([
      '2024-07-10T07:00:00.000Z',
      '2024-07-11T07:00:00.000Z',
      false,
    ]);
    expect(span(parseRelativeRange('from 7 days ago to now', now, 'UTC'))).toEqual([
      '2024-07-03T00:00:00.000Z',
      '2024-07-10T12:00:00.000Z',
      true,
    ]);
  });

  it('an absolute range includes the whole last day; a single date is that day', () => {
    expect(span(parseDateRange(['2024-01-01', '2024-01-31'], now, 'UTC', 'x'))).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-02-01T00:00:00.000Z',
      false,
    ]);
    expect(span(parseDateRange(['2024-01-01', '2024-01-31T12:00'], now, 'UTC', 'x'))).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-31T12:00:00.000Z',
      true,
    ]);
    expect(span(parseDateRange('2024-02-29', now, 'UTC', 'x'))).toEqual([
      '2024-02-29T00:00:00.000Z',
      '2024-03-01T00:00:00.000Z',
      false,
    ]);
  });
});
