/** Segmentation page: segment migration between two mining runs. */
import { transitionMatrix } from '../charts/transition.ts';
import type { PageContext } from '../context.ts';
import { formatInteger, formatPercent } from '../format.ts';
import { chartBox, emptyState, errorState, h, loadingState } from '../ui.ts';
import type { Data } from './segments-panel.ts';

export async function fillMigration(body: HTMLElement, ctx: PageContext, data: Data): Promise<void> {
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
