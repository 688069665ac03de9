import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/warehouse.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');

function crmBi(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
}

describe('crm-bi generate (command line)', () => {
  const tmp = tempDir('crm-bi-generate-cli-');
  afterAll(() => tmp.cleanup());

  it('prints one JSON object with the files, dirt and time, and exits 0', () => {
    const out = join(tmp.dir, 'crm');
    const run = crmBi('generate', '--out', out, '--customers', '500', '--json');
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] as string);
    expect(Object.keys(result).sort()).toEqual([
      'customers',
      'dirt',
      'files',
      'format',
      'out',
      'seconds',
      'seed',
    ]);
    expect(result).toMatchObject({ out, format: 'csv', seed: 42, customers: 500 });
    expect(result.files.customers).toBeGreaterThanOrEqual(500);
    expect(result.files.order_lines).toBeGreaterThan(2000);
    expect(Object.keys(result.dirt).sort()).toEqual([
      'duplicate_key',
      'invalid_date',
      'missing_email',
      'negative_quantity',
      'rejected_parent',
      'unknown_product',
    ]);
    expect(typeof result.seconds).toBe('number');
    expect(existsSync(join(out, 'truth.json'))).toBe(true);
  });

  it('exits non-zero with a one-line error for --customers -5', () => {
    const out = join(tmp.dir, 'bad');
    const run = crmBi('generate', '--out', out, '--customers', '-5');
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual(['crm-bi: --customers must be at least 1 (got "-5")']);
    expect(existsSync(out)).toBe(false);
  });
});
