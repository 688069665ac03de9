import { CrmBiError } from '../../errors.ts';
import type { Database } from '../duckdb.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.ts';

/**
 * Brings a warehouse to the latest schema version, applying missing migrations in order, each
 * recorded in meta.schema_version. Returns the versions applied (empty when already current).
 */
export async function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS meta;
    CREATE TABLE IF NOT EXISTS meta.schema_version (
      version INTEGER NOT NULL, description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`);
  const current = Number((await db.scalar('SELECT coalesce(max(version), 0) FROM meta.schema_version')) ?? 0);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new CrmBiError(
      'schema_too_new',
      `warehouse ${db.path} has schema version ${current}, newer than this crm-bi knows (${latest}); upgrade crm-bi`,
      { file: db.path },
    );
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return [];
  await db.transaction(async () => {
    for (const m of pending) {
      await db.run(m.sql);
      await db.run('INSERT INTO meta.schema_version VALUES ($1, $2, now())', [m.version, m.description]);
    }
  });
  return pending.map((m) => m.version);
}

/** The schema version of an open warehouse (0 for an empty file). */
export async function schemaVersion(db: Database): Promise<number> {
  const exists = await db.scalar(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'schema_version'",
  );
  if (Number(exists) === 0) return 0;
  return Number((await db.scalar('SELECT coalesce(max(version), 0) FROM meta.schema_version')) ?? 0);
}

export { LATEST_SCHEMA_VERSION };
