/**
 * Customer 360: one customer's profile, a timeline of orders, tickets and campaign touches, the
 * score history across mining runs and the reasons for the churn score.
 */
import { lineChart } from '../charts/line.ts';
import type { PageContext } from '../context.ts';
import { formatCurrency, formatDate, formatInteger, formatPercent } from '../format.ts';
import { chartBox, emptyState, h, section, sortableTable } from '../ui.ts';
import { type Reasons, reasonsList } from './churn.ts';
import { clvPanel } from './customer-clv.ts';

type Rec = Record<string, string | number | boolean | null>;

interface Customer360 {
  customer: Rec;
  history: Rec[];
  orders: Rec[];
  tickets: Rec[];
  campaign_touches: Rec[];
  scores: Record<string, Rec | null>;
}
interface ScoreHistory {
  runs: Rec[];
}

export interface TimelineEntry {
  readonly at: string;
  readonly kind: 'order' | 'ticket' | 'campaign';
  readonly text: string;
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Orders (lines grouped by order), tickets and touches merged, newest first. */
export function timeline(c: Pick<Customer360, 'orders' | 'tickets' | 'campaign_touches'>): TimelineEntry[] {
  const orders = new Map<string, { at: string; revenue: number; lines: number }>();
  for (const l of c.orders) {
    const id = str(l.order_id);
    const o = orders.get(id) ?? { at: str(l.ordered_at), revenue: 0, lines: 0 };
    o.revenue += Number(l.revenue ?? 0);
    o.lines += 1;
    orders.set(id, o);
  }
  const out: TimelineEntry[] = [];
  for (const [id, o] of orders) {
    out.push({
      at: o.at,
      kind: 'order',
      text: `Order ${id}: ${formatCurrency(o.revenue)} (${o.lines} line${o.lines === 1 ? '' : 's'})`,
    });
  }
  for (const t of c.tickets) {
    const what = [t.subject, t.category, t.priority, t.status]
      .map(str)
      .filter((x) => x !== '')
      .join(' · ');
    out.push({
      at: str(t.opened_at),
      kind: 'ticket',
      text: `Ticket ${str(t.ticket_id)}${what ? `: ${what}` : ''}`,
    });
  }
  for (const t of c.campaign_touches) {
    const what = [t.campaign_id ?? t.campaign_key, t.channel, t.response ?? t.outcome]
      .map(str)
      .filter((x) => x !== '')
      .join(' · ');
    out.push({ at: str(t.touched_at), kind: 'campaign', text: `Campaign touch${what ? `: ${what}` : ''}` });
  }
  return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { api, signal } = ctx;
  const id = ctx.params.id ?? '';
  const c = await api.get<Customer360>(`/v1/customers/${encodeURIComponent(id)}`, signal);
  const p = c.customer;
  root.append(
    h('h1', {}, str(p.name) || id),
    h('p', { class: 'page-meta' }, `Customer ${id} · ${str(p.region)} · ${str(p.country)}`),
  );
  const grid = h('div', { class: 'grid' });
  root.append(grid);
  const rfm = c.scores.rfm ?? {};
  const clv = c.scores.clv ?? {};
  const churn = c.scores.churn ?? {};
  const seg = c.scores.segment ?? {};
  const profile = h('dl', { class: 'facts', id: 'profile' });
  const fact = (k: string, v: string, key: string) =>
    profile.append(h('dt', {}, k), h('dd', { 'data-field': key }, v));
  fact('Email', str(p.email) || '—', 'email');
  fact(
    'City',
    [p.city, p.country]
      .map(str)
      .filter((x) => x)
      .join(', ') || '—',
    'city',
  );
  fact('Channel', str(p.channel) || '—', 'channel');
  fact('Signed up', formatDate(p.signup_date), 'signup_date');
  fact('RFM segment', str(rfm.rfm_segment) || '—', 'rfm_segment');
  fact('Cluster', str(seg.cluster_name) || '—', 'cluster_name');
  fact('Lifetime revenue', formatCurrency(rfm.monetary_total), 'monetary_total');
  fact('CLV (12 months)', formatCurrency(clv.clv), 'clv');
  fact('Churn probability', formatPercent(churn.churn_probability), 'churn_probability');
  fact('Versions', formatInteger(c.history.length), 'versions');
  await Promise.all([
    section(grid, 'Profile', async (body) => {
      body.append(profile);
    }),
    section(grid, 'How this CLV is made', async (body) => {
      await clvPanel(
        body,
        api,
        str(p.golden_customer_key),
        c.scores.clv ?? null,
        c.scores.churn ?? null,
        signal,
      );
    }),
    section(grid, 'Why this churn score', async (body) => {
      const r = await api.get<Reasons>(
        `/v1/insights/customers/${encodeURIComponent(id)}/churn-reasons`,
        signal,
      );
      body.append(reasonsList(r));
    }),
    section(grid, 'Timeline', async (body) => {
      const items = timeline(c);
      if (items.length === 0) return void body.append(emptyState('No orders, tickets or campaign touches.'));
      body.append(
        h(
          'ol',
          { class: 'timeline', id: 'timeline' },
          ...items.map((e) =>
            h(
              'li',
              { 'data-kind': e.kind },
              h('time', { datetime: e.at }, formatDate(e.at)),
              h('span', { class: 'tag' }, e.kind),
              h('span', {}, e.text),
            ),
          ),
        ),
        h('p', { class: 'page-meta' }, 'The latest 50 order lines, tickets and touches.'),
      );
    }),
    section(grid, 'Score history', async (body) => {
      const s = await api.get<ScoreHistory>(
        `/v1/insights/customers/${encodeURIComponent(id)}/scores`,
        signal,
      );
      if (s.runs.length === 0) return void body.append(emptyState('No mining run has scored this customer.'));
      if (s.runs.length > 1) {
        const pts = s.runs.flatMap((r) => {
          const x = Date.parse(`${str(r.as_of)}T00:00:00Z`);
          return [
            ...(r.churn_probability === null
              ? []
              : [{ x, y: Number(r.churn_probability), series: 'churn probability' }]),
            ...(r.p_alive === null ? [] : [{ x, y: Number(r.p_alive), series: 'P(alive)' }]),
          ];
        });
        body.append(
          chartBox(
            'score-history',
            lineChart(pts, {
              document,
              dots: true,
              height: 200,
              xFormat: (v) => formatDate(new Date(v).toISOString()),
              yFormat: (v) => formatPercent(v, 0),
            }),
          ),
        );
      }
      body.append(
        sortableTable(
          s.runs,
          [
            { key: 'run', label: 'Run', numeric: true, value: (r) => Number(r.run_id) },
            { key: 'as_of', label: 'As of', value: (r) => str(r.as_of) },
            { key: 'segment', label: 'RFM segment', value: (r) => str(r.rfm_segment) || '—' },
            {
              key: 'rfm',
              label: 'R/F/M',
              value: (r) =>
                r.r_score === null ? '—' : `${str(r.r_score)}/${str(r.f_score)}/${str(r.m_score)}`,
            },
            { key: 'cluster', label: 'Cluster', value: (r) => str(r.cluster_name) || '—' },
            {
              key: 'clv',
              label: 'CLV',
              numeric: true,
              value: (r) => (r.clv === null ? null : Number(r.clv)),
              render: (r) => formatCurrency(r.clv),
            },
            {
              key: 'churn',
              label: 'Churn probability',
              numeric: true,
              value: (r) => (r.churn_probability === null ? null : Number(r.churn_probability)),
              render: (r) => formatPercent(r.churn_probability),
            },
          ],
          { id: 'score-history-table' },
        ),
      );
    }),
  ]);
}
