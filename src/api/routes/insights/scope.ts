/**
 * The customer scope of an insights request: the dashboard filters (`from`, `to`, `region`,
 * `segment`, as in the dashboards' URL) parsed with zod. The token's region limit is not applied
 * here: the cube's planner applies it to every query (insights/read.ts).
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { previousPeriodOf } from '../../../../web/periods.ts';
import type { ApiEnv } from '../../auth.ts';
import { apiError } from '../../errors.ts';
import { IsoDate, validate } from '../../validate.ts';

const FilterQuery = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  region: z.array(z.string().min(1).max(200)).max(100),
  segment: z.array(z.string().min(1).max(200)).max(100),
});

export interface Scope {
  readonly from: string | null;
  readonly to: string | null;
  /** Regions the request asks for; null = all (the token may narrow them further). */
  readonly regions: readonly string[] | null;
  readonly segments: readonly string[] | null;
}

function listParam(c: Context<ApiEnv>, key: string): string[] {
  return (c.req.queries(key) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The scope of a request: its dashboard filters. */
export function scopeOf(c: Context<ApiEnv>): Scope {
  const q = validate(FilterQuery, {
    from: c.req.query('from') || undefined,
    to: c.req.query('to') || undefined,
    region: listParam(c, 'region'),
    segment: listParam(c, 'segment'),
  });
  if (q.from && q.to && q.from > q.to)
    throw apiError('bad_request', `from (${q.from}) is after to (${q.to})`);
  return {
    from: q.from ?? null,
    to: q.to ?? null,
    regions: q.region.length > 0 ? q.region : null,
    segments: q.segment.length > 0 ? q.segment : null,
  };
}

/** A period of whole days, both ends included (YYYY-MM-DD). */
export interface Period {
  readonly from: string;
  readonly to: string;
}

/** The period of the scope, both ends required. */
export function periodOf(scope: Scope): Period {
  if (!scope.from || !scope.to)
    throw apiError('bad_request', 'give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD');
  return { from: scope.from, to: scope.to };
}

/**
 * The period a figure is compared with, by the dashboards' calendar rule (web/periods.ts): whole
 * months go back by as many months (a quarter → the quarter before), a month-, quarter- or
 * year-to-date range → the same days one span earlier, any other range → the same number of days
 * just before it.
 */
export function previousPeriod(p: Period): Period {
  return previousPeriodOf(p);
}
