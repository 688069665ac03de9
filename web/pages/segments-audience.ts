/** Segmentation page: audience export of the chosen segment with the page's filters. */
import type { PageContext } from '../context.ts';
import { formatInteger } from '../format.ts';
import { emptyState, errorState, h } from '../ui.ts';
import { audiencePath } from './segments-data.ts';
import { type Data, NO_RUN } from './segments-panel.ts';

export async function fillExport(
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
