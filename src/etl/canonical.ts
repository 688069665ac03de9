/**
 * The canonical operational-CRM export: the files `crm-bi generate` writes and the `canonical`
 * profile loads. One entity per file (`<entity>.csv`, `.csv.gz`, `.parquet` or `.json`), a header
 * row with exactly these column names (any order), UTF-8.
 *
 * Conventions:
 * - ids are text; timestamps are ISO 8601 (`2024-03-05T14:22:10Z`; without an offset they are read
 *   in the profile's timezone); dates are `YYYY-MM-DD`; money has at most 4 decimals.
 * - `orders.order_type` is `sale` or `return`. A sale's lines have positive quantities; a return's
 *   lines have negative quantities (so revenue nets returns). A negative quantity on a sale is
 *   rejected as `negative_quantity`.
 * - `order_lines.discount` is a fraction in [0, 1); revenue = quantity * unit_price * (1 - discount).
 */

export type ColumnType =
  | 'id'
  | 'string'
  | 'email'
  | 'int'
  | 'decimal'
  | 'double'
  | 'date'
  | 'timestamp'
  | 'enum'
  | 'boolean';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** A missing value rejects the row (`missing_value`). */
  readonly required?: boolean;
  /** Allowed values for `enum` columns (`invalid_value` otherwise). */
  readonly values?: readonly string[];
  /** Inclusive bounds for numeric columns (`out_of_range` otherwise). */
  readonly min?: number;
  readonly max?: number;
  /** References another entity's key (`unknown_<entity singular>` when it is not found). */
  readonly ref?: EntityName;
}

export interface EntitySpec {
  readonly name: EntityName;
  /** Natural key within one source; a repeated key in one load is rejected as `duplicate_key`. */
  readonly key: readonly string[];
  readonly columns: readonly ColumnSpec[];
  /** Whether a canonical export must contain this file. */
  readonly requiredFile: boolean;
}

export type EntityName =
  | 'customers'
  | 'contacts'
  | 'products'
  | 'orders'
  | 'order_lines'
  | 'payments'
  | 'campaigns'
  | 'campaign_touches'
  | 'tickets'
  | 'leads'
  | 'opportunities'
  | 'interactions';

export const ORDER_TYPES = ['sale', 'return'] as const;
export const TOUCH_EVENTS = ['sent', 'opened', 'clicked', 'converted'] as const;
export const TICKET_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export const TICKET_STATUSES = ['open', 'pending', 'closed'] as const;
export const LEAD_STATUSES = ['new', 'qualified', 'disqualified', 'converted'] as const;
export const OPPORTUNITY_STAGES = [
  'prospecting',
  'qualification',
  'proposal',
  'negotiation',
  'closed_won',
  'closed_lost',
] as const;
export const INTERACTION_KINDS = ['call', 'email', 'meeting'] as const;
export const DIRECTIONS = ['inbound', 'outbound'] as const;

