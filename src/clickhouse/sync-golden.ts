/**
 * The golden customers' scores on the shards of their merged records (clickhouse-layout.ts,
 * GOLDEN_SCORE_TABLES). Score tables are keyed and sharded by the golden customer key; the
 * customers cube joins a record to its golden customer's scores. A record merged into a golden
 * customer is sharded by its own key, so its golden customer's scores may sit on the other shard.
 * After every sync, each shard copies the scores (every run) of the golden customers that its
 * own `core.dim_customer` rows point to and whose scores live elsewhere into
 * `<database>.golden__<schema>__<table>`, and `<schema>_golden.<table>` is a view over the shard's
 * own scores and that copy, so a shard joins its own records to their golden customers' scores
 * over its own rows. The copy holds only merged records' golden customers (none in a warehouse
 * without identity merges); a golden customer's scores are all on one shard, so the view holds
 * each one once.
 *
 * The copy is rebuilt after every sync (full, incremental, or of some tables), whether or not
 * the customers or the scores moved: it is small, and a copy that cannot be stale needs no
 * bookkeeping. It is filled beside the live copy and swapped in with one RENAME.
 *
 * Beside it, each shard keeps the latest run's rows of that view as a table,
 * `<database>.latest__<schema>__<table>`, read through the view `<schema>_golden.<table>_latest`
 * (clickhouse-layout.ts, latestScoresTable): the customers cube joins the latest scores, and a
 * score table keeps every run's rows. It is rebuilt by every sync after the run views, so it holds
 * the run `mining.latest_run` names, and it is checked to hold one row per golden customer, so the
 * dialect may join it with `ANY` (which stops at the first match: about a third cheaper than `ALL`
 * on 18.16 at 500 000 customers per shard). A shard where the latest run has two rows for one
 * customer (a hand edit; mining writes one per customer and run) gets no latest view for that
 * table: the cluster then answers with the plan that reads no golden views
 * (goldenViewsInPlace false), which keeps DuckDB's figures.
 */
import {
  CURRENT_SCORES,
  currentScoresColumn,
  GOLDEN_POINTER_TABLE,
  GOLDEN_SCORE_TABLES,
  goldenSchema,
  latestScoresTable,
} from '../cube/dialect/clickhouse-layout.ts';
import { type ClickHouseClient, type ClickHouseCluster, quoteChIdent } from '../db/clickhouse.ts';
import { createKeyTable, qualified, tableExists } from './schema.ts';

/** `mining.customer_rfm` → `mining__customer_rfm` (the shard's own rows). */
function live(name: string): { schema: string; table: string; local: string } {
  const [schema, table] = name.split('.') as [string, string];
  return { schema, table, local: `${schema}__${table}` };
}

/** What placeGoldenScores did with the latest scores. */
export interface GoldenScoresReport {
  /** `<schema>.<table>` on a shard (its number) whose latest run has two rows for one customer: no latest view there */
  readonly duplicates: readonly {
    readonly table: string;
    readonly shard: number;
    readonly rows: number;
    readonly customers: number;
  }[];
  /** latest-scores tables rebuilt, and kept as they were (nothing they are made of moved), over all shards */
  readonly latestRebuilt: number;
  readonly latestKept: number;
  /**
   * shards that hold the current records with their latest scores side by side (CURRENT_SCORES)
   * after this sync, and of those the ones where it was rebuilt, patched from the moved records,
   * or kept as it was (placeCurrentScores)
   */
  readonly currentScoresPlaced: number;
  readonly currentScores: Readonly<Record<'rebuilt' | 'patched' | 'kept', number>>;
}

/**
 * Rebuilds every shard's copy of the golden customers' scores held by other shards, the views over
 * them, and the latest run's scores of each view (one row per golden customer, checked), the
 * shards side by side. `changed` names the tables this sync moved (undefined: every table may
 * have): a latest-scores table is kept as it is when neither its score table nor
 * `mining.mining_run` moved and the golden copy holds the same runs of the same customers as
 * before; otherwise it is rebuilt. `movedCustomers`, given when every shard's side-by-side table
 * was current before this sync (its record held), lists the customer keys whose
 * `core.dim_customer` rows the sync rewrote (empty: none): a shard that kept its four latest tables
 * then patches its side-by-side table from those records instead of rebuilding it.
 */
