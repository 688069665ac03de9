/**
 * `crm-bi generate --sources` and `crm-bi resolve` from the command line: the other systems load
 * under their own names, a rerun with another threshold is recorded as its own run, and bad flags
 * are one-line usage errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolveResultSchema } from '../../src/identity/resolve.ts';
import { tempDir } from '../helpers/warehouse.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');

function crmBi(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
}

describe('crm-bi generate --sources and crm-bi resolve (command line)', () => {
  const tmp = tempDir('crm-bi-identity-cli-');
  const out = join(tmp.dir, 'gen');
  const db = join(tmp.dir, 'w.duckdb');
  beforeAll(() => {
    const gen = crmBi('generate', '--out', out, '--customers', '600', '--sources', 'crm,shop,desk');
    expect(gen.status, gen.stderr).toBe(0);
    for (const [dir, name] of [
      [out, 'crm'],
      [join(out, 'shop'), 'shop'],
      [join(out, 'desk'), 'desk'],
    ] as const) {
      const load = crmBi('load', '--source', dir, '--source-name', name, '--db', db, '--json');
      expect(load.status, load.stderr).toBe(0);
    }
  }, 300_000);
  afterAll(() => tmp.cleanup());

  it('writes the shop, the desk and the truth of who is who beside the CRM export', () => {
    for (const f of ['shop/customers.csv', 'shop/orders.csv', 'desk/customers.csv', 'desk/tickets.csv']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const truth = readFileSync(join(out, 'truth_identities.csv'), 'utf8').trim().split('\n');
    expect(truth[0]).toBe('source,customer_id,person_id');
    const sources = new Set(truth.slice(1).map((l) => l.split(',')[0]));
    expect([...sources].sort()).toEqual(['crm', 'desk', 'shop']);
  });

  it('resolve --json prints one run, incremental when nothing changed; a stricter threshold merges no more than the default and runs in full', () => {
    const loose = crmBi('resolve', '--db', db, '--json');
    expect(loose.status, loose.stderr).toBe(0);
    const a = ResolveResultSchema.parse(JSON.parse(loose.stdout));
    expect(a.status).toBe('resolved');
    // the CRM load had one source and nothing to resolve; the shop and desk loads ran 1 and 2
    expect(a.run_id).toBe(3);
    expect(a.assignments_changed).toBe(0);
    // nothing changed since the desk load's run: the stored result is reused
    expect(a).toMatchObject({
      mode: 'incremental',
      full_reason: null,
      records_changed: 0,
      records_rematched: 0,
    });
    const strict = crmBi('resolve', '--db', db, '--name-threshold', '1', '--json');
    expect(strict.status, strict.stderr).toBe(0);
    const b = ResolveResultSchema.parse(JSON.parse(strict.stdout));
    expect(b.settings.nameThreshold).toBe(1);
    expect(b.golden_customers).toBeGreaterThanOrEqual(a.golden_customers);
    expect(b.customers).toBe(a.customers);
    expect(b).toMatchObject({ mode: 'full', full_reason: 'settings_changed' });
    expect(b.records_rematched).toBe(b.customers);
    const full = crmBi('resolve', '--db', db, '--name-threshold', '1', '--full');
    expect(full.status, full.stderr).toBe(0);
    expect(full.stderr + full.stdout).toContain('full run (requested): every record matched');
  });

  it('a bad value is a one-line usage error naming the flag, with exit code 2', () => {
    const run = crmBi('resolve', '--db', db, '--name-threshold', '2');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('crm-bi: --name-threshold must be between 0 and 1 (got "2")');
    const gen = crmBi('generate', '--out', join(tmp.dir, 'x'), '--sources', 'shop,desk');
    expect(gen.status).toBe(2);
    expect(gen.stderr.trim()).toBe('crm-bi: --sources must include crm (got "shop,desk")');
    const typo = crmBi('generate', '--out', join(tmp.dir, 'y'), '--sources', 'crm,shoop');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('--sources must list source systems among crm, shop, desk');
  });
});
