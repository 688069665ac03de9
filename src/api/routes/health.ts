import { Hono } from 'hono';
import type { Database } from '../../db/duckdb.ts';
import { schemaVersion } from '../../etl/schema/migrate.ts';
import type { ApiEnv } from '../auth.ts';

export interface HealthOptions {
  readonly db: () => Database;
}

/**
 * Freshness per source system: its last successful load (`succeeded`, or `skipped` because the
 * source had not changed) with the lag now − finished_at, and for incremental sources the stalest
 * table watermark with the lag now − watermark.
 */
async function sourceFreshness(db: Database, version: number) {
  const loads = await db.all(
    `SELECT source_system AS source, arg_max(profile, load_id) AS profile, max(load_id) AS load_id,
            max(finished_at) AS finished_at,
            date_diff('millisecond', max(finished_at), now()) / 1000.0 AS lag_seconds
     FROM meta.etl_load WHERE status IN ('succeeded', 'skipped') AND source_system IS NOT NULL
     GROUP BY source_system ORDER BY source_system`,
  );
  const marks =
    version >= 4
      ? await db.all(
          `SELECT source, min(watermark) AS watermark,
                  date_diff('millisecond', min(watermark), now()) / 1000.0 AS lag_seconds
           FROM meta.etl_watermark WHERE watermark IS NOT NULL GROUP BY source`,
        )
      : [];
  return loads.map((l) => {
    const m = marks.find((x) => x.source === l.source);
    return {
      source: String(l.source),
      profile: String(l.profile),
      last_success: {
        load_id: Number(l.load_id),
        finished_at: l.finished_at === null ? null : String(l.finished_at),
        lag_seconds: l.lag_seconds === null ? null : Number(l.lag_seconds),
      },
      watermark: m ? { at: String(m.watermark), lag_seconds: Number(m.lag_seconds) } : null,
    };
  });
}

/** `GET /healthz` (no auth): schema version, the last load, and freshness per source. */
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
      sources: version > 0 ? await sourceFreshness(db, version) : [],
    });
  });
  return app;
}
