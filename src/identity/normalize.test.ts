import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../db/duckdb.ts';
import { installNormalization } from './normalize.ts';
import { RESOLVE_DEFAULTS } from './options.ts';

let db: Database;
beforeAll(async () => {
  db = await Database.open(':memory:');
  await installNormalization(db);
});
afterAll(() => db.close());

async function value(sql: string, params: (string | null)[]): Promise<unknown> {
  return db.scalar(sql, params);
}

describe('crm_norm_email', () => {
  const norm = (e: string | null) => value('SELECT crm_norm_email($1::VARCHAR)', [e]);

  it('lowercases and trims any address', async () => {
    expect(await norm('  Anna.Smith@Example.COM ')).toBe('anna.smith@example.com');
  });

  it('drops +tags everywhere and dots only for Gmail (googlemail is the same mailbox)', async () => {
    expect(await norm('anna.smith+shop@gmail.com')).toBe('annasmith@gmail.com');
    expect(await norm('A.n.n.a.Smith@GoogleMail.com')).toBe('annasmith@gmail.com');
    expect(await norm('anna.smith+news@example.com')).toBe('anna.smith@example.com');
  });

  it('is NULL for what is not an address', async () => {
    expect(await norm('')).toBeNull();
    expect(await norm(null)).toBeNull();
    expect(await norm('anna at example.com')).toBeNull();
    expect(await norm('+tag@example.com')).toBeNull();
  });
});

describe('crm_norm_phone', () => {
  const norm = (p: string | null, country: string | null) =>
    value('SELECT crm_norm_phone($1::VARCHAR, $2::VARCHAR)', [p, country]);

  it('gives one digit string for international, 00-prefixed, (0)-trunk and national UK formats', async () => {
    const forms = ['+44 20 7946 0958', '0044 20 7946 0958', '+44 (0)20 7946 0958', '(020) 7946-0958'];
    for (const f of forms) expect(await norm(f, 'United Kingdom')).toBe('442079460958');
    expect(await norm('020 7946 0958', 'GB')).toBe('442079460958');
  });

  it('adds the North American code to a ten-digit national number', async () => {
    expect(await norm('(212) 555-0188', 'United States')).toBe('12125550188');
    expect(await norm('1-212-555-0188', 'Canada')).toBe('12125550188');
    expect(await norm('+1 212 555 0188', null)).toBe('12125550188');
  });

  it('is NULL for a national number of an unknown country and for too short numbers', async () => {
    expect(await norm('020 7946 0958', 'Atlantis')).toBeNull();
    expect(await norm('020 7946 0958', null)).toBeNull();
    expect(await norm('+44 123', 'United Kingdom')).toBeNull();
    expect(await norm('', 'United Kingdom')).toBeNull();
  });
});

describe('name similarity', () => {
  const tokens = async (n: string) =>
    (await db.one("SELECT array_to_string(crm_name_tokens($1::VARCHAR), ' ') AS t", [n]))?.t;
  const sim = async (a: string, b: string) =>
    Number(
      await db.scalar(
        `WITH t AS (SELECT crm_name_tokens($1::VARCHAR) AS x, crm_name_tokens($2::VARCHAR) AS y)
         SELECT crm_name_sim(x[1], x[len(x)], y[1], y[len(y)]) FROM t`,
        [a, b],
      ),
    );
  const floor = async (a: string, b: string) =>
    Number(
      await db.scalar(
        `WITH t AS (SELECT crm_name_tokens($1::VARCHAR) AS x, crm_name_tokens($2::VARCHAR) AS y)
         SELECT crm_name_floor(x[1], x[len(x)], y[1], y[len(y)]) FROM t`,
        [a, b],
      ),
    );

  it('splits words, strips accents, titles and punctuation, and maps nicknames', async () => {
    expect(await tokens(' Dr. Chloé  Dubois-Martin ')).toBe('chloe dubois martin');
    expect(await tokens('Will Smith')).toBe('william smith');
  });

  it('scores swapped, initialled and nicknamed names as the same name', async () => {
    expect(await sim('Smith Anna', 'Anna Smith')).toBe(1);
    expect(await sim('A. Smith', 'Anna Smith')).toBeCloseTo(0.95, 10);
    expect(await sim('Bill Evans', 'William Evans')).toBe(1);
  });

  it('scores a one-letter typo high and a different first name low (the household guard)', async () => {
    expect(await sim('Anna Smtih', 'Anna Smith')).toBeGreaterThan(0.95);
    expect(await floor('Anna Smith', 'Ben Smith')).toBeLessThan(RESOLVE_DEFAULTS.nameGuard);
    expect(await floor('Anna Smith', 'Omar Smith')).toBeLessThan(RESOLVE_DEFAULTS.nameGuard);
    expect(await floor('Anna Smith', 'Anan Smith')).toBeGreaterThan(0.9);
  });
});
