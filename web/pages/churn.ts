/**
 * Churn: at-risk customers ranked by value at risk (CLV × churn probability) with the reasons for
 * a chosen customer's score, the P(alive) distribution, model quality (AUC, calibration, lift by
 * decile) and churn by signup cohort.
 */
import { barChart } from '../charts/bar.ts';
import { type Bin, histogramOfBins } from '../charts/histogram.ts';
import { lineChart } from '../charts/line.ts';
import type { PageContext } from '../context.ts';
import { cubeFilters } from '../filters.ts';
import { formatCurrency, formatInteger, formatNumber, formatPercent } from '../format.ts';
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
import { latestRunText } from './latest-run.ts';

interface AtRisk {
  total_value_at_risk: number | null;
  at_risk_customers: number;
  at_risk_threshold: number;
  customers: {
    customer_id: string;
    name: string | null;
    region: string | null;
    rfm_segment: string | null;
    clv: number | null;
    churn_probability: number | null;
    p_alive: number | null;
    value_at_risk: number | null;
  }[];
}
interface Quality {
  available: boolean;
  reason?: string;
  source?: 'churn_model' | 'backtest';
  as_of?: string;
  observed_until?: string;
  label?: string;
  customers?: number;
  churn_rate?: number;
  auc?: number;
  calibration?: { bin: number; n: number; meanPredicted: number; observedRate: number }[];
  lift?: { decile: number; n: number; rate: number; lift: number; cumulativeCapture: number }[];
}
export interface Reasons {
  customer_id: string;
  scored: boolean;
  p_alive?: number | null;
  churn_probability?: number | null;
  reasons: { feature: string; value: number; typical: number | null; effect: string; text: string }[];
}