/** Entities in load order: every reference points to an entity earlier in the list. */
export const CANONICAL_ENTITIES: readonly EntitySpec[] = [
  {
    name: 'customers',
    key: ['customer_id'],
    requiredFile: true,
    columns: [
      { name: 'customer_id', type: 'id', required: true },
      { name: 'name', type: 'string' },
      { name: 'email', type: 'email' },
      { name: 'phone', type: 'string' },
      { name: 'region', type: 'string' },
      { name: 'country', type: 'string' },
      { name: 'city', type: 'string' },
      { name: 'channel', type: 'string' },
      { name: 'segment', type: 'string' },
      { name: 'signup_date', type: 'date' },
      { name: 'updated_at', type: 'timestamp' },
    ],
  },
  {
    name: 'contacts',
    key: ['contact_id'],
    requiredFile: false,
    columns: [
      { name: 'contact_id', type: 'id', required: true },
      { name: 'customer_id', type: 'id', required: true, ref: 'customers' },
      { name: 'name', type: 'string' },
      { name: 'email', type: 'email' },
      { name: 'phone', type: 'string' },
      { name: 'role', type: 'string' },
    ],
  },
  {
    name: 'products',
    key: ['product_id'],
    requiredFile: true,
    columns: [
      { name: 'product_id', type: 'id', required: true },
      { name: 'name', type: 'string' },
      { name: 'category', type: 'string' },
      { name: 'subcategory', type: 'string' },
      { name: 'list_price', type: 'decimal', min: 0 },
      { name: 'unit_cost', type: 'decimal', min: 0 },
    ],
  },
  {
    name: 'orders',
    key: ['order_id'],
    requiredFile: true,
    columns: [
      { name: 'order_id', type: 'id', required: true },
      { name: 'customer_id', type: 'id', required: true, ref: 'customers' },
      { name: 'ordered_at', type: 'timestamp', required: true },
      { name: 'channel', type: 'string' },
      { name: 'order_type', type: 'enum', required: true, values: ORDER_TYPES },
      { name: 'status', type: 'string' },
    ],
  },
  {
    name: 'order_lines',
    key: ['order_id', 'line_no'],
    requiredFile: true,
    columns: [
      { name: 'order_id', type: 'id', required: true, ref: 'orders' },
      { name: 'line_no', type: 'int', required: true, min: 1 },
      { name: 'product_id', type: 'id', required: true, ref: 'products' },
      { name: 'quantity', type: 'decimal', required: true },
      { name: 'unit_price', type: 'decimal', required: true, min: 0 },
      { name: 'discount', type: 'decimal', min: 0, max: 0.999999 },
    ],
  },
  {
    name: 'payments',
    key: ['payment_id'],
    requiredFile: false,
    columns: [
      { name: 'payment_id', type: 'id', required: true },
      { name: 'order_id', type: 'id', required: true, ref: 'orders' },
      { name: 'paid_at', type: 'timestamp', required: true },
      { name: 'amount', type: 'decimal', required: true },
      { name: 'method', type: 'string' },
    ],
  },
  {
    name: 'campaigns',
    key: ['campaign_id'],
    requiredFile: false,
    columns: [
      { name: 'campaign_id', type: 'id', required: true },
      { name: 'name', type: 'string' },
      { name: 'channel', type: 'string' },
      { name: 'started_at', type: 'timestamp' },
      { name: 'ended_at', type: 'timestamp' },
      { name: 'budget', type: 'decimal', min: 0 },
    ],
  },
  {
    name: 'campaign_touches',
    key: ['touch_id'],
    requiredFile: false,
    columns: [
      { name: 'touch_id', type: 'id', required: true },
      { name: 'campaign_id', type: 'id', required: true, ref: 'campaigns' },
      { name: 'customer_id', type: 'id', required: true, ref: 'customers' },
      { name: 'touched_at', type: 'timestamp', required: true },
      { name: 'event', type: 'enum', required: true, values: TOUCH_EVENTS },
    ],
  },
  {
    name: 'tickets',
    key: ['ticket_id'],
    requiredFile: false,
    columns: [
      { name: 'ticket_id', type: 'id', required: true },
      { name: 'customer_id', type: 'id', required: true, ref: 'customers' },
      { name: 'opened_at', type: 'timestamp', required: true },
      { name: 'closed_at', type: 'timestamp' },
      { name: 'priority', type: 'enum', values: TICKET_PRIORITIES },
      { name: 'status', type: 'enum', values: TICKET_STATUSES },
      { name: 'category', type: 'string' },
      { name: 'satisfaction', type: 'int', min: 1, max: 5 },
    ],
  },
  {
    name: 'leads',
    key: ['lead_id'],
    requiredFile: false,
    columns: [
      { name: 'lead_id', type: 'id', required: true },
      { name: 'name', type: 'string' },
      { name: 'email', type: 'email' },
      { name: 'lead_source', type: 'string' },
      { name: 'created_at', type: 'timestamp', required: true },
      { name: 'status', type: 'enum', values: LEAD_STATUSES },
      { name: 'converted_customer_id', type: 'id', ref: 'customers' },
    ],
  },
  {
    name: 'opportunities',
    key: ['opportunity_id'],
    requiredFile: false,
    columns: [
      { name: 'opportunity_id', type: 'id', required: true },
      { name: 'lead_id', type: 'id', ref: 'leads' },
      { name: 'customer_id', type: 'id', ref: 'customers' },
      { name: 'created_at', type: 'timestamp', required: true },
      { name: 'closed_at', type: 'timestamp' },
      { name: 'stage', type: 'enum', required: true, values: OPPORTUNITY_STAGES },
      { name: 'amount', type: 'decimal', min: 0 },
      { name: 'probability', type: 'double', min: 0, max: 1 },
      { name: 'owner', type: 'string' },
    ],
  },
  {
    name: 'interactions',
    key: ['interaction_id'],
    requiredFile: false,
    columns: [
      { name: 'interaction_id', type: 'id', required: true },
      { name: 'customer_id', type: 'id', required: true, ref: 'customers' },
      { name: 'contact_id', type: 'id', ref: 'contacts' },
      { name: 'kind', type: 'enum', required: true, values: INTERACTION_KINDS },
      { name: 'occurred_at', type: 'timestamp', required: true },
      { name: 'duration_minutes', type: 'double', min: 0 },
      { name: 'direction', type: 'enum', values: DIRECTIONS },
      { name: 'outcome', type: 'string' },
    ],
  },
];

export function entitySpec(name: EntityName): EntitySpec {
  const spec = CANONICAL_ENTITIES.find((e) => e.name === name);
  if (!spec) throw new Error(`no canonical entity ${name}`);
  return spec;
}

/**
 * Reject reason codes (meta.etl_reject.reason). Stable: tools and tests count by them.
 * `unknown_<entity>` codes come from references: unknown_customer, unknown_product, unknown_order, ...
 */
export const REJECT_REASONS = {
  missing_value: 'a required field is empty',
  invalid_id: 'an id has control characters or is longer than 200 characters',
  invalid_number: 'not a number',
  non_finite_number: 'NaN or Infinity',
  number_out_of_range: 'too large for the column (DECIMAL(18,4)) or outside its allowed range',
  invalid_date: 'not a real calendar date or timestamp (e.g. 2026-02-30)',
  invalid_value: 'not one of the allowed values',
  invalid_boolean: 'not a boolean',
  negative_quantity: 'a negative quantity on a sale (only returns have negative quantities)',
  positive_return_quantity: 'a positive quantity on a return',
  zero_quantity: 'a quantity of zero',
  negative_price: 'a negative unit price',
  duplicate_key: 'the natural key appears again in the same load (the first row is kept)',
  rejected_parent: 'the row it belongs to (e.g. its order) was rejected',
  malformed_row: 'the line cannot be parsed (wrong number of fields, unterminated quote)',
  invalid_encoding: 'the line is not valid text in the declared encoding',
} as const;

/** Data-quality findings that do not reject the row (reported as warnings_by_reason). */
export const WARNING_REASONS = {
  missing_email: 'a customer without an email address (loaded with email NULL)',
  invalid_email: 'an email that is not an address (loaded with email NULL)',
  possible_duplicate_row: 'a row identical to another one in the same file (kept: the source has no line id)',
} as const;