export async function placeGoldenScores(
  cluster: ClickHouseCluster,
  syncId: string,
  changed?: ReadonlySet<string>,
  movedCustomers?: readonly string[],
): Promise<GoldenScoresReport> {
  const database = cluster.target.database;
  const pointers = live(GOLDEN_POINTER_TABLE).local;
  const duplicates: GoldenScoresReport['duplicates'][number][] = [];
  let latestRebuilt = 0;
  let latestKept = 0;
  const currentScores = { rebuilt: 0, patched: 0, kept: 0 };
  const placeOnShard = async (client: ClickHouseClient, shard: number): Promise<void> => {
    if (!(await tableExists(client, database, pointers))) return;
    const kept = await placeScoreTables(client, shard);
    const moved = kept === GOLDEN_SCORE_TABLES.size ? movedCustomers : undefined;
    const outcome = await placeCurrentScores(client, database, syncId, moved);
    if (outcome !== 'none') currentScores[outcome]++;
  };
  /** Places the shard's golden copies and latest tables; returns how many latest tables it kept. */
  const placeScoreTables = async (client: ClickHouseClient, shard: number): Promise<number> => {
    let keptHere = 0;
    const runs = await tableExists(client, 'mining', 'latest_run');
    for (const name of GOLDEN_SCORE_TABLES) {
      const { schema, table, local } = live(name);
      if (!(await tableExists(client, database, local)) || !(await tableExists(client, schema, table)))
        continue;
      const copy = `golden__${local}`;
      const stg = `stg_${syncId}__${copy}`;
      const old = `old_${syncId}__${copy}`;
      await client.exec(`CREATE DATABASE IF NOT EXISTS ${quoteChIdent(goldenSchema(schema))}`);
      await client.exec(`CREATE TABLE ${qualified(database, stg)} AS ${qualified(database, local)}`);
      // the golden keys this shard's records point to whose scores are not on this shard, read
      // from the Distributed score table; the key list is computed here (GLOBAL IN), not per shard
      await client.exec(
        `INSERT INTO ${qualified(database, stg)} SELECT * FROM ${qualified(schema, table)}
         WHERE customer_durable_key GLOBAL IN (
           SELECT golden_customer_key FROM ${qualified(database, pointers)}
           WHERE golden_customer_key IS NOT NULL AND golden_customer_key != customer_durable_key
             AND golden_customer_key NOT IN (SELECT customer_durable_key FROM ${qualified(database, local)})
         )`,
      );
      const copyBefore = await copyKeys(client, database, copy);
      const copyAfter = await copyKeys(client, database, stg);
      await swapIntoPlace(client, database, { stg, target: copy, old }, copyBefore !== undefined);
      // a view keeps the column list it was created with: recreated, as the read tables are
      await client.exec(`DROP TABLE IF EXISTS ${qualified(goldenSchema(schema), table)}`);
      await client.exec(
        `CREATE VIEW ${qualified(goldenSchema(schema), table)} AS SELECT * FROM ${qualified(database, local)} UNION ALL SELECT * FROM ${qualified(database, copy)}`,
      );
      // the latest run's rows of that view (none before the run views exist: no latest view then)
      const latestName = latestScoresTable(table);
      const latestView = qualified(goldenSchema(schema), latestName);
      const keep =
        runs &&
        changed !== undefined &&
        !changed.has(name) &&
        !changed.has(LATEST_RUN_TABLE) &&
        copyBefore === copyAfter &&
        (await tableExists(client, goldenSchema(schema), latestName)) &&
        (await tableExists(client, database, `latest__${local}`));
      if (keep) {
        latestKept++;
        keptHere++;
        continue;
      }
      const found = runs ? await placeLatest(client, database, syncId, schema, table, local) : undefined;
      await client.exec(`DROP TABLE IF EXISTS ${latestView}`);
      if (found === undefined) continue;
      latestRebuilt++;
      if (found.rows !== found.customers) {
        duplicates.push({ table: name, shard, ...found });
        continue;
      }
      await client.exec(
        `CREATE VIEW ${latestView} AS SELECT * FROM ${qualified(database, `latest__${local}`)}`,
      );
    }
    return keptHere;
  };
  await Promise.all((await cluster.shards()).map((s) => placeOnShard(s.client, s.shard)));
  duplicates.sort((a, b) => a.shard - b.shard || a.table.localeCompare(b.table));
  const currentScoresPlaced = currentScores.rebuilt + currentScores.patched + currentScores.kept;
  return { duplicates, latestRebuilt, latestKept, currentScoresPlaced, currentScores };
}

