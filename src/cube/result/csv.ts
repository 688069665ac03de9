/**
 * CSV (RFC 4180): comma-separated, CRLF line ends, fields with a comma, quote, CR or LF quoted
 * and quotes doubled; NULL is an empty field. With `safeFormulas`, text that a spreadsheet would
 * run as a formula (starting with = + - @ tab or CR) gets a leading apostrophe; numbers are left alone.
 */
import { flatRows, responseColumns } from './columns.ts';
import type { CellValue, CubeResponse } from './response.ts';

export interface CsvOptions {
  readonly safeFormulas?: boolean;
}

function field(v: CellValue, safe: boolean): string {
  if (v === null) return '';
  let text = typeof v === 'string' ? v : String(v);
  if (safe && typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(response: CubeResponse, options: CsvOptions = {}): string {
  return [...csvLines(response, options)].join('');
}

/** The lines of `toCsv`, each with its CRLF, one at a time (for a streamed answer). */
export function* csvLines(response: CubeResponse, options: CsvOptions = {}): Generator<string> {
  const safe = options.safeFormulas ?? false;
  const columns = responseColumns(response);
  yield `${columns.map((c) => field(c.key, false)).join(',')}\r\n`;
  for (const row of flatRows(response).rows)
    yield `${columns.map((c) => field(row[c.key] ?? null, safe)).join(',')}\r\n`;
}
