/**
 * Building pre-aggregations: each rollup declared in the model becomes a table in the `rollup`
 * schema, recorded in `rollup._catalog` with the hash of its definition and build SQL
 * (`rollupHash`: a model change stales only the rollups whose build reads what changed) and the
 * data version it was built from (`rollupVersion`: without the mining run when the rollup reads no mining table).
 * Queries are routed only to rollups whose hash and data version are current, so a load, an
 * identity run or a mining run never serves stale rollups (run buildRollups after each).
 *
 * A partitioned rollup (`partitions` in the model: e.g. run_migration.transitions holds only the
 * pairs of consecutive runs) is built incrementally instead: each partition is recorded in
 * `rollup._partitions` with the stamp its `partitions.sql` gave it and the data version without
 * the mining run. A build keeps the partitions whose stamp and version are current, deletes the
 * rows of every other one, and builds only the wanted partitions that are missing, so a mining run
 * costs the new partitions, not all of them. A partition is routed while it is still wanted with
 * the same stamp and no load or identity run came since (`freshRollups` lists it as
 * `partitionEntry(name, values)`); the rollup's own name is listed when every wanted partition is.
 * What is wanted is asked once per data version and handle (`wantedAtVersion`), so `partitions.sql`
 * may read only what the data version covers.
 *
 * @example
 * await buildRollups(db, model); // [{ name: 'sales.daily', table: 'rollup.sales__daily', rows: 1234, ms: 80 }]
 */
import { createHash } from 'node:crypto';
import { type Database, quoteIdent } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { dataVersion, dataVersionSql, formatDataVersion, rollupVersion } from './data-version.ts';
import type { Dialect } from './dialect/dialect.ts';
import { duckdbDialect } from './dialect/duckdb.ts';
import type { Model, ModelDimension, PreAggregation } from './model/types.ts';
import { planRollupBuild } from './planner/plan.ts';
import { partitionEntry, ROLLUP_SCHEMA } from './planner/rollups.ts';

const CATALOG = `${quoteIdent(ROLLUP_SCHEMA)}."_catalog"`;
const PARTITIONS = `${quoteIdent(ROLLUP_SCHEMA)}."_partitions"`;

export interface BuiltRollup {
  readonly name: string;
  readonly table: string;
  readonly rows: number;
  readonly ms: number;
  /** A partitioned rollup: partitions built by this call, and kept as they were. */
  readonly partitions?: { readonly built: number; readonly kept: number; readonly dropped: number };
}

export interface BuildRollupsOptions {
  /** Only these rollups (full names `cube.name`); all by default. */
  readonly only?: readonly string[];
  readonly dialect?: Dialect;
}

/**
 * The SQL that builds one rollup (for inspection and tests); with `partition`, only that
 * partition's rows (one value per `partitions.by` dimension, bound as parameters).
 */
export function rollupBuildSql(
  model: Model,
  name: string,
  dialect: Dialect = duckdbDialect,
  partition?: readonly (string | number)[],
) {
  const pre = model.preAggregations.find((p) => p.fullName === name);
  if (!pre) throw new CrmBiError('unknown_member', `unknown rollup '${name}'`, { member: name });
  const plan = planRollupBuild(model, pre, partition);
  return { pre, plan, compiled: dialect.createCompiler().compile(plan.statement) };
}

/** One partition a partitioned rollup should hold: its `by` values, their key and its stamp. */
interface WantedPartition {
  readonly values: readonly (string | number)[];
  readonly key: string;
  readonly stamp: string;
}

/** The partitions `pre.partitions.sql` asks for now, by key. */
async function wantedPartitions(
  db: Database,
  model: Model,
  pre: PreAggregation,
): Promise<Map<string, WantedPartition>> {
  return pre.partitions ? partitionsOf(model, pre, await db.all(pre.partitions.sql)) : new Map();
}

/** The partitions in rows of `pre.partitions.sql`, by key. */
function partitionsOf(
  model: Model,
  pre: PreAggregation,
  rows: readonly Record<string, unknown>[],
): Map<string, WantedPartition> {
  const spec = pre.partitions;
  const out = new Map<string, WantedPartition>();
  if (!spec) return out;
  for (const row of rows) {
    const values = spec.by.map((name) => {
      const column = name.slice(name.indexOf('.') + 1);
      const v = row[column];
      if (v === null || v === undefined) {
        throw new CrmBiError('invalid_model', `rollup ${pre.fullName}: partitions.sql gave no '${column}'`);
      }
      return (model.members.get(name) as ModelDimension).type === 'number' ? Number(v) : String(v);
    });
    const key = JSON.stringify(values);
    out.set(key, { values, key, stamp: String(row.stamp ?? '') });
  }
  return out;
}

