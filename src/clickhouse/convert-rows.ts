/**
 * Rows of a ClickHouse JSONEachRow result as Cube rows: numbers, times and booleans by the
 * column's type in the plan.
 */
import { type ColumnInfo, TOTAL_KEY } from '../cube/planner/plan.ts';
import { type CellValue, type ResultRow, toBool, toText } from '../cube/result/response.ts';
import type { ClickHouseRow } from '../db/clickhouse.ts';

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

/** ClickHouse prints Date as 'YYYY-MM-DD' and DateTime as 'YYYY-MM-DD hh:mm:ss' in the column's zone. */
function toTime(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `${s}T00:00:00.000`;
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(s);
  return m ? `${m[1]}T${m[2]}.000` : s;
}

/** Rows of a ClickHouse result as Cube rows (a time bucket is also given under its member name). */
export function convertClickHouseRows(
  rows: readonly ClickHouseRow[],
  columns: readonly ColumnInfo[],
): { data: ResultRow[]; total?: number } {
  const byKey = new Map(columns.map((c) => [c.key, c]));
  const names = rows[0] ? Object.keys(rows[0]) : [];
  const seenAlso = new Set<string>();
  const plan = names.map((name) => {
    const info = byKey.get(name);
    const type = info?.type ?? 'string';
    const convert: (v: unknown) => CellValue =
      type === 'number' ? toNumber : type === 'time' ? toTime : type === 'boolean' ? toBool : toText;
    let alsoAs =
      info?.kind === 'timeDimension' && info.member !== undefined && !byKey.has(info.member)
        ? info.member
        : undefined;
    if (alsoAs !== undefined) {
      if (seenAlso.has(alsoAs)) alsoAs = undefined;
      else seenAlso.add(alsoAs);
    }
    return { name, convert, alsoAs, isTotal: name === TOTAL_KEY };
  });
  let total: number | undefined;
  const data = rows.map((values) => {
    const row: ResultRow = {};
    for (const p of plan) {
      const v = p.convert(values[p.name]);
      if (p.isTotal) {
        total = (v as number | null) ?? 0;
        continue;
      }
      row[p.name] = v;
      if (p.alsoAs !== undefined) row[p.alsoAs] = v;
    }
    return row;
  });
  return total === undefined ? { data } : { data, total };
}
