/**
 * Bars of a breakdown that add up to the total: the cube returns the rows whose member is NULL as
 * one row, and that row becomes explicit bars instead of being dropped. When the measure has a
 * "no customer" part (`sales.revenue_no_customer`: order lines without a customer, which have no
 * customer attribute at all), the NULL row is split into "No customer" and the unknown member.
 */
import type { Row } from '../api.ts';
import type { BarDatum } from '../charts/bar.ts';

export const NO_CUSTOMER = 'No customer';

export interface BreakdownOptions {
  /** Label of customers whose member is NULL, e.g. "Unknown region", "Not scored". */
  readonly unknown: string;
  /** The measure holding the part of each row's value that has no customer. */
  readonly noCustomer?: string;
}

const value = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * `breakdownBars(rows, 'customers.region', 'sales.revenue', { unknown: 'Unknown region',
 * noCustomer: 'sales.revenue_no_customer' })` → one bar per region, then "Unknown region" and
 * "No customer" when they are not zero; their sum is the sum of the measure over all rows.
 */
export function breakdownBars(
  rows: readonly Row[],
  dimension: string,
  measure: string,
  options: BreakdownOptions,
): BarDatum[] {
  const known: BarDatum[] = [];
  let unknown = 0;
  let none = 0;
  for (const r of rows) {
    const total = value(r[measure]);
    const noCustomer = options.noCustomer ? value(r[options.noCustomer]) : 0;
    const label = r[dimension];
    if (label === null || label === undefined) {
      unknown += total - noCustomer;
      none += noCustomer;
    } else {
      // a customer attribute is NULL for every line without a customer, so this part is 0 here
      known.push({ label: String(label), value: total });
    }
  }
  const out = [...known];
  // below a hundredth of a unit is float noise from the subtraction
  if (Math.abs(unknown) >= 0.005) out.push({ label: options.unknown, value: unknown, selectable: false });
  if (Math.abs(none) >= 0.005) out.push({ label: NO_CUSTOMER, value: none, selectable: false });
  return out;
}

/**
 * Why a breakdown has nothing to draw, said so the reader can act, or null when it has bars:
 * `what` names the member in words ("acquisition channel"), `score` says the measure comes from a
 * mining run (so all-NULL values mean no run has scored these customers), `filtered` whether the
 * page's filters narrow the rows.
 */
export function whyEmpty(
  rows: readonly Row[],
  dimension: string,
  measure: string,
  options: { what: string; score?: boolean; filtered: boolean },
): string | null {
  const valued = rows.filter((r) => r[measure] !== null && r[measure] !== undefined);
  if (rows.length === 0)
    return options.filtered
      ? 'No data for these filters.'
      : 'No customers loaded yet: load a source with crm-bi load.';
  if (valued.length === 0)
    return options.score
      ? 'No customer is scored yet: run crm-bi mine.'
      : options.filtered
        ? 'No data for these filters.'
        : 'No values yet.';
  if (valued.every((r) => r[dimension] === null || r[dimension] === undefined))
    return `This source has no ${options.what}: it is empty for every customer.`;
  return null;
}