/** What placeCurrentScores did on one shard. */
type CurrentScoresOutcome = 'rebuilt' | 'patched' | 'kept' | 'none';

/**
 * Places the shard's current records with their golden customer's latest scores side by side
 * (clickhouse-layout.ts, CURRENT_SCORES) and says how; `none` when a golden-score table has no
 * latest view on this shard (no run yet, a duplicate, a table not synced): the table's view is
 * dropped and the dialect joins the score tables one by one.
 *
 * A row depends on two things only: that its record is current on this shard, and the latest
 * scores of the record's golden customer. `moved` lists the customer keys whose `core.dim_customer`
 * rows this sync rewrote, and is given only when every latest-scores table of this shard was kept
 * and the table was current before this sync (sync.ts): then only those records can differ.
 * - none moved: the table is kept;
 * - moved records that are new, or kept their golden customer: their rows are appended (a new
 *   version of a customer with the same golden key leaves its row as it is);
 * - a moved record re-pointed or no longer current: the table is copied beside the live one
 *   without the moved records' rows, their rows added, and swapped in with one RENAME.
 * Either way the table is then checked against the shard's current records (count, and a hash
 * of each record's key and golden key); a table that does not match (a hand edit, a sync that
 * stopped) is rebuilt, as it is whenever `moved` is not given: every current record joined to the
 * four latest tables. The rebuild costs about 1.2-1.4 s per sync at 10M order lines (500 000
 * records per shard, the shards side by side); an append of a 1% load's records is a small
 * fraction of that (docs/scale-out.md).
 */
async function placeCurrentScores(
  client: ClickHouseClient,
  database: string,
  syncId: string,
  moved: readonly string[] | undefined,
): Promise<CurrentScoresOutcome> {
  const view = qualified(goldenSchema(CURRENT_SCORES.schema), CURRENT_SCORES.table);
  const name = `${CURRENT_SCORES.schema}__${CURRENT_SCORES.table}`;
  const table = qualified(database, name);
  /** Each golden-score table's latest table, its columns, and their names in the side-by-side table. */
  const sides: { latest: string; columns: string[]; names: string[] }[] = [];
  for (const scores of GOLDEN_SCORE_TABLES) {
    const { schema, table, local } = live(scores);
    const latest = `latest__${local}`;
    const ready =
      (await tableExists(client, goldenSchema(schema), latestScoresTable(table))) &&
      (await tableExists(client, database, latest));
    if (!ready) {
      await client.exec(`DROP TABLE IF EXISTS ${view}`);
      return 'none';
    }
    const columns = await columnsOf(client, database, latest);
    sides.push({ latest, columns, names: columns.map((c) => currentScoresColumn(scores, c)) });
  }
  const pointers = qualified(database, live(GOLDEN_POINTER_TABLE).local);
  const records = `SELECT customer_durable_key, coalesce(golden_customer_key, customer_durable_key) AS __golden
    FROM ${pointers} WHERE is_current`;
  /** The table's columns, in the order `joined` selects them. */
  const layout = ['customer_durable_key', '__golden', ...sides.flatMap((side) => side.names)];
  /**
   * The rows of the current records `where` selects: 18.16 allows one JOIN per SELECT, so each
   * score table joins the result of the ones before, on the golden key (`ANY`: one row per golden
   * customer, checked); with `where`, the score tables are read only for those records' golden
   * customers.
   */
  const joined = (where: string): string => {
    const base = `${records}${where === '' ? '' : ` AND ${where}`}`;
    const golden = where === '' ? '' : ` WHERE customer_durable_key IN (SELECT __golden FROM (${base}))`;
    let sql = base;
    let kept = 2;
    for (const side of sides) {
      const columns = side.columns.map(
        (c, i) => `${quoteChIdent(c)} AS ${quoteChIdent(side.names[i] as string)}`,
      );
      kept += side.names.length;
      sql = `SELECT ${layout.slice(0, kept).map(quoteChIdent).join(', ')} FROM (${sql}) ANY LEFT JOIN (
        SELECT customer_durable_key AS __golden, ${columns.join(', ')} FROM ${qualified(database, side.latest)}${golden}
      ) USING __golden`;
    }
    return sql;
  };
  const swapIn = async (stg: string) => {
    await swapIntoPlace(client, database, { stg, target: name, old: `old_${syncId}__${name}` });
    // a view keeps the column list it was created with (a new score column): recreated
    await client.exec(`DROP TABLE IF EXISTS ${view}`);
    await client.exec(`CREATE VIEW ${view} AS SELECT * FROM ${table}`);
  };
  const stg = `stg_${syncId}__${name}`;
  // a table laid out otherwise (built by other code) is rebuilt: rows are appended by position
  if (
    moved !== undefined &&
    (await tableExists(client, goldenSchema(CURRENT_SCORES.schema), CURRENT_SCORES.table)) &&
    (await columnsOf(client, database, name)).join(',') === layout.join(',')
  ) {
    const outcome =
      moved.length === 0
        ? 'kept'
        : await patchCurrentScores(client, database, syncId, { table, stg, records, joined, swapIn }, moved);
    if (await matchesCurrentRecords(client, table, records)) return outcome;
  }
  await client.exec(`DROP TABLE IF EXISTS ${qualified(database, stg)}`);
  await client.exec(
    `CREATE TABLE ${qualified(database, stg)} ENGINE = MergeTree ORDER BY tuple() AS ${joined('')}`,
  );
  await swapIn(stg);
  return 'rebuilt';
}

