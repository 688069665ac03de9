/**
 * How routes read warehouse figures: a Cube JSON query run through the semantic layer with the
 * caller's region limit as its security context, so the one security rule of the model
 * (customers.access_region) applies to every answer and no route writes SQL.
 *
 * @example
 * const rows = await readCube(db, model, principal, { measures: ['customers.count'], dimensions: ['customers.rfm_segment'] });
 */
import { isCompareResponse, type Model, type RawQuery, type RunOptions, runQuery } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import type { Principal } from './auth.ts';

export type CubeRow = Readonly<Record<string, string | number | boolean | null>>;

/** The security context of a caller: its regions, or none when it may see every region. */
export function securityOf(principal: Pick<Principal, 'regions'>) {
  return principal.regions === undefined ? {} : { security: { regions: principal.regions } };
}

/**
 * Runs `query` as `principal` and returns its rows (a compareDateRange query is a bug here).
 * `options` may raise the row limit for internal reads (e.g. `{ maxLimit }`) or set the caps and
 * cache of a caller-shaped read (the SQL endpoint); never the security.
 */
export async function readCube(
  db: Database,
  model: Model,
  principal: Pick<Principal, 'regions'>,
  query: RawQuery,
  options: Pick<
    RunOptions,
    'maxLimit' | 'cache' | 'timeoutMs' | 'maxUngroupedRows' | 'maxBytes' | 'heavy'
  > = {},
): Promise<CubeRow[]> {
  const res = await runQuery(db, model, query, { ...options, ...securityOf(principal) });
  if (isCompareResponse(res)) throw new Error('readCube takes plain queries, not compareDateRange');
  return res.data as CubeRow[];
}
