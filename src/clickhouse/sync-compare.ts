/**
 * Before an incremental sync moves anything: which tables already agree with the DuckDB warehouse.
 * Per shard, one query lists the tables, one their columns and one computes the figures
 * (sync-figures.ts) of its own rows of every table at once, instead of a round of queries per
 * table; a sharded table's figures are the shards' added up.
 *
 *   - `same`: the live table is there on every node, with the DuckDB columns, and its figures
 *     agree: nothing to do;
 *   - `differs`: it is there with the same columns but its figures do not agree; `mark` is its
 *     high-water mark on the cluster (the largest load_id/run_id), when it has one;
 *   - `absent`: missing on a node or its columns changed (a migration): copy it in full.
 */
import type { ClickHouseCluster } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { localName, qualified, sortingKey, type TableMapping } from './schema.ts';
import {
  addShardFigures,
  chFigures,
  duckFigures,
  type FigureKind,
  figureChecks,
  figureProblems,
  MARK_LABEL,
  markColumn,
} from './sync-figures.ts';

export type Comparison =
  | { readonly state: 'same' }
  | {
      readonly state: 'differs';
      readonly problems: readonly string[];
      readonly mark?: string;
      /** each shard's figures of its live rows (`figureChecks(t, compareKind(t))` order) */
      readonly shardFigures: readonly (readonly unknown[] | undefined)[];
    }
  | { readonly state: 'absent'; readonly reason: string };

/** `keys` figures for the tables loads mark (the large ones), `full` figures for the rest. */
export function compareKind(t: TableMapping): FigureKind {
  return t.schema !== 'meta' && t.placement !== 'replicated' && markColumn(t) !== undefined ? 'keys' : 'full';
}

/** The column list a live table must have on the cluster: `name type, ...`. */
export function expectedColumns(t: TableMapping): string {
  return t.columns
    .map((c) => `${c.name} ${c.chType}`)
    .join(', ')
    .replaceAll(/\s+/g, ' ');
}

/** Compares every table with its live copy on the cluster; see the file comment. */
export async function compareWithCluster(
  db: Database,
  cluster: ClickHouseCluster,
  tables: readonly TableMapping[],
): Promise<Map<string, Comparison>> {
  const database = cluster.target.database;
  const shards = await cluster.shards();
  const out = new Map<string, Comparison>();
  const present: TableMapping[] = [];
  const inDbs = ['core', 'meta', 'mining', database].map((d) => `'${d.replaceAll("'", '')}'`).join(', ');
  const perNode = await Promise.all(
    shards.map(async ({ client }) => {
      const [names, columns] = await Promise.all([
        client.rows(`SELECT database, name, engine_full FROM system.tables WHERE database IN (${inDbs})`),
        client.rows(
          `SELECT table, name, type FROM system.columns WHERE database = '${database.replaceAll("'", '')}'`,
        ),
      ]);
      const tables = new Set(names.map((r) => `${String(r.database)}.${String(r.name)}`));
      const engines = new Map(
        names.map((r) => [`${String(r.database)}.${String(r.name)}`, String(r.engine_full)]),
      );
      const cols = new Map<string, string[]>();
      for (const r of columns) {
        const list = cols.get(String(r.table)) ?? [];
        list.push(`${String(r.name)} ${String(r.type)}`);
        cols.set(String(r.table), list);
      }
      return { tables, cols, engines };
    }),
  );
  for (const t of tables) {
    const name = `${t.schema}.${t.table}`;
    const live = localName(t);
    const expected = expectedColumns(t);
    const missing = perNode.findIndex(
      (n) => !n.tables.has(`${t.schema}.${t.table}`) || !n.tables.has(`${database}.${live}`),
    );
    if (missing >= 0) {
      out.set(name, { state: 'absent', reason: `not on shard ${shards[missing]?.shard}` });
      continue;
    }
    if (perNode.some((n) => (n.cols.get(live) ?? []).join(', ').replaceAll(/\s+/g, ' ') !== expected)) {
      out.set(name, { state: 'absent', reason: 'its columns changed since the last sync' });
      continue;
    }
    // a table copied before customer-placed tables were sorted by the customer key is copied again
    // in full (a staging copy cannot share the parts of a table sorted otherwise)
    const order = `ORDER BY ${sortingKey(t)}`;
    if (perNode.some((n) => !(n.engines.get(`${database}.${live}`) ?? '').includes(order))) {
      out.set(name, { state: 'absent', reason: `its sort order changed since the last sync (${order})` });
      continue;
    }
    present.push(t);
  }
  // DuckDB's figures (in process, one table after the other) while the nodes compute theirs
  const duckDone = (async () => {
    for (const t of present) await duckFigures(db, t, compareKind(t));
  })();
  duckDone.catch(() => {});
  // each shard computes the figures of its own rows of every table in one query (a query per
  // table through the Distributed tables costs a round of shard queries each); sharded tables'
  // figures are then added up, replicated tables' compared copy by copy
  const shardFigures = await Promise.all(
    shards.map(({ client }) =>
      chFigures(
        client,
        present.map((t) => [
          `${t.schema}.${t.table}`,
          qualified(database, localName(t)),
          figureChecks(t, t.placement === 'replicated' ? 'full' : compareKind(t)),
        ]),
      ),
    ),
  );
  await duckDone;
  for (const t of present) {
    const name = `${t.schema}.${t.table}`;
    const kind = compareKind(t);
    const checks = figureChecks(t, kind);
    const duck = await duckFigures(db, t, kind);
    const perShard = shardFigures.map((f) => f.get(name));
    const views = t.placement === 'replicated' ? perShard : [addShardFigures(checks, perShard)];
    const problems = views.flatMap((v, i) => {
      const where = t.placement === 'replicated' ? ` (shard ${shards[i]?.shard})` : '';
      return figureProblems(checks, duck, v ?? []).map((p) => `${p}${where}`);
    });
    if (problems.length === 0) {
      out.set(name, { state: 'same' });
      continue;
    }
    const markAt = checks.findIndex((c) => c.label === MARK_LABEL);
    const mark = markAt < 0 ? undefined : String(views[0]?.[markAt] ?? '');
    out.set(name, {
      state: 'differs',
      problems,
      shardFigures: perShard,
      ...(mark !== undefined && /^-?\d+$/.test(mark) ? { mark } : {}),
    });
  }
  return out;
}

/** `keys` figures of the live table after a swap, on the entry node (each node's copy when replicated). */
export async function checkLive(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
): Promise<string[]> {
  const kind = 'keys';
  const checks = figureChecks(t, kind);
  const duckPending = duckFigures(db, t, kind);
  const name = `${t.schema}.${t.table}`;
  const nodes =
    t.placement === 'replicated'
      ? (await cluster.shards()).map((s) => ({
          client: s.client,
          from: qualified(cluster.target.database, localName(t)),
          where: ` (shard ${s.shard})`,
        }))
      : [{ client: cluster.entry, from: qualified(t.schema, t.table), where: '' }];
  const problems: string[] = [];
  const duck = await duckPending;
  for (const n of nodes) {
    const figures = await chFigures(n.client, [[name, n.from, checks]]);
    problems.push(...figureProblems(checks, duck, figures.get(name) ?? []).map((p) => `${p}${n.where}`));
  }
  return problems;
}
