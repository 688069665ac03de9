/**
 * Explorer (`/explore`): pick measures, dimensions, a time granularity and filters from /v1/meta;
 * see a bar chart or a pivot table with subtotals; click a bar or a row value to drill down (the
 * cube's drill: the clicked value becomes a filter and the next level of the hierarchy replaces
 * the member) and roll back up with the breadcrumbs; export the result as CSV. The whole view is
 * in the URL (see explore-state.ts), so it can be shared.
 */
import type { CubeQuery, Row } from '../api.ts';
import { barChart } from '../charts/bar.ts';
import { pivotTable } from '../charts/pivot-table.ts';
import type { PageContext } from '../context.ts';
import { formatCurrency, formatIsoDate, formatNumber, formatPercent } from '../format.ts';
import { memberPicker } from '../member-picker.ts';
import { chartBox, emptyState, errorState, h, loadingState } from '../ui.ts';
import { downloadCsv } from './explore-csv.ts';
import {
  type Crumb,
  drillMember,
  type ExploreQuery,
  type ExploreState,
  finerOf,
  GRANULARITIES,
  groupKeys,
  type Hierarchy,
  loadQuery,
  parseState,
  ROW_LIMIT,
  rowCountText,
  rowMembers,
  stateParams,
} from './explore-state.ts';
import { ensureStyles } from './explore-style.ts';

interface MetaMember {
  readonly name: string;
  readonly title: string;
  readonly shortTitle?: string;
  readonly type: string;
  readonly format?: string;
}
interface MetaCube {
  readonly name: string;
  readonly title: string;
  readonly measures: readonly MetaMember[];
  readonly dimensions: readonly MetaMember[];
  readonly hierarchies: readonly Hierarchy[];
}

