/**
 * Customer lifetime value: KPIs, CLV distribution, CLV by acquisition channel, signup cohort and
 * region (a region bar filters the page), the Pareto curve, the model's holdout report card
 * (tracking curve, MAE, bias), the P(alive) frequency × recency matrix and a customer table linked
 * to the customer 360.
 */
import type { Row } from '../api.ts';
import { barChart } from '../charts/bar.ts';
import { valueMatrix } from '../charts/frequency-recency.ts';
import { type Bin, histogramOfBins } from '../charts/histogram.ts';
import { lineChart } from '../charts/line.ts';
import type { PageContext } from '../context.ts';
import { cubeFilters } from '../filters.ts';
import {
  formatCompactCurrency,
  formatCurrency,
  formatDate,
  formatInteger,
  formatNumber,
  formatPercent,
} from '../format.ts';
import {
  chartBox,
  emptyState,
  errorState,
  h,
  isAbort,
  kpiCard,
  link,
  section,
  sortableTable,
} from '../ui.ts';
import { breakdownBars, whyEmpty } from './breakdown.ts';
import { insightsPath, withoutDates } from './insights-query.ts';
import { runNote } from './run-note.ts';

interface Distribution {
  customers: number;
  above_range: number;
  bins: Bin[];
}
interface Pareto {
  customers: number;
  top_20_percent_share: number | null;
  points: { customer_share: number; value_share: number }[];
}
interface ReportCard {
  available: boolean;
  reason?: string;
  calibration_end?: string;
  as_of?: string;
  customers?: number;
  predicted_total?: number;
  actual_total?: number;
  mae?: number;
  rmse?: number;
  bias?: number;
  holdout_periods?: number;
  tracking?: {
    period: string;
    calibration_periods: number;
    points: { period: number; expected: number; actual: number | null }[];
  };
}
interface AliveMatrix {
  frequency: string[];
  recency: string[];
  cells: { frequency: string; recency: string; p_alive: number | null; customers: number }[];
}