/** The columns of `<database>.<table>` in their order (none when it does not exist). */
async function columnsOf(client: ClickHouseClient, database: string, table: string): Promise<string[]> {
  const rows = await client.rows(
    `SELECT name FROM system.columns WHERE database = '${database.replaceAll("'", '')}' AND table = '${table.replaceAll("'", '')}'`,
  );
  return rows.map((r) => String(r.name));
}

/** Brings the side-by-side table up to date with the `moved` records' rows (placeCurrentScores). */
async function patchCurrentScores(
  client: ClickHouseClient,
  database: string,
  syncId: string,
  at: {
    readonly table: string;
    readonly stg: string;
    readonly records: string;
    readonly joined: (where: string) => string;
    readonly swapIn: (stg: string) => Promise<void>;
  },
  moved: readonly string[],
): Promise<'patched'> {
  const keys = qualified(database, `stgk_${syncId}__current_scores`);
  await client.exec(`DROP TABLE IF EXISTS ${keys}`);
  try {
    await createKeyTable(client, keys, moved);
    const isMoved = `customer_durable_key IN (SELECT k FROM ${keys})`;
    // rows of moved records that are no longer current, or point to another golden customer now
    const stale = await client.scalar(
      `SELECT count() FROM ${at.table} WHERE ${isMoved}
       AND (customer_durable_key, __golden) NOT IN (SELECT customer_durable_key, __golden FROM (${at.records} AND ${isMoved}))`,
    );
    if (Number(stale) === 0) {
      await client.exec(
        `INSERT INTO ${at.table} ${at.joined(`${isMoved} AND customer_durable_key NOT IN (SELECT customer_durable_key FROM ${at.table} WHERE ${isMoved})`)}`,
      );
      return 'patched';
    }
    const stg = qualified(database, at.stg);
    await client.exec(`DROP TABLE IF EXISTS ${stg}`);
    await client.exec(`CREATE TABLE ${stg} AS ${at.table}`);
    await client.exec(`INSERT INTO ${stg} SELECT * FROM ${at.table} WHERE NOT ${isMoved}`);
    await client.exec(`INSERT INTO ${stg} ${at.joined(isMoved)}`);
    await at.swapIn(at.stg);
    return 'patched';
  } finally {
    await client.exec(`DROP TABLE IF EXISTS ${keys}`);
  }
}

/** Whether the side-by-side table holds one row per current record of the shard, each with its record's golden key (count and a hash of both keys). */
async function matchesCurrentRecords(
  client: ClickHouseClient,
  table: string,
  records: string,
): Promise<boolean> {
  const figures = 'count() AS n, sum(cityHash64(customer_durable_key, __golden)) AS h';
  const [held, want] = await Promise.all([
    client.rows(`SELECT ${figures} FROM ${table}`),
    client.rows(`SELECT ${figures} FROM (${records})`),
  ]);
  return String(held[0]?.n) === String(want[0]?.n) && String(held[0]?.h) === String(want[0]?.h);
}

