/**
 * Segmentation (`/segments`): the RFM grid (click a cell for its customers), segment cards, audience
 * export of the chosen segment with the page's filters, cluster profiles, segment migration between
 * two mining runs and cohort retention. The region filter applies to every panel, the date range to
 * the cohorts; `?by=value` colours the grid by value and `?audience=NAME` preselects the export.
 */
import { ApiError } from '../api.ts';
import { heatmap } from '../charts/heatmap.ts';
import { rfmGrid } from '../charts/rfm-grid.ts';
import { transitionMatrix } from '../charts/transition.ts';
import type { PageContext } from '../context.ts';
import {
  formatCompactCurrency,
  formatCurrency,
  formatInteger,
  formatNumber,
  formatPercent,
} from '../format.ts';
import { chartBox, emptyState, errorState, h, link, loadingState, section, sortableTable } from '../ui.ts';
import { ensureStyles } from './explore-style.ts';
import { audiencePath, type GridCell, type SegmentCard, segmentationApi } from './segments-data.ts';

const NO_RUN = 'No mining run has scored customers yet: run crm-bi mine, then reload.';

/** Shows an empty state instead of an error when the API says there is no mining run yet. */
function noRun(body: HTMLElement, e: unknown): void {
  if (e instanceof ApiError && e.status === 404) body.replaceChildren(emptyState(NO_RUN));
  else throw e;
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  ensureStyles();
  const data = segmentationApi(ctx.api, ctx.filters, ctx.signal);
  const regionNote = ctx.filters.region.length > 0 ? `Regions: ${ctx.filters.region.join(', ')}. ` : '';
  const meta = h('p', { class: 'page-meta' }, `${regionNote}Scores of the latest mining run.`);
  root.append(h('h1', {}, 'Segmentation'), meta);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  // the segment chosen for export, shared by the cards and the export panel
  let chosen: string | null = ctx.query.get('audience') ?? ctx.filters.segment[0] ?? null;
  const listeners: ((name: string | null) => void)[] = [];
  const choose = (name: string | null) => {
    chosen = name;
    ctx.setQuery({ audience: name });
    for (const l of listeners) l(name);
  };

  await Promise.all([
    section(grid, 'RFM grid', (body) => fillGrid(body, ctx, data).catch((e) => noRun(body, e)), {
      id: 'rfm',
    }),
    section(
      grid,
      'Segments',
      async (body) => {
        try {
          const r = await data.segments();
          meta.textContent = `${regionNote}Scores of mining run ${r.run_id} (as of ${r.as_of}).`;
          fillCards(body, r.segments, () => chosen, choose, listeners);
        } catch (e) {
          noRun(body, e);
        }
      },
      { id: 'segments' },
    ),
    section(grid, 'Audience export', (body) => fillExport(body, ctx, data, () => chosen, choose, listeners), {
      id: 'audience',
    }),
    section(grid, 'Cluster profiles', (body) => fillClusters(body, data).catch((e) => noRun(body, e)), {
      id: 'clusters',
      wide: true,
    }),
    section(grid, 'Segment migration', (body) => fillMigration(body, ctx, data), {
      id: 'migration',
      wide: true,
    }),
    section(grid, 'Cohort retention', (body) => fillCohorts(body, data), { id: 'cohorts', wide: true }),
  ]);
}

type Data = ReturnType<typeof segmentationApi>;

async function fillGrid(body: HTMLElement, ctx: PageContext, data: Data): Promise<void> {
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

function fillCards(
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
    h('p', { class: 'page-meta' }, 'Select a segment to export its audience.'),
    h('div', { class: 'seg-cards' }, ...cards),
  );
}

async function fillExport(
  body: HTMLElement,
  ctx: PageContext,
  data: Data,
  chosen: () => string | null,
  choose: (name: string | null) => void,
  listeners: ((name: string | null) => void)[],
): Promise<void> {
  const [list, channels] = await Promise.all([
    data.exportable(),
    ctx.api.load(
      {
        dimensions: ['customers.channel'],
        measures: ['customers.count'],
        order: { 'customers.channel': 'asc' },
      },
      ctx.signal,
    ),
  ]);
  if (list.segments.length === 0) {
    body.replaceChildren(emptyState(NO_RUN));
    return;
  }
  const select = h('select', { id: 'audience-segment' }, h('option', { value: '' }, 'Choose a segment…'));
  for (const kind of ['rfm_segment', 'cluster'] as const) {
    const items = list.segments.filter((s) => s.kind === kind);
    if (items.length === 0) continue;
    const group = h('optgroup', { label: kind === 'cluster' ? 'Clusters' : 'RFM segments' });
    for (const s of items)
      group.append(h('option', { value: s.name }, `${s.name} (${formatInteger(s.customers)})`));
    select.append(group);
  }
  select.value = chosen() ?? '';
  const channel = h('select', { id: 'audience-channel' }, h('option', { value: '' }, 'All channels'));
  for (const c of channels) {
    const v = c['customers.channel'];
    if (v !== null && v !== undefined) channel.append(h('option', { value: String(v) }, String(v)));
  }
  const button = h('button', { type: 'button', id: 'audience-export' }, 'Export audience CSV');
  const status = h('p', { class: 'sql-status', id: 'audience-status', 'aria-live': 'polite' });
  const sync = () => {
    button.disabled = select.value === '';
  };
  select.addEventListener('change', () => choose(select.value === '' ? null : select.value));
  listeners.push((name) => {
    select.value = name ?? '';
    sync();
  });
  button.addEventListener('click', async () => {
    const name = select.value;
    if (!name) return;
    const file = `${name.replaceAll(/[^\w.-]+/g, '_')}.csv`;
    status.textContent = 'Exporting…';
    try {
      await ctx.api.download(audiencePath(name, ctx.filters, channel.value || null), file);
      status.textContent = `Saved ${file}.`;
    } catch (e) {
      status.replaceChildren(errorState(e));
    }
  });
  sync();
  const scope = ctx.filters.region.length > 0 ? ` in ${ctx.filters.region.join(', ')}` : '';
  body.replaceChildren(
    h(
      'p',
      { class: 'page-meta' },
      `Customers of the chosen segment${scope}, as CSV for a campaign tool (marketing role).`,
    ),
    h(
      'div',
      { class: 'controls' },
      h('label', {}, 'Segment', select),
      h('label', {}, 'Channel', channel),
      button,
    ),
    status,
  );
}

