/**
 * The audience builder's one implementation (page, API and `crm-bi audience`): checks a
 * definition's values against the warehouse, counts it with its value summary, and streams its
 * members, all through the semantic layer as the caller (region limit, latest run, golden customer).
 */
import { explainQuery, type Model, type RawQuery, runQuery } from '../cube/index.ts';
import type { Database, Params } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import {
  type AudienceContext,
  memberQuery,
  savedMemberQuery,
  scoredCountQuery,
  spendAtRankQuery,
  summaryQuery,
} from './audience-query.ts';
import { AUDIENCE_FIELDS, type AudienceNode, conditionsOf } from './definition.ts';

/** Who asks: their regions (a token's limit), or none for every region. */
export interface Caller {
  readonly regions?: readonly string[] | undefined;
}

export interface AudienceSummary {
  readonly customers: number;
  readonly total_clv: number;
  readonly expected_revenue: number;
}

/** The cube's security context of a caller (none: every region). */
export function securityOf(caller: Caller) {
  return caller.regions === undefined ? {} : { security: { regions: [...caller.regions] } };
}

/** A boolean cube value (DuckDB gives true/false; other engines may give text). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

async function rows(db: Database, model: Model, caller: Caller, query: RawQuery) {
  const res = await runQuery(db, model, query, { ...securityOf(caller), maxLimit: 100_000 });
  if (!('data' in res)) throw new Error('audience queries are plain queries');
  return res.data as Record<string, unknown>[];
}

const MAX_LISTED = 40;

/**
 * The values of a text member among the customers a caller sees, remembered per warehouse handle:
 * the API swaps in a new handle when the warehouse changes, and a CLI process reads one state.
 */
const knownCache = new WeakMap<Database, Map<string, Promise<string[]>>>();

function knownValues(db: Database, model: Model, caller: Caller, member: string): Promise<string[]> {
  let byKey = knownCache.get(db);
  if (byKey === undefined) {
    byKey = new Map();
    knownCache.set(db, byKey);
  }
  const key = JSON.stringify([member, caller.regions ?? null]);
  let values = byKey.get(key);
  if (values === undefined) {
    values = rows(db, model, caller, { dimensions: [member], limit: 100_000 }).then((rs) =>
      rs.map((r) => r[member]).filter((v): v is string => typeof v === 'string'),
    );
    values.catch(() => byKey.delete(key));
    byKey.set(key, values);
  }
  return values;
}

/**
 * Every text value a definition names must exist among the customers the caller can see: a value
 * with no customers ("europe" for "Europe", a region that is not there) is a 400 naming the member
 * and the known values, so a typo is never mistaken for an empty audience.
 */
export async function checkValues(
  db: Database,
  model: Model,
  caller: Caller,
  node: AudienceNode,
): Promise<void> {
  const byField = new Map<string, Set<string>>();
  for (const c of conditionsOf(node)) {
    if (c.op !== 'in' && c.op !== 'not_in') continue;
    const set = byField.get(c.field) ?? new Set<string>();
    for (const v of c.values) set.add(v);
    byField.set(c.field, set);
  }
  for (const [fieldName, wanted] of byField) {
    const member = AUDIENCE_FIELDS[fieldName as keyof typeof AUDIENCE_FIELDS].member;
    const known = await knownValues(db, model, caller, member);
    const knownSet = new Set(known);
    for (const value of wanted) {
      if (knownSet.has(value)) continue;
      const sameCase = known.find((k) => k.toLowerCase() === value.toLowerCase());
      const list =
        known
          .slice(0, MAX_LISTED)
          .map((k) => `'${k}'`)
          .join(', ') || '(none)';
      throw new CrmBiError(
        'unknown_value',
        sameCase !== undefined
          ? `${fieldName}: no customers with '${value}' (${member}); did you mean '${sameCase}'? Values are case-sensitive`
          : `${fieldName}: no customers with '${value}' (${member}); known values: ${list}${known.length > MAX_LISTED ? ', ...' : ''}`,
        { member },
      );
    }
  }
}

