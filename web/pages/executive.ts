/**
 * Executive overview: period KPIs with the change vs. the previous period of the same length and a
 * monthly sparkline, revenue and CLV by region and RFM segment (a bar click filters the page), top
 * customers by CLV (linked to the customer 360) and data freshness.
 */
import type { Row } from '../api.ts';
import { barChart } from '../charts/bar.ts';
import type { PageContext } from '../context.ts';
import { cubeFilters, type Filters, previousPeriod } from '../filters.ts';
import {
  formatChange,
  formatCompactCurrency,
  formatCurrency,
  formatDateTime,
  formatInteger,
  formatPercent,
  formatPointChange,
} from '../format.ts';
import { chartBox, emptyState, h, kpiCard, link, section, sortableTable } from '../ui.ts';
import { dataWarnings } from './data-warnings.ts';
import { insightsPath } from './insights-query.ts';

const REVENUE = 'sales.revenue';
const MARGIN = 'sales.margin';
const ACTIVE = 'sales.customer_count';
const MONTH = 'sales.ordered_at.month';

interface Overview {
  current: PeriodFigures;
  previous: PeriodFigures;
  new_by_month: { month: string; new: number }[];
  clv: { latest: RunClv | null; previous: RunClv | null; runs: RunClv[] };
}
interface PeriodFigures {
  active: number;
  new: number;
  returning: number;
  retention: number | null;
}
interface RunClv {
  run_id: number;
  as_of: string;
  avg_clv: number | null;
}

interface Health {
  last_load: { finished_at: string | null; status: string } | null;
  /** Per source system, when the server reports it: the last successful load. */
  sources?: { source: string; last_success: { finished_at: string | null } }[];
}

