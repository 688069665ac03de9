/**
 * Baseline of the insights bench (see insights-sql-baseline.ts). The customer scope of an insights request: the dashboard filters (`from`, `to`, `region`,
 * `segment`, as in the dashboards' URL) parsed with zod, intersected with the token's region limit,
 * and turned into a SQL fragment over bound parameters that lists the customers in scope.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../src/api/auth.ts';
import { apiError } from '../src/api/errors.ts';
import { IsoDate, validate } from '../src/api/validate.ts';

const FilterQuery = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  region: z.array(z.string().min(1).max(200)).max(100),
  segment: z.array(z.string().min(1).max(200)).max(100),
});

export interface Scope {
  readonly from: string | null;
  readonly to: string | null;
  /** Regions the request may see (requested ∩ token); null = all. */
  readonly regions: readonly string[] | null;
  readonly segments: readonly string[] | null;
}

function listParam(c: Context<ApiEnv>, key: string): string[] {
  return (c.req.queries(key) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The scope of a request: its filters limited by the caller's regions. */
export function scopeOf(c: Context<ApiEnv>): Scope {
  const q = validate(FilterQuery, {
    from: c.req.query('from') || undefined,
    to: c.req.query('to') || undefined,
    region: listParam(c, 'region'),
    segment: listParam(c, 'segment'),
  });
  if (q.from && q.to && q.from > q.to)
    throw apiError('bad_request', `from (${q.from}) is after to (${q.to})`);
  const limit = c.get('principal').regions;
  let regions: readonly string[] | null = q.region.length > 0 ? q.region : null;
  if (limit !== undefined) regions = regions === null ? limit : regions.filter((r) => limit.includes(r));
  return {
    from: q.from ?? null,
    to: q.to ?? null,
    regions,
    segments: q.segment.length > 0 ? q.segment : null,
  };
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

/** The period of the scope, both ends required. */
export function periodOf(scope: Scope): { from: string; to: string } {
  if (!scope.from || !scope.to)
    throw apiError('bad_request', 'give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD');
  return { from: scope.from, to: scope.to };
}

/** The period of the same length ending the day before `from`. */
export function previousPeriod(p: { from: string; to: string }): { from: string; to: string } {
  const day = 86_400_000;
  const a = Date.parse(`${p.from}T00:00:00Z`);
  const b = Date.parse(`${p.to}T00:00:00Z`);
  const days = Math.round((b - a) / day) + 1;
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  return { from: iso(a - days * day), to: iso(a - day) };
}
