/**
 * The quarantine browser of the data page: filters (load, file, reason, column, status) kept in the
 * URL, counts that equal meta.etl_reject, each rejected row split into the source's fields with the
 * bad field marked and the rule it broke in words, paging, and the CSV export of one file's rejects
 * in its own layout (to fix in a spreadsheet and load again). Roles below analyst see counts only.
 */
import { ApiError } from '../api.ts';
import type { PageContext } from '../context.ts';
import { formatInteger } from '../format.ts';
import { emptyState, errorState, h, isAbort } from '../ui.ts';

type Facet = 'load_id' | 'source_file' | 'reason' | 'column_name' | 'status';
type Count = { value: string | number | null; count: number };

interface Reject {
  load_id: number;
  source_file: string;
  line: number | null;
  source_key: string | null;
  reason: string;
  column_name: string | null;
  raw: string | null;
  header: string[] | null;
  fields: string[] | null;
  bad_fields: number[];
  rule: string;
  status: 'resolved' | 'standing';
  resolved_by_load: number | null;
}
interface Quarantine {
  total: number;
  counts: Record<Facet, Count[]>;
  rows: Reject[] | null;
  limit: number;
  offset: number;
}

/** URL parameter of each filter (the API's names). */
const FILTERS: readonly (readonly [string, Facet, string])[] = [
  ['load', 'load_id', 'Load'],
  ['file', 'source_file', 'File'],
  ['reason', 'reason', 'Reason'],
  ['column', 'column_name', 'Column'],
  ['status', 'status', 'Status'],
];
const PAGE = 25;

const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

/** The raw row as a two-line table: the header, then the fields with the bad one(s) marked. */
export function rawRow(r: Reject): HTMLElement {
  if (r.fields === null || r.header === null) return h('code', { class: 'raw' }, r.raw ?? '');
  const bad = new Set(r.bad_fields);
  return h(
    'table',
    { class: 'raw-row' },
    h('tr', {}, ...r.header.map((c, i) => h('th', { class: bad.has(i) ? 'bad' : null }, c))),
    h(
      'tr',
      {},
      ...r.fields.map((f, i) =>
        h(
          'td',
          bad.has(i) ? { class: 'bad', 'data-bad-field': r.header?.[i] ?? '' } : {},
          bad.has(i) ? h('mark', {}, f) : f,
        ),
      ),
    ),
  );
}

function rejectList(q: Quarantine): HTMLElement {
  if (q.rows === null)
    return h(
      'p',
      { class: 'note', id: 'counts-only' },
      'Your role sees counts only; analysts and admins see the rows.',
    );
  if (q.rows.length === 0) return emptyState('No rejects match these filters.');
  return h(
    'ol',
    { class: 'rejects', start: String(q.offset + 1) },
    ...q.rows.map((r) =>
      h(
        'li',
        {
          'data-reject': `${r.load_id}:${r.source_file}:${r.line ?? r.source_key}`,
          'data-status': r.status,
          'data-reason': r.reason,
        },
        h(
          'p',
          {},
          h('strong', {}, `${fileName(r.source_file)}:${r.line ?? r.source_key ?? '?'}`),
          ` load ${r.load_id} · ${r.reason} · `,
          h('span', { class: 'rule' }, r.rule),
          ' · ',
          h(
            'span',
            { class: r.status === 'resolved' ? 'tag good' : 'tag', 'data-status-tag': r.status },
            r.status === 'resolved' ? `resolved by load ${r.resolved_by_load}` : 'standing',
          ),
        ),
        rawRow(r),
      ),
    ),
  );
}