/** Columns of `versionedPartitionsSql` outside the partitions' own (which `partitions.sql` names). */
const VERSION_COLUMNS = {
  load_id: 'version.load_id',
  run_id: 'version.run_id',
  identity_run_id: 'version.identity_run_id',
};
const PARTITION_ROW = 'partition.row';

/**
 * `partitions.sql` and the data version in one statement, so both see the same state of the
 * warehouse: one row per partition (a row of NULL partition columns when there is none), each
 * with the version's columns.
 */
function versionedPartitionsSql(sql: string): string {
  const version = Object.entries(VERSION_COLUMNS).map(([c, as]) => `v.${c} AS ${quoteIdent(as)}`);
  return `SELECT ${version.join(', ')}, p.*
FROM (${dataVersionSql}) AS v
LEFT JOIN (SELECT *, 1 AS ${quoteIdent(PARTITION_ROW)} FROM (${sql.replace(/;\s*$/, '')})) AS p ON true`;
}

interface VersionedPartitions {
  readonly version: string;
  readonly wanted: Map<string, WantedPartition>;
}

/**
 * The wanted partitions of each partitioned rollup per handle, with the data version they were read
 * at. `partitions.sql` may read only what the data version covers (the migration rollup's reads the
 * runs' ids, as-of days and creation times), so its answer holds for as long as the version does.
 */
const partitionsByVersion = new WeakMap<Database, WeakMap<PreAggregation, VersionedPartitions>>();

/**
 * The partitions `pre.partitions.sql` asks for at data version `version`: asked once per version and
 * handle. A version read with them that differs from `version` (the data changed since the caller
 * read it) is what they are kept under; they are returned all the same, as a look-up now would be.
 */
async function wantedAtVersion(
  db: Database,
  model: Model,
  pre: PreAggregation,
  version: string,
): Promise<Map<string, WantedPartition>> {
  let kept = partitionsByVersion.get(db);
  const hit = kept?.get(pre);
  if (hit?.version === version) return hit.wanted;
  if (!pre.partitions) return new Map();
  const rows = await db.all(versionedPartitionsSql(pre.partitions.sql));
  const first = rows[0] ?? {};
  const read = formatDataVersion({
    load_id: first[VERSION_COLUMNS.load_id],
    run_id: first[VERSION_COLUMNS.run_id],
    identity_run_id: first[VERSION_COLUMNS.identity_run_id],
  });
  const wanted = partitionsOf(
    model,
    pre,
    rows.filter((r) => r[PARTITION_ROW] !== null && r[PARTITION_ROW] !== undefined),
  );
  if (kept === undefined) {
    kept = new WeakMap();
    partitionsByVersion.set(db, kept);
  }
  kept.set(pre, { version: read, wanted });
  return wanted;
}

/** The recorded partitions of a rollup: key → stamp and base version. */
async function recordedPartitions(
  db: Database,
  name: string,
): Promise<Map<string, { stamp: string; base: string }>> {
  const rows = await db.all(`SELECT key, stamp, base_version FROM ${PARTITIONS} WHERE name = $1`, [name]);
  return new Map(rows.map((r) => [String(r.key), { stamp: String(r.stamp), base: String(r.base_version) }]));
}

/**
 * Brings a partitioned rollup's table to the wanted partitions: keeps those recorded with the
 * current stamp and base version (when the table's definition hash is current), deletes the rows
 * of every other recorded one, and builds the missing ones (one INSERT each, whose changed-row
 * count is the partition's recorded row count: the table is never counted).
 */
