/**
 * Baseline of the insights bench (see insights-sql-baseline.ts): the old routes' customer scope.
 * The request's filters are parsed as the routes parse them (src/api/routes/insights/scope.ts);
 * what the old routes added is kept here: the token's region limit intersected by hand, and a SQL
 * fragment over bound parameters that lists the customers in scope.
 */
import type { Context } from 'hono';
import type { ApiEnv } from '../src/api/auth.ts';
import { scopeOf as routeScopeOf, type Scope } from '../src/api/routes/insights/scope.ts';

export { periodOf, previousPeriod, type Scope } from '../src/api/routes/insights/scope.ts';

/** The scope of a request: its filters limited by the caller's regions (the old routes' way). */
export function scopeOf(c: Context<ApiEnv>): Scope {
  const scope = routeScopeOf(c);
  const limit = c.get('principal').regions;
  if (limit === undefined) return scope;
  const regions = scope.regions === null ? limit : scope.regions.filter((r) => limit.includes(r));
  return { ...scope, regions };
}

/**
 * `SELECT customer_durable_key FROM ...` of the customers in scope (current version; segment of the
 * latest RFM run, as the cube's customers.rfm_segment), with its parameters numbered from `first`.
 */
export function scopeSql(scope: Scope, first: number): { sql: string; params: string[] } {
  const r = `$${first}`;
  const s = `$${first + 1}`;
  return {
    sql: `SELECT c.customer_durable_key FROM core.dim_customer c
      LEFT JOIN (SELECT customer_durable_key, rfm_segment FROM mining.customer_rfm
                 WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm)) rs USING (customer_durable_key)
      WHERE c.is_current
        AND (${r}::VARCHAR = 'null' OR list_contains(from_json(${r}::VARCHAR, '["VARCHAR"]'), c.region))
        AND (${s}::VARCHAR = 'null' OR list_contains(from_json(${s}::VARCHAR, '["VARCHAR"]'), rs.rfm_segment))`,
    params: [JSON.stringify(scope.regions), JSON.stringify(scope.segments)],
  };
}
