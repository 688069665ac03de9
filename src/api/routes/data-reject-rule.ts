/**
 * A rejected row as a steward reads it: its raw text split back into the source's fields (the
 * loader wrote them CSV-quoted with the file's delimiter), the field that broke a rule, and that
 * rule in words ("2026-02-30 is not a calendar date").
 *
 * @example
 * ruleBroken('invalid_date', 'ordered_at', '2024-02-30T05:23:55Z'); // '2024-02-30 is not a calendar date'
 */
import { REJECT_REASONS } from '../../etl/canonical.ts';

/** Splits one record written as CSV (quoted fields, doubled quotes) by `delimiter`. */
export function splitRecord(text: string, delimiter: string): string[] {
  if (delimiter === '') return [text];
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (text.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length - 1;
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isCalendarDate(y: number, m: number, d: number): boolean {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= (m === 2 && !leap ? 28 : (DAYS[m - 1] as number));
}

function dateWording(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value.trim());
  if (!m) return `"${value}" is not a date (expected YYYY-MM-DD)`;
  const [, y, mo, d] = m;
  if (!isCalendarDate(Number(y), Number(mo), Number(d))) return `${m[0]} is not a calendar date`;
  return `"${value}" is not a valid date and time`;
}

/** Names the entity of an `unknown_<entity>` code: unknown_product → product. */
const unknownOf = (reason: string) => reason.slice('unknown_'.length).replaceAll('_', ' ');

/**
 * The rule a rejected field broke, in words, from the stable reason code, the column the loader
 * named (a key's columns joined by '+') and the field's raw value (null when it has no field).
 */
export function ruleBroken(reason: string, column: string | null, value: string | null): string {
  const v = value ?? '';
  const col = column ?? 'the row';
  switch (reason) {
    case 'invalid_date':
      return dateWording(v);
    case 'missing_value':
      return `${col} is empty, and it is required`;
    case 'invalid_number':
      return `"${v}" is not a number`;
    case 'non_finite_number':
      return `${v} is not a finite number`;
    case 'number_out_of_range':
      return `${v} is too large for ${col} or outside its allowed range`;
    case 'invalid_value':
      return `"${v}" is not one of the allowed values of ${col}`;
    case 'invalid_boolean':
      return `"${v}" is not true or false`;
    case 'invalid_id':
      return `${col} has control characters or is longer than 200 characters`;
    case 'negative_quantity':
      return `quantity ${v} is negative on a sale (only returns have negative quantities)`;
    case 'positive_return_quantity':
      return `quantity ${v} is positive on a return (a return's quantities are negative)`;
    case 'zero_quantity':
      return 'the quantity is 0';
    case 'negative_price':
      return `unit price ${v} is negative`;
    case 'duplicate_key':
      return `${col} ${v} appears again in the same load (the first row was kept)`;
    case 'rejected_parent':
      return `its ${col} ${v} was rejected, so this row was too`;
    default:
      if (reason.startsWith('unknown_')) return `${col} ${v} is not a known ${unknownOf(reason)}`;
      return (REJECT_REASONS as Record<string, string>)[reason] ?? reason;
  }
}

export interface ReadableReject {
  /** The source's fields of the row, in the file's column order (null when the line did not parse). */
  readonly fields: readonly string[] | null;
  /** Indexes into `fields` of the field(s) that broke the rule. */
  readonly bad_fields: readonly number[];
  readonly rule: string;
}

/**
 * The raw row split by the file's header, with the bad field marked and the rule in words. A key
 * column name (`order_id+line_no`) marks each of its fields.
 */
export function readReject(
  raw: string | null,
  header: readonly string[] | null,
  delimiter: string,
  reason: string,
  column: string | null,
): ReadableReject {
  const parsed = raw === null || header === null ? null : splitRecord(raw, delimiter);
  const fields = parsed !== null && header !== null && parsed.length === header.length ? parsed : null;
  const names = column === null ? [] : column.split('+');
  const bad =
    fields === null || header === null ? [] : names.map((n) => header.indexOf(n)).filter((i) => i >= 0);
  const value = bad.length > 0 && fields ? bad.map((i) => fields[i]).join('+') : null;
  return { fields, bad_fields: bad, rule: ruleBroken(reason, column, value) };
}