/**
 * Puts the filled staging table `stg` in the place of `target` on one node: one RENAME swaps them
 * (readers see the old table or the new one, never neither) and the old one is dropped; a first
 * build is renamed in. `exists`: whether `target` is there, when the caller knows.
 */
async function swapIntoPlace(
  client: ClickHouseClient,
  database: string,
  names: { readonly stg: string; readonly target: string; readonly old: string },
  exists?: boolean,
): Promise<void> {
  const [stg, target, old] = [names.stg, names.target, names.old].map((n) => qualified(database, n));
  if (exists ?? (await tableExists(client, database, names.target))) {
    await client.exec(`RENAME TABLE ${target} TO ${old}, ${stg} TO ${target}`);
    await client.exec(`DROP TABLE IF EXISTS ${old}`);
  } else {
    await client.exec(`RENAME TABLE ${stg} TO ${target}`);
  }
}

/** The table the run views read: a new run changes which rows are the latest. */
const LATEST_RUN_TABLE = 'mining.mining_run';

/** Which runs of which customers a golden copy holds (row count and key sums), or undefined when it does not exist. */
async function copyKeys(
  client: ClickHouseClient,
  database: string,
  name: string,
): Promise<string | undefined> {
  if (!(await tableExists(client, database, name))) return undefined;
  const [row] = await client.rows(
    `SELECT count() AS n, sum(customer_durable_key) AS k, sum(run_id) AS r, sum(cityHash64(customer_durable_key, run_id)) AS h
     FROM ${qualified(database, name)}`,
  );
  return `${String(row?.n)}/${String(row?.k)}/${String(row?.r)}/${String(row?.h)}`;
}

/**
 * Fills `<database>.latest__<local>` with the latest run's rows of the shard's golden-score view
 * (swapped in with one RENAME) and returns its rows and distinct golden customers.
 */
async function placeLatest(
  client: ClickHouseClient,
  database: string,
  syncId: string,
  schema: string,
  table: string,
  local: string,
): Promise<{ rows: number; customers: number }> {
  const latest = `latest__${local}`;
  const stg = `stg_${syncId}__${latest}`;
  const old = `old_${syncId}__${latest}`;
  await client.exec(`CREATE TABLE ${qualified(database, stg)} AS ${qualified(database, local)}`);
  await client.exec(
    `INSERT INTO ${qualified(database, stg)} SELECT * FROM ${qualified(goldenSchema(schema), table)}
     WHERE run_id IN (SELECT run_id FROM mining.latest_run)`,
  );
  const [figures] = await client.rows(
    `SELECT count() AS n, uniqExact(customer_durable_key) AS k FROM ${qualified(database, stg)}`,
  );
  await swapIntoPlace(client, database, { stg, target: latest, old });
  return { rows: Number(figures?.n ?? 0), customers: Number(figures?.k ?? 0) };
}

/**
 * True when every shard has the golden-score view and the latest-scores view of each score table
 * it holds, as every sync since those views leaves it; false on a cluster synced by older code (no
 * `mining_golden` database, or no latest views) or where a latest run had two rows for one customer,
 * where the dialect must not read them (clickhouseDialectWithoutGoldenViews).
 */
export async function goldenViewsInPlace(cluster: ClickHouseCluster): Promise<boolean> {
  const database = cluster.target.database;
  const wanted = [...GOLDEN_SCORE_TABLES].map(live);
  const quote = (names: readonly string[]) => names.map((n) => `'${n.replaceAll("'", "\\'")}'`).join(', ');
  const sql = `SELECT database, name FROM system.tables
    WHERE (database = ${quote([database])} AND name IN (${quote(wanted.map((t) => t.local))}))
       OR (database IN (${quote([...new Set(wanted.map((t) => goldenSchema(t.schema)))])})
           AND name IN (${quote(wanted.flatMap((t) => [t.table, latestScoresTable(t.table)]))}))`;
  const answers = await Promise.all((await cluster.shards()).map(({ client }) => client.rows(sql)));
  return answers.every((rows) => {
    const found = new Set(rows.map((r) => `${String(r.database)}.${String(r.name)}`));
    return wanted.every(
      (t) =>
        !found.has(`${database}.${t.local}`) ||
        (found.has(`${goldenSchema(t.schema)}.${t.table}`) &&
          found.has(`${goldenSchema(t.schema)}.${latestScoresTable(t.table)}`)),
    );
  });
}
