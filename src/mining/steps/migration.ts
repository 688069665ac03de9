/**
 * Segment migration between two runs: who moved from which segment to which (e.g. Loyal → At Risk
 * since last quarter), as a transition matrix. The counts come from the model's `run_migration`
 * cube (src/api/routes/segmentation-queries.ts reads them as the caller); this module names the
 * shape and lays the cells out as a matrix in the order of the runs' rule tables.
 */
import type { MiningRun } from './runs.ts';

/** Label of customers scored in only one of the two runs (new since, or gone by, the later run). */
export const NOT_SCORED = '(not scored)';

export type MigrationBy = 'rfm_segment' | 'cluster_name';

export interface MigrationCell {
  readonly from: string;
  readonly to: string;
  readonly customers: number;
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
  /** The non-empty cells, largest first (then by from and to label, in code point order). */
  readonly cells: readonly MigrationCell[];
}

/** Code point order, as DuckDB orders strings. */
const byCodePoint = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/**
 * The transition matrix between runs `a` and `b` from its non-empty cells: rows and columns in the
 * order of the runs' rule tables (params.rfm.rules.segments, for RFM segments; otherwise by name),
 * NOT_SCORED last.
 *
 * @example
 * migrationMatrix(run3, run7, 'rfm_segment', [{ from: 'Loyal', to: 'At Risk', customers: 12 }])
 */
export function migrationMatrix(
  a: Pick<MiningRun, 'run_id' | 'as_of' | 'params'>,
  b: Pick<MiningRun, 'run_id' | 'as_of' | 'params'>,
  by: MigrationBy,
  cells: readonly MigrationCell[],
): SegmentMigration {
  const sorted = cells
    .filter((c) => c.customers > 0)
    .sort((x, y) => y.customers - x.customers || byCodePoint(x.from, y.from) || byCodePoint(x.to, y.to));
  const order = labelOrder(by === 'rfm_segment' ? [a.params, b.params] : []);
  const sortLabels = (labels: Set<string>) =>
    [...labels].sort((x, y) => rank(x, order) - rank(y, order) || x.localeCompare(y));
  const fromLabels = sortLabels(new Set(sorted.map((c) => c.from)));
  const toLabels = sortLabels(new Set(sorted.map((c) => c.to)));
  const matrix = fromLabels.map((f) =>
    toLabels.map((t) => sorted.find((c) => c.from === f && c.to === t)?.customers ?? 0),
  );
  return {
    from_run: a.run_id,
    to_run: b.run_id,
    from_as_of: a.as_of,
    to_as_of: b.as_of,
    by,
    from_labels: fromLabels,
    to_labels: toLabels,
    matrix,
    cells: sorted,
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