const OPERATORS = ['equals', 'notEquals', 'contains', 'gt', 'gte', 'lt', 'lte', 'set', 'notSet'] as const;

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  ensureStyles();
  const { cubes } = await ctx.api.get<{ cubes: MetaCube[] }>('/v1/meta', ctx.signal);
  const members = new Map<string, MetaMember>();
  for (const c of cubes) for (const m of [...c.measures, ...c.dimensions]) members.set(m.name, m);
  const hierarchies = cubes.flatMap((c) => c.hierarchies);
  const title = (key: string): string => {
    const m = members.get(key);
    if (m) return m.title;
    const g = GRANULARITIES.find((x) => key.endsWith(`.${x}`));
    const base = g ? members.get(key.slice(0, -(g.length + 1))) : undefined;
    return base && g ? `${base.title} (${g})` : key;
  };
  const isTime = (key: string) => GRANULARITIES.some((g) => key.endsWith(`.${g}`) && !members.has(key));
  const formatValue = (measure: string, v: unknown): string => {
    const f = members.get(measure)?.format;
    return f === 'currency' ? formatCurrency(v) : f === 'percent' ? formatPercent(v) : formatNumber(v);
  };
  const formatKey = (member: string, v: unknown): string =>
    v === null || v === undefined ? '∅' : isTime(member) ? formatIsoDate(v) : String(v);

  const parsed = parseState(ctx.query);
  let state: ExploreState = parsed;

  // ---- controls (built once; their values follow the state) ----
  const measurePicker = memberPicker(
    'explore-measures',
    'Measures',
    cubes
      .filter((c) => c.measures.length > 0)
      .map((c) => ({ title: c.title, options: c.measures.map((m) => ({ value: m.name, label: m.title })) })),
  );
  const dimensionPicker = memberPicker(
    'explore-dimensions',
    'Dimensions',
    cubes
      .map((c) => ({
        title: c.title,
        options: c.dimensions
          .filter((d) => d.type !== 'time')
          .map((d) => ({ value: d.name, label: d.title })),
      }))
      .filter((g) => g.options.length > 0),
  );
  const timeSelect = h('select', { id: 'explore-time' }, h('option', { value: '' }, 'No time'));
  const granularitySelect = h(
    'select',
    { id: 'explore-granularity' },
    ...GRANULARITIES.map((g) => h('option', { value: g }, g)),
  );
  for (const c of cubes)
    for (const d of c.dimensions.filter((x) => x.type === 'time'))
      timeSelect.append(h('option', { value: d.name }, d.title));
  const apply = h('button', { type: 'submit', id: 'explore-apply' }, 'Apply');
  const form = h(
    'form',
    { class: 'controls', id: 'explore-form', 'aria-label': 'Query' },
    measurePicker.element,
    dimensionPicker.element,
    h('label', {}, 'Time', timeSelect),
    h('label', {}, 'Granularity', granularitySelect),
    apply,
  );

  const filterMember = h('select', { id: 'explore-filter-member' });
  for (const c of cubes) {
    filterMember.append(
      h(
        'optgroup',
        { label: c.title },
        ...[...c.dimensions, ...c.measures].map((m) => h('option', { value: m.name }, m.title)),
      ),
    );
  }
  const filterOp = h(
    'select',
    { id: 'explore-filter-operator' },
    ...OPERATORS.map((o) => h('option', { value: o }, o)),
  );
  const filterValue = h('input', { id: 'explore-filter-value', type: 'text', placeholder: 'value' });
  const addFilter = h('button', { type: 'submit', id: 'explore-filter-add' }, 'Add filter');
  const filterForm = h(
    'form',
    { class: 'controls', 'aria-label': 'Add a filter' },
    h('label', {}, 'Filter on', filterMember),
    h('label', {}, 'Operator', filterOp),
    h('label', {}, 'Value', filterValue),
    addFilter,
  );
  const chips = h('ul', { class: 'chips', id: 'explore-filters', 'aria-label': 'Query filters' });

  const viewButtons = (['chart', 'table'] as const).map((v) =>
    h(
      'button',
      { type: 'button', 'data-view': v, 'aria-pressed': 'false' },
      v === 'chart' ? 'Chart' : 'Table',
    ),
  );
  const colSelect = h('select', { id: 'explore-col' });
  const csv = h('button', { type: 'button', id: 'explore-csv' }, 'Export CSV');
  const toolbar = h(
    'div',
    { class: 'controls' },
    h('div', { class: 'toggle', role: 'group', 'aria-label': 'View' }, ...viewButtons),
    h('label', {}, 'Pivot columns', colSelect),
    csv,
  );
  const crumbs = h('ol', { class: 'crumbs', id: 'explore-crumbs', 'aria-label': 'Drill path' });
  const status = h('p', { class: 'sql-status', id: 'explore-status', 'aria-live': 'polite' });
  const result = h('div', { id: 'explore-result' });
  const notice = parsed.invalid
    ? h(
        'p',
        { class: 'state error', role: 'alert' },
        'The query in the address is not valid JSON; showing the default view.',
      )
    : null;
  root.append(
    h('h1', {}, 'Explorer'),
    h(
      'p',
      { class: 'page-meta' },
      'Pick measures and dimensions; click a bar or a row value to drill down, and a breadcrumb to go back up.',
    ),
    ...(notice ? [notice] : []),
    h('section', { class: 'panel', 'aria-label': 'Query' }, form, filterForm, chips),
    h(
      'section',
      { class: 'panel', 'aria-label': 'Result' },
      toolbar,
      h('nav', { 'aria-label': 'Breadcrumbs' }, crumbs),
      status,
      result,
    ),
  );

  const syncControls = () => {
    const q = state.query;
    measurePicker.set(q.measures);
    dimensionPicker.set(q.dimensions);
    const td = q.timeDimensions?.find((t) => t.granularity);
    timeSelect.value = td?.dimension ?? '';
    granularitySelect.value = td?.granularity ?? 'month';
    for (const b of viewButtons) b.setAttribute('aria-pressed', String(b.dataset.view === state.view));
    colSelect.replaceChildren(
      h('option', { value: '' }, 'None'),
      ...groupKeys(q).map((k) => h('option', { value: k }, title(k))),
    );
    colSelect.value = state.col && groupKeys(q).includes(state.col) ? state.col : '';
    colSelect.disabled = state.view !== 'table';
    chips.replaceChildren(
      ...(q.filters ?? []).map((f, i) => {
        const remove = h(
          'button',
          { type: 'button', 'aria-label': `Remove filter ${describeFilter(f, title)}` },
          '×',
        );
        remove.addEventListener('click', () => {
          const filters = (q.filters ?? []).filter((_, j) => j !== i);
          void update({ ...state, query: withFilters(q, filters) });
        });
        return h('li', {}, describeFilter(f, title), remove);
      }),
    );
    const steps = [{ label: 'All', up: '' }, ...state.trail];
    crumbs.replaceChildren(
      ...steps.map((c, i) => {
        if (i === steps.length - 1) return h('li', {}, h('span', { 'aria-current': 'step' }, c.label));
        const b = h('button', { type: 'button', 'data-crumb': i }, c.label);
        b.addEventListener('click', () => void rollUpTo(i));
        return h('li', {}, b);
      }),
    );
  };

  let seq = 0;
  const draw = async () => {
    const mine = ++seq;
    syncControls();
    const q = state.query;
    if (q.measures.length === 0) {
      result.replaceChildren(emptyState('Pick at least one measure.'));
      status.textContent = '';
      return;
    }
    result.replaceChildren(loadingState());
    const table = state.view === 'table';
    const t0 = performance.now();
    let rows: Row[];
    try {
      rows = await ctx.api.load(loadQuery(state, ctx.filters, table) as CubeQuery, ctx.signal);
    } catch (e) {
      if (mine === seq) result.replaceChildren(errorState(e));
      return;
    }
    if (mine !== seq) return;
    // the rows the export has: subtotal rows of the table are not counted
    const detail = rows.filter((r) => !r.__grouping);
    const shown = Math.min(detail.length, ROW_LIMIT);
    status.textContent = `${rowCountText(detail.length)} in ${Math.round(performance.now() - t0)} ms`;
    status.dataset.rows = String(shown);
    if (detail.length === 0) {
      result.replaceChildren(emptyState());
      return;
    }
    if (table) {
      result.replaceChildren(
        pivotTable({
          rows,
          rowMembers: rowMembers(state),
          columnMember: state.col,
          measures: q.measures,
          titles: Object.fromEntries([...q.measures, ...groupKeys(q)].map((k) => [k, title(k)])),
          format: formatValue,
          formatKey,
          canDrill: (m) => finerOf(m, q, hierarchies) !== null,
          onDrill: (m, v) => void drill(m, v),
          caption: q.measures.map(title).join(', '),
        }),
      );
      return;
    }
    const keys = groupKeys(q);
    const target = drillMember(q, hierarchies);
    const byLabel = new Map<string, Row>();
    const labelled = detail.slice(0, ROW_LIMIT).map((r) => {
      const label = keys.length === 0 ? 'Total' : keys.map((k) => formatKey(k, r[k])).join(' · ');
      byLabel.set(label, r);
      return { label, row: r };
    });
    const width = Math.min(900, Math.max(280, root.clientWidth - 40));
    // one bar chart per measure, the bars in the same order: measures keep their own scale and unit
    const charts = q.measures.map((measure, i) =>
      chartBox(
        'explore',
        barChart(
          labelled.map((b) => ({ label: b.label, value: Number(b.row[measure] ?? Number.NaN) })),
          {
            document,
            width,
            format: (v) => formatValue(measure, v),
            xLabel: title(measure),
            ...(target
              ? { onSelect: (label: string) => void drill(target, byLabel.get(label)?.[target] ?? null) }
              : {}),
          },
        ),
        i < q.measures.length - 1
          ? undefined
          : target
            ? `Click a bar to drill into ${title(target)}.`
            : `${q.measures.map(title).join(', ')}${keys.length ? ` by ${keys.map(title).join(', ')}` : ''}.`,
      ),
    );
    for (const [i, c] of charts.entries()) c.dataset.measure = q.measures[i] as string;
    result.replaceChildren(
      ...(charts.length === 1
        ? charts
        : [
            h(
              'div',
              { class: 'explore-multiples' },
              ...charts.map((c, i) => h('div', {}, h('h3', {}, title(q.measures[i] as string)), c)),
            ),
          ]),
    );
  };

  const update = async (next: ExploreState) => {
    state = next;
    ctx.setQuery(stateParams(state));
    await draw();
  };

  const drill = async (member: string, value: unknown) => {
    const up = finerOf(member, state.query, hierarchies);
    if (!up) return;
    status.textContent = 'Drilling…';
    try {
      const r = await ctx.api.post<{ query: ExploreQuery }>(
        '/v1/explore/drill',
        { query: state.query, member, value },
        ctx.signal,
      );
      const crumb: Crumb = { label: `${title(member)}: ${formatKey(member, value)}`, up };
      await update({ ...state, query: r.query, trail: [...state.trail, crumb], col: null });
    } catch (e) {
      result.replaceChildren(errorState(e));
    }
  };

  const rollUpTo = async (index: number) => {
    let query = state.query;
    try {
      for (let k = state.trail.length - 1; k >= index; k--) {
        const crumb = state.trail[k] as Crumb;
        query = (
          await ctx.api.post<{ query: ExploreQuery }>(
            '/v1/explore/rollup',
            { query, member: crumb.up },
            ctx.signal,
          )
        ).query;
      }
      await update({ ...state, query, trail: state.trail.slice(0, index), col: null });
    } catch (e) {
      result.replaceChildren(errorState(e));
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const measures = measurePicker.values();
    const dimensions = dimensionPicker.values();
    const time = timeSelect.value;
    const old = state.query.timeDimensions?.find((t) => t.dimension === time);
    const timeDimensions = time
      ? [
          {
            dimension: time,
            granularity: granularitySelect.value,
            ...(old?.dateRange ? { dateRange: old.dateRange } : {}),
          },
        ]
      : [];
    const query: ExploreQuery = {
      measures,
      dimensions,
      ...(timeDimensions.length > 0 ? { timeDimensions } : {}),
      ...(state.query.filters ? { filters: state.query.filters } : {}),
    };
    // a new choice of members starts a new drill path
    void update({ ...state, query, trail: [], col: null });
  });
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const op = filterOp.value;
    const needsValue = op !== 'set' && op !== 'notSet';
    if (needsValue && filterValue.value.trim() === '') {
      filterValue.setCustomValidity('Enter a value for this operator');
      filterValue.reportValidity();
      return;
    }
    filterValue.setCustomValidity('');
    const f = {
      member: filterMember.value,
      operator: op,
      ...(needsValue ? { values: [filterValue.value.trim()] } : {}),
    };
    filterValue.value = '';
    void update({ ...state, query: withFilters(state.query, [...(state.query.filters ?? []), f]) });
  });
  for (const b of viewButtons) {
    b.addEventListener(
      'click',
      () => void update({ ...state, view: b.dataset.view === 'table' ? 'table' : 'chart' }),
    );
  }
  colSelect.addEventListener('change', () => void update({ ...state, col: colSelect.value || null }));
  csv.addEventListener('click', async () => {
    const prev = status.textContent;
    status.textContent = 'Exporting…';
    try {
      await downloadCsv(loadQuery(state, ctx.filters, false), 'explore.csv');
      status.textContent = prev;
    } catch (e) {
      status.replaceChildren(errorState(e));
    }
  });

  await draw();
}

function withFilters(q: ExploreQuery, filters: readonly Record<string, unknown>[]): ExploreQuery {
  const { filters: _old, ...rest } = q;
  return filters.length > 0 ? { ...rest, filters } : rest;
}

function describeFilter(f: Record<string, unknown>, title: (k: string) => string): string {
  const member = String(f.member ?? f.dimension ?? '?');
  const values = Array.isArray(f.values) ? f.values.map(String).join(', ') : '';
  return `${title(member)} ${String(f.operator ?? '')} ${values}`.trim();
}
