/**
 * Executive overview: period KPIs (a preset such as last quarter, by default the last quarter the
 * data fully cover) with the change against the previous period when the data cover it too, and a
 * monthly sparkline whose partly covered months are marked; revenue and CLV by region and RFM
 * segment with explicit "Unknown" and "No customer" bars, so they add up to the KPI (a bar click
 * filters the page); CLV figures of a chosen mining run, named by its as-of day; top customers by
 * CLV (linked to the customer 360) and data freshness.
 */
import type { Row } from '../api.ts';
import { barChart } from '../charts/bar.ts';
import type { PageContext } from '../context.ts';
import { cubeFilters, type Filters } from '../filters.ts';
import {
  formatChange,
  formatCompactCurrency,
  formatCurrency,
  formatDate,
  formatDateRange,
  formatDateTime,
  formatInteger,
  formatPercent,
  formatPointChange,
} from '../format.ts';
import {
  type Coverage,
  comparisonGap,
  defaultPeriod,
  type Period,
  PRESET_IDS,
  PRESET_LABELS,
  partialMonths,
  presetOf,
  presetPeriod,
  previousPeriodOf,
} from '../periods.ts';
import { chartBox, emptyState, h, kpiCard, link, section, sortableTable } from '../ui.ts';
import { breakdownBars } from './breakdown.ts';
import { dataCoverage } from './coverage.ts';
import { dataWarnings } from './data-warnings.ts';
import { insightsPath } from './insights-query.ts';

const REVENUE = 'sales.revenue';
const MARGIN = 'sales.margin';
const ACTIVE = 'sales.customer_count';
const MONTH = 'sales.ordered_at.month';
const NO_CUSTOMER_REVENUE = 'sales.revenue_no_customer';
const LATEST_CLV = 'customers.total_clv';
const RUN_CLV = 'clv_history.total_clv';

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

/**
 * The period shown: the filter's dates (an open end filled from the default), or the last
 * calendar quarter the data fully cover.
 */
export function periodOf(filters: Filters, coverage: Coverage): Period {
  const fallback = defaultPeriod(coverage);
  return { from: filters.from ?? fallback.from, to: filters.to ?? fallback.to };
}

/** The preset picker: choosing a preset sets the dates; "Custom" leaves them to the date inputs. */
function presetPicker(ctx: PageContext, period: Period, coverage: Coverage): HTMLElement {
  const current = presetOf(period, coverage);
  const select = h('select', { id: 'period-preset', name: 'period' });
  for (const id of [...PRESET_IDS, 'custom'] as const) {
    const option = h('option', { value: id }, PRESET_LABELS[id]);
    if (id === current) option.setAttribute('selected', '');
    select.append(option);
  }
  select.addEventListener('change', () => {
    const id = select.value;
    if (id === 'custom') return;
    const p = presetPeriod(id as (typeof PRESET_IDS)[number], coverage);
    ctx.setFilters({ from: p.from, to: p.to });
  });
  return h('label', { class: 'period-preset' }, 'Period ', select);
}

