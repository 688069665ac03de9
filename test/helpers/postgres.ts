/**
 * The PostgreSQL server of the integration tests: $CRM_BI_TEST_PG_URL (scripts/ci/start-postgres.sh
 * starts one and sets it). Locally a test file skips with a message when the variable is unset or
 * the server does not answer; under CI=true it fails instead. Each test file works in its own
 * schema or database, so files can run in parallel.
 */
import pg from 'pg';

export const TEST_PG_URL = process.env.CRM_BI_TEST_PG_URL;

/** True when the test server answers (use with `describe.skipIf`); throws under CI=true otherwise. */
export async function havePostgres(): Promise<boolean> {
  let why: string | undefined;
  if (!TEST_PG_URL) why = 'CRM_BI_TEST_PG_URL is not set (source scripts/ci/start-postgres.sh)';
  else {
    const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (e) {
      why = `PostgreSQL at CRM_BI_TEST_PG_URL does not answer (${(e as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (!why) return true;
  if (process.env.CI === 'true') throw new Error(`${why}; CI=true forbids skipping`);
  console.warn(`skipping: ${why}`);
  return false;
}

/** Runs SQL (several statements allowed when there are no parameters) against a database URL. */
export async function pgRun<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<T>(sql, params);
    const all = Array.isArray(res) ? (res as pg.QueryResult<T>[]) : [res];
    return all.at(-1)?.rows ?? [];
  } finally {
    await client.end();
  }
}

/** Drops and recreates a schema in the test database; returns the source URL (`?schema=`). */
export async function freshSchema(schema: string): Promise<string> {
  const url = TEST_PG_URL as string;
  await pgRun(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  return `${url}?schema=${schema}`;
}

/** Drops and recreates a database on the test server; returns its URL. */
export async function freshDatabase(name: string): Promise<string> {
  const url = TEST_PG_URL as string;
  await pgRun(url, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await pgRun(url, `CREATE DATABASE "${name}"`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The URL with a query parameter for the schema a load reads. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}
