import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { havePostgres, TEST_PG_URL } from '../../test/helpers/postgres.ts';
import { encodeBinary, encodeText, PG } from './types.ts';

/** Each value with PostgreSQL's binary output function of its type. */
const VALUES: [keyof typeof PG, string, string][] = [
  ['numeric', '28687.1195', 'numeric_send'],
  ['numeric', '-120000.5', 'numeric_send'],
  ['numeric', '0.0001', 'numeric_send'],
  ['numeric', '0', 'numeric_send'],
  ['int8', '-9007199254740993', 'int8send'],
  ['float8', '0.1', 'float8send'],
  ['date', '2024-02-29', 'date_send'],
  ['timestamp', '2024-02-29 13:45:01.25', 'timestamp_send'],
  ['timestamptz', '2024-02-29 13:45:01+00', 'timestamptz_send'],
  ['bool', 'true', 'boolsend'],
];

describe.skipIf(!(await havePostgres()))('binary encodings equal PostgreSQL’s own', () => {
  it('matches <type>_send of the same value on a real server', async () => {
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    try {
      await c.query("SET TIME ZONE 'UTC'");
      for (const [type, value, send] of VALUES) {
        const r = await c.query(`SELECT ${send}($1::${PG[type].name}) AS b`, [value]);
        expect(encodeBinary(PG[type], value).toString('hex'), `${type} ${value}`).toBe(
          (r.rows[0].b as Buffer).toString('hex'),
        );
      }
    } finally {
      await c.end();
    }
  });
});

describe('text encodings', () => {
  it('writes timestamps as PostgreSQL does, with a space and a zone offset', () => {
    expect(encodeText(PG.timestamp, '2024-01-01T00:00:00.000')).toBe('2024-01-01 00:00:00');
    expect(encodeText(PG.timestamptz, new Date(Date.UTC(2024, 0, 1, 12)))).toBe('2024-01-01 12:00:00+00');
    expect(encodeText(PG.bool, true)).toBe('t');
    expect(encodeText(PG.float8, Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
