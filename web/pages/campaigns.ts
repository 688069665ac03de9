/**
 * Campaigns (`/campaigns`): build an audience from conditions on customer members with a live
 * count and value summary, save it with a control group, export it (CSV or Parquet, treated
 * members only), and read a saved audience's lift report (treated vs control after a date, Welch's
 * t interval). Everything goes through /v1/audiences (docs/campaigns.md).
 */
import type { PageContext } from '../context.ts';
import { formatCurrency, formatInteger, formatNumber } from '../format.ts';
import { emptyState, errorState, h, isAbort } from '../ui.ts';
import { createBuilder } from './campaigns-builder.ts';

interface Summary {
  readonly customers: number;
  readonly total_clv: number;
  readonly expected_revenue: number;
}

interface Saved {
  readonly audience_id: number;
  readonly name: string;
  readonly members: number;
  readonly control: number;
  readonly run_id: number;
  readonly created_at: string;
  readonly created_by: string;
}

interface Interval {
  readonly difference: number;
  readonly low: number;
  readonly high: number;
}

interface Lift {
  readonly method: string;
  readonly treated: Record<string, number>;
  readonly control: Record<string, number>;
  readonly difference: Record<'purchases' | 'revenue' | 'margin', Interval>;
  readonly incremental_revenue: { estimate: number; low: number; high: number };
  readonly cost: number | null;
  readonly net_margin: number | null;
  readonly verdict: string;
}

