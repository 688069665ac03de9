/**
 * PostgreSQL source addresses: `postgres://user[:password]@host:port/db?schema=crm`. Parses the
 * schema parameter off the URL, and redacts the password wherever the address is shown or stored
 * (logs, errors, meta.etl_load.source).
 */
import { CrmBiError } from '../../errors.ts';

export interface PostgresSource {
  /** Connection string for the driver (without the schema parameter). */
  readonly connectionString: string;
  /** The PostgreSQL schema holding the source tables (default `public`). */
  readonly schema: string;
  /** The address with the password replaced by `***`: safe to print and store. */
  readonly label: string;
  /** `host:port/db` — identifies the database in watermarks whatever the user. */
  readonly database: string;
}

/** Whether a --source value is a PostgreSQL URL rather than a path. */
export function isPostgresUrl(source: string): boolean {
  return /^postgres(ql)?:\/\//i.test(source);
}

/** Replaces the password of any postgres URL inside `text` by `***`. */
export function redactPostgres(text: string): string {
  return text.replaceAll(/(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@');
}

export function parsePostgresUrl(source: string): PostgresSource {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new CrmBiError('bad_source', `${redactPostgres(source)} is not a valid postgres:// URL`, {
      file: redactPostgres(source),
    });
  }
  const schema = url.searchParams.get('schema') ?? 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema)) {
    throw new CrmBiError('bad_source', `schema '${schema}' in the source URL is not a plain identifier`, {
      file: redactPostgres(source),
    });
  }
  url.searchParams.delete('schema');
  const connectionString = url.toString();
  const shown = new URL(url.toString());
  if (shown.password) shown.password = '***';
  shown.searchParams.set('schema', schema);
  const port = url.port || '5432';
  return {
    connectionString,
    schema,
    label: decodeURIComponent(shown.toString()),
    database: `${url.hostname}:${port}${url.pathname}`,
  };
}
