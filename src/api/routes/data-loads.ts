/**
 * `GET /v1/data/loads`: the load history (newest first) with reject counts by reason, the reject
 * rate of each load per source (its trend), failed loads with their message, and freshness per
 * source (for an incremental PostgreSQL source also the lag of its stalest table watermark).
 * Everything is a cube query: data_loads and data_watermarks (bookkeeping, no customer data) and,
 * for reject counts, data_rejects, which the region rule cuts. A region-limited caller therefore
 * gets reject counts of its own customers' rows only, and no totals of rows read or loaded.
 */
import type { Model } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import type { Principal } from '../auth.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';
import type { LoadFilter } from './data-params.ts';
import { jsonObject, num, str } from './insights/read.ts';

const LOAD_DIMENSIONS = [
  'load_id',
  'source',
  'source_system',
  'profile',
  'status',
  'message',
  'started_at',
  'finished_at',
  'duration_seconds',
  'rows_read_value',
  'rows_loaded_value',
  'rows_rejected_value',
  'rejects_by_reason',
  'warnings_by_reason',
].map((d) => `data_loads.${d}`);

export interface LoadHistory {
  readonly loads: readonly Record<string, unknown>[];
  readonly total: number;
  readonly freshness: readonly Freshness[];
}

/**
 * A source's freshness: its last successful load and, for an incremental PostgreSQL source, its
 * stalest table watermark (the newest change read from the table that is furthest behind).
 */
export interface Freshness {
  readonly source: string;
  readonly last_success_at: string | null;
  readonly lag_seconds: number | null;
  readonly watermark_at: string | null;
  readonly watermark_lag_seconds: number | null;
}

/** Visible reject counts per load and reason, for the region-limited caller. */
async function visibleRejects(
  read: (q: object) => Promise<CubeRow[]>,
  loadIds: readonly number[],
): Promise<Map<number, Record<string, number>>> {
  const byLoad = new Map<number, Record<string, number>>();
  if (loadIds.length === 0) return byLoad;
  const rows = await read({
    measures: ['data_rejects.count'],
    dimensions: ['data_rejects.load_id', 'data_rejects.reason'],
    filters: [{ member: 'data_rejects.load_id', operator: 'equals', values: loadIds.map(String) }],
  });
  for (const r of rows) {
    const id = Number(r['data_rejects.load_id']);
    const counts = byLoad.get(id) ?? Object.create(null);
    counts[String(r['data_rejects.reason'])] = Number(r['data_rejects.count']);
    byLoad.set(id, counts);
  }
  return byLoad;
}

export async function loadHistory(
  db: Database,
  model: Model,
  principal: Principal,
  filter: LoadFilter,
  nowMs: number,
): Promise<LoadHistory> {
  const read = (q: object) => readCube(db, model, principal, q);
  const filters =
    filter.source === undefined
      ? []
      : [{ member: 'data_loads.source_system', operator: 'equals', values: [filter.source] }];
  const [rows, totals, fresh, marks] = await Promise.all([
    read({
      dimensions: LOAD_DIMENSIONS,
      filters,
      ungrouped: true,
      order: [['data_loads.load_id', 'desc']],
      limit: filter.limit,
      offset: filter.offset,
    }),
    read({ measures: ['data_loads.count'], filters }),
    read({ measures: ['data_loads.last_success_at'], dimensions: ['data_loads.source_system'], filters }),
    read({
      measures: ['data_watermarks.stalest_at'],
      dimensions: ['data_watermarks.source'],
      filters:
        filter.source === undefined
          ? []
          : [{ member: 'data_watermarks.source', operator: 'equals', values: [filter.source] }],
    }),
  ]);
  const stalest = new Map(
    marks.map((m) => [String(m['data_watermarks.source']), num(m['data_watermarks.stalest_at'])]),
  );
  const limited = principal.regions !== undefined;
  const visible = limited
    ? await visibleRejects(
        read,
        rows.map((r) => Number(r['data_loads.load_id'])),
      )
    : null;
  const loads = rows.map((r) => {
    const id = Number(r['data_loads.load_id']);
    const byReason = visible
      ? (visible.get(id) ?? {})
      : (jsonObject(r['data_loads.rejects_by_reason']) ?? {});
    return {
      load_id: id,
      source: str(r['data_loads.source']),
      source_system: str(r['data_loads.source_system']),
      profile: str(r['data_loads.profile']),
      status: str(r['data_loads.status']),
      message: str(r['data_loads.message']),
      started_at: str(r['data_loads.started_at']),
      finished_at: str(r['data_loads.finished_at']),
      seconds: num(r['data_loads.duration_seconds']),
      rows_read: limited ? null : num(r['data_loads.rows_read_value']),
      rows_loaded: limited ? null : num(r['data_loads.rows_loaded_value']),
      rows_rejected: limited
        ? Object.values(byReason as Record<string, number>).reduce((a, b) => a + b, 0)
        : num(r['data_loads.rows_rejected_value']),
      reject_rate: limited ? null : rate(r),
      rejects_by_reason: byReason,
      warnings_by_reason: limited ? null : (jsonObject(r['data_loads.warnings_by_reason']) ?? {}),
    };
  });
  const freshness = fresh
    .filter((r) => r['data_loads.source_system'] !== null)
    .map((r) => {
      const ms = num(r['data_loads.last_success_at']);
      const source = String(r['data_loads.source_system']);
      const mark = stalest.get(source) ?? null;
      return {
        source,
        last_success_at: ms === null ? null : new Date(ms).toISOString(),
        lag_seconds: ms === null ? null : (nowMs - ms) / 1000,
        watermark_at: mark === null ? null : new Date(mark).toISOString(),
        watermark_lag_seconds: mark === null ? null : (nowMs - mark) / 1000,
      };
    });
  return { loads, total: Number(totals[0]?.['data_loads.count'] ?? 0), freshness };
}

function rate(r: CubeRow): number | null {
  const read = num(r['data_loads.rows_read_value']);
  const rejected = num(r['data_loads.rows_rejected_value']);
  return read === null || rejected === null || read === 0 ? null : rejected / read;
}
