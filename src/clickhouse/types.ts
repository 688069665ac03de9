/**
 * DuckDB column types → ClickHouse column types (the one place this mapping lives), with how a
 * value travels (a DuckDB expression that renders it as ClickHouse TSV text) and how a table is
 * reconciled (a per-column check computed the same way on both engines).
 *
 * ClickHouse 18.16 has no DateTime64, no Bool and no JSON: timestamps are DateTime('UTC') at
 * second resolution (clamped to its range 1970-01-01 .. 2105-12-31, so an SCD2 "start of time"
 * 1900-01-01 becomes 1970-01-01 and "end of time" 9999-12-31 becomes 2105-12-31 23:59:59),
 * booleans UInt8, JSON text String.
 */
import { quoteIdent } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';

export type ValueKind = 'int' | 'decimal' | 'float' | 'text' | 'date' | 'timestamp' | 'bool';

export interface ColumnMapping {
  readonly name: string;
  readonly duckType: string;
  readonly nullable: boolean;
  readonly kind: ValueKind;
  /** the ClickHouse type, Nullable(...) when the column is */
  readonly chType: string;
}

const INT_TYPES: Readonly<Record<string, string>> = {
  TINYINT: 'Int8',
  SMALLINT: 'Int16',
  INTEGER: 'Int32',
  BIGINT: 'Int64',
  UTINYINT: 'UInt8',
  USMALLINT: 'UInt16',
  UINTEGER: 'UInt32',
  UBIGINT: 'UInt64',
};

/**
 * Maps one DuckDB column.
 * @example mapColumn('core.fact_order_line', 'revenue', 'DECIMAL(18,4)', false) // chType 'Decimal(18, 4)'
 */
export function mapColumn(table: string, name: string, duckType: string, nullable: boolean): ColumnMapping {
  const t = duckType.toUpperCase();
  let kind: ValueKind;
  let base: string;
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (INT_TYPES[t] !== undefined) {
    kind = 'int';
    base = INT_TYPES[t];
  } else if (dec) {
    kind = 'decimal';
    base = `Decimal(${dec[1]}, ${dec[2]})`;
  } else if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL') {
    kind = 'float';
    base = t === 'DOUBLE' ? 'Float64' : 'Float32';
  } else if (t === 'VARCHAR' || t === 'JSON' || t === 'TEXT') {
    kind = 'text';
    base = 'String';
  } else if (t === 'DATE') {
    kind = 'date';
    base = 'Date';
  } else if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ' || t === 'TIMESTAMP') {
    kind = 'timestamp';
    base = "DateTime('UTC')";
  } else if (t === 'BOOLEAN') {
    kind = 'bool';
    base = 'UInt8';
  } else {
    throw new CrmBiError(
      'clickhouse_type',
      `column ${table}.${name} has type ${duckType}, which has no ClickHouse mapping yet`,
      { column: `${table}.${name}` },
    );
  }
  return { name, duckType, nullable, kind, chType: nullable ? `Nullable(${base})` : base };
}

const TS_MIN = "TIMESTAMPTZ '1970-01-01 00:00:00+00'";
const TS_MAX = "TIMESTAMPTZ '2105-12-31 23:59:59+00'";
const DATE_MIN = "DATE '1970-01-01'";
/** TS_MAX in seconds since 1970 */
const TS_MAX_EPOCH = 4_291_747_199;
const DATE_MAX = "DATE '2105-12-31'";

/** A DuckDB expression with the value as ClickHouse will hold it (clamped, whole seconds). */
export function duckValue(c: ColumnMapping): string {
  const col = quoteIdent(c.name);
  switch (c.kind) {
    // DuckDB's least/greatest skip NULLs, so NULL is kept explicitly
    case 'timestamp':
      return `CASE WHEN ${col} IS NOT NULL THEN greatest(least(date_trunc('second', ${col}::TIMESTAMPTZ), ${TS_MAX}), ${TS_MIN}) END`;
    case 'date':
      return `CASE WHEN ${col} IS NOT NULL THEN greatest(least(${col}, ${DATE_MAX}), ${DATE_MIN}) END`;
    default:
      return col;
  }
}

