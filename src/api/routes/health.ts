import { Hono } from 'hono';
import type { Database } from '../../db/duckdb.ts';
import { schemaVersion } from '../../etl/schema/migrate.ts';
import type { ApiEnv } from '../auth.ts';

export interface HealthOptions {
  readonly db: () => Database;
}

/** `GET /healthz` (no auth): schema version and the last load. */
export function healthRoutes(options: HealthOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/healthz', async function health(c) {
    const db = options.db();
    const version = await schemaVersion(db);
    const row =
      version > 0
        ? await db.one('SELECT load_id, finished_at, status FROM meta.etl_load ORDER BY load_id DESC LIMIT 1')
        : undefined;
    return c.json({
      status: 'ok' as const,
      schema_version: version,
      last_load: row
        ? {
            load_id: Number(row.load_id),
            finished_at: row.finished_at === null ? null : String(row.finished_at),
            status: String(row.status),
          }
        : null,
    });
  });
  return app;
}
