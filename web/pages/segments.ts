import type { PageContext } from '../context.ts';
import { h, section } from '../ui.ts';
import { dataCoverage } from './coverage.ts';
import { ensureStyles } from './explore-style.ts';
import { fillExport } from './segments-audience.ts';
import { fillClusters } from './segments-clusters.ts';
import { fillCohorts } from './segments-cohorts.ts';
import { segmentationApi } from './segments-data.ts';
import { fillMigration } from './segments-migration.ts';
import { noRun } from './segments-panel.ts';
import { fillCards, fillGrid } from './segments-rfm.ts';

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  ensureStyles();
  const data = segmentationApi(ctx.api, ctx.filters, ctx.signal);
  const regionNote = ctx.filters.region.length > 0 ? `Regions: ${ctx.filters.region.join(', ')}. ` : '';
  const meta = h('p', { class: 'page-meta' }, `${regionNote}Scores of the latest mining run.`);
  root.append(h('h1', {}, 'Segmentation'), meta);
  const grid = h('div', { class: 'grid' });
  root.append(grid);

  // the segment chosen for export, shared by the cards and the export panel
  let chosen: string | null = ctx.query.get('audience') ?? ctx.filters.segment[0] ?? null;
  const listeners: ((name: string | null) => void)[] = [];
  const choose = (name: string | null) => {
    chosen = name;
    ctx.setQuery({ audience: name });
    for (const l of listeners) l(name);
  };

  await Promise.all([
    section(grid, 'RFM grid', (body) => fillGrid(body, ctx, data).catch((e) => noRun(body, e)), {
      id: 'rfm',
    }),
    section(
      grid,
      'Segments',
      async (body) => {
        try {
          const r = await data.segments();
          meta.textContent = `${regionNote}Scores of mining run ${r.run_id} (as of ${r.as_of}).`;
          fillCards(body, r.segments, () => chosen, choose, listeners);
        } catch (e) {
          noRun(body, e);
        }
      },
      { id: 'segments' },
    ),
    section(grid, 'Audience export', (body) => fillExport(body, ctx, data, () => chosen, choose, listeners), {
      id: 'audience',
    }),
    section(grid, 'Cluster profiles', (body) => fillClusters(body, data).catch((e) => noRun(body, e)), {
      id: 'clusters',
      wide: true,
    }),
    section(grid, 'Segment migration', (body) => fillMigration(body, ctx, data), {
      id: 'migration',
      wide: true,
    }),
    section(grid, 'Cohort retention', (body) => fillCohorts(body, data, dataCoverage(ctx.api, ctx.signal)), {
      id: 'cohorts',
      wide: true,
    }),
  ]);
}
