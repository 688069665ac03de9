/**
 * The days the data cover: the first and the last day with an order line (`sales.ordered_at` by
 * day, through the cube like every figure). Periods, comparisons and partial buckets are judged
 * against it (periods.ts). Not narrowed by the page's filters: a region with no sale on the last
 * day still has data up to it.
 */
import type { ApiClient } from '../api.ts';
import type { Coverage } from '../periods.ts';

const DAY = 'sales.ordered_at.day';

/** `{ start: '2010-12-01', end: '2011-12-09' }` for Online Retail; null without any order. */
export async function dataCoverage(api: ApiClient, signal?: AbortSignal): Promise<Coverage | null> {
  const edge = (order: 'asc' | 'desc') =>
    api.load(
      {
        measures: ['sales.line_count'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
        order: { 'sales.ordered_at': order },
        limit: 1,
      },
      signal,
    );
  const [first, last] = await Promise.all([edge('asc'), edge('desc')]);
  const start = first[0]?.[DAY];
  const end = last[0]?.[DAY];
  if (start === null || start === undefined || end === null || end === undefined) return null;
  return { start: String(start).slice(0, 10), end: String(end).slice(0, 10) };
}