/** Below this many control customers the lift interval is shown with a caution. */
const SMALL_CONTROL = 100;

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  const summary = h('div', { id: 'audience-summary', 'aria-live': 'polite' });
  const status = h('p', { class: 'sql-status', id: 'audience-status', role: 'status' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const d = builder.definition();
      if ('error' in d) {
        summary.replaceChildren(emptyState(d.error));
        return;
      }
      const mine = ++seq;
      try {
        const s = await ctx.api.post<Summary>(
          '/v1/audiences/count',
          { definition: d.definition },
          ctx.signal,
        );
        if (mine !== seq) return;
        summary.replaceChildren(
          h(
            'p',
            {},
            h('strong', { id: 'audience-count' }, formatInteger(s.customers)),
            ' customers · total CLV ',
            h('span', { id: 'audience-clv' }, formatCurrency(s.total_clv)),
            ' · expected revenue ',
            h('span', { id: 'audience-revenue' }, formatCurrency(s.expected_revenue)),
          ),
        );
      } catch (e) {
        if (!isAbort(e) && mine === seq) summary.replaceChildren(errorState(e));
      }
    }, 250);
  };
  const builder = createBuilder(refresh);

  const download = async (body: Record<string, unknown>, fallback: string) => {
    status.textContent = 'Exporting…';
    try {
      const format = (body.format as string | undefined) ?? 'csv';
      await ctx.api.download('/v1/audiences/export', `${fallback}.${format}`, body);
      status.textContent = `Exported ${fallback}.${format}.`;
    } catch (e) {
      status.replaceChildren(errorState(e));
    }
  };
  const exportCsv = h('button', { type: 'button', id: 'audience-export' }, 'Export CSV');
  const exportParquet = h('button', { type: 'button', id: 'audience-export-parquet' }, 'Export Parquet');
  for (const [button, format] of [
    [exportCsv, 'csv'],
    [exportParquet, 'parquet'],
  ] as const) {
    button.addEventListener('click', () => {
      const d = builder.definition();
      if ('definition' in d) void download({ definition: d.definition, format }, 'audience');
    });
  }

  const name = h('input', {
    id: 'audience-name',
    placeholder: 'audience name',
    'aria-label': 'Audience name',
  });
  const share = h('input', {
    id: 'audience-control',
    type: 'number',
    min: 0,
    max: 90,
    value: 10,
    'aria-label': 'Control group %',
  });
  const save = h('button', { type: 'button', id: 'audience-save' }, 'Save with control group');
  const savedBody = h('div', { id: 'audience-saved' });
  const liftBody = h('div', { id: 'audience-lift' });

  const showLift = async (a: Saved) => {
    const after = h('input', {
      id: 'lift-after',
      type: 'date',
      'aria-label': 'After',
      value: a.created_at.slice(0, 10),
    });
    const cost = h('input', {
      id: 'lift-cost',
      type: 'number',
      min: 0,
      placeholder: 'cost (optional)',
      'aria-label': 'Campaign cost',
    });
    const go = h('button', { type: 'button', id: 'lift-run' }, 'Report');
    const out = h('div', { id: 'lift-report' });
    go.addEventListener('click', async () => {
      const qs = new URLSearchParams({ after: after.value });
      if (cost.value !== '') qs.set('cost', cost.value);
      try {
        const r = await ctx.api.get<Lift>(`/v1/audiences/${a.audience_id}/lift?${qs}`, ctx.signal);
        const line = (label: string, key: string, d: Interval, money: boolean) => {
          const f = (v: number) => (money ? formatCurrency(v) : formatNumber(v, 3));
          return h(
            'tr',
            {},
            h('th', {}, label),
            h('td', { class: 'num' }, f(r.treated[key] ?? 0)),
            h('td', { class: 'num' }, f(r.control[key] ?? 0)),
            // the interval on a line of its own keeps the table inside a phone's width
            h(
              'td',
              { class: 'num' },
              f(d.difference),
              h('br'),
              h('span', { class: 'lift-interval' }, `[${f(d.low)}, ${f(d.high)}]`),
            ),
          );
        };
        out.replaceChildren(
          h('p', { id: 'lift-verdict' }, h('strong', {}, r.verdict)),
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data lift-table', id: 'lift-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', {}, 'per customer'),
                  h('th', { class: 'num' }, 'treated', h('br'), `(${formatInteger(r.treated.customers)})`),
                  h('th', { class: 'num' }, 'control', h('br'), `(${formatInteger(r.control.customers)})`),
                  h('th', { class: 'num' }, 'difference', h('br'), '[95% interval]'),
                ),
              ),
              h(
                'tbody',
                {},
                line('purchases', 'purchases_per_customer', r.difference.purchases, false),
                line('revenue', 'revenue_per_customer', r.difference.revenue, true),
                line('margin', 'margin_per_customer', r.difference.margin, true),
              ),
            ),
          ),
          h(
            'p',
            {},
            `Incremental revenue ${formatCurrency(r.incremental_revenue.estimate)} [${formatCurrency(r.incremental_revenue.low)}, ${formatCurrency(r.incremental_revenue.high)}]`,
            r.cost === null
              ? ''
              : ` · cost ${formatCurrency(r.cost)} · margin after cost ${formatCurrency(r.net_margin)}`,
          ),
          h('p', { class: 'page-meta' }, r.method),
          // measured: with a few dozen controls the 95% interval holds the truth ~92-94% of the
          // time (docs/campaigns.md, "Measured coverage")
          ...((r.control.customers ?? 0) < SMALL_CONTROL
            ? [
                h(
                  'p',
                  { class: 'page-meta', id: 'lift-caution' },
                  `Only ${formatInteger(r.control.customers ?? 0)} control customers: the interval is approximate and somewhat too narrow; a control group of ${SMALL_CONTROL} or more reads at face value.`,
                ),
              ]
            : []),
        );
      } catch (e) {
        out.replaceChildren(errorState(e));
      }
    });
    liftBody.replaceChildren(
      h('h3', {}, `Lift of “${a.name}”`),
      h('div', { class: 'controls' }, h('label', {}, 'Orders from ', after), cost, go),
      out,
    );
  };

  const loadSaved = async () => {
    try {
      const { audiences } = await ctx.api.get<{ audiences: Saved[] }>('/v1/audiences', ctx.signal);
      if (audiences.length === 0) {
        savedBody.replaceChildren(emptyState('No saved audiences yet.'));
        return;
      }
      const rows = audiences.map((a) => {
        const csv = h('button', { type: 'button', 'data-export': a.audience_id }, 'CSV');
        csv.addEventListener(
          'click',
          () => void download({ audience_id: a.audience_id }, `audience-${a.audience_id}`),
        );
        const lift = h('button', { type: 'button', 'data-lift': a.audience_id }, 'Lift report');
        lift.addEventListener('click', () => void showLift(a));
        return h(
          'tr',
          {},
          h('td', { class: 'num' }, String(a.audience_id)),
          h('td', { class: 'audience-name' }, a.name),
          // the actions next to the name: on a phone they show without scrolling the table
          h('td', {}, csv, ' ', lift),
          h('td', { class: 'num' }, formatInteger(a.members)),
          h('td', { class: 'num' }, formatInteger(a.control)),
          h('td', { class: 'num' }, String(a.run_id)),
          h('td', {}, a.created_at.slice(0, 16).replace('T', ' ')),
          h('td', {}, a.created_by),
        );
      });
      const numeric = new Set(['#', 'Members', 'Control', 'Run']);
      savedBody.replaceChildren(
        // a phone scrolls the table inside its own box, never the page
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'audience-saved-table', class: 'data' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['#', 'Name', '', 'Members', 'Control', 'Run', 'Saved', 'By'].map((t) =>
                  h('th', numeric.has(t) ? { class: 'num' } : {}, t),
                ),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
        ),
      );
    } catch (e) {
      if (!isAbort(e)) savedBody.replaceChildren(errorState(e));
    }
  };

  save.addEventListener('click', async () => {
    const d = builder.definition();
    if ('error' in d) {
      status.textContent = d.error;
      return;
    }
    try {
      const s = await ctx.api.post<Saved & { treated: number }>('/v1/audiences', {
        name: name.value.trim() || 'Untitled audience',
        definition: d.definition,
        control_share: Number(share.value) / 100,
      });
      status.textContent = `Saved audience ${s.audience_id}: ${formatInteger(s.members)} members, ${formatInteger(s.control)} held out.`;
      await loadSaved();
    } catch (e) {
      status.replaceChildren(errorState(e));
    }
  });

  builder.add('churn_probability', 'gt', '0.5');
  root.append(
    h('h1', {}, 'Campaigns'),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Audience'),
      builder.element,
      summary,
      h('div', { class: 'controls' }, exportCsv, exportParquet),
      h('div', { class: 'controls' }, name, h('label', {}, 'Control group % ', share), save),
      status,
    ),
    h('section', { class: 'panel' }, h('h2', {}, 'Saved audiences'), savedBody, liftBody),
  );
  await loadSaved();
}
