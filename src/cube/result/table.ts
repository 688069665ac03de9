/** An aligned text table for terminals: numbers right-aligned, NULL shown as ∅. */
import { flatRows, responseColumns } from './columns.ts';
import type { CubeResponse } from './response.ts';

function show(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 10_000) / 10_000);
  return String(v);
}

export function toTextTable(response: CubeResponse): string {
  const columns = responseColumns(response);
  const rows = flatRows(response).rows.map((r) => columns.map((c) => show(r[c.key])));
  const widths = columns.map((c, i) => Math.max(c.key.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        columns[i]?.type === 'number' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.key)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}