async function fillClusters(body: HTMLElement, data: Data): Promise<void> {
  const r = await data.clusters();
  if (r.clusters.length === 0) {
    body.replaceChildren(emptyState(`Mining run ${r.run_id} has no clusters for these filters.`));
    return;
  }
  body.replaceChildren(
    sortableTable(
      r.clusters,
      [
        { key: 'name', label: 'Cluster', value: (c) => c.cluster_name },
        {
          key: 'customers',
          label: 'Customers',
          value: (c) => c.customers,
          render: (c) => formatInteger(c.customers),
          numeric: true,
        },
        {
          key: 'share',
          label: 'Share',
          value: (c) => c.customer_share,
          render: (c) => formatPercent(c.customer_share),
          numeric: true,
        },
        {
          key: 'value_share',
          label: 'Revenue share',
          value: (c) => c.value_share,
          render: (c) => formatPercent(c.value_share),
          numeric: true,
        },
        {
          key: 'recency',
          label: 'Mean days since last order',
          value: (c) => c.mean_recency_days,
          render: (c) => formatNumber(c.mean_recency_days, 0),
          numeric: true,
        },
        {
          key: 'frequency',
          label: 'Mean orders',
          value: (c) => c.mean_frequency,
          render: (c) => formatNumber(c.mean_frequency, 1),
          numeric: true,
        },
        {
          key: 'monetary',
          label: 'Mean value',
          value: (c) => c.mean_monetary,
          render: (c) => formatCurrency(c.mean_monetary),
          numeric: true,
        },
        {
          key: 'rfm',
          label: 'Mean R · F · M',
          value: (c) => c.mean_r,
          render: (c) =>
            `${formatNumber(c.mean_r, 1)} · ${formatNumber(c.mean_f, 1)} · ${formatNumber(c.mean_m, 1)}`,
        },
      ],
      { id: 'cluster-table', caption: `Clusters of mining run ${r.run_id} (as of ${r.as_of})` },
    ),
  );
}

async function fillMigration(body: HTMLElement, ctx: PageContext, data: Data): Promise<void> {
  const { runs } = await data.runs();
  if (runs.length < 2) {
    body.replaceChildren(
      emptyState('Segment migration needs two mining runs (run crm-bi mine again later).'),
    );
    return;
  }
  const option = (r: (typeof runs)[number]) =>
    h('option', { value: r.run_id }, `Run ${r.run_id} (as of ${r.as_of})`);
  const from = h('select', { id: 'migration-from' }, ...runs.map(option));
  const to = h('select', { id: 'migration-to' }, ...runs.map(option));
  const by = h(
    'select',
    { id: 'migration-by' },
    h('option', { value: 'rfm_segment' }, 'RFM segment'),
    h('option', { value: 'cluster_name' }, 'Cluster'),
  );
  const pick = (key: string, fallback: number) => {
    const v = Number(ctx.query.get(key));
    return runs.some((r) => r.run_id === v) ? v : fallback;
  };
  from.value = String(pick('from_run', (runs[1] as (typeof runs)[number]).run_id));
  to.value = String(pick('to_run', (runs[0] as (typeof runs)[number]).run_id));
  by.value = ctx.query.get('migration_by') === 'cluster_name' ? 'cluster_name' : 'rfm_segment';
  const out = h('div', { 'aria-live': 'polite' });
  const draw = async () => {
    ctx.setQuery({
      from_run: from.value,
      to_run: to.value,
      migration_by: by.value === 'rfm_segment' ? null : by.value,
    });
    out.replaceChildren(loadingState());
    try {
      const m = await data.migration(Number(from.value), Number(to.value), by.value);
      if (m.cells.length === 0) {
        out.replaceChildren(emptyState('No scored customers in these runs for these filters.'));
        return;
      }
      const total = m.cells.reduce((s, c) => s + c.customers, 0);
      const moved = m.cells.filter((c) => c.from !== c.to).reduce((s, c) => s + c.customers, 0);
      out.replaceChildren(
        h(
          'p',
          { class: 'page-meta', id: 'migration-summary', 'data-moved': moved, 'data-total': total },
          `${formatInteger(moved)} of ${formatInteger(total)} customers (${formatPercent(moved / total)}) changed ${by.value === 'rfm_segment' ? 'segment' : 'cluster'}.`,
        ),
        chartBox(
          'transition',
          transitionMatrix(m, {
            document,
            fromTitle: `Run ${m.from_run} (${m.from_as_of})`,
            toTitle: `Run ${m.to_run} (${m.to_as_of})`,
          }),
        ),
      );
    } catch (e) {
      out.replaceChildren(errorState(e));
    }
  };
  for (const s of [from, to, by]) s.addEventListener('change', () => void draw());
  body.replaceChildren(
    h(
      'div',
      { class: 'controls' },
      h('label', {}, 'From', from),
      h('label', {}, 'To', to),
      h('label', {}, 'By', by),
    ),
    out,
  );
  await draw();
}

async function fillCohorts(body: HTMLElement, data: Data): Promise<void> {
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
