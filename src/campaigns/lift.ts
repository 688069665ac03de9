/**
 * The lift report of a saved audience: purchases, revenue and margin per customer after a date,
 * treated against the control group, each difference with a 95% Welch t interval (welch.ts), the
 * incremental revenue (the revenue difference times the treated customers), the campaign's cost if
 * given, and a verdict. Members and their orders are read through the semantic layer
 * (audience_members, audience_orders), so a region-limited caller sees its region's members only.
 */
import type { Model } from '../cube/index.ts';
import { runQuery } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { type Caller, isTrue, securityOf } from './audience.ts';
import { type WelchInterval, welchInterval } from './welch.ts';

/** One member's outcome over the report's window. */
export interface Outcome {
  readonly purchases: number;
  readonly revenue: number;
  readonly margin: number;
}

const METRICS = ['purchases', 'revenue', 'margin'] as const;
type Metric = (typeof METRICS)[number];

export interface GroupFigures {
  readonly customers: number;
  readonly purchases_per_customer: number;
  readonly revenue_per_customer: number;
  readonly margin_per_customer: number;
}

export type Verdict = 'no measurable effect yet' | 'measurable lift' | 'measurable drop';

export interface LiftReport {
  readonly method: string;
  readonly treated: GroupFigures;
  readonly control: GroupFigures;
  readonly difference: Readonly<Record<Metric, WelchInterval>>;
  /** Revenue difference per customer × treated customers, with its interval. */
  readonly incremental_revenue: { readonly estimate: number; readonly low: number; readonly high: number };
  readonly incremental_margin: { readonly estimate: number; readonly low: number; readonly high: number };
  readonly cost: number | null;
  /** Incremental margin minus cost (null without a cost). */
  readonly net_margin: number | null;
  readonly verdict: Verdict;
}

export const LIFT_METHOD =
  "Welch's t, 95% two-sided interval of the per-customer difference (treated − control), Welch–Satterthwaite df";

function figures(group: readonly Outcome[]): GroupFigures {
  const avg = (m: Metric) => (group.length === 0 ? 0 : group.reduce((s, o) => s + o[m], 0) / group.length);
  return {
    customers: group.length,
    purchases_per_customer: avg('purchases'),
    revenue_per_customer: avg('revenue'),
    margin_per_customer: avg('margin'),
  };
}

/** The verdict of an interval: an effect is claimed only when the interval leaves out 0. */
export function verdictOf(interval: Pick<WelchInterval, 'low' | 'high'>): Verdict {
  if (interval.low > 0) return 'measurable lift';
  if (interval.high < 0) return 'measurable drop';
  return 'no measurable effect yet';
}

/**
 * The report from the two groups' outcomes (the pure part, tested on simulated outcomes). The
 * verdict reads the revenue interval.
 */
export function liftFromOutcomes(
  treated: readonly Outcome[],
  control: readonly Outcome[],
  cost: number | null = null,
): LiftReport {
  if (treated.length < 2 || control.length < 2) {
    throw new CrmBiError(
      'too_small',
      `a lift report needs at least two treated and two control customers (has ${treated.length} and ${control.length}); save the audience with a larger control share`,
    );
  }
  const diff = (m: Metric) =>
    welchInterval(
      treated.map((o) => o[m]),
      control.map((o) => o[m]),
    );
  const difference = { purchases: diff('purchases'), revenue: diff('revenue'), margin: diff('margin') };
  const scaled = (w: WelchInterval) => ({
    estimate: w.difference * treated.length,
    low: w.low * treated.length,
    high: w.high * treated.length,
  });
  const incremental_margin = scaled(difference.margin);
  return {
    method: LIFT_METHOD,
    treated: figures(treated),
    control: figures(control),
    difference,
    incremental_revenue: scaled(difference.revenue),
    incremental_margin,
    cost,
    net_margin: cost === null ? null : incremental_margin.estimate - cost,
    verdict: verdictOf(difference.revenue),
  };
}

export interface LiftOptions {
  readonly audienceId: number;
  /** First day counted (YYYY-MM-DD, inclusive). */
  readonly after: string;
  /** Last day counted (inclusive); default: open-ended. */
  readonly until?: string;
  readonly cost?: number;
}

const BIG = 10_000_000;

/** Reads a saved audience's members and their orders in the window, and reports the lift. */
export async function liftReport(
  db: Database,
  model: Model,
  caller: Caller,
  options: LiftOptions,
): Promise<
  LiftReport & { readonly audience_id: number; readonly after: string; readonly until: string | null }
> {
  const run = async (query: object) => {
    const res = await runQuery(db, model, query, { ...securityOf(caller), maxLimit: BIG });
    if (!('data' in res)) throw new Error('lift queries are plain queries');
    return res.data as Record<string, unknown>[];
  };
  const id = String(options.audienceId);
  const members = await run({
    dimensions: ['audience_members.customer_durable_key', 'audience_members.is_control'],
    filters: [{ member: 'audience_members.audience_id', operator: 'equals', values: [id] }],
    ungrouped: true,
    limit: BIG,
  });
  if (members.length === 0) {
    throw new CrmBiError(
      'not_found',
      `no saved audience ${options.audienceId} with members you can see`,
      {},
      404,
    );
  }
  const orders = await run({
    dimensions: ['audience_orders.customer_durable_key'],
    measures: ['audience_orders.purchases', 'audience_orders.revenue', 'audience_orders.margin'],
    filters: [{ member: 'audience_orders.audience_id', operator: 'equals', values: [id] }],
    timeDimensions: [
      {
        dimension: 'audience_orders.ordered_at',
        dateRange: [options.after, options.until ?? '2199-12-31'],
      },
    ],
    limit: BIG,
  });
  const byKey = new Map<number, Outcome>();
  for (const r of orders) {
    byKey.set(Number(r['audience_orders.customer_durable_key']), {
      purchases: Number(r['audience_orders.purchases'] ?? 0),
      revenue: Number(r['audience_orders.revenue'] ?? 0),
      margin: Number(r['audience_orders.margin'] ?? 0),
    });
  }
  const none: Outcome = { purchases: 0, revenue: 0, margin: 0 };
  const treated: Outcome[] = [];
  const control: Outcome[] = [];
  for (const m of members) {
    const outcome = byKey.get(Number(m['audience_members.customer_durable_key'])) ?? none;
    const isControl = isTrue(m['audience_members.is_control']);
    (isControl ? control : treated).push(outcome);
  }
  return {
    audience_id: options.audienceId,
    after: options.after,
    until: options.until ?? null,
    ...liftFromOutcomes(treated, control, options.cost ?? null),
  };
}
