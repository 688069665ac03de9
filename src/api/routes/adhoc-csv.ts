/**
 * An ad hoc SQL result as CSV: a header of the column names, one line per row, CRLF line ends,
 * cells by the project's one rule (csvCell: quoted when needed, text a spreadsheet would run as a
 * formula prefixed with a quote); nested values as JSON, NULL as an empty cell.
 */
import { csvCell } from '../../mining/steps/audience.ts';
import type { AdhocResult } from '../sandbox/protocol.ts';

/** @example resultCsv({ columns: [{ name: 'n', type: 'INTEGER' }], rows: [[1]], truncated: false, ms: 1 }) // 'n\r\n1\r\n' */
export function resultCsv(result: Pick<AdhocResult, 'columns' | 'rows'>): string {
  const cell = (v: unknown) => csvCell(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  const lines = [result.columns.map((c) => csvCell(c.name)).join(',')];
  for (const row of result.rows) lines.push(row.map(cell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