async function buildPartitioned(
  db: Database,
  model: Model,
  pre: PreAggregation,
  version: string,
  dialect: Dialect | undefined,
): Promise<{ rows: number; built: number; kept: number; dropped: number }> {
  const table = `${quoteIdent(ROLLUP_SCHEMA)}.${quoteIdent(pre.table)}`;
  const base = rollupVersion(version, false);
  const wanted = await wantedPartitions(db, model, pre);
  const catalog = await db.one(`SELECT hash FROM ${CATALOG} WHERE name = $1`, [pre.fullName]);
  const exists =
    Number(
      await db.scalar(
        'SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
        [ROLLUP_SCHEMA, pre.table],
      ),
    ) > 0;
  const recorded =
    exists && catalog?.hash === rollupHash(model, pre)
      ? await recordedPartitions(db, pre.fullName)
      : new Map();
  const current = (key: string) => {
    const r = recorded.get(key);
    return r !== undefined && r.base === base && r.stamp === wanted.get(key)?.stamp;
  };
  const by = pre.partitions?.by ?? [];
  const match = by.map((name, i) => `${quoteIdent(name)} = $${i + 1}`).join(' AND ');
  let dropped = 0;
  if ([...recorded.keys()].some(current)) {
    for (const key of recorded.keys()) {
      if (current(key)) continue;
      await db.run(`DELETE FROM ${table} WHERE ${match}`, JSON.parse(key) as (string | number)[]);
      await db.run(`DELETE FROM ${PARTITIONS} WHERE name = $1 AND key = $2`, [pre.fullName, key]);
      dropped++;
    }
  } else {
    // nothing to keep: an empty table of the build's columns (the filter on one partition, or on
    // placeholder values, keeps the statement from reading the other partitions' inputs)
    const any =
      wanted.values().next().value?.values ??
      by.map((n) => ((model.members.get(n) as ModelDimension).type === 'number' ? 0 : ''));
    const { compiled } = rollupBuildSql(model, pre.fullName, dialect, any);
    await db.run(
      `CREATE OR REPLACE TABLE ${table} AS SELECT * FROM (${compiled.sql}) LIMIT 0`,
      compiled.parameters,
    );
    dropped = recorded.size;
    await db.run(`DELETE FROM ${PARTITIONS} WHERE name = $1`, [pre.fullName]);
  }
  let built = 0;
  for (const p of wanted.values()) {
    if (current(p.key)) continue;
    const { compiled } = rollupBuildSql(model, pre.fullName, dialect, p.values);
    const rows = await db.run(`INSERT INTO ${table} ${compiled.sql}`, compiled.parameters);
    await db.run(`INSERT OR REPLACE INTO ${PARTITIONS} VALUES ($1, $2, $3, $4, now(), $5)`, [
      pre.fullName,
      p.key,
      p.stamp,
      base,
      rows,
    ]);
    built++;
  }
  // the table holds exactly the recorded partitions, each with its recorded count
  const rows = Number(
    await db.scalar(`SELECT coalesce(sum(row_count), 0) FROM ${PARTITIONS} WHERE name = $1`, [pre.fullName]),
  );
  return { rows, built, kept: wanted.size - built, dropped };
}

