/**
 * How the SQL console shows a value: whole numbers as they are (ids and years stay "2024"),
 * fractions rounded for reading ("1,234.57", "0.1235", "9.042e-8" instead of 9.041633960584517e-8),
 * NULL spelled out, nested values as JSON. The cell's title keeps the exact value, and the CSV and
 * Parquet downloads have it too.
 */
const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const SMALL = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });
const TINY = new Intl.NumberFormat('en-US', { notation: 'scientific', maximumSignificantDigits: 4 });

/** @example formatSqlCell(9.041633960584517e-8) // '9.042e-8' */
export function formatSqlCell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    const abs = Math.abs(v);
    if (abs >= 1) return GROUPED.format(v);
    if (abs >= 1e-4) return SMALL.format(v);
    return TINY.format(v).replace('E', 'e');
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
