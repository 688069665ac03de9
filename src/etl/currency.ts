/**
 * The currency of a load's money amounts: the profile's (Online Retail GBP, CDNOW USD), else, for a
 * folder the generator wrote, the `currency` of its truth.json; null when nothing says. Recorded in
 * meta.etl_load.currency, from where the dashboards take the symbol they show.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Profile } from './profiles/profile.ts';
import { TRUTH_FILE } from './synthetic/generate.ts';

const CODE = /^[A-Z]{3}$/;

/** True for a three-letter upper-case ISO 4217 code. */
export function isCurrencyCode(s: unknown): s is string {
  return typeof s === 'string' && CODE.test(s);
}

/** `sourceCurrency('/data/online-retail', onlineRetail)` → 'GBP'. */
export function sourceCurrency(source: string, profile: Pick<Profile, 'currency'>): string | null {
  if (profile.currency !== null) return profile.currency;
  const truth = join(source, TRUTH_FILE);
  try {
    if (!statSync(source).isDirectory() || !existsSync(truth)) return null;
    const parsed = JSON.parse(readFileSync(truth, 'utf8')) as { currency?: unknown };
    return isCurrencyCode(parsed.currency) ? parsed.currency : null;
  } catch {
    // not a folder, or a truth.json that is not JSON: the load reports its own problems
    return null;
  }
}
