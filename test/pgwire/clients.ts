/**
 * The real clients the PostgreSQL endpoint is tested with. Locally a test whose client is missing
 * is skipped with a message; under CI=true it fails instead (.ci/run installs them).
 */
import { spawnSync } from 'node:child_process';

/** Debian's python3 (the one with python3-psycopg2 and python3-pandas), not a pyenv one on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

function have(what: string, ok: boolean): boolean {
  if (ok) return true;
  const message = `${what} is not installed (apt-get install postgresql-client python3-psycopg2 python3-pandas)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true forbids skipping`);
  console.warn(`skipping: ${message}`);
  return false;
}

export function havePsql(): boolean {
  return have('psql', spawnSync('psql', ['--version']).status === 0);
}

export function havePsycopg(): boolean {
  return have(
    'python3-psycopg2 and python3-pandas',
    spawnSync(SYSTEM_PYTHON, ['-c', 'import psycopg2, pandas']).status === 0,
  );
}

/** The token id of a token (`crmbi_<id>_<secret>`): the user name the endpoint expects. */
export function tokenUser(token: string): string {
  const id = /^crmbi_([0-9a-f]+)_/.exec(token)?.[1];
  if (!id) throw new Error('not a crm-bi token');
  return id;
}