const AVG_CLV = 'customers.avg_clv';
const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function facts(entries: [string, string][]): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of entries) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, filters, signal } = ctx;
  const snapshot = withoutDates(filters);
  const cube = cubeFilters(filters, { dates: false });
  root.append(
    h('h1', {}, 'Customer lifetime value'),
    h(
      'p',
      { class: 'page-meta' },
      'Scores of the latest mining run: expected value over the next 12 months, discounted.',
    ),
    runNote(api, signal),
  );
  const kpis = h('div', { class: 'kpis', id: 'kpis' });
  root.append(kpis);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  const byDim = (dimension: string, extra: Record<string, unknown> = {}) =>
    api.load(
      {
        measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
        dimensions: dimension.includes('signup_date') ? [] : [dimension],
        filters: cube.filters,
        order: { 'customers.total_clv': 'desc' },
        ...extra,
      },
      signal,
    );
  const filtered = filters.region.length > 0 || filters.segment.length > 0;
  const bars = (name: string, rows: Row[], key: string, what: string, onSelect?: (v: string) => void) => {
    const why = whyEmpty(rows, key, AVG_CLV, { what, score: true, filtered });
    if (why) return emptyState(why);
    // customers the run did not score have no CLV: they are no bar, not a bar of 0
    const scored = rows.filter((r) => r[AVG_CLV] !== null && r[AVG_CLV] !== undefined);
    const data = breakdownBars(scored, key, AVG_CLV, { unknown: `Unknown ${what}` }).map((d) =>
      key.includes('signup') && d.selectable !== false ? { ...d, label: d.label.slice(0, 4) } : d,
    );
    return chartBox(
      name,
      barChart(data, {
        document,
        format: formatCompactCurrency,
        xLabel: 'average CLV',
        selected: key === 'customers.region' ? filters.region : [],
        ...(onSelect ? { onSelect } : {}),
      }),
    );
  };

  const paretoP = api.get<Pareto>(insightsPath('/clv/pareto', snapshot), signal);
  const kpiWork = Promise.all([
    api.load(
      {
        measures: ['customers.total_clv', 'customers.avg_clv', 'customers.count'],
        filters: cube.filters,
        // the customers with a CLV (the scored segment): a rollup stores it (customers.by_scored)
        segments: ['customers.scored'],
      },
      signal,
    ),
    paretoP,
  ]).then(
    ([totals, pareto]) => {
      const t: Row = totals[0] ?? {};
      kpis.append(
        kpiCard({
          id: 'total_clv',
          label: 'Total CLV',
          value: formatCurrency(t['customers.total_clv']),
          raw: n(t['customers.total_clv']),
        }),
        kpiCard({
          id: 'avg_clv',
          label: 'Average CLV',
          value: formatCurrency(t['customers.avg_clv']),
          raw: n(t['customers.avg_clv']),
        }),
        kpiCard({
          id: 'scored',
          label: 'Customers scored',
          value: formatInteger(t['customers.count']),
          raw: n(t['customers.count']),
        }),
        kpiCard({
          id: 'top20',
          label: 'Value held by top 20%',
          value: formatPercent(pareto.top_20_percent_share),
          raw: pareto.top_20_percent_share,
          note: 'of total CLV',
        }),
      );
    },
    (e: unknown) => {
      if (!isAbort(e)) kpis.replaceChildren(errorState(e));
    },
  );

  await Promise.all([
    kpiWork,
    section(grid, 'CLV distribution', async (body) => {
      const d = await api.get<Distribution>(
        insightsPath('/distribution', snapshot, { measure: 'clv', bins: '30' }),
        signal,
      );
      if (d.customers === 0) return void body.append(emptyState());
      body.append(
        chartBox(
          'clv-distribution',
          histogramOfBins(d.bins, { document, xLabel: 'CLV', format: formatCompactCurrency }),
          d.above_range > 0
            ? `${formatInteger(d.above_range)} customers above the 99th percentile are in the last bar.`
            : undefined,
        ),
      );
    }),
    section(grid, 'Pareto curve', async (body) => {
      const p = await paretoP;
      if (p.customers === 0) return void body.append(emptyState());
      body.append(
        chartBox(
          'clv-pareto',
          lineChart(
            p.points.map((q) => ({ x: q.customer_share, y: q.value_share, series: 'CLV' })),
            {
              document,
              diagonal: true,
              xLabel: 'share of customers (highest CLV first)',
              yLabel: 'share of CLV',
              xFormat: (v) => formatPercent(v, 0),
              yFormat: (v) => formatPercent(v, 0),
            },
          ),
        ),
      );
    }),
    section(grid, 'CLV by acquisition channel', async (body) => {
      body.append(
        bars('clv-by-channel', await byDim('customers.channel'), 'customers.channel', 'acquisition channel'),
      );
    }),
    section(grid, 'CLV by signup cohort', async (body) => {
      const rows = await byDim('customers.signup_date', {
        timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'year' }],
        order: { 'customers.signup_date': 'asc' },
      });
      body.append(bars('clv-by-cohort', rows, 'customers.signup_date.year', 'signup date'));
    }),
    section(grid, 'CLV by region', async (body) => {
      body.append(
        bars('clv-by-region', await byDim('customers.region'), 'customers.region', 'region', (v) =>
          ctx.setFilters({ region: [v] }),
        ),
      );
    }),
    section(grid, 'Model report card (holdout)', async (body) => {
      const card = await api.get<ReportCard>('/v1/insights/clv/report-card', signal);
      if (!card.available || !card.tracking)
        return void body.append(emptyState(card.reason ?? 'No holdout check.'));
      body.append(
        facts([
          ['Calibration end', formatDate(card.calibration_end)],
          [
            'Holdout',
            `${formatNumber(card.holdout_periods, 1)} ${card.tracking.period}s to ${formatDate(card.as_of)}`,
          ],
          [
            'Repeat purchases',
            `${formatNumber(card.predicted_total, 1)} predicted, ${formatInteger(card.actual_total)} actual`,
          ],
          ['MAE per customer', formatNumber(card.mae, 3)],
          ['Bias per customer', formatNumber(card.bias, 3)],
        ]),
      );
      body.lastElementChild?.setAttribute('id', 'report-card');
      const pts = card.tracking.points.flatMap((q) => [
        { x: q.period, y: q.expected, series: 'predicted' },
        ...(q.actual === null ? [] : [{ x: q.period, y: q.actual, series: 'actual' }]),
      ]);
      body.append(
        chartBox(
          'clv-tracking',
          lineChart(pts, {
            document,
            ruleX: card.tracking.calibration_periods,
            xLabel: `${card.tracking.period}s since the first purchase`,
            yLabel: 'cumulative repeat purchases',
          }),
          'The dashed line marks the calibration end; to its right is the holdout.',
        ),
      );
    }),
    section(grid, 'P(alive) by frequency × recency', async (body) => {
      const m = await api.get<AliveMatrix>(insightsPath('/clv/alive-matrix', snapshot), signal);
      const cells = m.cells
        .filter((c) => c.p_alive !== null)
        .map((c) => ({ x: c.recency, y: c.frequency, value: c.p_alive as number, n: c.customers }));
      if (cells.length === 0) return void body.append(emptyState());
      body.append(
        chartBox(
          'alive-matrix',
          valueMatrix(cells, {
            document,
            xDomain: m.recency,
            yDomain: m.frequency,
            // short enough for a phone's chart width
            xLabel: 'last purchase (share of time since the first)',
            yLabel: 'repeat purchases',
          }),
        ),
      );
    }),
    section(
      grid,
      'Customers by lifetime value',
      async (body) => {
        const rows = await api.load(
          {
            // the record key makes each row one customer record: the list reads the CLV list
            // rollup row by row (an ORDER BY ... LIMIT), not a GROUP BY over a million rows
            dimensions: [
              'customers.customer_durable_key',
              'customers.customer_id',
              'customers.name',
              'customers.region',
              'customers.channel',
              'customers.clv_tier',
            ],
            measures: ['customers.total_clv', 'customers.avg_churn_probability'],
            filters: cube.filters,
            order: { 'customers.total_clv': 'desc', 'customers.customer_id': 'asc' },
            limit: 100,
          },
          signal,
        );
        if (rows.length === 0) return void body.append(emptyState());
        body.append(
          sortableTable(
            rows,
            [
              {
                key: 'customer',
                label: 'Customer',
                value: (r) => String(r['customers.name'] ?? ''),
                render: (r) =>
                  link(
                    `/customers/${encodeURIComponent(String(r['customers.customer_id']))}`,
                    String(r['customers.name'] ?? r['customers.customer_id']),
                  ),
              },
              { key: 'id', label: 'ID', value: (r) => String(r['customers.customer_id']) },
              { key: 'region', label: 'Region', value: (r) => String(r['customers.region'] ?? '—') },
              { key: 'channel', label: 'Channel', value: (r) => String(r['customers.channel'] ?? '—') },
              { key: 'tier', label: 'Tier', value: (r) => String(r['customers.clv_tier'] ?? '—') },
              {
                key: 'clv',
                label: 'CLV',
                numeric: true,
                value: (r) => n(r['customers.total_clv']),
                render: (r) => formatCurrency(r['customers.total_clv']),
              },
              {
                key: 'churn',
                label: 'Churn probability',
                numeric: true,
                value: (r) => n(r['customers.avg_churn_probability']),
                render: (r) => formatPercent(r['customers.avg_churn_probability']),
              },
            ],
            { id: 'clv-customers', caption: 'Top 100 by CLV' },
          ),
        );
      },
      { wide: true },
    ),
  ]);
}
