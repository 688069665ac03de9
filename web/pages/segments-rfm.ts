/** Segmentation page: the RFM grid (click a cell for its customers) and the segment cards. */
import { rfmGrid } from '../charts/rfm-grid.ts';
import type { PageContext } from '../context.ts';
import {
  formatCompactCurrency,
  formatCurrency,
  formatInteger,
  formatNumber,
  formatPercent,
} from '../format.ts';
import { chartBox, emptyState, errorState, h, link, loadingState, sortableTable } from '../ui.ts';
import type { GridCell, SegmentCard } from './segments-data.ts';
import type { Data } from './segments-panel.ts';

export async function fillGrid(body: HTMLElement, ctx: PageContext, data: Data): Promise<void> {
  const r = await data.grid();
  if (r.cells.length === 0) {
    body.replaceChildren(emptyState('No scored customers for these filters.'));
    return;
  }
  let by: 'customers' | 'value' = ctx.query.get('by') === 'value' ? 'value' : 'customers';
  let selected: GridCell | null = null;
  const chartSlot = h('div');
  const list = h('div', { id: 'rfm-cell-customers', 'aria-live': 'polite' });
  const buttons = (['customers', 'value'] as const).map((k) => {
    const b = h(
      'button',
      { type: 'button', 'data-by': k, 'aria-pressed': String(k === by) },
      k === 'customers' ? 'Customers' : 'Value',
    );
    b.addEventListener('click', () => {
      by = k;
      ctx.setQuery({ by: k === 'value' ? 'value' : null });
      for (const x of buttons) x.setAttribute('aria-pressed', String(x === b));
      draw();
    });
    return b;
  });
  const draw = () => {
    const svg = rfmGrid(r.cells, {
      document,
      by,
      format: by === 'value' ? formatCompactCurrency : formatInteger,
      selected: selected ? { r: selected.r_score, f: selected.f_score } : null,
      onSelect: (cell) => {
        selected = cell;
        draw();
        void showCell(cell);
      },
    });
    chartSlot.replaceChildren(
      chartBox(
        'rfm-grid',
        svg,
        'Rows: recency score (5 = most recent). Columns: frequency score. Select a cell to list its customers.',
      ),
    );
  };
  const showCell = async (cell: GridCell) => {
    list.replaceChildren(loadingState());
    try {
      const c = await data.cell(cell.r_score, cell.f_score);
      list.replaceChildren(
        h(
          'h3',
          {},
          `Recency ${cell.r_score} × frequency ${cell.f_score}: ${formatInteger(c.total)} customers${c.total > c.customers.length ? ` (top ${c.customers.length} by value)` : ''}`,
        ),
        sortableTable(
          c.customers,
          [
            {
              key: 'customer_id',
              label: 'Customer',
              value: (x) => x.customer_id,
              render: (x) => link(`/customers/${encodeURIComponent(x.customer_id)}`, x.name ?? x.customer_id),
            },
            { key: 'region', label: 'Region', value: (x) => x.region },
            { key: 'segment', label: 'Segment', value: (x) => x.rfm_segment },
            { key: 'recency', label: 'Days since last order', value: (x) => x.recency_days, numeric: true },
            { key: 'frequency', label: 'Orders', value: (x) => x.frequency, numeric: true },
            {
              key: 'monetary',
              label: 'Value',
              value: (x) => x.monetary_total,
              render: (x) => formatCurrency(x.monetary_total),
              numeric: true,
            },
          ],
          { id: 'rfm-cell-table' },
        ),
      );
    } catch (e) {
      list.replaceChildren(errorState(e));
    }
  };
  body.replaceChildren(
    h(
      'div',
      { class: 'controls' },
      h('span', { id: 'rfm-by-label' }, 'Colour by'),
      h('div', { class: 'toggle', role: 'group', 'aria-labelledby': 'rfm-by-label' }, ...buttons),
    ),
    chartSlot,
    list,
  );
  draw();
}

export function fillCards(
  body: HTMLElement,
  segments: readonly SegmentCard[],
  chosen: () => string | null,
  choose: (name: string | null) => void,
  listeners: ((name: string | null) => void)[],
): void {
  if (segments.length === 0) {
    body.replaceChildren(emptyState('No scored customers for these filters.'));
    return;
  }
  const cards = segments.map((s) => {
    const b = h(
      'button',
      {
        type: 'button',
        class: 'seg-card',
        'data-segment': s.segment,
        'data-customers': s.customers,
        'aria-pressed': String(chosen() === s.segment),
      },
      h('h3', {}, s.segment),
      h(
        'dl',
        {},
        h('dt', {}, 'Customers'),
        h('dd', { 'data-field': 'customers' }, formatInteger(s.customers)),
        h('dt', {}, 'Share'),
        h('dd', {}, formatPercent(s.customer_share)),
        h('dt', {}, 'Revenue share'),
        h('dd', { 'data-field': 'value_share', 'data-value': s.value_share }, formatPercent(s.value_share)),
        h('dt', {}, 'Mean R · F · M'),
        h(
          'dd',
          {},
          `${formatNumber(s.mean_r, 1)} · ${formatNumber(s.mean_f, 1)} · ${formatNumber(s.mean_m, 1)}`,
        ),
      ),
    );
    b.addEventListener('click', () => choose(chosen() === s.segment ? null : s.segment));
    return b;
  });
  listeners.push((name) => {
    for (const c of cards) c.setAttribute('aria-pressed', String(c.dataset.segment === name));
  });
  body.replaceChildren(
    h(
      'p',
      { class: 'page-meta' },
      'RFM segments are rules on the recency and frequency scores (model/rfm-segments.yml): ' +
        '“At Risk” here is an RFM rule, not the churn model’s at-risk count on the Churn page. ' +
        'Select a segment to export its audience.',
    ),
    h('div', { class: 'seg-cards' }, ...cards),
  );
}
