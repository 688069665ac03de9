/**
 * Pivot: reshapes Cube rows into rows × columns, one cell per (row key, column key, measure).
 *
 * @example
 * pivot(response, { rows: ['customers.region'], columns: ['sales.ordered_at.year'] })
 * // { columns: [{ key: ['2024-01-01T00:00:00.000'], measure: 'sales.revenue', label: '2024-01-01T00:00:00.000 · sales.revenue' }],
 * //   rows: [{ key: ['North'], values: [2070] }, ...] }
 */
import { cubeError } from '../errors.ts';
import { GROUPING_KEY } from '../planner/plan.ts';
import type { CellValue, LoadResponse } from '../result/response.ts';

export interface PivotSpec {
  readonly rows: readonly string[];
  readonly columns: readonly string[];
  /** Measures to spread (default: every measure of the response). */
  readonly measures?: readonly string[];
}

export interface PivotColumn {
  readonly key: readonly CellValue[];
  readonly measure: string;
  readonly label: string;
}

export interface PivotRow {
  readonly key: readonly CellValue[];
  /** With subtotals: the row's `__grouping` (rolled-up dimensions), else 0. */
  readonly grouping: number;
  readonly values: CellValue[];
}

export interface PivotTable {
  readonly rowMembers: readonly string[];
  readonly columnMembers: readonly string[];
  readonly measures: readonly string[];
  readonly columns: readonly PivotColumn[];
  readonly rows: readonly PivotRow[];
}

/** Rows in first-seen order; columns in first-seen order; missing cells are null. */
export function pivot(response: Pick<LoadResponse, 'data' | 'annotation'>, spec: PivotSpec): PivotTable {
  const measures = spec.measures ?? Object.keys(response.annotation.measures);
  const known = new Set([
    ...Object.keys(response.annotation.measures),
    ...Object.keys(response.annotation.dimensions),
    ...Object.keys(response.annotation.timeDimensions),
  ]);
  for (const m of [...spec.rows, ...spec.columns, ...measures]) {
    if (!known.has(m))
      throw cubeError('invalid_pivot', `'${m}' is not a column of the result`, { member: m });
  }
  for (const m of measures) {
    if (!(m in response.annotation.measures))
      throw cubeError('invalid_pivot', `'${m}' is not a measure of the result`, { member: m });
  }
  const columnIndex = new Map<string, number>();
  const columnKeys: CellValue[][] = [];
  const rowIndex = new Map<string, number>();
  const rows: PivotRow[] = [];
  const cells: Map<number, CellValue>[] = [];
  for (const row of response.data) {
    const grouping = typeof row[GROUPING_KEY] === 'number' ? (row[GROUPING_KEY] as number) : 0;
    const rk = spec.rows.map((m) => row[m] ?? null);
    const ck = spec.columns.map((m) => row[m] ?? null);
    const rkText = JSON.stringify([grouping, rk]);
    const ckText = JSON.stringify(ck);
    let ci = columnIndex.get(ckText);
    if (ci === undefined) {
      ci = columnKeys.length;
      columnIndex.set(ckText, ci);
      columnKeys.push(ck);
    }
    let ri = rowIndex.get(rkText);
    if (ri === undefined) {
      ri = rows.length;
      rowIndex.set(rkText, ri);
      rows.push({ key: rk, grouping, values: [] });
      cells.push(new Map());
    }
    const map = cells[ri] as Map<number, CellValue>;
    measures.forEach((m, mi) => {
      map.set((ci as number) * measures.length + mi, row[m] ?? null);
    });
  }
  const columns: PivotColumn[] = [];
  for (const key of columnKeys) {
    for (const m of measures) {
      const label = [...key.map((v) => (v === null ? '∅' : String(v))), m].join(' · ');
      columns.push({ key, measure: m, label });
    }
  }
  rows.forEach((r, i) => {
    const map = cells[i] as Map<number, CellValue>;
    for (let c = 0; c < columns.length; c++) r.values.push(map.get(c) ?? null);
  });
  return { rowMembers: spec.rows, columnMembers: spec.columns, measures, columns, rows };
}