/**
 * The median net spend of the scored golden customers a region-limited caller sees (the middle
 * value, or the mean of the two middle values), read through the semantic layer: "above the
 * median" for a Europe marketer means above the median European customer. Undefined for a caller
 * who sees every region (the model's spend_above_median member holds that median), for a
 * definition without a median condition, and when the caller sees no scored customer.
 */
export function spendMedian(
  db: Database,
  model: Model,
  caller: Caller,
  node: AudienceNode,
): Promise<number | undefined> {
  if (caller.regions === undefined) return Promise.resolve(undefined);
  if (!conditionsOf(node).some((c) => 'value' in c && c.value === 'median'))
    return Promise.resolve(undefined);
  // remembered per warehouse handle, like the known values: it changes only with a new handle
  let byRegions = medianCache.get(db);
  if (byRegions === undefined) {
    byRegions = new Map();
    medianCache.set(db, byRegions);
  }
  const key = JSON.stringify([...caller.regions].sort());
  let median = byRegions.get(key);
  if (median === undefined) {
    median = readMedian(db, model, caller);
    median.catch(() => byRegions.delete(key));
    byRegions.set(key, median);
  }
  return median;
}

const medianCache = new WeakMap<Database, Map<string, Promise<number | undefined>>>();

async function readMedian(db: Database, model: Model, caller: Caller): Promise<number | undefined> {
  const [counted] = await rows(db, model, caller, scoredCountQuery());
  const n = Number(counted?.['customers.count'] ?? 0);
  if (n === 0) return undefined;
  const middle = await rows(db, model, caller, spendAtRankQuery(Math.floor((n - 1) / 2), 2 - (n % 2)));
  const values = middle.map((r) => Number(r['customers.monetary']));
  return values.reduce((s, v) => s + v, 0) / values.length;
}

async function contextOf(
  db: Database,
  model: Model,
  caller: Caller,
  node: AudienceNode,
): Promise<AudienceContext> {
  return { median: await spendMedian(db, model, caller, node) };
}

/**
 * The live count and value summary of an audience, as the caller sees it.
 *
 * @example
 * await audienceSummary(db, model, {}, parseDefinition({ field: 'churn_probability', op: 'gt', value: 0.5 }));
 * // { customers: 338, total_clv: 41210.5, expected_revenue: 52000.1 }
 */
export async function audienceSummary(
  db: Database,
  model: Model,
  caller: Caller,
  node: AudienceNode,
): Promise<AudienceSummary> {
  await checkValues(db, model, caller, node);
  const [row] = await rows(db, model, caller, summaryQuery(node, await contextOf(db, model, caller, node)));
  const num = (k: string) => Number(row?.[k] ?? 0);
  return {
    customers: num('customers.count'),
    total_clv: num('customers.total_clv'),
    expected_revenue: num('customers.expected_revenue'),
  };
}

/** The largest audience one export or save may hold. */
export const MAX_MEMBERS = 5_000_000;

/**
 * The compiled member list (SQL with bound parameters) as the caller sees it: of a definition, or
 * the treated members of a saved audience (its id); in customer id order when `ordered`.
 */
export async function memberStatement(
  db: Database,
  model: Model,
  caller: Caller,
  source: AudienceNode | number,
  ordered = false,
): Promise<{ sql: string; params: Params }> {
  const query =
    typeof source === 'number'
      ? savedMemberQuery(source, MAX_MEMBERS, ordered)
      : memberQuery(source, MAX_MEMBERS, ordered, await contextOf(db, model, caller, source));
  const compiled = await explainQuery(db, model, query, {
    ...securityOf(caller),
    maxLimit: MAX_MEMBERS,
  });
  return { sql: compiled.sql, params: compiled.params as Params };
}

/** The mining run every score of an audience comes from (mining.latest_run), or a clear error. */
export async function latestRunOf(db: Database, model: Model): Promise<{ run_id: number; as_of: string }> {
  const [row] = await rows(db, model, {}, { dimensions: ['latest_run.run_id', 'latest_run.as_of'] });
  if (row === undefined || row['latest_run.run_id'] == null) {
    throw new CrmBiError('no_mining_run', 'no mining run yet: run `crm-bi mine` first');
  }
  return { run_id: Number(row['latest_run.run_id']), as_of: String(row['latest_run.as_of']).slice(0, 10) };
}
