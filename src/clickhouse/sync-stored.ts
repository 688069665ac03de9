/**
 * The reconciled figures of each sharded table's live copy, kept on the cluster so an incremental
 * sync can reconcile a staging copy made of the live table plus new rows without scanning it:
 * the staging copy's figures are the stored figures plus the new rows' (sync-figures.ts), compared
 * with DuckDB's figures of the whole table.
 *
 * Every shard holds `<database>.sync_figures`, one row per write: the table, a sequence number,
 * the sync id, a state, a hash of the columns, the figure labels and the shard's own figures of
 * that table. The latest row per table wins. A sync writes `swapping` before it swaps a table on
 * the shards and `live` with the new figures after the swapped table checked out, so a sync that
 * stopped between the two leaves `swapping` and the next one does not use the figures.
 *
 * Stored figures are used only when, on every shard, the latest row is `live`, all shards' rows
 * come from one sync, the columns and labels are the table's today, and the figures agree with
 * the live table's keys figures read by the compare (rows, sums of the ids, keys and flags) —
 * which shows they describe the table as it is (a row lost or added on the cluster since, or a
 * swap by a sync that did not write figures, shows there). Otherwise the staging copy is
 * reconciled in full, as before.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseCluster } from '../db/clickhouse.ts';
import { qualified, type TableMapping } from './schema.ts';
import { expectedColumns } from './sync-compare.ts';
import { figureChecks, MARK_LABEL, markColumn } from './sync-figures.ts';

export const FIGURES_TABLE = 'sync_figures';

export type StoredState = 'swapping' | 'live';

/** One shard's latest stored row for a table. */
export interface StoredFigures {
  readonly state: string;
  readonly syncId: string;
  readonly columns: string;
  readonly labels: readonly string[];
  readonly figures: readonly string[];
}

/** Stored figures are kept for the tables an incremental sync can move by delta. */
export function keepsFigures(t: TableMapping): boolean {
  return t.schema !== 'meta' && t.placement !== 'replicated' && markColumn(t) !== undefined;
}

/** A hash of the table's column names and ClickHouse types (figures of other columns are not used). */
export function columnsHash(t: TableMapping): string {
  return createHash('sha256').update(expectedColumns(t)).digest('hex').slice(0, 32);
}

/** Figure labels and values go into a TSV array literal unquoted-safe: digits, signs, names. */
const SAFE = /^[A-Za-z0-9_:.+-]*$/;

