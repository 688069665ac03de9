/**
 * The data-quality warnings the executive page shows: each check above its limit in the model
 * (model/data-quality.yml, `*_limit`), per source, with a link to the data page. Nothing when all
 * checks are within their limits or the checks cannot be read (the page works without them).
 */
import type { ApiClient } from '../api.ts';
import { formatPercent } from '../format.ts';
import { h, isAbort, link } from '../ui.ts';
import type { Checks } from './data.ts';

export async function dataWarnings(api: ApiClient, signal: AbortSignal): Promise<HTMLElement | null> {
  let checks: Checks;
  try {
    checks = await api.get<Checks>('/v1/data/checks', signal);
  } catch (e) {
    if (isAbort(e)) throw e;
    return null;
  }
  const above = checks.checks.filter((c) => c.warning);
  if (above.length === 0) return null;
  return h(
    'div',
    { class: 'panel data-warnings', id: 'data-warnings', role: 'status' },
    h('strong', {}, 'Data quality: '),
    ...above.map((c) =>
      h(
        'span',
        { class: 'tag bad', 'data-check': c.check, 'data-source': c.source, 'data-value': String(c.share) },
        `${c.source}: ${c.title} ${formatPercent(c.share, 1)} (limit ${formatPercent(c.limit, 1)})`,
      ),
    ),
    ' ',
    link('/data', 'See the data page'),
  );
}
