/**
 * Readable numbers for the dashboards: compact money and counts, percentages, signed changes and
 * dates, always in en-US so the same page reads the same everywhere (and tests can parse it).
 */

const LOCALE = 'en-US';

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** 1234567.8 → "1,234,568"; null → "—". */
export function formatInteger(v: unknown): string {
  const n = num(v);
  return n === null ? '—' : n.toLocaleString(LOCALE, { maximumFractionDigits: 0 });
}

/** Plain number with up to `digits` decimals. */
export function formatNumber(v: unknown, digits = 2): string {
  const n = num(v);
  return n === null ? '—' : n.toLocaleString(LOCALE, { maximumFractionDigits: digits });
}

/** Money with two decimals under 1,000 and none above: "$12.50", "$1,234". */
export function formatCurrency(v: unknown): string {
  const n = num(v);
  if (n === null) return '—';
  const digits = Math.abs(n) < 1000 ? 2 : 0;
  return n.toLocaleString(LOCALE, {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Short money for axes and cards: "$1.2M", "$35K". */
export function formatCompactCurrency(v: unknown): string {
  const n = num(v);
  if (n === null) return '—';
  return n.toLocaleString(LOCALE, {
    style: 'currency',
    currency: 'USD',
    notation: 'compact',
    maximumFractionDigits: 1,
  });
}

/** A share 0..1 as "12.3%". */
export function formatPercent(v: unknown, digits = 1): string {
  const n = num(v);
  return n === null ? '—' : `${(n * 100).toFixed(digits)}%`;
}

/** A relative change as "+4.2%" / "−3.0%"; null when there is nothing to compare with. */
export function formatChange(current: unknown, previous: unknown): string | null {
  const c = num(current);
  const p = num(previous);
  if (c === null || p === null || p === 0) return null;
  const r = (c - p) / Math.abs(p);
  const s = `${Math.abs(r * 100).toFixed(1)}%`;
  return r > 0 ? `+${s}` : r < 0 ? `−${s}` : '0.0%';
}

/** A date or timestamp as "2024-06-30" (UTC). */
export function formatDate(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString().slice(0, 10);
}

/** A timestamp as "2024-06-30 14:05 UTC". */
export function formatDateTime(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Parses a number written by these formatters back ("$1,234.50" → 1234.5, "12.3%" → 0.123). */
export function parseFormatted(text: string): number | null {
  const t = text.trim().replace(/[−–]/g, '-');
  const pct = t.endsWith('%');
  const n = Number(t.replace(/[$,%\s+]/g, ''));
  if (!Number.isFinite(n) || t === '' || t === '—') return null;
  return pct ? n / 100 : n;
}

/** A change between two shares in percentage points: "+2.1 pp". */
export function formatPointChange(current: unknown, previous: unknown): string | null {
  const c = num(current);
  const p = num(previous);
  if (c === null || p === null) return null;
  const d = (c - p) * 100;
  const s = `${Math.abs(d).toFixed(1)} pp`;
  return d > 0 ? `+${s}` : d < 0 ? `−${s}` : '0.0 pp';
}
