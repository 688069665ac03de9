/**
 * Where tests find the public reference datasets (../shared/data, or $CRM_BI_DATA_DIR).
 * Locally a test whose data is missing is skipped with a message; under CI=true it fails instead,
 * so a missing dataset can never pass silently.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DATA_DIR = resolve(
  process.env.CRM_BI_DATA_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data'),
);

/** Absolute path of a dataset file, relative to the data folder. */
export function dataPath(relative: string): string {
  return join(DATA_DIR, relative);
}

/**
 * True when every file exists. When one is missing: under CI=true this throws (nothing may skip in
 * CI); otherwise it prints why the test is skipped and returns false (use with `describe.skipIf`).
 */
export function haveData(...relative: string[]): boolean {
  const missing = relative.filter((r) => !existsSync(dataPath(r)));
  if (missing.length === 0) return true;
  const message = `dataset missing: ${missing.map(dataPath).join(', ')} (set CRM_BI_DATA_DIR to the shared data folder)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true forbids skipping`);
  console.warn(`skipping: ${message}`);
  return false;
}
