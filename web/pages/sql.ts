/**
 * SQL console (`/sql`, analyst role): one read-only SELECT on the warehouse through POST /v1/adhoc.
 * Ctrl+Enter (or Cmd+Enter) runs it; the result shows its columns and rows, the row count (and
 * whether the server cut it at its row limit) and the time; an error shows the API's message.
 * The last statement is kept in the URL (`?sql=`). The whole result (not only the rows drawn) can
 * be saved as CSV or Parquet: the same statement again through POST /v1/adhoc with a `format`, so
 * the same parse-tree check and caps apply.
 */
import { ApiError } from '../api.ts';
import type { PageContext } from '../context.ts';
import { formatInteger } from '../format.ts';
import { emptyState, h, loadingState } from '../ui.ts';
import { ensureStyles } from './explore-style.ts';
import { formatSqlCell } from './sql-cell.ts';

interface AdhocResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly truncated: boolean;
  readonly ms: number;
}

const EXAMPLE = `SELECT c.region, count(*) AS customers
FROM core.dim_customer c
WHERE c.is_current
GROUP BY 1
ORDER BY 2 DESC`;

/** Rows drawn in the page; the rest are counted (the API returns at most 10,000). */
const SHOWN = 1000;

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  ensureStyles();
  const input = h('textarea', {
    id: 'sql-input',
    class: 'sql-input',
    spellcheck: 'false',
    'aria-describedby': 'sql-help',
  });
  input.value = ctx.query.get('sql') ?? EXAMPLE;
  const run = h('button', { type: 'submit', id: 'sql-run' }, 'Run');
  const status = h('p', { class: 'sql-status', id: 'sql-status', role: 'status', 'aria-live': 'polite' });
  const out = h('div', { id: 'sql-result' });
  const downloads = (['csv', 'parquet'] as const).map((format) =>
    h(
      'button',
      { type: 'button', id: `sql-download-${format}`, 'data-format': format, hidden: true },
      `Download ${format === 'csv' ? 'CSV' : 'Parquet'}`,
    ),
  );
  let lastSql = '';
  for (const b of downloads) {
    b.addEventListener('click', async () => {
      const format = b.dataset.format as 'csv' | 'parquet';
      b.disabled = true;
      try {
        await ctx.api.download('/v1/adhoc', `query.${format}`, { sql: lastSql, format });
      } catch (e) {
        out.prepend(
          h('p', { class: 'state error', role: 'alert' }, e instanceof Error ? e.message : String(e)),
        );
      } finally {
        b.disabled = false;
      }
    });
  }
  const form = h(
    'form',
    { 'aria-label': 'SQL query' },
    h('label', { for: 'sql-input' }, 'SQL'),
    input,
    h(
      'p',
      { class: 'page-meta', id: 'sql-help' },
      'One read-only SELECT over core.* and mining.* (analyst role). Ctrl+Enter runs it.',
    ),
    run,
  );
  root.append(
    h('h1', {}, 'SQL console'),
    h(
      'section',
      { class: 'panel sql-panel' },
      form,
      h('div', { class: 'sql-bar' }, status, ...downloads),
      out,
    ),
  );

  let running = false;
  const execute = async () => {
    const sql = input.value.trim();
    if (sql === '' || running) return;
    running = true;
    run.disabled = true;
    ctx.setQuery({ sql });
    status.textContent = 'Running…';
    for (const b of downloads) b.hidden = true;
    out.replaceChildren(loadingState('Running…'));
    try {
      const r = await ctx.api.post<AdhocResult>('/v1/adhoc', { sql }, ctx.signal);
      const count = `${formatInteger(r.rows.length)} row${r.rows.length === 1 ? '' : 's'}`;
      status.textContent = `${count}${r.truncated ? ' (truncated at the server’s row limit)' : ''} in ${formatInteger(r.ms)} ms`;
      status.dataset.rows = String(r.rows.length);
      status.dataset.truncated = String(r.truncated);
      lastSql = sql;
      for (const b of downloads) b.hidden = r.rows.length === 0;
      if (r.rows.length === 0) {
        out.replaceChildren(emptyState('The query returned no rows.'));
        return;
      }
      const head = h('tr', {}, ...r.columns.map((c) => h('th', { scope: 'col', title: c.type }, c.name)));
      const body = h(
        'tbody',
        {},
        ...r.rows.slice(0, SHOWN).map((row) =>
          h(
            'tr',
            {},
            ...row.map((v, i) =>
              h(
                'td',
                {
                  class: typeof v === 'number' ? 'num' : null,
                  'data-col': r.columns[i]?.name ?? '',
                  // the exact value on hover; the downloads have it too
                  title: typeof v === 'number' && !Number.isInteger(v) ? String(v) : null,
                },
                formatSqlCell(v),
              ),
            ),
          ),
        ),
      );
      out.replaceChildren(
        ...(r.rows.length > SHOWN
          ? [
              h(
                'p',
                { class: 'sql-status', id: 'sql-shown' },
                `Showing the first ${formatInteger(SHOWN)} of ${formatInteger(r.rows.length)} rows; the downloads hold all ${formatInteger(r.rows.length)}.`,
              ),
            ]
          : []),
        h(
          'div',
          { class: 'table-wrap' },
          h('table', { class: 'data', id: 'sql-table' }, h('thead', {}, head), body),
        ),
      );
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') return;
      status.textContent = '';
      const message =
        e instanceof ApiError ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
      out.replaceChildren(h('p', { class: 'state error', role: 'alert', id: 'sql-error' }, message));
    } finally {
      running = false;
      run.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void execute();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void execute();
    }
  });
}
