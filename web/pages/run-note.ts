/**
 * One line under a page title that names the mining run the page shows and how its CLV was made
 * (model, horizon, where the margin came from), followed by the run's model warnings: a fallback
 * from a degenerate fit, or revenue standing in for margin, must not stay in the run record only.
 * A region-limited token sees the run's settings but not its metrics, so it gets no warnings.
 */
import type { ApiClient } from '../api.ts';
import { formatDate } from '../format.ts';
import { h } from '../ui.ts';

interface RunRecord {
  run_id: number;
  as_of: string;
  params?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

const field = (o: unknown, key: string): unknown =>
  o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;

/** The note element; it fills itself when the run list arrives and stays empty on any error. */
export function runNote(api: ApiClient, signal?: AbortSignal): HTMLElement {
  const note = h('div', { class: 'run-note', id: 'run-note' });
  api
    .get<{ runs: RunRecord[] }>('/v1/mining/runs', signal)
    .then(({ runs }) => {
      const run = runs[0];
      if (!run) return;
      const clv = field(field(run.params, 'value'), 'clv');
      const explanation = field(clv, 'explanation');
      const margin = field(clv, 'margin_source');
      const parts = [`Run ${run.run_id}, as of ${formatDate(run.as_of)}.`];
      if (typeof explanation === 'string') parts.push(`${explanation}.`);
      if (typeof margin === 'string') parts.push(`Margin: ${margin}.`);
      const warnings = field(field(run.metrics, 'value'), 'warnings');
      note.replaceChildren(
        h('p', { class: 'page-meta' }, parts.join(' ')),
        ...(Array.isArray(warnings) ? warnings : [])
          .filter((w): w is string => typeof w === 'string')
          .map((w) => h('p', { class: 'page-meta run-warning', role: 'note' }, `Model warning: ${w}`)),
      );
    })
    .catch(() => undefined);
  return note;
}
