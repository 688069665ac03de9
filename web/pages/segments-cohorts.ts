/**
 * Segmentation page: cohort retention. A cell whose calendar month the data cover only in part
 * (Online Retail's December 2011 ends on the 9th) is outlined and labelled, so its low share does
 * not read as customers leaving.
 */
import { heatmap } from '../charts/heatmap.ts';
import { formatDate, formatPercent } from '../format.ts';
import { type Coverage, partialMonths } from '../periods.ts';
import { chartBox, emptyState } from '../ui.ts';
import type { Data } from './segments-panel.ts';

/** The calendar month (YYYY-MM) of a cohort cell: the cohort's month plus the months since. */
export function cellMonth(cohort: string, monthsSince: number): string {
  const y = Number(cohort.slice(0, 4));
  const m = Number(cohort.slice(5, 7)) - 1 + monthsSince;
  const year = y + Math.floor(m / 12);
  return `${year}-${String((m % 12) + 1).padStart(2, '0')}`;
}

export async function fillCohorts(
  body: HTMLElement,
  data: Data,
  coverage: Promise<Coverage | null> = Promise.resolve(null),
): Promise<void> {
  const [{ cells }, cover] = await Promise.all([data.cohorts(12), coverage.catch(() => null)]);
  if (cells.length === 0) {
    body.replaceChildren(emptyState());
    return;
  }
  const partial = new Set<string>();
  if (cover) {
    const months = cells.map((c) => cellMonth(c.cohort, c.months_since));
    partialMonths(months, cover).forEach((p, i) => {
      if (p) partial.add(months[i] as string);
    });
  }
  const svg = heatmap(cells, {
    document,
    x: 'months_since',
    y: 'cohort',
    value: 'retention',
    xLabel: 'Months since first purchase',
    yLabel: 'Cohort',
    format: (n) => formatPercent(n, 0),
    partial: (c) => partial.has(cellMonth(c.cohort, c.months_since)),
  });
  const note =
    partial.size > 0 && cover
      ? ` Dashed cells: months the data cover in part (data from ${formatDate(cover.start)} to ${formatDate(cover.end)}).`
      : '';
  body.replaceChildren(
    chartBox('cohorts', svg, `Share of each month’s new customers who bought again n months later.${note}`),
  );
}