/** A schema-qualified reference to a mining table, quoted or not. */
const MINING_TABLE = /(^|[^\w"])"?mining"?\s*\./i;

/** What a rollup's build depends on, worked out once per loaded model. */
interface BuildFacts {
  readonly hash: string;
  readonly readsScores: boolean;
}
const buildFacts = new WeakMap<PreAggregation, BuildFacts>();

/**
 * From the SQL that builds the rollup (DuckDB), which names every cube, join, column and table
 * the build reads, whichever cube or join brought it in:
 * - `hash`: the rollup's definition (`pre.hash`: members, time bucket, zone, partitions) and that
 *   SQL with its parameters. A built table is current only for the same hash, so a change to a
 *   cube, join or member the build reads makes the rollup stale, and a change anywhere else in
 *   the model leaves it fresh.
 * - `readsScores`: whether it reads a mining table (scores, runs), so that a mining run makes it
 *   stale.
 */
function factsOf(model: Model, pre: PreAggregation): BuildFacts {
  let facts = buildFacts.get(pre);
  if (facts === undefined) {
    const { compiled } = rollupBuildSql(model, pre.fullName);
    facts = {
      hash: createHash('sha256')
        .update(
          JSON.stringify([pre.hash, compiled.sql, compiled.parameters], (_, v) =>
            typeof v === 'bigint' ? String(v) : v,
          ),
        )
        .digest('hex')
        .slice(0, 16),
      readsScores: MINING_TABLE.test(compiled.sql),
    };
    buildFacts.set(pre, facts);
  }
  return facts;
}

const readsScores = (model: Model, pre: PreAggregation): boolean => factsOf(model, pre).readsScores;

/** The hash a built rollup table is recorded with, and must still have to be read (see factsOf). */
export const rollupHash = (model: Model, pre: PreAggregation): string => factsOf(model, pre).hash;

/** Builds (or rebuilds) the model's rollups in one transaction. */
export async function buildRollups(
  db: Database,
  model: Model,
  options: BuildRollupsOptions = {},
): Promise<BuiltRollup[]> {
  const wanted = model.preAggregations.filter((p) => !options.only || options.only.includes(p.fullName));
  if (options.only) {
    for (const name of options.only) {
      if (!model.preAggregations.some((p) => p.fullName === name)) {
        throw new CrmBiError('unknown_member', `unknown rollup '${name}'`, { member: name });
      }
    }
  }
  const version = await dataVersion(db);
  const built: BuiltRollup[] = [];
  await db.transaction(async () => {
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ROLLUP_SCHEMA)}`);
    await db.run(
      `CREATE TABLE IF NOT EXISTS ${CATALOG} (name VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, hash VARCHAR NOT NULL, data_version VARCHAR NOT NULL, built_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)`,
    );
    await db.run(
      `CREATE TABLE IF NOT EXISTS ${PARTITIONS} (name VARCHAR NOT NULL, key VARCHAR NOT NULL, stamp VARCHAR NOT NULL, base_version VARCHAR NOT NULL, built_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL, PRIMARY KEY (name, key))`,
    );
    for (const pre of wanted) {
      const started = performance.now();
      const table = `${quoteIdent(ROLLUP_SCHEMA)}.${quoteIdent(pre.table)}`;
      let rows: number;
      let partitions: BuiltRollup['partitions'];
      if (pre.partitions) {
        const r = await buildPartitioned(db, model, pre, version, options.dialect);
        rows = r.rows;
        partitions = { built: r.built, kept: r.kept, dropped: r.dropped };
      } else {
        const { compiled } = rollupBuildSql(model, pre.fullName, options.dialect);
        await db.run(`CREATE OR REPLACE TABLE ${table} AS ${compiled.sql}`, compiled.parameters);
        rows = Number(await db.scalar(`SELECT count(*) FROM ${table}`));
      }
      await db.run(`INSERT OR REPLACE INTO ${CATALOG} VALUES ($1, $2, $3, $4, now(), $5)`, [
        pre.fullName,
        `${ROLLUP_SCHEMA}.${pre.table}`,
        rollupHash(model, pre),
        rollupVersion(version, readsScores(model, pre)),
        rows,
      ]);
      built.push({
        name: pre.fullName,
        table: `${ROLLUP_SCHEMA}.${pre.table}`,
        rows,
        ms: performance.now() - started,
        ...(partitions ? { partitions } : {}),
      });
    }
  });
  return built;
}

/** The rollup names of a `freshRollups` set, without the partition entries (`name@[values]`). */
export function rollupNames(fresh: ReadonlySet<string>): string[] {
  return [...fresh].filter((entry) => !entry.includes('@'));
}

/**
 * Rollups that are built from the current data with the current definition, by name; a
 * partitioned rollup also lists each current partition (`partitionEntry`), and its name only
 * when every wanted partition is current.
 */
export async function freshRollups(db: Database, model: Model, version?: string): Promise<Set<string>> {
  if (model.preAggregations.length === 0) return new Set();
  let rows: { name?: unknown; hash?: unknown; data_version?: unknown }[];
  try {
    rows = await db.all(`SELECT name, hash, data_version FROM ${CATALOG}`);
  } catch {
    return new Set();
  }
  const current = version ?? (await dataVersion(db));
  const fresh = new Set<string>();
  for (const row of rows) {
    const pre = model.preAggregations.find((p) => p.fullName === row.name);
    if (!pre || row.hash !== rollupHash(model, pre)) continue;
    if (pre.partitions) {
      const built = String(row.data_version);
      for (const entry of await freshPartitions(db, model, pre, current, built)) fresh.add(entry);
    } else if (row.data_version === rollupVersion(current, readsScores(model, pre))) {
      fresh.add(pre.fullName);
    }
  }
  return fresh;
}

/**
 * A partitioned rollup's current partitions as `partitionEntry`s, and its own name when every
 * wanted partition is among them and no load or identity run came since its last build
 * (`builtAt`, its catalog version). A partition is current while `partitions.sql` still asks for
 * it with the stamp it was built with, and no load or identity run came since.
 */
async function freshPartitions(
  db: Database,
  model: Model,
  pre: PreAggregation,
  version: string,
  builtAt: string,
): Promise<string[]> {
  let wanted: Map<string, WantedPartition>;
  let recorded: Map<string, { stamp: string; base: string }>;
  try {
    wanted = await wantedAtVersion(db, model, pre, version);
    recorded = await recordedPartitions(db, pre.fullName);
  } catch {
    return [];
  }
  const base = rollupVersion(version, false);
  const out: string[] = [];
  for (const p of wanted.values()) {
    const r = recorded.get(p.key);
    if (r && r.stamp === p.stamp && r.base === base) out.push(partitionEntry(pre.fullName, p.values));
  }
  if (out.length === wanted.size && rollupVersion(builtAt, false) === base) out.push(pre.fullName);
  return out;
}