/** The run picker of the CLV figures: every run by as-of day, newest first. */
function runPicker(ctx: PageContext, runs: readonly RunClv[], chosen: RunClv): HTMLElement {
  const select = h('select', { id: 'run-picker', name: 'run' });
  for (const r of [...runs].reverse()) {
    const option = h('option', { value: String(r.run_id) }, `Run ${r.run_id}, as of ${formatDate(r.as_of)}`);
    if (r.run_id === chosen.run_id) option.setAttribute('selected', '');
    select.append(option);
  }
  select.addEventListener('change', () => {
    ctx.setQuery({ run: select.value });
    ctx.setFilters({});
  });
  return h('label', { class: 'run-picker' }, 'CLV of mining run ', select);
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, filters, signal } = ctx;
  root.append(h('h1', {}, 'Executive overview'));
  const controls = h('div', { class: 'page-controls' });
  const meta = h('p', { class: 'page-meta', id: 'period' }, '');
  root.append(controls, meta);
  const kpis = h('div', { class: 'kpis', id: 'kpis', 'aria-label': 'Key figures' });
  root.append(kpis);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  const warnings = dataWarnings(api, signal).catch(() => null);
  const noDates = cubeFilters(filters, { dates: false });
  const [coverage, monthly] = await Promise.all([
    dataCoverage(api, signal),
    api.load(
      {
        measures: [REVENUE, MARGIN, ACTIVE],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
        filters: noDates.filters,
        order: { 'sales.ordered_at': 'asc' },
      },
      signal,
    ),
  ]);
  if (!coverage) {
    kpis.replaceWith(emptyState('No orders loaded yet: load a source with crm-bi load.'));
    return;
  }
  const period = periodOf(filters, coverage);
  const prev = previousPeriodOf(period);
  const gap = comparisonGap(period, coverage);
  const gapText = gap ? `n/a (${gap.edge} ${formatDate(gap.day)})` : null;
  controls.append(presetPicker(ctx, period, coverage));
  const preset = presetOf(period, coverage);
  meta.setAttribute('data-from', period.from);
  meta.setAttribute('data-to', period.to);
  meta.setAttribute('data-previous-from', prev.from);
  meta.setAttribute('data-previous-to', prev.to);
  if (gap) meta.setAttribute('data-no-comparison', gap.edge);
  meta.append(
    `${preset === 'custom' ? '' : `${PRESET_LABELS[preset]}: `}${formatDateRange(period.from, period.to)}`,
    gap
      ? `; not compared with ${formatDateRange(prev.from, prev.to)}: ${gapText}`
      : `, compared with ${formatDateRange(prev.from, prev.to)}`,
    `. Data from ${formatDate(coverage.start)} to ${formatDate(coverage.end)}.`,
  );
  const inPeriod = monthly.filter((r) => {
    const m = String(r[MONTH] ?? '').slice(0, 10);
    return m >= period.from.slice(0, 7) && m <= period.to;
  });
  // a measure the source lacks (Online Retail has no costs, so no margin) gets no trend line of zeros
  const series = (key: string) =>
    inPeriod.every((r) => r[key] === null || r[key] === undefined)
      ? []
      : inPeriod.map((r) => Number(r[key] ?? 0));
  const partial = partialMonths(
    inPeriod.map((r) => String(r[MONTH] ?? '')),
    coverage,
  );
  const partialNote = `months the data cover in part: data from ${formatDate(coverage.start)} to ${formatDate(coverage.end)}`;

  // active customers of the period come from the overview with new and retained ones: one figure, one path
  const sum = (range: Period) =>
    api.load(
      {
        measures: [REVENUE, MARGIN],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: [range.from, range.to] }],
        filters: noDates.filters,
      },
      signal,
    );
  const datedFilters = { ...filters, from: period.from, to: period.to };
  const dated = cubeFilters(datedFilters);
  const byDim = (dimension: string, measures: string[], dates: boolean, extra: unknown[] = []) =>
    api.load(
      {
        measures,
        dimensions: [dimension],
        filters: [...(dates ? dated.filters : noDates.filters), ...extra],
        timeDimensions: dates ? dated.timeDimensions : [],
        order: { [measures[0] as string]: 'desc' },
      },
      signal,
    );
  // the breakdowns that need only the period are asked now, beside the KPIs: they used to wait for
  // the overview (the slowest KPI read), which only the CLV of a chosen earlier run depends on
  const early = <T>(p: Promise<T>): Promise<T> => {
    // awaited below, or dropped when the page has nothing to show there (no run yet)
    p.catch(() => {});
    return p;
  };
  const revenueByRegion = early(byDim('customers.region', [REVENUE, NO_CUSTOMER_REVENUE], true));
  const revenueBySegment = early(byDim('customers.rfm_segment', [REVENUE, NO_CUSTOMER_REVENUE], true));
  // without a chosen run the page shows the latest run's CLV (customers.total_clv)
  const latestClv = ctx.query.get('run')
    ? null
    : {
        'customers.region': early(byDim('customers.region', [LATEST_CLV], false)),
        'customers.rfm_segment': early(byDim('customers.rfm_segment', [LATEST_CLV], false)),
      };
  const topCustomers = early(
    api.load(
      {
        // the record key makes each row one customer record: the list reads the CLV list
        // rollup row by row (an ORDER BY ... LIMIT), not a GROUP BY over a million rows
        dimensions: [
          'customers.customer_durable_key',
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
    ),
  );
  const [cur, before, overview, health] = await Promise.all([
    sum(period),
    sum(prev),
    api.get<Overview>(insightsPath('/overview', datedFilters), signal),
    api.get<Health>('/healthz', signal),
  ]);
  const c: Row = cur[0] ?? {};
  const p: Row = before[0] ?? {};
  const note = 'vs. previous period';
  /** The change, or why there is none: a period the data do not fully cover is not compared. */
  const change = (value: string | null) => (gapText ? gapText : value);
  const margin = n(c[MARGIN]);
  const revenue = n(c[REVENUE]);
  const runs = overview.clv.runs;
  const runParam = Number(ctx.query.get('run'));
  const chosenIndex = runs.findIndex((r) => r.run_id === runParam);
  // runs come oldest first by as-of day (then creation): the last is the latest run
  const runIndex = chosenIndex >= 0 ? chosenIndex : runs.length - 1;
  const run = runs[runIndex] ?? null;
  const runBefore = runIndex > 0 ? (runs[runIndex - 1] ?? null) : null;
  const isLatest = run !== null && runIndex === runs.length - 1;
  const latestRun = runs.at(-1) ?? null;
  const runLabel = (r: RunClv) => `run of ${formatDate(r.as_of)}`;
  kpis.append(
    kpiCard({
      id: 'revenue',
      label: 'Revenue',
      value: formatCurrency(revenue),
      raw: revenue,
      change: change(formatChange(revenue, p[REVENUE])),
      note: gapText ? '' : note,
      series: series(REVENUE),
      partial,
      partialNote,
    }),
    kpiCard({
      id: 'margin',
      label: 'Gross margin',
      value: formatCurrency(margin),
      raw: margin,
      change: change(formatChange(margin, p[MARGIN])),
      note: revenue
        ? `${formatPercent(margin !== null ? margin / revenue : null)} of revenue${gapText ? '' : `; ${note}`}`
        : gapText
          ? ''
          : note,
      series: series(MARGIN),
      partial,
      partialNote,
    }),
    kpiCard({
      id: 'active',
      label: 'Active customers',
      value: formatInteger(overview.current.active),
      raw: overview.current.active,
      change: change(formatChange(overview.current.active, overview.previous.active)),
      note: gapText ? '' : note,
      series: series(ACTIVE),
      partial,
      partialNote,
    }),
    kpiCard({
      id: 'new',
      label: 'New customers',
      value: formatInteger(overview.current.new),
      raw: overview.current.new,
      change: change(formatChange(overview.current.new, overview.previous.new)),
      note: `${formatInteger(overview.current.returning)} returning${gapText ? '' : `; ${note}`}`,
      series: overview.new_by_month.map((m) => m.new),
      partial: partialMonths(
        overview.new_by_month.map((m) => m.month),
        coverage,
      ),
      partialNote,
    }),
    kpiCard({
      id: 'retention',
      label: 'Retention',
      value: formatPercent(overview.current.retention),
      raw: overview.current.retention,
      change: change(formatPointChange(overview.current.retention, overview.previous.retention)),
      note: 'of last period’s customers bought again',
    }),
    kpiCard({
      id: 'avg_clv',
      label: 'Average CLV',
      value: formatCurrency(run?.avg_clv),
      raw: run?.avg_clv ?? null,
      change: runBefore ? formatChange(run?.avg_clv, runBefore.avg_clv) : null,
      note: run
        ? runBefore
          ? `${runLabel(run)} vs. ${runLabel(runBefore)}`
          : `${runLabel(run)}; no earlier run to compare with`
        : 'no mining run yet: run crm-bi mine',
      series: runs.slice(0, runIndex + 1).map((r) => r.avg_clv ?? 0),
    }),
  );
  root.insertBefore(h('p', { class: 'page-meta', id: 'freshness' }, freshness(health)), kpis.nextSibling);
  if (run && runs.length > 1) controls.append(runPicker(ctx, runs, run));
  const warning = await warnings;
  if (warning) root.insertBefore(warning, kpis);

  /** CLV of the chosen run by a customer attribute: the latest run's members, or that run's history. */
  const clvBy = async (dimension: string) => {
    if (!run || isLatest) {
      const asked = latestClv?.[dimension as keyof typeof latestClv];
      return { rows: await (asked ?? byDim(dimension, [LATEST_CLV], false)), measure: LATEST_CLV };
    }
    const rows = await byDim(dimension, [RUN_CLV], false, [
      { member: 'clv_history.run_id', operator: 'equals', values: [String(run.run_id)] },
    ]);
    return { rows, measure: RUN_CLV };
  };
  const bars = (
    name: string,
    rows: Row[],
    dim: string,
    measure: string,
    unknown: string,
    onSelect: (v: string) => void,
    selected: readonly string[],
    empty: string,
  ) => {
    const data = breakdownBars(rows, dim, measure, {
      unknown,
      ...(measure === REVENUE ? { noCustomer: NO_CUSTOMER_REVENUE } : {}),
    });
    if (data.length === 0) return emptyState(empty);
    return chartBox(name, barChart(data, { document, format: formatCompactCurrency, onSelect, selected }));
  };
  const pickRegion = (v: string) => ctx.setFilters({ region: [v] });
  const pickSegment = (v: string) => ctx.setFilters({ segment: [v] });
  const noOrders = 'No orders in this period for these filters.';
  const noRun = run
    ? 'No customer scored in this run for these filters.'
    : 'No mining run yet: run crm-bi mine.';
  const runTitle = run ? ` (${runLabel(run)})` : '';
  await Promise.all([
    section(grid, 'Revenue by region', async (body) => {
      body.append(
        bars(
          'revenue-by-region',
          await revenueByRegion,
          'customers.region',
          REVENUE,
          'Unknown region',
          pickRegion,
          filters.region,
          noOrders,
        ),
      );
    }),
    section(grid, 'Revenue by segment', async (body) => {
      body.append(
        bars(
          'revenue-by-segment',
          await revenueBySegment,
          'customers.rfm_segment',
          REVENUE,
          'Not scored',
          pickSegment,
          filters.segment,
          noOrders,
        ),
      );
    }),
    section(grid, `Customer lifetime value by region${runTitle}`, async (body) => {
      if (!run) return void body.append(emptyState(noRun));
      const { rows, measure } = await clvBy('customers.region');
      body.append(
        bars(
          'clv-by-region',
          rows,
          'customers.region',
          measure,
          'Unknown region',
          pickRegion,
          filters.region,
          noRun,
        ),
      );
    }),
    section(grid, `Customer lifetime value by segment${runTitle}`, async (body) => {
      if (!run) return void body.append(emptyState(noRun));
      const { rows, measure } = await clvBy('customers.rfm_segment');
      if (!isLatest && run) body.append(h('p', { class: 'page-meta' }, 'Segments of the latest run.'));
      body.append(
        bars(
          'clv-by-segment',
          rows,
          'customers.rfm_segment',
          measure,
          'Not scored',
          pickSegment,
          filters.segment,
          noRun,
        ),
      );
    }),
    section(
      grid,
      `Top customers by lifetime value${latestRun ? ` (${runLabel(latestRun)})` : ''}`,
      async (body) => {
        if (!latestRun) return void body.append(emptyState('No mining run yet: run crm-bi mine.'));
        const rows = await topCustomers;
        if (rows.length === 0)
          return void body.append(
            emptyState(
              latestRun ? 'No customer scored for these filters.' : 'No mining run yet: run crm-bi mine.',
            ),
          );
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