export async function quarantinePanel(body: HTMLElement, ctx: PageContext): Promise<void> {
  const state = new URLSearchParams();
  for (const [param] of FILTERS) {
    const v = ctx.query.get(param);
    if (v) state.set(param, v);
  }
  let offset = Number(ctx.query.get('offset') ?? 0) || 0;
  const controls = h('form', { class: 'filters', id: 'quarantine-filters' });
  const summary = h('div', { class: 'summary' });
  const list = h('div', { class: 'list' });
  body.append(controls, summary, list);

  const fill = async () => {
    const params = new URLSearchParams(state);
    params.set('limit', String(PAGE));
    params.set('offset', String(offset));
    const q = await ctx.api.get<Quarantine>(`/v1/data/rejects?${params}`, ctx.signal);
    controls.replaceChildren(
      ...FILTERS.map(([param, facet, label]) => {
        const select = h(
          'select',
          { name: param, 'aria-label': label },
          h('option', { value: '' }, `${label}: all`),
        );
        const current = state.get(param);
        const options = q.counts[facet].map((c) => String(c.value ?? ''));
        if (current && !options.includes(current)) options.unshift(current);
        for (const v of options) {
          const n = q.counts[facet].find((c) => String(c.value ?? '') === v)?.count;
          const label2 = facet === 'source_file' ? fileName(v) : v;
          select.append(
            h('option', { value: v }, n === undefined ? label2 : `${label2} (${formatInteger(n)})`),
          );
        }
        select.value = current ?? '';
        select.addEventListener('change', () => {
          if (select.value) state.set(param, select.value);
          else state.delete(param);
          offset = 0;
          ctx.setQuery({ [param]: select.value || null, offset: null });
          void refresh();
        });
        return select;
      }),
    );
    // one file's rejects export in its columns: the file filter, or the only file left
    const files = q.counts.source_file;
    const file = state.get('file') ?? (files.length === 1 ? String(files[0]?.value) : null);
    const download = h(
      'button',
      {
        type: 'button',
        id: 'download-rejects',
        disabled: q.rows === null || file === null || q.total === 0 ? '' : null,
      },
      'Download CSV to fix',
    );
    download.title =
      file === null ? 'pick one file first' : `the rejects of ${fileName(file)} in its own columns`;
    download.addEventListener('click', () => {
      if (file === null) return;
      const p = new URLSearchParams(state);
      p.set('file', file);
      void ctx.api.download(`/v1/data/rejects.csv?${p}`, fileName(file));
    });
    const pager = h('span', { class: 'pager' });
    if (q.rows !== null && q.total > PAGE) {
      const prev = h('button', { type: 'button', disabled: offset === 0 ? '' : null }, 'Previous');
      const next = h('button', { type: 'button', disabled: offset + PAGE >= q.total ? '' : null }, 'Next');
      prev.addEventListener('click', () => move(-PAGE));
      next.addEventListener('click', () => move(PAGE));
      pager.append(
        prev,
        ` ${formatInteger(offset + 1)}–${formatInteger(Math.min(offset + PAGE, q.total))} `,
        next,
      );
    }
    const resolved = q.counts.status.find((s) => s.value === 'resolved')?.count ?? 0;
    summary.replaceChildren(
      h(
        'p',
        {},
        h('strong', { id: 'quarantine-total', 'data-value': String(q.total) }, formatInteger(q.total)),
        ' rejected rows, ',
        h('span', { id: 'quarantine-resolved', 'data-value': String(resolved) }, formatInteger(resolved)),
        ' resolved by a later load. ',
        download,
        pager,
      ),
      h(
        'p',
        { class: 'reasons' },
        ...q.counts.reason.map((r) =>
          h(
            'span',
            { class: 'tag', 'data-reason-count': String(r.value), 'data-value': String(r.count) },
            `${r.value} ${formatInteger(r.count)}`,
          ),
        ),
      ),
    );
    list.replaceChildren(rejectList(q));
  };
  const refresh = () =>
    fill().catch((e: unknown) => {
      if (!isAbort(e)) list.replaceChildren(errorState(e instanceof ApiError ? e : new Error(String(e))));
    });
  const move = (by: number) => {
    offset = Math.max(0, offset + by);
    ctx.setQuery({ offset: offset === 0 ? null : String(offset) });
    void refresh();
  };
  await fill();
}
