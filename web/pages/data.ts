/**
 * Data quality: the load history with reject rates per source (trend), failed loads with their
 * message, freshness per source; the quality checks with their trend; and the quarantine browser
 * (filters, the raw row with the bad field marked and the rule it broke, CSV export of one file's
 * rejects to fix and re-load). Reads /v1/data/... (src/api/routes/data.ts).
 */
import { lineChart } from '../charts/line.ts';
import type { PageContext } from '../context.ts';
import { formatDateTime, formatInteger, formatNumber, formatPercent } from '../format.ts';
import { chartBox, emptyState, h, kpiCard, section, sortableTable } from '../ui.ts';
import { quarantinePanel } from './data-quarantine.ts';

interface Load {
  load_id: number;
  source: string | null;
  source_system: string | null;
  profile: string | null;
  status: string;
  message: string | null;
  finished_at: string | null;
  seconds: number | null;
  rows_read: number | null;
  rows_loaded: number | null;
  rows_rejected: number | null;
  reject_rate: number | null;
  rejects_by_reason: Record<string, number>;
}
interface LoadHistory {
  loads: Load[];
  total: number;
  freshness: {
    source: string;
    last_success_at: string | null;
    lag_seconds: number | null;
    /** An incremental PostgreSQL source: its stalest table watermark (the newest change read). */
    watermark_at: string | null;
    watermark_lag_seconds: number | null;
  }[];
}
export interface Check {
  source: string;
  load_id?: number;
  /** When the load that wrote the rows finished (trend rows only). */
  loaded_at?: string | null;
  check: string;
  title: string;
  rows: number;
  of: number;
  share: number | null;
  limit: number | null;
  warning: boolean;
}
export interface Checks {
  checks: Check[];
  trend: Check[];
  rejects: { source: string; rows: number; standing: number }[];
  /** Why no checks were computed (e.g. on a ClickHouse cluster). */
  unavailable?: string;
}

