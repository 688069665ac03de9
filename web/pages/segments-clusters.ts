/** Segmentation page: cluster profiles. */
import { formatCurrency, formatInteger, formatNumber, formatPercent } from '../format.ts';
import { emptyState, sortableTable } from '../ui.ts';
import type { Data } from './segments-panel.ts';

export async function fillClusters(body: HTMLElement, data: Data): Promise<void> {
  const r = await data.clusters();
  if (r.clusters.length === 0) {
    body.replaceChildren(emptyState(`Mining run ${r.run_id} has no clusters for these filters.`));
    return;
  }
  body.replaceChildren(
    sortableTable(
      r.clusters,
      [
        { key: 'name', label: 'Cluster', value: (c) => c.cluster_name },
        {
          key: 'customers',
          label: 'Customers',
          value: (c) => c.customers,
          render: (c) => formatInteger(c.customers),
          numeric: true,
        },
        {
          key: 'share',
          label: 'Share',
          value: (c) => c.customer_share,
          render: (c) => formatPercent(c.customer_share),
          numeric: true,
        },
        {
          key: 'value_share',
          label: 'Revenue share',
          value: (c) => c.value_share,
          render: (c) => formatPercent(c.value_share),
          numeric: true,
        },
        {
          key: 'recency',
          label: 'Mean days since last order',
          value: (c) => c.mean_recency_days,
          render: (c) => formatNumber(c.mean_recency_days, 0),
          numeric: true,
        },
        {
          key: 'frequency',
          label: 'Mean orders',
          value: (c) => c.mean_frequency,
          render: (c) => formatNumber(c.mean_frequency, 1),
          numeric: true,
        },
        {
          key: 'monetary',
          label: 'Mean value',
          value: (c) => c.mean_monetary,
          render: (c) => formatCurrency(c.mean_monetary),
          numeric: true,
        },
        {
          key: 'rfm',
          label: 'Mean R · F · M',
          value: (c) => c.mean_r,
          render: (c) =>
            `${formatNumber(c.mean_r, 1)} · ${formatNumber(c.mean_f, 1)} · ${formatNumber(c.mean_m, 1)}`,
        },
      ],
      { id: 'cluster-table', caption: `Clusters of mining run ${r.run_id} (as of ${r.as_of})` },
    ),
  );
}
