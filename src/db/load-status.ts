/**
 * The warehouse's load status (meta.schema_version, meta.etl_load, meta.etl_watermark): the schema
 * version, the last load and how fresh each source is. Bookkeeping of the loads, not warehouse
 * figures, so it is read here and not through the semantic layer.
 *
 * A read-only copy never changes, so its status can be read once and kept with it
 * (`pinLoadStatus`, which the server calls when it publishes a copy): `/healthz` then answers from
 * memory, computing only the lags against the clock, and never waits behind a long query.
 */

import type { Database } from './duckdb.ts';
import { schemaVersion } from './schema/migrate.ts';

export interface LastLoad {
  readonly load_id: number;
  readonly finished_at: string | null;
  readonly status: string;
}

/** A source's last successful load and stalest watermark, with times as epoch ms for the lags. */
interface SourceStatus {
  readonly source: string;
  readonly profile: string;
  /** ISO 4217 code of its last successful load (schema 15 on), or null. */
  readonly currency: string | null;
  readonly loadId: number;
  readonly finishedAt: string | null;
  readonly finishedMs: number | null;
  readonly watermark: { readonly at: string; readonly ms: number } | null;
}

/** What the warehouse says about its loads, independent of the time it is asked. */
export interface LoadStatus {
  readonly schemaVersion: number;
  readonly lastLoad: LastLoad | null;
  readonly sources: readonly SourceStatus[];
}

export interface SourceFreshness {
  readonly source: string;
  readonly profile: string;
  readonly currency: string | null;
  readonly last_success: {
    readonly load_id: number;
    readonly finished_at: string | null;
    readonly lag_seconds: number | null;
  };
  readonly watermark: { readonly at: string; readonly lag_seconds: number } | null;
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
 * Per source system: its last successful load (`succeeded`, or `skipped` because the source had
 * not changed), and for incremental sources (schema 4 on) the stalest table watermark.
 */
async function sourceStatus(db: Database, version: number): Promise<SourceStatus[]> {
  const marks =
    version >= 4
      ? `SELECT source, min(watermark) AS watermark, epoch_ms(min(watermark)) AS watermark_ms
         FROM meta.etl_watermark WHERE watermark IS NOT NULL GROUP BY source`
      : 'SELECT NULL::VARCHAR AS source, NULL::TIMESTAMPTZ AS watermark, NULL::BIGINT AS watermark_ms WHERE false';
  const currency = version >= 15 ? 'arg_max(currency, load_id)' : 'NULL::VARCHAR';
  const rows = await db.all(
    `WITH loads AS (
       SELECT source_system AS source, arg_max(profile, load_id) AS profile, ${currency} AS currency,
              max(load_id) AS load_id,
              max(finished_at) AS finished_at
       FROM meta.etl_load WHERE status IN ('succeeded', 'skipped') AND source_system IS NOT NULL
       GROUP BY source_system),
     marks AS (${marks})
     SELECT l.source, l.profile, l.currency, l.load_id, l.finished_at, epoch_ms(l.finished_at) AS finished_ms,
            m.watermark, m.watermark_ms
     FROM loads l LEFT JOIN marks m ON m.source = l.source
     ORDER BY l.source`,
  );
  return rows.map((r) => ({
    source: String(r.source),
    profile: String(r.profile),
    currency: r.currency === null ? null : String(r.currency),
    loadId: Number(r.load_id),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    finishedMs: r.finished_ms === null ? null : Number(r.finished_ms),
    watermark: r.watermark === null ? null : { at: String(r.watermark), ms: Number(r.watermark_ms) },
  }));
}

/** Reads the status now (schema version, last load, sources). */
export async function readLoadStatus(db: Database): Promise<LoadStatus> {
  const version = await schemaVersion(db);
  if (version === 0) return { schemaVersion: 0, lastLoad: null, sources: [] };
  return { schemaVersion: version, lastLoad: await lastLoad(db), sources: await sourceStatus(db, version) };
}

/** The one currency of every source that names one, or null when none does or they differ. */
export function warehouseCurrency(status: LoadStatus): string | null {
  const codes = new Set(status.sources.flatMap((s) => (s.currency === null ? [] : [s.currency])));
  return codes.size === 1 ? ([...codes][0] ?? null) : null;
}

/** Freshness per source at `nowMs`: the lag of the last success and of the stalest watermark. */
export function freshnessAt(status: LoadStatus, nowMs: number): SourceFreshness[] {
  return status.sources.map((s) => ({
    source: s.source,
    profile: s.profile,
    currency: s.currency,
    last_success: {
      load_id: s.loadId,
      finished_at: s.finishedAt,
      lag_seconds: s.finishedMs === null ? null : (nowMs - s.finishedMs) / 1000,
    },
    watermark: s.watermark ? { at: s.watermark.at, lag_seconds: (nowMs - s.watermark.ms) / 1000 } : null,
  }));
}

const pinned = new WeakMap<Database, LoadStatus>();

/**
 * Reads the status of a copy that will not change (opened read-only) once and keeps it with the
 * copy, so `loadStatus` answers from memory from then on.
 */
export async function pinLoadStatus(db: Database): Promise<LoadStatus> {
  const status = await readLoadStatus(db);
  pinned.set(db, status);
  return status;
}

/** The pinned status of a published copy, or the status read now for any other warehouse. */
export async function loadStatus(db: Database): Promise<LoadStatus> {
  return pinned.get(db) ?? readLoadStatus(db);
}
