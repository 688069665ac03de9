/**
 * The warehouse's load status (meta.etl_load, meta.etl_watermark): the last load and how fresh each
 * source is. Bookkeeping of the loads, not warehouse figures, so it is read here and not through
 * the semantic layer.
 */
import type { Database } from './duckdb.ts';

export interface LastLoad {
  readonly load_id: number;
  readonly finished_at: string | null;
  readonly status: string;
}

/** The newest load of any status, or null before the first. */
export async function lastLoad(db: Database): Promise<LastLoad | null> {
  const row = await db.one(
    'SELECT load_id, finished_at, status FROM meta.etl_load ORDER BY load_id DESC LIMIT 1',
  );
  if (!row) return null;
  return {
    load_id: Number(row.load_id),
    finished_at: row.finished_at === null ? null : String(row.finished_at),
    status: String(row.status),
  };
}

/**
 * Freshness per source system: its last successful load (`succeeded`, or `skipped` because the
 * source had not changed) with the lag now − finished_at, and for incremental sources the stalest
 * table watermark with the lag now − watermark.
 */
export async function sourceFreshness(db: Database, version: number) {
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