/** Epoch ms of a warehouse time; times without a zone are UTC (the API's convention). */
export function utcMs(v: string | null | undefined): number {
  if (!v) return Number.NaN;
  return new Date(/(Z|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`).getTime();
}

const byTime = (a: { x: number }, b: { x: number }) => a.x - b.x;

const reasons = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${formatInteger(v)}`)
    .join(', ');

function lag(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${formatNumber(seconds / 3600, 1)} h ago`;
  return `${formatNumber(seconds / 86_400, 1)} days ago`;
}

function loadTable(loads: readonly Load[]): HTMLElement {
  return sortableTable(
    loads,
    [
      { key: 'load_id', label: 'Load', value: (l) => l.load_id, numeric: true },
      { key: 'status', label: 'Status', value: (l) => l.status },
      { key: 'source_system', label: 'Source', value: (l) => l.source_system },
      { key: 'profile', label: 'Profile', value: (l) => l.profile },
      { key: 'finished_at', label: 'Finished', value: (l) => formatDateTime(l.finished_at) },
      { key: 'rows_read', label: 'Read', value: (l) => l.rows_read, numeric: true },
      { key: 'rows_rejected', label: 'Rejected', value: (l) => l.rows_rejected, numeric: true },
      {
        key: 'reject_rate',
        label: 'Reject rate',
        value: (l) => l.reject_rate,
        render: (l) => formatPercent(l.reject_rate, 2),
        numeric: true,
      },
      {
        key: 'why',
        label: 'Rejects by reason / message',
        value: (l) => (l.status === 'succeeded' ? reasons(l.rejects_by_reason) : (l.message ?? '')),
      },
      {
        key: 'seconds',
        label: 'Seconds',
        value: (l) => l.seconds,
        render: (l) => formatNumber(l.seconds, 1),
        numeric: true,
      },
    ],
    { id: 'load-history' },
  );
}

function checkTable(checks: readonly Check[]): HTMLElement {
  return sortableTable(
    checks,
    [
      { key: 'source', label: 'Source', value: (c) => c.source },
      { key: 'title', label: 'Check', value: (c) => c.title },
      {
        key: 'rows',
        label: 'Rows',
        value: (c) => c.rows,
        render: (c) => formatInteger(c.rows),
        numeric: true,
      },
      {
        key: 'share',
        label: 'Share',
        value: (c) => c.share,
        render: (c) => formatPercent(c.share, 2),
        numeric: true,
      },
      {
        key: 'limit',
        label: 'Limit',
        value: (c) => c.limit,
        render: (c) => formatPercent(c.limit, 1),
        numeric: true,
      },
      {
        key: 'warning',
        label: 'State',
        value: (c) => (c.warning ? 'warning' : 'ok'),
        render: (c) =>
          h(
            'span',
            { class: c.warning ? 'tag bad' : 'tag', 'data-check': c.check },
            c.warning ? 'above limit' : 'ok',
          ),
      },
    ],
    { id: 'quality-checks' },
  );
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, signal } = ctx;
  root.append(
    h('h1', {}, 'Data quality'),
    h('p', { class: 'page-meta' }, 'Loads, the quarantine of rejected rows, and checks on what loaded.'),
  );
  const kpis = h('div', { class: 'kpis', id: 'kpis' });
  root.append(kpis);
  const grid = h('div', { class: 'grid' });
  root.append(grid);
  const historyP = api.get<LoadHistory>('/v1/data/loads?limit=1000', signal);
  const checksP = api.get<Checks>('/v1/data/checks', signal);

  await Promise.all([
    historyP.then((hist) => {
      const last = hist.loads.find((l) => l.status === 'succeeded');
      const failed = hist.loads.filter((l) => l.status === 'failed').length;
      kpis.append(
        kpiCard({ id: 'loads', label: 'Loads', value: formatInteger(hist.total), raw: hist.total }),
        kpiCard({ id: 'failed_loads', label: 'Failed loads', value: formatInteger(failed), raw: failed }),
        kpiCard({
          id: 'last_reject_rate',
          label: 'Reject rate of the last load',
          value: formatPercent(last?.reject_rate ?? null, 2),
          raw: last?.reject_rate ?? null,
          note: last ? `load ${last.load_id}, ${reasons(last.rejects_by_reason)}` : 'no load yet',
        }),
      );
    }),
    section(
      grid,
      'Freshness',
      async (body) => {
        const hist = await historyP;
        if (hist.freshness.length === 0) return void body.append(emptyState('No successful load yet.'));
        body.append(
          h(
            'ul',
            { class: 'freshness' },
            ...hist.freshness.map((f) =>
              h(
                'li',
                { 'data-source': f.source },
                `${f.source}: last loaded ${formatDateTime(f.last_success_at)} (${lag(f.lag_seconds)})`,
                f.watermark_at === null
                  ? null
                  : h(
                      'span',
                      { class: 'watermark', 'data-lag-seconds': String(f.watermark_lag_seconds) },
                      `; newest change read ${formatDateTime(f.watermark_at)} (${lag(f.watermark_lag_seconds)}, the stalest table's watermark)`,
                    ),
              ),
            ),
          ),
        );
      },
      { id: 'freshness' },
    ),
    section(
      grid,
      'Reject rate per source',
      async (body) => {
        const hist = await historyP;
        const points = hist.loads
          .filter((l) => l.reject_rate !== null && l.status === 'succeeded')
          .map((l) => ({
            x: utcMs(l.finished_at),
            y: l.reject_rate as number,
            series: l.source_system ?? '?',
          }))
          .filter((p) => Number.isFinite(p.x))
          .sort(byTime);
        if (points.length === 0) return void body.append(emptyState('No reject rates to show.'));
        body.append(
          chartBox(
            'reject-rate',
            lineChart(points, {
              document,
              xLabel: 'load finished (UTC)',
              yLabel: 'rejected',
              time: true,
              dots: true,
              yFormat: (v) => formatPercent(v, 1),
            }),
          ),
        );
      },
      { id: 'reject-trend' },
    ),
    section(
      grid,
      'Load history',
      async (body) => {
        const hist = await historyP;
        body.append(hist.loads.length === 0 ? emptyState('No loads yet.') : loadTable(hist.loads));
      },
      { id: 'loads', wide: true },
    ),
    section(
      grid,
      'Quality checks',
      async (body) => {
        const c = await checksP;
        if (c.unavailable) return void body.append(emptyState(c.unavailable));
        if (c.checks.length === 0) return void body.append(emptyState('Nothing loaded to check.'));
        body.append(checkTable(c.checks));
        const points = c.trend
          .filter((t) => t.share !== null)
          .map((t) => ({ x: utcMs(t.loaded_at), y: t.share as number, series: `${t.source}: ${t.check}` }))
          .filter((p) => Number.isFinite(p.x))
          .sort(byTime);
        if (points.length > 0)
          body.append(
            chartBox(
              'check-trend',
              lineChart(points, {
                document,
                xLabel: 'load that wrote the rows, finished (UTC)',
                time: true,
                yLabel: 'share',
                dots: true,
                yFormat: (v) => formatPercent(v, 1),
              }),
            ),
          );
      },
      { id: 'checks', wide: true },
    ),
    section(grid, 'Quarantine', (body) => quarantinePanel(body, ctx), { id: 'quarantine', wide: true }),
  ]);
}
