/**
 * Small DOM building blocks shared by the pages: element helper, loading/empty/error states, a
 * section with a title, KPI cards (value, change vs. previous period, sparkline) and a sortable
 * table. Everything is plain DOM with real buttons and links, so it works from the keyboard.
 */
import { ApiError } from './api.ts';
import { sparkline } from './charts/sparkline.ts';

type Child = Node | string | null | undefined | false;

/** `h('div', { class: 'x' }, child, ...)`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | null | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function loadingState(text = 'Loading…'): HTMLElement {
  return h('p', { class: 'state loading', role: 'status', 'aria-live': 'polite' }, text);
}

export function emptyState(text = 'No data for these filters.'): HTMLElement {
  return h('p', { class: 'state empty' }, text);
}

export function errorState(error: unknown): HTMLElement {
  const message =
    error instanceof ApiError
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
  return h('p', { class: 'state error', role: 'alert' }, `Could not load: ${message}`);
}

/** True for the error a fetch throws when its page was left (not worth showing). */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/**
 * A titled panel whose body is filled by `fill` (loading state first, error state on failure).
 * Returns the panel at once; the promise settles when the body is done.
 */
export function section(
  parent: HTMLElement,
  title: string,
  fill: (body: HTMLElement) => Promise<void>,
  options: { id?: string; wide?: boolean } = {},
): Promise<void> {
  const body = h('div', { class: 'panel-body' }, loadingState());
  const panel = h(
    'section',
    { class: options.wide ? 'panel wide' : 'panel', id: options.id, 'aria-label': title },
    h('h2', {}, title),
    body,
  );
  parent.append(panel);
  return fill(body).then(
    () => {
      body.querySelector(':scope > .state.loading')?.remove();
    },
    (e: unknown) => {
      if (isAbort(e)) return;
      body.replaceChildren(errorState(e));
    },
  );
}

export interface KpiCard {
  readonly id: string;
  readonly label: string;
  /** The formatted value. */
  readonly value: string;
  /** The raw value (kept in data-value for tests and tools). */
  readonly raw: number | null;
  /** e.g. "+4.2%"; null when there is nothing to compare. */
  readonly change?: string | null;
  /** Shown under the value, e.g. "vs. 2023-01-01 – 2023-12-31". */
  readonly note?: string;
  readonly series?: readonly number[];
  /** Per point of `series`: true when its bucket is only partly covered by the data (drawn hollow). */
  readonly partial?: readonly boolean[];
  /** Why those points are partial, e.g. "data end Dec 9, 2011". */
  readonly partialNote?: string;
  /** For measures where down is good (none yet), flips the colour. */
  readonly lowerIsBetter?: boolean;
}

export function kpiCard(k: KpiCard): HTMLElement {
  const dir = k.change
    ? k.change.startsWith('+')
      ? 'up'
      : k.change.startsWith('−')
        ? 'down'
        : 'flat'
    : 'flat';
  const good = dir === 'flat' ? '' : (dir === 'up') !== (k.lowerIsBetter ?? false) ? 'good' : 'bad';
  const card = h(
    'article',
    { class: 'kpi', 'data-kpi': k.id, 'data-value': k.raw === null ? '' : String(k.raw) },
    h('h3', {}, k.label),
    h('p', { class: 'kpi-value' }, k.value),
    h('p', { class: `kpi-change ${good}` }, k.change ? `${k.change} ${k.note ?? ''}`.trim() : (k.note ?? '')),
  );
  if (k.series && k.series.length > 1) {
    card.append(
      sparkline(k.series, {
        document,
        label: `${k.label} trend`,
        ...(k.partial ? { partial: k.partial } : {}),
        ...(k.partialNote ? { partialNote: k.partialNote } : {}),
      }),
    );
  }
  return card;
}

export interface Column<T> {
  readonly key: string;
  readonly label: string;
  readonly value: (row: T) => string | number | null;
  /** Cell content; defaults to the value as text. */
  readonly render?: (row: T) => Node | string;
  readonly numeric?: boolean;
  /**
   * 1 = always shown; 2 = hidden on a phone until "All columns" is pressed. Default: the first
   * column and numeric columns 1 (the row's name and its figures), other columns 2.
   */
  readonly priority?: 1 | 2;
}

/**
 * A table whose header buttons sort it (click again to reverse). On a phone it shows the columns
 * of priority 1, scrolls sideways inside its box with the first column fixed, and offers the rest
 * behind an "All columns" button.
 */
export function sortableTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: { caption?: string; id?: string } = {},
): HTMLElement {
  let sortKey: string | null = null;
  let desc = false;
  const priorityClass = (c: Column<T>, i: number) =>
    (c.priority ?? (i === 0 || c.numeric ? 1 : 2)) === 2 ? 'p2' : null;
  const cellClass = (c: Column<T>, i: number) =>
    [c.numeric ? 'num' : null, priorityClass(c, i)].filter((x) => x !== null).join(' ') || null;
  const tbody = h('tbody');
  const headRow = h('tr');
  const fillBody = () => {
    const sorted = [...rows];
    const col = columns.find((c) => c.key === sortKey);
    if (col) {
      sorted.sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        const c =
          x === null
            ? 1
            : y === null
              ? -1
              : typeof x === 'number' && typeof y === 'number'
                ? x - y
                : String(x).localeCompare(String(y));
        return desc ? -c : c;
      });
    }
    tbody.replaceChildren(
      ...sorted.map((r) =>
        h(
          'tr',
          {},
          ...columns.map((c, i) =>
            h(
              'td',
              { class: cellClass(c, i), 'data-col': c.key },
              c.render ? c.render(r) : String(c.value(r) ?? '—'),
            ),
          ),
        ),
      ),
    );
    for (const th of headRow.querySelectorAll('th')) {
      th.setAttribute('aria-sort', th.dataset.col === sortKey ? (desc ? 'descending' : 'ascending') : 'none');
    }
  };
  for (const [i, c] of columns.entries()) {
    const btn = h('button', { type: 'button', class: 'sort' }, c.label);
    btn.addEventListener('click', () => {
      desc = sortKey === c.key ? !desc : Boolean(c.numeric);
      sortKey = c.key;
      fillBody();
    });
    headRow.append(h('th', { scope: 'col', class: cellClass(c, i), 'data-col': c.key }, btn));
  }
  fillBody();
  const table = h(
    'table',
    { class: 'data', id: options.id },
    options.caption ? h('caption', {}, options.caption) : null,
    h('thead', {}, headRow),
    tbody,
  );
  const hidden = columns.filter((c, i) => priorityClass(c, i) !== null).length;
  if (hidden === 0) return h('div', { class: 'table-wrap' }, table);
  const wrap = h('div', { class: 'table-wrap' }, table);
  const more = h(
    'button',
    { type: 'button', class: 'more-columns', 'aria-expanded': 'false' },
    `All columns (+${hidden})`,
  );
  more.addEventListener('click', () => {
    const all = wrap.classList.toggle('all-columns');
    more.setAttribute('aria-expanded', String(all));
    more.textContent = all ? 'Fewer columns' : `All columns (+${hidden})`;
  });
  return h('div', { class: 'table-block' }, more, wrap);
}

/** A link handled by the client-side router (a real <a>, so it opens in a new tab too). */
export function link(href: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href, 'data-link': '', ...attrs }, text);
}

/** A chart container that tests and the bench can find (`[data-chart=name]`). */
export function chartBox(name: string, chart: Element, caption?: string): HTMLElement {
  return h(
    'figure',
    { class: 'chart', 'data-chart': name },
    chart,
    caption ? h('figcaption', {}, caption) : null,
  );
}
