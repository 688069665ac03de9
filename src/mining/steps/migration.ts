/**
 * Segment migration between two runs: who moved from which segment to which (e.g. Loyal → At Risk
 * since last quarter), as a transition matrix with the customers behind each cell.
 */
import type { Database } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { getRun } from './runs.ts';

/** Label of customers scored in only one of the two runs (new since, or gone by, the later run). */
export const NOT_SCORED = '(not scored)';

export type MigrationBy = 'rfm_segment' | 'cluster_name';

export interface MigrationCell {
  readonly from: string;
  readonly to: string;
  readonly customers: number;
  /** customer_durable_key of each customer in the cell, ascending (when asked for). */
  readonly keys?: readonly number[];
}

export interface SegmentMigration {
  readonly from_run: number;
  readonly to_run: number;
  readonly from_as_of: string;
  readonly to_as_of: string;
  readonly by: MigrationBy;
  /** Row labels (segments of the first run) and column labels (of the second), NOT_SCORED last. */
  readonly from_labels: readonly string[];
  readonly to_labels: readonly string[];
  /** matrix[i][j] = customers in from_labels[i] then to_labels[j]. */
  readonly matrix: readonly (readonly number[])[];
  /** The non-empty cells, largest first. */
  readonly cells: readonly MigrationCell[];
}

/**
 * The transition matrix between two runs, by RFM segment (default) or cluster name.
 *
 * @example
 * const m = await segmentMigration(db, 3, 7);
 * m.cells.find((c) => c.from === 'Loyal' && c.to === 'At Risk')?.keys // [1042, 2210, ...]
 */
export async function segmentMigration(
  db: Database,
  fromRun: number,
  toRun: number,
  options: { readonly by?: MigrationBy; readonly withCustomers?: boolean } = {},
): Promise<SegmentMigration> {
  const by = options.by ?? 'rfm_segment';
  if (by !== 'rfm_segment' && by !== 'cluster_name') {
    throw new CrmBiError(
      'invalid_migration_by',
      `invalid migration dimension: ${String(by)} (use rfm_segment or cluster_name)`,
    );
  }
  const [a, b] = [await getRun(db, fromRun), await getRun(db, toRun)];
  const table = by === 'rfm_segment' ? 'mining.customer_rfm' : 'mining.customer_segment';
  const withCustomers = options.withCustomers ?? true;
  const rows = await db.all(
    `SELECT coalesce(a.label, $3) AS from_label, coalesce(b.label, $3) AS to_label, count(*) AS customers
      ${withCustomers ? ', list(customer_durable_key ORDER BY customer_durable_key) AS keys' : ''}
    FROM (SELECT customer_durable_key, ${by} AS label FROM ${table} WHERE run_id = $1) a
    FULL OUTER JOIN (SELECT customer_durable_key, ${by} AS label FROM ${table} WHERE run_id = $2) b
      USING (customer_durable_key)
    GROUP BY ALL
    ORDER BY customers DESC, from_label, to_label`,
    [fromRun, toRun, NOT_SCORED],
  );
  const cells: MigrationCell[] = rows.map((r) => ({
    from: String(r.from_label),
    to: String(r.to_label),
    customers: Number(r.customers),
    ...(withCustomers ? { keys: (r.keys as number[]).map(Number) } : {}),
  }));
  const order = labelOrder(by === 'rfm_segment' ? [a.params, b.params] : []);
  const sortLabels = (labels: Set<string>) =>
    [...labels].sort((x, y) => rank(x, order) - rank(y, order) || x.localeCompare(y));
  const fromLabels = sortLabels(new Set(cells.map((c) => c.from)));
  const toLabels = sortLabels(new Set(cells.map((c) => c.to)));
  const matrix = fromLabels.map((f) =>
    toLabels.map((t) => cells.find((c) => c.from === f && c.to === t)?.customers ?? 0),
  );
  return {
    from_run: fromRun,
    to_run: toRun,
    from_as_of: a.as_of,
    to_as_of: b.as_of,
    by,
    from_labels: fromLabels,
    to_labels: toLabels,
    matrix,
    cells,
  };
}

/** Segment order of the runs' rule tables (params.rfm.rules.segments), to show rows as the table does. */
function labelOrder(params: readonly Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    const rfm = p.rfm as { rules?: { segments?: unknown } } | undefined;
    const segments = rfm?.rules?.segments;
    if (Array.isArray(segments))
      for (const s of segments) if (typeof s === 'string' && !out.includes(s)) out.push(s);
  }
  return out;
}

function rank(label: string, order: readonly string[]): number {
  if (label === NOT_SCORED) return Number.MAX_SAFE_INTEGER;
  const i = order.indexOf(label);
  return i < 0 ? order.length : i;
}
