/**
 * A profile maps one known export format onto the canonical model. It reads and validates its
 * files and builds canonical temp tables (see CONFORMED_TABLES); the shared loader (load-core.ts)
 * takes them into the warehouse. Rows with a problem stay in the tables with `_problem` set and
 * are recorded as rejects by the profile; loaders only take `_problem IS NULL`.
 *
 * A profile hands each table over with `ctx.emit(table)`; emit in dependency order (customers and
 * products before facts). Extraction writes temp tables only and runs before the load's
 * transaction; the emitted tables are then loaded in that order inside it, and each is dropped once
 * loaded (see load.ts).
 */
import type { Database } from '../../db/duckdb.ts';
import type { SourceFile } from '../extract/source-files.ts';

export interface ExtractContext {
  readonly db: Database;
  readonly files: readonly SourceFile[];
  /** Source system name written to core.*.source (customers are unique per source). */
  readonly source: string;
  /** The load's id: core.* rows carrying it were written by this load (see emit). */
  readonly loadId: number;
  readonly timezone: string;
  /** Reports a step of work (for progress output). */
  readonly step: (label: string) => void;
  /** Hands a conformed table to the loader (loaded into core.* after extraction, then dropped). */
  readonly emit: (table: ConformedTable) => Promise<void>;
  /** Keeps a raw text table in staging.* when the load asked for it (--keep-staging). */
  readonly keepRaw: (file: string, name: string, table: string) => Promise<void>;
}

export interface FileStats {
  readonly file: string;
  readonly entity: string;
  /** Records in the file (parsed rows plus unparseable lines). */
  readonly rowsRead: number;
}

export interface ExtractResult {
  readonly files: readonly FileStats[];
  /** Warnings counted by the profile (rejects.ts countWarnings), by reason. */
  readonly warnings?: Readonly<Record<string, number>>;
  /** Files of the source that the profile did not use. */
  readonly ignoredFiles: readonly string[];
}

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** IANA zone of local timestamps and dates in this format. */
  readonly timezone: string;
  /**
   * ISO 4217 code of the money amounts in this format (the dashboards show it), or null when the
   * format does not fix one (canonical files: the generator's truth.json names it, see etl/currency.ts).
   */
  readonly currency: string | null;
  /** Default source-system name. */
  readonly sourceName: string;
  extract(ctx: ExtractContext): Promise<ExtractResult>;
}

/**
 * Conformed temp tables and their columns (all optional except where loaders need them):
 * - c_customers: customer_id, name, email, phone, region, country, city, channel, segment, signup_date, updated_at
 * - c_contacts: contact_id, customer_id, name, email, phone, role
 * - c_products: product_id, name, category, subcategory, list_price, unit_cost
 * - c_order_lines: order_id, line_no, customer_id (NULL = anonymous sale), product_id, ordered_at,
 *   ordered_date, order_type, channel, quantity, unit_price, discount, revenue, cost (NULL: quantity *
 *   product unit_cost), ship_city, ship_state, ship_region, ship_postal_code, ship_mode, shipped_at
 *   (cost and the shipping columns may be left out: they load as NULL)
 * - c_payments: payment_id, order_id, customer_id, paid_at, amount, method
 * - c_campaigns: campaign_id, name, channel, started_at, ended_at, budget
 * - c_campaign_touches: touch_id, campaign_id, customer_id, touched_at, event
 * - c_tickets: ticket_id, customer_id, opened_at, closed_at, priority, status, category, satisfaction
 * - c_leads: lead_id, name, email, lead_source, created_at, status, converted_customer_id
 * - c_opportunities: opportunity_id, lead_id, customer_id, created_at, closed_at, stage, amount, probability, owner
 * - c_interactions: interaction_id, customer_id, contact_id, kind, occurred_at, duration_minutes, direction, outcome
 * - c_subscriptions: customer_id, contract, tenure_months, monthly_charges, total_charges, payment_method, churned, attributes
 * Each also has `_problem` (NULL for rows to load).
 */
export const CONFORMED_TABLES = [
  'c_customers',
  'c_contacts',
  'c_products',
  'c_order_lines',
  'c_payments',
  'c_campaigns',
  'c_campaign_touches',
  'c_tickets',
  'c_leads',
  'c_opportunities',
  'c_interactions',
  'c_subscriptions',
] as const;

export type ConformedTable = (typeof CONFORMED_TABLES)[number];
