/**
 * PostgreSQL types of the endpoint's columns and their text and binary encodings. Warehouse
 * columns map from DuckDB: DECIMAL → numeric, TIMESTAMPTZ → timestamptz, TIMESTAMP → timestamp,
 * DATE → date, BIGINT/HUGEINT → int8, INTEGER → int4, SMALLINT/TINYINT → int2, DOUBLE → float8,
 * FLOAT → float4, BOOLEAN → bool, VARCHAR → text; lists, structs, maps and JSON are sent as text
 * (their JSON form), not as PostgreSQL arrays.
 */
export interface PgType {
  readonly oid: number;
  readonly name: string;
  /** Fixed size in bytes, -1 for variable length. */
  readonly size: number;
}

export const PG = {
  bool: { oid: 16, name: 'bool', size: 1 },
  int8: { oid: 20, name: 'int8', size: 8 },
  int2: { oid: 21, name: 'int2', size: 2 },
  int4: { oid: 23, name: 'int4', size: 4 },
  text: { oid: 25, name: 'text', size: -1 },
  oid: { oid: 26, name: 'oid', size: 4 },
  float4: { oid: 700, name: 'float4', size: 4 },
  float8: { oid: 701, name: 'float8', size: 8 },
  date: { oid: 1082, name: 'date', size: 4 },
  timestamp: { oid: 1114, name: 'timestamp', size: 8 },
  timestamptz: { oid: 1184, name: 'timestamptz', size: 8 },
  numeric: { oid: 1700, name: 'numeric', size: -1 },
} as const satisfies Record<string, PgType>;

/** The PostgreSQL type of a DuckDB column type name (as DuckDB prints it). */
export function pgTypeOfDuckDb(duckType: string): PgType {
  const t = duckType.toUpperCase();
  if (t.endsWith('[]') || /^(STRUCT|MAP|UNION|JSON)\b/.test(t)) return PG.text;
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return PG.numeric;
  if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return PG.timestamptz;
  if (t.startsWith('TIMESTAMP')) return PG.timestamp;
  if (t === 'DATE') return PG.date;
  if (t === 'BIGINT' || t === 'HUGEINT' || t === 'UBIGINT' || t === 'UINTEGER') return PG.int8;
  if (t === 'INTEGER' || t === 'USMALLINT') return PG.int4;
  if (t === 'SMALLINT' || t === 'TINYINT' || t === 'UTINYINT') return PG.int2;
  if (t === 'DOUBLE') return PG.float8;
  if (t === 'FLOAT' || t === 'REAL') return PG.float4;
  if (t === 'BOOLEAN') return PG.bool;
  return PG.text;
}

/** How PostgreSQL's format_type() names a type (what psql's \d shows). */
export function formatType(type: PgType): string {
  const names: Record<string, string> = {
    bool: 'boolean',
    int8: 'bigint',
    int2: 'smallint',
    int4: 'integer',
    float4: 'real',
    float8: 'double precision',
    timestamp: 'timestamp without time zone',
    timestamptz: 'timestamp with time zone',
  };
  return names[type.name] ?? type.name;
}

function isoOf(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

/** A value in PostgreSQL's text format. */
export function encodeText(type: PgType, value: unknown): string {
  if (type === PG.bool) return value === true || value === 't' || value === 'true' ? 't' : 'f';
  if (typeof value === 'object' && value !== null && !(value instanceof Date))
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  if (type === PG.timestamp || type === PG.timestamptz) {
    // the cube writes wall-clock times as 2024-01-01T00:00:00.000; PostgreSQL puts a space there
    return isoOf(value)
      .replace('T', ' ')
      .replace(/\.000(?=$|[+-Z])/, '')
      .replace(/Z$/, '+00');
  }
  if (type === PG.float8 || type === PG.float4) {
    const n = Number(value);
    if (Number.isNaN(n)) return 'NaN';
    if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
    return String(n);
  }
  return String(value);
}

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);

function microsSince2000(value: unknown): bigint {
  const text = isoOf(value).replace(' ', 'T');
  const zoned = /(?:Z|[+-]\d\d(?::?\d\d)?)$/.test(text) ? text.replace(/([+-]\d\d)$/, '$1:00') : `${text}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${text}`);
  return BigInt(ms - EPOCH_2000_MS) * 1000n;
}

/** numeric's binary form: base-10000 digits with weight, sign and display scale. */
function numericBinary(value: unknown): Buffer {
  const text = String(value).trim();
  if (text === 'NaN') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
  const negative = text.startsWith('-');
  const [intPart = '0', fracPart = ''] = text.replace(/^[-+]/, '').split('.');
  const dscale = fracPart.length;
  const intDigits = intPart.replace(/^0+/, '');
  const padInt = intDigits.padStart(Math.ceil(intDigits.length / 4) * 4, '0');
  const padFrac = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  const groups: number[] = [];
  for (let i = 0; i < padInt.length; i += 4) groups.push(Number(padInt.slice(i, i + 4)));
  for (let i = 0; i < padFrac.length; i += 4) groups.push(Number(padFrac.slice(i, i + 4)));
  let weight = padInt.length / 4 - 1;
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight -= 1;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  const buf = Buffer.alloc(8 + groups.length * 2);
  buf.writeInt16BE(groups.length, 0);
  buf.writeInt16BE(groups.length === 0 ? 0 : weight, 2);
  buf.writeUInt16BE(negative && groups.length > 0 ? 0x4000 : 0, 4);
  buf.writeInt16BE(dscale, 6);
  for (const [i, g] of groups.entries()) buf.writeUInt16BE(g, 8 + i * 2);
  return buf;
}

/** A value in PostgreSQL's binary format. */
export function encodeBinary(type: PgType, value: unknown): Buffer {
  switch (type.oid) {
    case PG.bool.oid:
      return Buffer.from([encodeText(type, value) === 't' ? 1 : 0]);
    case PG.int2.oid: {
      const b = Buffer.alloc(2);
      b.writeInt16BE(Number(value));
      return b;
    }
    case PG.int4.oid:
    case PG.oid.oid: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Number(value));
      return b;
    }
    case PG.int8.oid: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(typeof value === 'number' ? Math.trunc(value) : String(value)));
      return b;
    }
    case PG.float4.oid: {
      const b = Buffer.alloc(4);
      b.writeFloatBE(Number(value));
      return b;
    }
    case PG.float8.oid: {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(Number(value));
      return b;
    }
    case PG.numeric.oid:
      return numericBinary(value);
    case PG.date.oid: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(
        Math.round((Date.parse(`${isoOf(value).slice(0, 10)}T00:00:00Z`) - EPOCH_2000_MS) / 86_400_000),
      );
      return b;
    }
    case PG.timestamp.oid:
    case PG.timestamptz.oid: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(microsSince2000(value));
      return b;
    }
    default:
      return Buffer.from(encodeText(type, value), 'utf8');
  }
}
