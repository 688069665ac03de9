import { Hono } from 'hono';
import type { Database } from '../../db/duckdb.ts';
import { lastLoad, sourceFreshness } from '../../db/load-status.ts';
import { schemaVersion } from '../../db/schema/migrate.ts';
import type { ApiEnv } from '../auth.ts';

export interface HealthOptions {
  readonly db: () => Database;
}

/** `GET /healthz` (no auth): schema version, the last load, and freshness per source. */
export function healthRoutes(options: HealthOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/healthz', async function health(c) {
    const db = options.db();
    const version = await schemaVersion(db);
    return c.json({
      status: 'ok' as const,
      schema_version: version,
      last_load: version > 0 ? await lastLoad(db) : null,
      sources: version > 0 ? await sourceFreshness(db, version) : [],
    });
  });
  return app;
}
