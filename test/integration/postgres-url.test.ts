import { describe, expect, it } from 'vitest';
import { isPostgresUrl, parsePostgresUrl, redactPostgres } from '../../src/etl/extract/postgres-url.ts';
import { parseDuration } from '../../src/etl/extract/postgres-watch.ts';

describe('postgres:// source addresses', () => {
  it('splits off the schema and hides the password', () => {
    const s = parsePostgresUrl('postgres://etl:p%40ss@db.example:6543/crm?schema=sales&sslmode=require');
    expect(s.schema).toBe('sales');
    expect(s.connectionString).toBe('postgres://etl:p%40ss@db.example:6543/crm?sslmode=require');
    expect(s.label).toBe('postgres://etl:***@db.example:6543/crm?sslmode=require&schema=sales');
    expect(s.database).toBe('db.example:6543/crm');
  });

  it('defaults to schema public and port 5432', () => {
    const s = parsePostgresUrl('postgresql://etl@db/crm');
    expect(s.schema).toBe('public');
    expect(s.database).toBe('db:5432/crm');
    expect(s.label).toBe('postgresql://etl@db/crm?schema=public');
  });

  it('refuses a schema that is not a plain identifier', () => {
    expect(() => parsePostgresUrl('postgres://u@h/db?schema=a;drop')).toThrow(/not a plain identifier/);
  });

  it('redacts passwords inside any text', () => {
    expect(redactPostgres('cannot reach postgres://bob:hunter2@h:5/db today')).toBe(
      'cannot reach postgres://bob:***@h:5/db today',
    );
    expect(redactPostgres('postgres://bob@h/db')).toBe('postgres://bob@h/db');
    expect(isPostgresUrl('POSTGRES://x')).toBe(true);
    expect(isPostgresUrl('/data/postgres/export')).toBe(false);
  });
});

describe('--interval durations', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('10')).toBe(10_000);
  });

  it('names the flag when the value is not a duration', () => {
    expect(() => parseDuration('soon', '--watermark-lag')).toThrow(/--watermark-lag must be a duration/);
  });
});
