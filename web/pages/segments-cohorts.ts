/** Segmentation page: cohort retention. */
import { heatmap } from '../charts/heatmap.ts';
import { formatPercent } from '../format.ts';
import { chartBox, emptyState } from '../ui.ts';
import type { Data } from './segments-panel.ts';

export async function fillCohorts(body: HTMLElement, data: Data): Promise<void> {
  const { cells } = await data.cohorts(12);
  if (cells.length === 0) {
    body.replaceChildren(emptyState());
    return;
  }
  const svg = heatmap(cells, {
    document,
    x: 'months_since',
    y: 'cohort',
    value: 'retention',
    xLabel: 'Months since first purchase',
    yLabel: 'Cohort',
    format: (n) => formatPercent(n, 0),
  });
  body.replaceChildren(
    chartBox('cohorts', svg, 'Share of each month’s new customers who bought again n months later.'),
  );
}