/** A DuckDB expression rendering the column as one ClickHouse TSV field (`\N` for NULL). */
export function duckTsvField(c: ColumnMapping): string {
  const v = duckValue(c);
  let text: string;
  switch (c.kind) {
    case 'timestamp':
      text = `strftime(timezone('UTC', ${v}), '%Y-%m-%d %H:%M:%S')`;
      break;
    case 'date':
      text = `strftime(${v}, '%Y-%m-%d')`;
      break;
    case 'bool':
      text = `CAST(CAST(${v} AS INTEGER) AS VARCHAR)`;
      break;
    case 'float':
      // repr-exact text; nan/inf as ClickHouse spells them
      text = `lower(CAST(${v} AS VARCHAR))`;
      break;
    case 'text':
      text = `replace(replace(replace(replace(CAST(${v} AS VARCHAR), '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`;
      break;
    default:
      text = `CAST(${v} AS VARCHAR)`;
  }
  return c.nullable ? `coalesce(${text}, '\\N')` : text;
}

/** One reconciliation figure per column, computed alike on both engines. */
export interface ColumnCheck {
  readonly label: string;
  readonly duck: string;
  readonly ch: string;
  /** floats are compared within a relative tolerance; the rest exactly */
  readonly approx: boolean;
}

/** count of non-NULL values, plus a sum that changes when any value changes. */
export function columnChecks(c: ColumnMapping): ColumnCheck[] {
  const d = duckValue(c);
  const ch = `\`${c.name}\``;
  const checks: ColumnCheck[] = [
    {
      label: `${c.name}:count`,
      duck: `CAST(count(${quoteIdent(c.name)}) AS VARCHAR)`,
      ch: `toString(count(${ch}))`,
      approx: false,
    },
  ];
  switch (c.kind) {
    case 'int':
    case 'bool':
      checks.push({
        label: `${c.name}:sum`,
        duck: `coalesce(CAST(sum(CAST(${d} AS HUGEINT)) AS VARCHAR), '0')`,
        ch: `toString(ifNull(sum(toInt64(${ch})), 0))`,
        approx: false,
      });
      break;
    case 'decimal':
      checks.push({
        label: `${c.name}:sum`,
        duck: `coalesce(CAST(sum(${d}) AS DOUBLE), 0)`,
        ch: `ifNull(toFloat64(sum(${ch})), 0)`,
        approx: true,
      });
      break;
    case 'float':
      checks.push({
        label: `${c.name}:sum`,
        duck: `coalesce(sum(${d}) FILTER (WHERE isfinite(${d})), 0)`,
        ch: `ifNull(sumIf(${ch}, isFinite(${ch})), 0)`,
        approx: true,
      });
      break;
    case 'text':
      checks.push({
        label: `${c.name}:bytes`,
        duck: `coalesce(CAST(sum(strlen(${d})) AS VARCHAR), '0')`,
        ch: `toString(ifNull(sum(length(${ch})), 0))`,
        approx: false,
      });
      break;
    case 'date':
      checks.push({
        label: `${c.name}:days`,
        duck: `coalesce(CAST(sum(${d} - DATE '1970-01-01') AS VARCHAR), '0')`,
        ch: `toString(ifNull(sum(toInt64(toRelativeDayNum(${ch})) - toInt64(toRelativeDayNum(toDate('1970-01-01')))), 0))`,
        approx: false,
      });
      break;
    case 'timestamp':
      checks.push({
        label: `${c.name}:epoch`,
        // the seconds ClickHouse holds (duckValue's clamp and truncation) from the stored microseconds:
        // date_trunc and epoch on a TIMESTAMPTZ go through the calendar, some 40 times slower
        duck: `coalesce(CAST(sum(CASE WHEN ${quoteIdent(c.name)} IS NOT NULL THEN greatest(least(epoch_us(${quoteIdent(c.name)}::TIMESTAMPTZ) // 1000000, ${TS_MAX_EPOCH}), 0) END) AS VARCHAR), '0')`,
        ch: `toString(ifNull(sum(toInt64(toUnixTimestamp(${ch}))), 0))`,
        approx: false,
      });
      break;
  }
  return checks;
}
