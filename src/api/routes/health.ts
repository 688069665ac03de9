import { Hono } from 'hono';
import type { Database } from '../../db/duckdb.ts';
import { freshnessAt, loadStatus, warehouseCurrency } from '../../db/load-status.ts';
import type { ApiEnv } from '../auth.ts';

export interface HealthOptions {
  readonly db: () => Database;
}

/**
 * `GET /healthz` (no auth): schema version, the last load, the currency of the money amounts (one
 * ISO 4217 code when every source that names one agrees, else null), and freshness per source. On the
 * server's published copy the status was read when the copy was published (load-status.ts), so
 * this answers from memory and never waits for a connection.
 */
export function healthRoutes(options: HealthOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/healthz', async function health(c) {
    const status = await loadStatus(options.db());
    return c.json({
      status: 'ok' as const,
      schema_version: status.schemaVersion,
      last_load: status.lastLoad,
      currency: warehouseCurrency(status),
      sources: freshnessAt(status, Date.now()),
    });
  });
  return app;
}