/** The reasons panel of one customer's churn score. */
export function reasonsList(r: Reasons): HTMLElement {
  if (!r.scored) return emptyState('This customer has no churn score in the latest run.');
  return h(
    'div',
    { class: 'reasons', 'data-customer': r.customer_id },
    h(
      'p',
      {},
      `Churn probability ${formatPercent(r.churn_probability)} (P(alive) ${formatPercent(r.p_alive)}). What drives it:`,
    ),
    h(
      'ul',
      {},
      ...r.reasons.map((x) =>
        h(
          'li',
          { 'data-feature': x.feature },
          h('span', { class: 'tag' }, x.effect === 'raises' ? 'raises risk' : 'lowers risk'),
          ' ',
          x.text,
        ),
      ),
    ),
  );
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, filters, signal } = ctx;
  const snapshot = withoutDates(filters);
  const cube = cubeFilters(filters, { dates: false });
  const meta = h('p', { class: 'page-meta', id: 'run-as-of' }, 'Scores of the latest mining run');
  root.append(h('h1', {}, 'Churn'), meta);
  const runText = latestRunText(api, signal).then(
    (text) => meta.replaceChildren(`${text}; at risk = churn probability ≥ 50%.`),
    () => meta.append('; at risk = churn probability ≥ 50%.'),
  );
  const kpis = h('div', { class: 'kpis', id: 'kpis' });
  root.append(kpis);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  const atRiskP = api.get<AtRisk>(insightsPath('/churn/at-risk', snapshot, { limit: '50' }), signal);
  const qualityP = api.get<Quality>(insightsPath('/churn/quality', snapshot), signal);
  const kpiWork = Promise.all([
    atRiskP,
    qualityP,
    api.load(
      // the customers the run scored: at-risk counts are out of them, not out of every customer
      {
        measures: ['customers.count', 'customers.avg_churn_probability'],
        filters: cube.filters,
        segments: ['customers.scored'],
      },
      signal,
    ),
  ]).then(
    ([risk, quality, totals]) => {
      const t = totals[0] ?? {};
      kpis.append(
        kpiCard({
          id: 'at_risk',
          label: `Customers at risk (churn ≥ ${Math.round(risk.at_risk_threshold * 100)}%)`,
          value: formatInteger(risk.at_risk_customers),
          raw: risk.at_risk_customers,
          note: `of ${formatInteger(t['customers.count'])} scored customers`,
        }),
        kpiCard({
          id: 'value_at_risk',
          label: 'Value at risk',
          value: formatCurrency(risk.total_value_at_risk),
          raw: risk.total_value_at_risk,
          note: 'Σ CLV × churn probability',
        }),
        kpiCard({
          id: 'avg_churn',
          label: 'Mean churn probability',
          value: formatPercent(t['customers.avg_churn_probability']),
          raw:
            t['customers.avg_churn_probability'] === null
              ? null
              : Number(t['customers.avg_churn_probability']),
        }),
        kpiCard({
          id: 'auc',
          label: 'Model AUC',
          value: quality.available ? formatNumber(quality.auc, 3) : '—',
          raw: quality.available ? (quality.auc ?? null) : null,
          note: quality.available
            ? quality.source === 'backtest'
              ? `backtest of ${quality.as_of}`
              : 'holdout'
            : 'not available',
        }),
      );
    },
    (e: unknown) => {
      if (!isAbort(e)) kpis.replaceChildren(errorState(e));
    },
  );

  const reasonsBody = h('div', { id: 'churn-reasons', 'aria-live': 'polite' });
  const showReasons = async (id: string) => {
    ctx.setQuery({ customer: id });
    reasonsBody.replaceChildren(h('p', { class: 'state loading' }, 'Loading…'));
    try {
      const r = await api.get<Reasons>(
        `/v1/insights/customers/${encodeURIComponent(id)}/churn-reasons`,
        signal,
      );
      reasonsBody.replaceChildren(h('h3', {}, `Customer ${id}`), reasonsList(r));
    } catch (e) {
      if (!isAbort(e)) reasonsBody.replaceChildren(errorState(e));
    }
  };

  await Promise.all([
    runText,
    kpiWork,
    section(
      grid,
      'Customers by value at risk (CLV × churn probability)',
      async (body) => {
        const risk = await atRiskP;
        if (risk.customers.length === 0) return void body.append(emptyState());
        body.append(
          sortableTable(
            risk.customers,
            [
              {
                key: 'customer',
                label: 'Customer',
                value: (r) => r.name ?? r.customer_id,
                render: (r) =>
                  link(`/customers/${encodeURIComponent(r.customer_id)}`, r.name ?? r.customer_id),
              },
              { key: 'id', label: 'ID', value: (r) => r.customer_id },
              { key: 'region', label: 'Region', value: (r) => r.region },
              { key: 'segment', label: 'Segment', value: (r) => r.rfm_segment },
              {
                key: 'clv',
                label: 'CLV',
                numeric: true,
                // on a phone: the name, the churn probability and the value at risk it ranks by
                priority: 2,
                value: (r) => r.clv,
                render: (r) => formatCurrency(r.clv),
              },
              {
                key: 'churn',
                label: 'Churn probability',
                numeric: true,
                value: (r) => r.churn_probability,
                render: (r) => formatPercent(r.churn_probability),
              },
              {
                key: 'var',
                label: 'Value at risk',
                numeric: true,
                value: (r) => r.value_at_risk,
                render: (r) => formatCurrency(r.value_at_risk),
              },
              {
                key: 'why',
                label: 'Why',
                value: () => null,
                render: (r) => {
                  const b = h(
                    'button',
                    { type: 'button', class: 'why', 'data-customer': r.customer_id },
                    'Why?',
                  );
                  b.addEventListener('click', () => void showReasons(r.customer_id));
                  return b;
                },
              },
            ],
            { id: 'at-risk' },
          ),
        );
      },
      { wide: true },
    ),
    section(grid, 'Reasons for a customer’s score', async (body) => {
      body.append(reasonsBody);
      const chosen = ctx.query.get('customer') ?? (await atRiskP).customers[0]?.customer_id;
      if (chosen) await showReasons(chosen);
      else reasonsBody.append(emptyState('No customer to explain.'));
    }),
    section(grid, 'P(alive) distribution', async (body) => {
      const d = await api.get<{ customers: number; bins: Bin[] }>(
        insightsPath('/distribution', snapshot, { measure: 'p_alive', bins: '20' }),
        signal,
      );
      if (d.customers === 0) return void body.append(emptyState());
      body.append(
        chartBox(
          'p-alive-distribution',
          histogramOfBins(d.bins, { document, xLabel: 'P(alive)', format: (v) => formatPercent(v, 0) }),
        ),
      );
    }),
    section(grid, 'Model quality', async (body) => {
      const q = await qualityP;
      if (!q.available || !q.calibration || !q.lift)
        return void body.append(emptyState(q.reason ?? 'No model quality figures.'));
      body.append(
        h(
          'p',
          { id: 'quality-summary' },
          q.source === 'backtest'
            ? `Backtest: scores of ${q.as_of} against purchases up to ${q.observed_until} (${q.label}); ${formatInteger(q.customers)} customers, ${formatPercent(q.churn_rate)} churned, AUC ${formatNumber(q.auc, 3)}.`
            : `Holdout of the churn model: AUC ${formatNumber(q.auc, 3)}.`,
        ),
        chartBox(
          'churn-calibration',
          lineChart(
            q.calibration.flatMap((c) => [{ x: c.meanPredicted, y: c.observedRate, series: 'observed' }]),
            {
              document,
              diagonal: true,
              dots: true,
              xLabel: 'predicted churn probability',
              yLabel: 'observed churn rate',
              height: 220,
            },
          ),
          'Calibration by decile of predicted probability; the dashed line is perfect calibration.',
        ),
        chartBox(
          'churn-lift',
          barChart(
            q.lift.map((l) => ({ label: `decile ${l.decile}`, value: l.lift })),
            { document, xLabel: 'lift (churn rate ÷ overall rate)', format: (v) => formatNumber(v, 2) },
          ),
          'Lift by decile, highest predicted risk first.',
        ),
      );
    }),
    section(grid, 'Churn by signup cohort', async (body) => {
      const rows = await api.load(
        {
          measures: ['customers.avg_churn_probability', 'customers.count'],
          timeDimensions: [{ dimension: 'customers.signup_date', granularity: 'quarter' }],
          filters: cube.filters,
          order: { 'customers.signup_date': 'asc' },
        },
        signal,
      );
      const quarter = 'customers.signup_date.quarter';
      const mean = 'customers.avg_churn_probability';
      const why = whyEmpty(rows, quarter, mean, {
        what: 'signup date',
        score: true,
        filtered: filters.region.length > 0 || filters.segment.length > 0,
      });
      if (why) return void body.append(emptyState(why));
      // customers without a signup date keep their own bar instead of vanishing
      const data = breakdownBars(
        rows.filter((r) => r[mean] !== null && r[mean] !== undefined),
        quarter,
        mean,
        { unknown: 'Unknown signup date' },
      ).map((d) =>
        d.selectable === false
          ? d
          : { ...d, label: `${d.label.slice(0, 4)} Q${Math.floor(Number(d.label.slice(5, 7)) / 3) + 1}` },
      );
      if (data.length === 0) return void body.append(emptyState());
      body.append(
        chartBox(
          'churn-by-cohort',
          barChart(data, { document, xLabel: 'mean churn probability', format: (v) => formatPercent(v, 0) }),
        ),
      );
    }),
  ]);
}
