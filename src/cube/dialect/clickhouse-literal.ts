/**
 * The one function that renders a query value as ClickHouse SQL text. ClickHouse 18.16 cannot
 * bind parameters (server-side `{name:Type}` placeholders came later), so values a user typed
 * must be spliced; this function is the only place that happens, and it accepts only typed,
 * validated values: finite numbers, strings (every byte that could end or bend the literal is
 * escaped), booleans, NULL, and ISO instants / local times / dates for typed casts.
 *
 * @example
 * clickhouseLiteral("O'Brien\\") // "'O\\'Brien\\\\'"
 * clickhouseLiteral('2024-01-01T00:00:00.000Z', 'timestamptz') // "toDateTime('2024-01-01 00:00:00', 'UTC')"
 */
import { cubeError } from '../errors.ts';
import type { ParamValue, SqlType } from '../ir/nodes.ts';

/** Escapes a string's content for a single-quoted ClickHouse literal. */
function escapeString(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `'${out}'`;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) {
    throw cubeError('invalid_filter_value', `the value ${String(n)} is not a finite number`);
  }
  const text = Number.isInteger(n) && Math.abs(n) < 2 ** 63 ? BigInt(n).toString() : String(n);
  return n < 0 || Object.is(n, -0) ? `(${text})` : text;
}

const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})\.(\d{3})Z$/;
const LOCAL = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})\.(\d{3})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function timeText(value: ParamValue, cast: 'timestamptz' | 'timestamp'): string {
  const m = typeof value === 'string' ? (cast === 'timestamptz' ? INSTANT : LOCAL).exec(value) : null;
  if (!m) throw new Error(`expected an ISO ${cast} value, got ${JSON.stringify(value)}`);
  if (m[3] !== '000') {
    throw cubeError(
      'unsupported',
      `time ${String(value)} has milliseconds; ClickHouse DateTime is whole seconds on this engine (not supported on this engine)`,
    );
  }
  const year = Number(m[1]?.slice(0, 4));
  if (year < 1970 || year > 2105) {
    throw cubeError(
      'unsupported',
      `time ${String(value)} is outside ClickHouse DateTime's range 1970..2105 (not supported on this engine)`,
    );
  }
  return `toDateTime('${m[1]} ${m[2]}', 'UTC')`;
}

/**
 * Renders a value (optionally cast to an SQL type) as a ClickHouse expression.
 * Throws a typed cube error for values the engine cannot represent.
 */
export function clickhouseLiteral(value: ParamValue, cast?: SqlType): string {
  if (value === null) return 'NULL';
  switch (cast) {
    case 'timestamptz':
    case 'timestamp':
      return timeText(value, cast);
    case 'date': {
      if (typeof value !== 'string' || !DATE.test(value)) {
        throw new Error(`expected a YYYY-MM-DD date, got ${JSON.stringify(value)}`);
      }
      return `toDate('${value}')`;
    }
    case 'double':
      if (typeof value !== 'number') throw new Error(`expected a number, got ${JSON.stringify(value)}`);
      return `toFloat64(${numberText(value)})`;
    case 'bigint':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new Error(`expected an integer, got ${JSON.stringify(value)}`);
      }
      return `toInt64(${numberText(value)})`;
    case 'boolean':
      if (typeof value !== 'boolean') throw new Error(`expected a boolean, got ${JSON.stringify(value)}`);
      return value ? '1' : '0';
    case 'varchar':
      return escapeString(String(value));
    case undefined:
      break;
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return numberText(value);
  return escapeString(value);
}
