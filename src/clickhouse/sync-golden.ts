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
 */
import {
  GOLDEN_POINTER_TABLE,
  GOLDEN_SCORE_TABLES,
  goldenSchema,
} from '../cube/dialect/clickhouse-layout.ts';
import { type ClickHouseCluster, quoteChIdent } from '../db/clickhouse.ts';
import { qualified, tableExists } from './schema.ts';

/** `mining.customer_rfm` → `mining__customer_rfm` (the shard's own rows). */
function live(name: string): { schema: string; table: string; local: string } {
  const [schema, table] = name.split('.') as [string, string];
  return { schema, table, local: `${schema}__${table}` };
}

/** Rebuilds every shard's copy of the golden customers' scores held by other shards, and the views over them. */
export async function placeGoldenScores(cluster: ClickHouseCluster, syncId: string): Promise<void> {
  const database = cluster.target.database;
  const pointers = live(GOLDEN_POINTER_TABLE).local;
  for (const { client } of await cluster.shards()) {
    if (!(await tableExists(client, database, pointers))) continue;
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
      if (await tableExists(client, database, copy)) {
        await client.exec(
          `RENAME TABLE ${qualified(database, copy)} TO ${qualified(database, old)}, ${qualified(database, stg)} TO ${qualified(database, copy)}`,
        );
        await client.exec(`DROP TABLE IF EXISTS ${qualified(database, old)}`);
      } else {
        await client.exec(`RENAME TABLE ${qualified(database, stg)} TO ${qualified(database, copy)}`);
      }
      // a view keeps the column list it was created with: recreated, as the read tables are
      await client.exec(`DROP TABLE IF EXISTS ${qualified(goldenSchema(schema), table)}`);
      await client.exec(
        `CREATE VIEW ${qualified(goldenSchema(schema), table)} AS SELECT * FROM ${qualified(database, local)} UNION ALL SELECT * FROM ${qualified(database, copy)}`,
      );
    }
  }
}

/**
 * True when every shard has the golden-score view of each score table it holds, as every sync
 * since those views leaves it; false on a cluster synced by older code (no `mining_golden`
 * database), where the dialect must not read them (clickhouseDialectWithoutGoldenViews).
 */
export async function goldenViewsInPlace(cluster: ClickHouseCluster): Promise<boolean> {
  const database = cluster.target.database;
  const wanted = [...GOLDEN_SCORE_TABLES].map(live);
  const quote = (names: readonly string[]) => names.map((n) => `'${n.replaceAll("'", "\\'")}'`).join(', ');
  const sql = `SELECT database, name FROM system.tables
    WHERE (database = ${quote([database])} AND name IN (${quote(wanted.map((t) => t.local))}))
       OR (database IN (${quote([...new Set(wanted.map((t) => goldenSchema(t.schema)))])})
           AND name IN (${quote(wanted.map((t) => t.table))}))`;
  const answers = await Promise.all((await cluster.shards()).map(({ client }) => client.rows(sql)));
  return answers.every((rows) => {
    const found = new Set(rows.map((r) => `${String(r.database)}.${String(r.name)}`));
    return wanted.every(
      (t) => !found.has(`${database}.${t.local}`) || found.has(`${goldenSchema(t.schema)}.${t.table}`),
    );
  });
}
