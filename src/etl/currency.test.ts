import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceCurrency } from './currency.ts';
import { getProfile } from './profiles/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-bi-currency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function folder(name: string, truth?: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  if (truth !== undefined) writeFileSync(join(d, 'truth.json'), truth);
  return d;
}

describe('the currency of a load', () => {
  it('is the profile’s when it fixes one: Online Retail pounds, CDNOW dollars', () => {
    const d = folder('retail', '{"currency":"EUR"}');
    expect(sourceCurrency(d, getProfile('online-retail'))).toBe('GBP');
    expect(sourceCurrency(d, getProfile('cdnow'))).toBe('USD');
  });
  it('is what truth.json says for canonical files, and unknown without a valid code', () => {
    const canonical = getProfile('canonical');
    expect(sourceCurrency(folder('gen', '{"currency":"EUR","seed":1}'), canonical)).toBe('EUR');
    expect(sourceCurrency(folder('none'), canonical)).toBeNull();
    expect(sourceCurrency(folder('lower', '{"currency":"eur"}'), canonical)).toBeNull();
    expect(sourceCurrency(folder('broken', '{'), canonical)).toBeNull();
    expect(sourceCurrency(join(dir, 'missing'), canonical)).toBeNull();
  });
});
