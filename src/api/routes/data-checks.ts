/**
 * `GET /v1/data/checks`: quality checks on what loaded, per source, with their trend across loads
 * (grouped by the load that wrote the rows, with the time that load finished) and their limit from the model: a check whose share is
 * above its limit is a warning (the executive page shows those). Also the quarantine size per
 * source. All cube queries (model/data-quality.yml), so the region rule cuts every figure.
 */
import type { CubeResponse, Model, QueryCache } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import type { Principal } from '../auth.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';
import { num, str } from './insights/read.ts';

interface CheckSpec {
  readonly check: string;
  readonly title: string;
  readonly cube: 'data_customer_checks' | 'data_order_checks';
  /** Measures (without the cube) of the rows found, their share and the share's limit. */
  readonly found: string;
  readonly share: string;
  readonly limit: string;
  /** Measures shown beside the count, e.g. the revenue of the lines found. */
  readonly extra?: readonly string[];
}

export const CHECKS: readonly CheckSpec[] = [
  {
    check: 'missing_email',
    title: 'Customers without an email',
    cube: 'data_customer_checks',
    found: 'without_email',
    share: 'missing_email_share',
    limit: 'missing_email_limit',
  },
  {
    check: 'duplicate_email',
    title: 'Customers sharing an email with another record of the source',
    cube: 'data_customer_checks',
    found: 'duplicate_emails',
    share: 'duplicate_email_share',
    limit: 'duplicate_email_limit',
  },
  {
    check: 'unknown_customer',
    title: 'Order lines without a known customer',
    cube: 'data_order_checks',
    found: 'unknown_customer_lines',
    share: 'unknown_customer_share',
    limit: 'unknown_customer_limit',
    extra: ['unknown_customer_orders', 'unknown_customer_revenue'],
  },
  {
    check: 'future_date',
    title: 'Order lines dated after their load',
    cube: 'data_order_checks',
    found: 'future_dated',
    share: 'future_dated_share',
    limit: 'future_dated_limit',
  },
  {
    check: 'outlier_amount',
    title: 'Order lines with an outlier amount (robust z-score above 3.5)',
    cube: 'data_order_checks',
    found: 'outliers',
    share: 'outlier_share',
    limit: 'outlier_limit',
  },
];

const CUBES = ['data_customer_checks', 'data_order_checks'] as const;

function measuresOf(cube: string): string[] {
  return CHECKS.filter((c) => c.cube === cube).flatMap((c) =>
    [c.found, c.share, c.limit, ...(c.extra ?? [])].map((m) => `${cube}.${m}`),
  );
}

function checkRow(spec: CheckSpec, r: CubeRow) {
  const m = (name: string) => num(r[`${spec.cube}.${name}`]);
  const share = m(spec.share);
  const limit = m(spec.limit);
  return {
    check: spec.check,
    title: spec.title,
    rows: m(spec.found) ?? 0,
    of: m('count') ?? 0,
    share,
    limit,
    warning: share !== null && limit !== null && share > limit,
    ...Object.fromEntries((spec.extra ?? []).map((e) => [e, m(e)])),
  };
}

export async function qualityChecks(
  db: Database,
  model: Model,
  principal: Principal,
  cache: QueryCache<CubeResponse> | null = null,
) {
  const read = (q: object) => readCube(db, model, principal, q, { cache });
  // per cube one statement: the per-source figures and the per-load trend as two grouping sets.
  // The load's finish time comes from data_loads by load_id, not from the checks cubes, so their
  // by_load rollups (built by load and mine) answer them: a time dimension cannot be a rollup column.
  const queries = CUBES.map((cube) => {
    const bySource = [`${cube}.source`];
    const byLoad = [`${cube}.source`, `${cube}.load_id`];
    return read({
      measures: [`${cube}.count`, ...measuresOf(cube)],
      dimensions: byLoad,
      subtotals: { groupingSets: [bySource, byLoad] },
      order: [
        [`${cube}.load_id`, 'asc'],
        [`${cube}.source`, 'asc'],
      ],
    });
  });
  const [rejects, loads, ...answers] = await Promise.all([
    read({
      measures: ['data_rejects.count', 'data_rejects.standing_count'],
      dimensions: ['data_rejects.source_system'],
      order: [['data_rejects.source_system', 'asc']],
    }),
    read({ dimensions: ['data_loads.load_id', 'data_loads.finished_at'] }),
    ...queries,
  ]);
  const loadedAt = new Map(
    loads.map((r) => [num(r['data_loads.load_id']), str(r['data_loads.finished_at'])] as const),
  );
  const checks: Record<string, unknown>[] = [];
  const trend: Record<string, unknown>[] = [];
  CUBES.forEach((cube, i) => {
    const specs = CHECKS.filter((c) => c.cube === cube);
    const rows = answers[i] ?? [];
    // __grouping 0: the full set (source, load); otherwise the load is rolled up (per source)
    const perSource = rows
      .filter((r) => r.__grouping !== 0)
      .sort((a, b) => String(a[`${cube}.source`]).localeCompare(String(b[`${cube}.source`])));
    for (const r of perSource)
      for (const s of specs) checks.push({ source: r[`${cube}.source`], ...checkRow(s, r) });
    for (const r of rows.filter((x) => x.__grouping === 0))
      for (const s of specs)
        trend.push({
          source: r[`${cube}.source`],
          load_id: num(r[`${cube}.load_id`]),
          loaded_at: loadedAt.get(num(r[`${cube}.load_id`])) ?? null,
          ...checkRow(s, r),
        });
  });
  return {
    checks,
    trend,
    rejects: rejects.map((r) => ({
      source: r['data_rejects.source_system'],
      rows: Number(r['data_rejects.count']),
      standing: Number(r['data_rejects.standing_count']),
    })),
  };
}