/** Creates the figures table on every shard (idempotent). */
export async function ensureFiguresTable(cluster: ClickHouseCluster): Promise<void> {
  const table = qualified(cluster.target.database, FIGURES_TABLE);
  for (const { client } of await cluster.shards()) {
    await client.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (tbl String, seq UInt64, sync_id String, state String, columns String, labels Array(String), figures Array(String)) ENGINE = MergeTree ORDER BY (tbl, seq)`,
    );
  }
}

/** Per table (`schema.table`), each shard's latest stored row (undefined on a shard without one). */
export async function readStored(
  cluster: ClickHouseCluster,
): Promise<Map<string, (StoredFigures | undefined)[]>> {
  const shards = await cluster.shards();
  const table = qualified(cluster.target.database, FIGURES_TABLE);
  const perShard = await Promise.all(
    shards.map(({ client }) =>
      client.rows(
        `SELECT tbl, argMax(state, seq) AS state, argMax(sync_id, seq) AS sync_id, argMax(columns, seq) AS columns,
           argMax(labels, seq) AS labels, argMax(figures, seq) AS figures FROM ${table} GROUP BY tbl`,
      ),
    ),
  );
  const out = new Map<string, (StoredFigures | undefined)[]>();
  perShard.forEach((rows, i) => {
    for (const r of rows) {
      const name = String(r.tbl);
      const list = out.get(name) ?? shards.map(() => undefined);
      list[i] = {
        state: String(r.state),
        syncId: String(r.sync_id),
        columns: String(r.columns),
        labels: Array.isArray(r.labels) ? r.labels.map(String) : [],
        figures: Array.isArray(r.figures) ? r.figures.map(String) : [],
      };
      out.set(name, list);
    }
  });
  return out;
}

let lastSeq = 0;

/**
 * A sequence number for rows whose latest wins (`argMax(..., seq)`): increasing within the process,
 * and with the clock across processes. Also the checks' records (sync-checks.ts).
 */
export function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

/**
 * Writes one row per shard: `swapping` (no figures) before a swap, `live` with each shard's
 * figures (in the order of `figureChecks(t, 'full')`) after it. Figures that are not plain
 * numbers are not stored: the row is written as `swapping`, so they are not used.
 */
export async function writeStored(
  cluster: ClickHouseCluster,
  t: TableMapping,
  syncId: string,
  state: StoredState,
  perShard?: readonly (readonly unknown[] | undefined)[],
): Promise<void> {
  const shards = await cluster.shards();
  const table = qualified(cluster.target.database, FIGURES_TABLE);
  const name = `${t.schema}.${t.table}`;
  const labels = figureChecks(t, 'full').map((c) => c.label);
  const seq = nextSeq();
  await Promise.all(
    shards.map(({ client }, i) => {
      const values = state === 'live' ? perShard?.[i]?.map((v) => String(v)) : undefined;
      const ok = values !== undefined && values.length === labels.length && values.every((v) => SAFE.test(v));
      const row = [
        name,
        String(seq),
        syncId,
        ok ? 'live' : 'swapping',
        columnsHash(t),
        arrayLiteral(ok ? labels : []),
        arrayLiteral(ok ? values : []),
      ];
      if (!row.slice(0, 5).every((v) => SAFE.test(v)))
        throw new Error(`unexpected figures row ${row.join(' ')}`);
      return client.insertTsv(
        table,
        ['tbl', 'seq', 'sync_id', 'state', 'columns', 'labels', 'figures'],
        `${row.join('\t')}\n`,
      );
    }),
  );
}

function arrayLiteral(values: readonly string[]): string {
  if (!values.every((v) => SAFE.test(v))) throw new Error('unexpected figure text');
  return `[${values.map((v) => `'${v}'`).join(',')}]`;
}

/**
 * The stored per-shard figures of `t` when they can stand for its live table (see the file
 * comment), else the reason they cannot. `live` holds the compare's keys figures of each shard's
 * live table (`figureChecks(t, 'keys')` order).
 */
export function usableStored(
  t: TableMapping,
  stored: readonly (StoredFigures | undefined)[] | undefined,
  live: readonly (readonly unknown[] | undefined)[] | undefined,
  shardNames: readonly string[] = [],
): { readonly figures: readonly (readonly string[])[] } | { readonly reason: string } {
  const labels = figureChecks(t, 'full').map((c) => c.label);
  const keys = figureChecks(t, 'keys');
  const shard = (i: number) => shardNames[i] ?? String(i + 1);
  if (stored === undefined || stored.length === 0) return { reason: 'no stored figures' };
  const syncs = new Set<string>();
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i];
    if (s === undefined) return { reason: `no stored figures on shard ${shard(i)}` };
    if (s.state !== 'live')
      return { reason: `the sync ${s.syncId} did not finish storing them on shard ${shard(i)}` };
    if (s.columns !== columnsHash(t) || s.labels.join(',') !== labels.join(',')) {
      return { reason: `stored for other columns on shard ${shard(i)}` };
    }
    if (s.figures.length !== labels.length) return { reason: `incomplete on shard ${shard(i)}` };
    syncs.add(s.syncId);
  }
  if (syncs.size > 1) return { reason: `stored by different syncs (${[...syncs].join(', ')})` };
  if (live === undefined || live.length !== stored.length) return { reason: 'no live figures to check them' };
  for (let i = 0; i < stored.length; i++) {
    const values = live[i];
    const s = stored[i] as StoredFigures;
    if (values === undefined) return { reason: `no live figures of shard ${shard(i)}` };
    for (let k = 0; k < keys.length; k++) {
      const label = keys[k]?.label as string;
      if (label === MARK_LABEL) continue;
      const at = labels.indexOf(label);
      const mine = s.figures[at];
      if (at < 0 || mine !== String(values[k])) {
        return {
          reason: `they disagree with the live table on shard ${shard(i)} (${label}: stored ${String(mine)}, live ${String(values[k])})`,
        };
      }
    }
  }
  return { figures: stored.map((s) => (s as StoredFigures).figures) };
}
