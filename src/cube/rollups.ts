/**
 * Building pre-aggregations: each rollup declared in the model becomes a table in the `rollup`
 * schema, recorded in `rollup._catalog` with its definition hash and the data version it was
 * built from (`rollupVersion`: without the mining run when the rollup reads no mining table).
 * Queries are routed only to rollups whose hash and data version are current, so a load, an
 * identity run or a mining run never serves stale rollups (run buildRollups after each).
 *
 * @example
 * await buildRollups(db, model); // [{ name: 'sales.daily', table: 'rollup.sales__daily', rows: 1234, ms: 80 }]
 */
import { type Database, quoteIdent } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { dataVersion, rollupVersion } from './data-version.ts';
import type { Dialect } from './dialect/dialect.ts';
import { duckdbDialect } from './dialect/duckdb.ts';
import type { Model, PreAggregation } from './model/types.ts';
import { planRollupBuild } from './planner/plan.ts';
import { ROLLUP_SCHEMA } from './planner/rollups.ts';

const CATALOG = `${quoteIdent(ROLLUP_SCHEMA)}."_catalog"`;

export interface BuiltRollup {
  readonly name: string;
  readonly table: string;
  readonly rows: number;
  readonly ms: number;
}

export interface BuildRollupsOptions {
  /** Only these rollups (full names `cube.name`); all by default. */
  readonly only?: readonly string[];
  readonly dialect?: Dialect;
}

/** The SQL that builds one rollup (for inspection and tests). */
export function rollupBuildSql(model: Model, name: string, dialect: Dialect = duckdbDialect) {
  const pre = model.preAggregations.find((p) => p.fullName === name);
  if (!pre) throw new CrmBiError('unknown_member', `unknown rollup '${name}'`, { member: name });
  const plan = planRollupBuild(model, pre);
  return { pre, plan, compiled: dialect.createCompiler().compile(plan.statement) };
}

/** A schema-qualified reference to a mining table, quoted or not. */
const MINING_TABLE = /(^|[^\w"])"?mining"?\s*\./i;
const scoreReads = new WeakMap<PreAggregation, boolean>();

/**
 * Whether the rollup's build reads a mining table (scores, runs), so that a mining run makes it
 * stale. Taken from the compiled SQL, which names every table the build reads, whichever cube or
 * join brought it in.
 */
function readsScores(model: Model, pre: PreAggregation): boolean {
  let reads = scoreReads.get(pre);
  if (reads === undefined) {
    reads = MINING_TABLE.test(rollupBuildSql(model, pre.fullName).compiled.sql);
    scoreReads.set(pre, reads);
  }
  return reads;
}

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
    for (const pre of wanted) {
      const started = performance.now();
      const { compiled } = rollupBuildSql(model, pre.fullName, options.dialect);
      const table = `${quoteIdent(ROLLUP_SCHEMA)}.${quoteIdent(pre.table)}`;
      await db.run(`CREATE OR REPLACE TABLE ${table} AS ${compiled.sql}`, compiled.parameters);
      const rows = Number(await db.scalar(`SELECT count(*) FROM ${table}`));
      await db.run(`INSERT OR REPLACE INTO ${CATALOG} VALUES ($1, $2, $3, $4, now(), $5)`, [
        pre.fullName,
        `${ROLLUP_SCHEMA}.${pre.table}`,
        pre.hash,
        rollupVersion(version, readsScores(model, pre)),
        rows,
      ]);
      built.push({
        name: pre.fullName,
        table: `${ROLLUP_SCHEMA}.${pre.table}`,
        rows,
        ms: performance.now() - started,
      });
    }
  });
  return built;
}

/** Rollups that are built from the current data with the current definition. */
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
    if (
      pre &&
      row.hash === pre.hash &&
      row.data_version === rollupVersion(current, readsScores(model, pre))
    ) {
      fresh.add(pre.fullName);
    }
  }
  return fresh;
}
