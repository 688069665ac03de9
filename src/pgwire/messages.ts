/**
 * The backend messages the endpoint sends and the frontend messages it reads (protocol v3), built
 * on pg-protocol's buffer writer and reader (the codec node-postgres itself uses).
 */
import { BufferReader } from 'pg-protocol/dist/buffer-reader.js';
import { Writer } from 'pg-protocol/dist/buffer-writer.js';
import { encodeBinary, encodeText, type PgType } from './types.ts';

export interface Column {
  readonly name: string;
  readonly type: PgType;
}

export interface PgErrorFields {
  readonly severity?: 'ERROR' | 'FATAL';
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export const backend = {
  authentication(kind: number, payload?: Buffer | string): Buffer {
    const w = new Writer().addInt32(kind);
    if (payload !== undefined) w.add(Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8'));
    return w.flush(0x52);
  },
  authenticationSasl(mechanism: string): Buffer {
    return new Writer().addInt32(10).addCString(mechanism).addCString('').flush(0x52);
  },
  parameterStatus(name: string, value: string): Buffer {
    return new Writer().addCString(name).addCString(value).flush(0x53);
  },
  backendKeyData(pid: number, secret: number): Buffer {
    return new Writer().addInt32(pid).addInt32(secret).flush(0x4b);
  },
  readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
    return new Writer().addString(status).flush(0x5a);
  },
  error(e: PgErrorFields): Buffer {
    const severity = e.severity ?? 'ERROR';
    const w = new Writer();
    w.addString('S').addCString(severity).addString('V').addCString(severity);
    w.addString('C').addCString(e.code).addString('M').addCString(e.message);
    if (e.hint) w.addString('H').addCString(e.hint);
    return w.addCString('').flush(0x45);
  },
  rowDescription(columns: readonly Column[], formats: readonly number[]): Buffer {
    const w = new Writer().addInt16(columns.length);
    columns.forEach((c, i) => {
      w.addCString(c.name).addInt32(0).addInt16(0).addInt32(c.type.oid).addInt16(c.type.size);
      w.addInt32(-1).addInt16(formatOf(formats, i));
    });
    return w.flush(0x54);
  },
  dataRow(columns: readonly Column[], row: readonly unknown[], formats: readonly number[]): Buffer {
    const w = new Writer().addInt16(columns.length);
    columns.forEach((c, i) => {
      const v = row[i];
      if (v === null || v === undefined) {
        w.addInt32(-1);
        return;
      }
      const bytes =
        formatOf(formats, i) === 1 ? encodeBinary(c.type, v) : Buffer.from(encodeText(c.type, v), 'utf8');
      w.addInt32(bytes.length).add(bytes);
    });
    return w.flush(0x44);
  },
  commandComplete(tag: string): Buffer {
    return new Writer().addCString(tag).flush(0x43);
  },
  parameterDescription(oids: readonly number[]): Buffer {
    const w = new Writer().addInt16(oids.length);
    for (const oid of oids) w.addInt32(oid);
    return w.flush(0x74);
  },
  parseComplete: (): Buffer => new Writer().flush(0x31),
  bindComplete: (): Buffer => new Writer().flush(0x32),
  closeComplete: (): Buffer => new Writer().flush(0x33),
  noData: (): Buffer => new Writer().flush(0x6e),
  emptyQuery: (): Buffer => new Writer().flush(0x49),
  portalSuspended: (): Buffer => new Writer().flush(0x73),
};

/** Result format of column `i`: one code for all, or one per column (0 text, 1 binary). */
function formatOf(formats: readonly number[], i: number): number {
  if (formats.length === 0) return 0;
  return (formats.length === 1 ? formats[0] : formats[i]) ?? 0;
}

export interface ParseMessage {
  readonly name: string;
  readonly sql: string;
  readonly paramTypes: readonly number[];
}

export interface BindMessage {
  readonly portal: string;
  readonly statement: string;
  /** Each parameter as text (binary ones decoded by type), null for SQL NULL. */
  readonly values: readonly (Buffer | null)[];
  readonly paramFormats: readonly number[];
  readonly resultFormats: readonly number[];
}

/** Reads the body of a typed message (after its code and length). */
export function reader(message: Buffer): BufferReader {
  const r = new BufferReader();
  r.setBuffer(5, message);
  return r;
}

export const frontend = {
  query(message: Buffer): string {
    return reader(message).cstring();
  },
  parse(message: Buffer): ParseMessage {
    const r = reader(message);
    const name = r.cstring();
    const sql = r.cstring();
    const n = r.int16();
    const paramTypes: number[] = [];
    for (let i = 0; i < n; i++) paramTypes.push(r.int32());
    return { name, sql, paramTypes };
  },
  bind(message: Buffer): BindMessage {
    const r = reader(message);
    const portal = r.cstring();
    const statement = r.cstring();
    const paramFormats: number[] = [];
    for (let i = r.int16(); i > 0; i--) paramFormats.push(r.int16());
    const values: (Buffer | null)[] = [];
    for (let i = r.int16(); i > 0; i--) {
      const len = r.int32();
      values.push(len < 0 ? null : r.bytes(len));
    }
    const resultFormats: number[] = [];
    for (let i = r.int16(); i > 0; i--) resultFormats.push(r.int16());
    return { portal, statement, values, paramFormats, resultFormats };
  },
  describeOrClose(message: Buffer): { kind: 'S' | 'P'; name: string } {
    const r = reader(message);
    const kind = r.string(1) === 'S' ? 'S' : 'P';
    return { kind, name: r.cstring() };
  },
  execute(message: Buffer): { portal: string; maxRows: number } {
    const r = reader(message);
    return { portal: r.cstring(), maxRows: r.int32() };
  },
};