/** "Data loaded …": the newest successful load of any source, else the last load and its status. */
function freshness(health: Health): string {
  const ok = (health.sources ?? [])
    .map((s) => s.last_success.finished_at)
    .filter((t): t is string => t !== null)
    .sort();
  const newest = ok.at(-1);
  if (newest) return `Data loaded ${formatDateTime(newest)}`;
  const last = health.last_load;
  if (!last) return 'No data loaded yet';
  return `Last load ${formatDateTime(last.finished_at)} (${last.status})`;
}

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The period shown: the filter's dates, or the last 12 months with data. */
export function periodOf(filters: Filters, months: readonly string[]): { from: string; to: string } | null {
  if (filters.from && filters.to) return { from: filters.from, to: filters.to };
  const last = months.at(-1);
  if (!last) return null;
  const end = new Date(`${last.slice(0, 7)}-01T00:00:00Z`);
  const to = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0));
  const from = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 11, 1));
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  return { from: filters.from ?? iso(from), to: filters.to ?? iso(to) };
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, filters, signal } = ctx;
  root.append(h('h1', {}, 'Executive overview'));
  const meta = h('p', { class: 'page-meta', id: 'period' }, '');
  root.append(meta);
  const kpis = h('div', { class: 'kpis', id: 'kpis', 'aria-label': 'Key figures' });
  root.append(kpis);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  const warnings = dataWarnings(api, signal).catch(() => null);
  const noDates = cubeFilters(filters, { dates: false });
  const monthly = await api.load(
    {
      measures: [REVENUE, MARGIN, ACTIVE],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
      filters: noDates.filters,
      order: { 'sales.ordered_at': 'asc' },
    },
    signal,
  );
  const months = monthly.map((r) => String(r[MONTH] ?? ''));
  const period = periodOf(filters, months);
  if (!period) {
    kpis.replaceWith(emptyState('No orders for these filters.'));
    return;
  }
  const prev = previousPeriod({ ...filters, ...period }) ?? period;
  meta.append(`${period.from} – ${period.to}, compared with ${prev.from} – ${prev.to}`);
  const inPeriod = monthly.filter((r) => {
    const m = String(r[MONTH] ?? '').slice(0, 10);
    return m >= period.from.slice(0, 7) && m <= period.to;
  });
  const series = (key: string) => inPeriod.map((r) => Number(r[key] ?? 0));

  // active customers of the period come from the overview with new and retained ones: one figure, one path
  const sum = (range: { from: string; to: string }) =>
    api.load(
      {
        measures: [REVENUE, MARGIN],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: [range.from, range.to] }],
        filters: noDates.filters,
      },
      signal,
    );
  const datedFilters = { ...filters, from: period.from, to: period.to };
  const [cur, before, overview, health] = await Promise.all([
    sum(period),
    sum(prev),
    api.get<Overview>(insightsPath('/overview', datedFilters), signal),
    api.get<Health>('/healthz', signal),
  ]);
  const c: Row = cur[0] ?? {};
  const p: Row = before[0] ?? {};
  const note = 'vs. previous period';
  const margin = n(c[MARGIN]);
  const revenue = n(c[REVENUE]);
  kpis.append(
    kpiCard({
      id: 'revenue',
      label: 'Revenue',
      value: formatCurrency(revenue),
      raw: revenue,
      change: formatChange(revenue, p[REVENUE]),
      note,
      series: series(REVENUE),
    }),
    kpiCard({
      id: 'margin',
      label: 'Gross margin',
      value: formatCurrency(margin),
      raw: margin,
      change: formatChange(margin, p[MARGIN]),
      note: revenue
        ? `${formatPercent(margin !== null ? margin / revenue : null)} of revenue; ${note}`
        : note,
      series: series(MARGIN),
    }),
    kpiCard({
      id: 'active',
      label: 'Active customers',
      value: formatInteger(overview.current.active),
      raw: overview.current.active,
      change: formatChange(overview.current.active, overview.previous.active),
      note,
      series: series(ACTIVE),
    }),
    kpiCard({
      id: 'new',
      label: 'New customers',
      value: formatInteger(overview.current.new),
      raw: overview.current.new,
      change: formatChange(overview.current.new, overview.previous.new),
      note: `${formatInteger(overview.current.returning)} returning; ${note}`,
      series: overview.new_by_month.map((m) => m.new),
    }),
    kpiCard({
      id: 'retention',
      label: 'Retention',
      value: formatPercent(overview.current.retention),
      raw: overview.current.retention,
      change: formatPointChange(overview.current.retention, overview.previous.retention),
      note: 'of last period’s customers bought again',
    }),
    kpiCard({
      id: 'avg_clv',
      label: 'Average CLV',
      value: formatCurrency(overview.clv.latest?.avg_clv),
      raw: overview.clv.latest?.avg_clv ?? null,
      change: formatChange(overview.clv.latest?.avg_clv, overview.clv.previous?.avg_clv),
      note: overview.clv.previous ? `vs. run of ${overview.clv.previous.as_of}` : 'one mining run so far',
      series: overview.clv.runs.map((r) => r.avg_clv ?? 0),
    }),
  );
  root.insertBefore(h('p', { class: 'page-meta', id: 'freshness' }, freshness(health)), kpis.nextSibling);
  const warning = await warnings;
  if (warning) root.insertBefore(warning, kpis);

  const dated = cubeFilters(datedFilters);
  const byDim = (dimension: string, measure: string, dates: boolean) =>
    api.load(
      {
        measures: [measure],
        dimensions: [dimension],
        filters: dates ? dated.filters : noDates.filters,
        timeDimensions: dates ? dated.timeDimensions : [],
        order: { [measure]: 'desc' },
      },
      signal,
    );
  const bars = (
    name: string,
    rows: Row[],
    dim: string,
    measure: string,
    onSelect: (v: string) => void,
    selected: readonly string[],
  ) => {
    const data = rows
      .filter((r) => r[dim] !== null && r[dim] !== undefined)
      .map((r) => ({ label: String(r[dim]), value: Number(r[measure] ?? 0) }));
    if (data.length === 0) return emptyState();
    return chartBox(name, barChart(data, { document, format: formatCompactCurrency, onSelect, selected }));
  };
  const pickRegion = (v: string) => ctx.setFilters({ region: [v] });
  const pickSegment = (v: string) => ctx.setFilters({ segment: [v] });
  await Promise.all([
    section(grid, 'Revenue by region', async (body) => {
      body.append(
        bars(
          'revenue-by-region',
          await byDim('customers.region', REVENUE, true),
          'customers.region',
          REVENUE,
          pickRegion,
          filters.region,
        ),
      );
    }),
    section(grid, 'Revenue by segment', async (body) => {
      body.append(
        bars(
          'revenue-by-segment',
          await byDim('customers.rfm_segment', REVENUE, true),
          'customers.rfm_segment',
          REVENUE,
          pickSegment,
          filters.segment,
        ),
      );
    }),
    section(grid, 'Customer lifetime value by region', async (body) => {
      body.append(
        bars(
          'clv-by-region',
          await byDim('customers.region', 'customers.total_clv', false),
          'customers.region',
          'customers.total_clv',
          pickRegion,
          filters.region,
        ),
      );
    }),
    section(grid, 'Customer lifetime value by segment', async (body) => {
      body.append(
        bars(
          'clv-by-segment',
          await byDim('customers.rfm_segment', 'customers.total_clv', false),
          'customers.rfm_segment',
          'customers.total_clv',
          pickSegment,
          filters.segment,
        ),
      );
    }),
    section(
      grid,
      'Top customers by lifetime value',
      async (body) => {
        const rows = await api.load(
          {
            dimensions: [
              'customers.customer_id',
              'customers.name',
              'customers.region',
              'customers.rfm_segment',
            ],
            measures: ['customers.total_clv'],
            filters: noDates.filters,
            order: { 'customers.total_clv': 'desc', 'customers.customer_id': 'asc' },
            limit: 10,
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
                value: (r) => String(r['customers.name'] ?? r['customers.customer_id']),
                render: (r) => {
                  const id = String(r['customers.customer_id']);
                  return link(`/customers/${encodeURIComponent(id)}`, String(r['customers.name'] ?? id));
                },
              },
              { key: 'id', label: 'ID', value: (r) => String(r['customers.customer_id']) },
              { key: 'region', label: 'Region', value: (r) => String(r['customers.region'] ?? '—') },
              { key: 'segment', label: 'Segment', value: (r) => String(r['customers.rfm_segment'] ?? '—') },
              {
                key: 'clv',
                label: 'CLV',
                numeric: true,
                value: (r) => n(r['customers.total_clv']),
                render: (r) => formatCurrency(r['customers.total_clv']),
              },
            ],
            { id: 'top-customers' },
          ),
        );
      },
      { wide: true },
    ),
  ]);
}
