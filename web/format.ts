/**
 * Readable numbers for the dashboards: money in the data's currency (set once from `/healthz`, see
 * currency.ts), counts, percentages with a precision that fits their size, signed changes, and
 * dates in the reader's locale (the browser's language; en-US where there is none, as in tests).
 */

interface NumberFormat {
  /** ISO 4217 code of the money amounts, or null when the data do not say (plain numbers). */
  currency: string | null;
  locale: string;
}

const browserLocale = (): string => {
  const lang = (globalThis as { navigator?: { language?: string } }).navigator?.language;
  try {
    return lang ? (Intl.getCanonicalLocales(lang)[0] ?? 'en-US') : 'en-US';
  } catch {
    return 'en-US';
  }
};

const settings: NumberFormat = { currency: 'USD', locale: browserLocale() };

/**
 * Sets the currency (and, for tests, the locale) every formatter uses from now on:
 * `setNumberFormat({ currency: 'GBP' })` → `formatCurrency(12.5)` is "£12.50".
 */
export function setNumberFormat(f: Partial<NumberFormat>): void {
  if (f.currency !== undefined) settings.currency = f.currency;
  if (f.locale !== undefined) settings.locale = f.locale;
}

/** The currency amounts are shown in (null: none known). */
export function currentCurrency(): string | null {
  return settings.currency;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** 1234567.8 → "1,234,568"; null → "—". */
export function formatInteger(v: unknown): string {
  const n = num(v);
  return n === null ? '—' : n.toLocaleString(settings.locale, { maximumFractionDigits: 0 });
}

/** Plain number with up to `digits` decimals. */
export function formatNumber(v: unknown, digits = 2): string {
  const n = num(v);
  return n === null ? '—' : n.toLocaleString(settings.locale, { maximumFractionDigits: digits });
}

/** Money with two decimals under 1,000 and none above: "$12.50", "£1,234"; no symbol when the currency is unknown. */
export function formatCurrency(v: unknown): string {
  const n = num(v);
  if (n === null) return '—';
  const digits = Math.abs(n) < 1000 ? 2 : 0;
  return n.toLocaleString(settings.locale, {
    ...(settings.currency ? { style: 'currency', currency: settings.currency } : {}),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Short money for axes and cards: "$1.2M", "$35K". */
export function formatCompactCurrency(v: unknown): string {
  const n = num(v);
  if (n === null) return '—';
  return n.toLocaleString(settings.locale, {
    ...(settings.currency ? { style: 'currency', currency: settings.currency } : {}),
    notation: 'compact',
    maximumFractionDigits: 1,
  });
}

/** Decimals for a percentage: one below 100%, none from 100% on (1,104% needs no tenths). */
function percentDigits(pct: number): number {
  return Math.abs(pct) >= 99.95 ? 0 : 1;
}

/** A percentage number as text: grouped, `digits` decimals, "<0.1%" for a tiny non-zero share. */
function percentText(pct: number, digits: number): string {
  const smallest = 10 ** -digits;
  if (pct !== 0 && Math.abs(pct) < smallest / 2) return `<${smallest.toFixed(digits)}%`;
  return `${Math.abs(pct).toLocaleString(settings.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits })}%`;
}

/** A share 0..1 as "12.3%" ("100%", "<0.1%"); `digits` fixes the decimals. */
export function formatPercent(v: unknown, digits?: number): string {
  const n = num(v);
  if (n === null) return '—';
  const pct = n * 100;
  const text = percentText(pct, digits ?? percentDigits(pct));
  return pct < 0 && !text.startsWith('<') ? `-${text}` : text;
}

/** A relative change as "+4.2%" / "−3.0%" / "+1,105%"; null when there is nothing to compare with. */
export function formatChange(current: unknown, previous: unknown): string | null {
  const c = num(current);
  const p = num(previous);
  if (c === null || p === null || p === 0) return null;
  const r = ((c - p) / Math.abs(p)) * 100;
  const s = percentText(r, percentDigits(r));
  return r > 0 ? `+${s}` : r < 0 ? `−${s}` : '0.0%';
}

/**
 * A date or timestamp as its UTC day "2024-06-30", for values that are also keys (the explorer's
 * time buckets, which its drill sends back as they are).
 */
export function formatIsoDate(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString().slice(0, 10);
}

/** A calendar day (YYYY-MM-DD, or a timestamp's UTC day) in the reader's locale: "Jun 30, 2024". */
export function formatDate(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(d.getTime())) return s;
  return new Intl.DateTimeFormat(settings.locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/** A period of days in the reader's locale: "Jul 1 – Sep 30, 2011". */
export function formatDateRange(from: string, to: string): string {
  const a = new Date(`${from}T00:00:00Z`);
  const b = new Date(`${to}T00:00:00Z`);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return `${from} – ${to}`;
  return new Intl.DateTimeFormat(settings.locale, { dateStyle: 'medium', timeZone: 'UTC' }).formatRange(a, b);
}

/** A timestamp in the reader's locale, in UTC: "Jun 30, 2024, 2:05 PM UTC". */
export function formatDateTime(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  // the API writes UTC times without a zone ("2026-12-05T08:34:52.679"), which Date reads as local
  const d = new Date(
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s.replace(' ', 'T')}Z` : s,
  );
  if (Number.isNaN(d.getTime())) return s;
  const text = new Intl.DateTimeFormat(settings.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(d);
  return `${text} UTC`;
}

/**
 * Parses a number these formatters wrote in en-US back ("$1,234.50" → 1234.5, "£12" → 12,
 * "12.3%" → 0.123): any currency symbol or code is dropped.
 */
export function parseFormatted(text: string): number | null {
  const t = text.trim().replace(/[−–]/g, '-');
  const pct = t.endsWith('%');
  const digits = t.replace(/[^\d.-]/g, '');
  const n = Number(digits);
  if (digits === '' || !Number.isFinite(n)) return null;
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
