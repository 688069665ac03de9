/**
 * The mining runs model templates name (`{LATEST_RUN_ID}`, `{PREVIOUS_RUN_ID}`), looked up once
 * per statement (or once per read-only handle) and bound as parameters, so the score tables are
 * filtered on a constant run id: DuckDB then skips the other runs' row groups, which it cannot do
 * for `run_id = (SELECT run_id FROM mining.latest_run)`.
 *
 * "The latest run" stays defined once, by the warehouse views mining.latest_run and
 * mining.previous_run (src/db/schema/migrations.ts): the look-up reads those views, and an engine
 * that does not look the ids up (a ClickHouse cluster) runs the same subqueries in the statement.
 *
 * @example
 * const ids = await readRunIds(db); // { latest: 7, previous: 6 }
 * compileQuery(model, query, { runIds: ids }); // ... WHERE run_id = $1  ([7, ...])
 */
import type { Database } from '../db/duckdb.ts';
import type { RunRef } from './model/types.ts';

/** The id of each run a template can name; null when the warehouse has no such run. */
export type RunIds = Readonly<Record<RunRef, number | null>>;

/** What a run reference reads when its id is not bound: a scalar subquery over the run view. */
export const RUN_SUBQUERY: Readonly<Record<RunRef, string>> = {
  latest: '(SELECT run_id FROM mining.latest_run)',
  previous: '(SELECT run_id FROM mining.previous_run)',
};

const RUN_IDS_SQL = `SELECT ${RUN_SUBQUERY.latest} AS latest, ${RUN_SUBQUERY.previous} AS previous`;

const idOf = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The latest and previous run ids of a DuckDB warehouse. A warehouse without the run views (no
 * mining schema yet) has neither run: its statements keep the subqueries, which fail or read
 * nothing exactly as before.
 */
export async function readRunIds(db: Database): Promise<RunIds> {
  let row: Record<string, unknown> | undefined;
  try {
    row = await db.one(RUN_IDS_SQL);
  } catch {
    return { latest: null, previous: null };
  }
  return { latest: idOf(row?.latest), previous: idOf(row?.previous) };
}
