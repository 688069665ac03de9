/**
 * Warehouse migrations. Each entry upgrades the schema by one version; `migrate()` applies the
 * missing ones in order inside one transaction, so an older warehouse file is upgraded in place.
 *
 * The tables and columns named in ARCHITECTURE.md ("Warehouse contract") are public: never rename
 * or drop them here without a new migration and a note.
 */
import { REFRESH_ACCESS_REGIONS_SQL } from '../access-region.ts';
import { REJECT_STATUS_VIEW_SQL, REJECT_STATUS_VIEW_SQL_V12 } from './reject-status.ts';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/**
 * Mining runs from the latest to the oldest: the newest as_of date first, then the newest created
 * (a backfill run for an older day made after a newer one is not the latest), never the highest id
 * alone. Plain SQL that DuckDB and ClickHouse both run: the run views below and run listings use it,
 * and the ClickHouse sync creates the same views from these constants.
 */
export const RUN_ORDER = 'as_of DESC, created_at DESC, run_id DESC';

const RUN_ORDER_SQL = `SELECT run_id, as_of, created_at FROM mining.mining_run ORDER BY ${RUN_ORDER}`;

/** The views that name runs, as (name, SELECT) pairs, for engines other than DuckDB. */
export const RUN_VIEWS: readonly (readonly [string, string])[] = [
  ['latest_run', `${RUN_ORDER_SQL} LIMIT 1`],
  ['previous_run', `${RUN_ORDER_SQL} LIMIT 1 OFFSET 1`],
];

/** Money columns: exact decimals, as the contract fixes. */
const MONEY = 'DECIMAL(18,4)';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'schemas staging, core, mining, meta; star schema and ETL bookkeeping',
    sql: `
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mining;
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE meta.etl_load (
  load_id BIGINT PRIMARY KEY,
  source VARCHAR NOT NULL,
  profile VARCHAR NOT NULL,
  checksum VARCHAR NOT NULL,
  rows_read BIGINT NOT NULL DEFAULT 0,
  rows_loaded BIGINT NOT NULL DEFAULT 0,
  rows_rejected BIGINT NOT NULL DEFAULT 0,
  status VARCHAR NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  source_system VARCHAR,
  rejects_by_reason JSON,
  warnings_by_reason JSON,
  rows_by_table JSON,
  message VARCHAR
);

CREATE TABLE meta.etl_reject (
  load_id BIGINT NOT NULL,
  source_file VARCHAR NOT NULL,
  line BIGINT,
  column_name VARCHAR,
  reason VARCHAR NOT NULL,
  raw VARCHAR
);

CREATE TABLE core.dim_customer (
  customer_key BIGINT NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  source VARCHAR NOT NULL,
  customer_id VARCHAR NOT NULL,
  name VARCHAR,
  email VARCHAR,
  phone VARCHAR,
  region VARCHAR,
  country VARCHAR,
  city VARCHAR,
  channel VARCHAR,
  segment VARCHAR,
  signup_date DATE,
  valid_from TIMESTAMPTZ NOT NULL,
  valid_to TIMESTAMPTZ NOT NULL,
  is_current BOOLEAN NOT NULL,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.dim_contact (
  contact_key BIGINT NOT NULL,
  source VARCHAR NOT NULL,
  contact_id VARCHAR NOT NULL,
  customer_durable_key BIGINT,
  name VARCHAR,
  email VARCHAR,
  phone VARCHAR,
  role VARCHAR,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.dim_product (
  product_key BIGINT NOT NULL,
  source VARCHAR NOT NULL,
  product_id VARCHAR NOT NULL,
  name VARCHAR,
  category VARCHAR,
  subcategory VARCHAR,
  list_price ${MONEY},
  unit_cost ${MONEY},
  load_id BIGINT NOT NULL
);

CREATE TABLE core.dim_date (
  date_key INTEGER NOT NULL,
  date DATE NOT NULL,
  year INTEGER NOT NULL,
  quarter INTEGER NOT NULL,
  month INTEGER NOT NULL,
  month_name VARCHAR NOT NULL,
  day INTEGER NOT NULL,
  day_of_week INTEGER NOT NULL,
  day_name VARCHAR NOT NULL,
  iso_week INTEGER NOT NULL,
  iso_year INTEGER NOT NULL,
  is_weekend BOOLEAN NOT NULL
);

CREATE TABLE core.dim_region (
  region_key BIGINT NOT NULL,
  region VARCHAR,
  country VARCHAR
);

CREATE TABLE core.dim_channel (
  channel_key BIGINT NOT NULL,
  channel VARCHAR NOT NULL
);

CREATE TABLE core.dim_campaign (
  campaign_key BIGINT NOT NULL,
  source VARCHAR NOT NULL,
  campaign_id VARCHAR NOT NULL,
  name VARCHAR,
  channel VARCHAR,
  started_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  budget ${MONEY},
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_order_line (
  source VARCHAR NOT NULL,
  order_id VARCHAR NOT NULL,
  line_no INTEGER NOT NULL,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  product_key BIGINT,
  ordered_at TIMESTAMPTZ NOT NULL,
  ordered_date DATE NOT NULL,
  order_type VARCHAR NOT NULL,
  channel VARCHAR,
  quantity DECIMAL(18,4) NOT NULL,
  unit_price ${MONEY},
  discount DECIMAL(9,6) NOT NULL DEFAULT 0,
  revenue ${MONEY} NOT NULL,
  cost ${MONEY},
  margin ${MONEY},
  ship_city VARCHAR,
  ship_state VARCHAR,
  ship_region VARCHAR,
  ship_postal_code VARCHAR,
  ship_mode VARCHAR,
  shipped_at TIMESTAMPTZ,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_payment (
  source VARCHAR NOT NULL,
  payment_id VARCHAR NOT NULL,
  order_id VARCHAR,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  paid_at TIMESTAMPTZ NOT NULL,
  amount ${MONEY} NOT NULL,
  method VARCHAR,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_campaign_touch (
  source VARCHAR NOT NULL,
  touch_id VARCHAR NOT NULL,
  campaign_key BIGINT,
  campaign_id VARCHAR NOT NULL,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  touched_at TIMESTAMPTZ NOT NULL,
  event VARCHAR NOT NULL,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_ticket (
  source VARCHAR NOT NULL,
  ticket_id VARCHAR NOT NULL,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  opened_at TIMESTAMPTZ NOT NULL,
  closed_at TIMESTAMPTZ,
  priority VARCHAR,
  status VARCHAR,
  category VARCHAR,
  satisfaction INTEGER,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_lead (
  source VARCHAR NOT NULL,
  lead_id VARCHAR NOT NULL,
  name VARCHAR,
  email VARCHAR,
  lead_source VARCHAR,
  created_at TIMESTAMPTZ NOT NULL,
  status VARCHAR,
  converted_customer_durable_key BIGINT,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_opportunity (
  source VARCHAR NOT NULL,
  opportunity_id VARCHAR NOT NULL,
  lead_id VARCHAR,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  created_at TIMESTAMPTZ NOT NULL,
  closed_at TIMESTAMPTZ,
  stage VARCHAR NOT NULL,
  amount ${MONEY},
  probability DOUBLE,
  owner VARCHAR,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_interaction (
  source VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  customer_key BIGINT,
  customer_durable_key BIGINT,
  contact_id VARCHAR,
  kind VARCHAR NOT NULL,
  occurred_at TIMESTAMPTZ NOT NULL,
  duration_minutes DOUBLE,
  direction VARCHAR,
  outcome VARCHAR,
  load_id BIGINT NOT NULL
);

CREATE TABLE core.fact_subscription (
  source VARCHAR NOT NULL,
  customer_key BIGINT,
  customer_durable_key BIGINT NOT NULL,
  contract VARCHAR,
  tenure_months INTEGER,
  monthly_charges ${MONEY},
  total_charges ${MONEY},
  payment_method VARCHAR,
  churned BOOLEAN,
  attributes JSON,
  load_id BIGINT NOT NULL
);

CREATE TABLE mining.mining_run (
  run_id BIGINT PRIMARY KEY,
  as_of DATE NOT NULL,
  kind VARCHAR NOT NULL,
  params JSON NOT NULL,
  metrics JSON NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE mining.customer_rfm (
  run_id BIGINT NOT NULL,
  as_of DATE NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  recency_days INTEGER,
  frequency INTEGER NOT NULL,
  monetary_total ${MONEY} NOT NULL,
  monetary_avg DOUBLE,
  r_score INTEGER,
  f_score INTEGER,
  m_score INTEGER,
  rfm_segment VARCHAR,
  btyd_frequency INTEGER NOT NULL,
  btyd_recency DOUBLE NOT NULL,
  btyd_t DOUBLE NOT NULL,
  btyd_monetary DOUBLE
);

CREATE TABLE mining.customer_segment (
  run_id BIGINT NOT NULL,
  as_of DATE NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  cluster INTEGER NOT NULL,
  cluster_name VARCHAR NOT NULL
);

CREATE TABLE mining.customer_churn (
  run_id BIGINT NOT NULL,
  as_of DATE NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  p_alive DOUBLE,
  churn_probability DOUBLE NOT NULL
);

CREATE TABLE mining.customer_clv (
  run_id BIGINT NOT NULL,
  as_of DATE NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  expected_purchases DOUBLE NOT NULL,
  expected_avg_value DOUBLE,
  clv DOUBLE NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'API tokens (only a SHA-256 hash of each token is stored)',
    sql: `
CREATE TABLE meta.api_token (
  token_id VARCHAR PRIMARY KEY,
  token_hash VARCHAR NOT NULL UNIQUE,
  role VARCHAR NOT NULL CHECK (role IN ('executive', 'marketing', 'analyst', 'admin')),
  regions JSON,
  created_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);
`,
  },
  {
    version: 3,
    description: 'CLV uncertainty band (P10/P90) and tier per customer',
    sql: `
ALTER TABLE mining.customer_clv ADD COLUMN clv_p10 DOUBLE;
ALTER TABLE mining.customer_clv ADD COLUMN clv_p90 DOUBLE;
ALTER TABLE mining.customer_clv ADD COLUMN clv_tier VARCHAR;
`,
  },
  {
    version: 4,
    description: 'incremental extraction: updated_at watermark per (source, table); reject source keys',
    sql: `
ALTER TABLE meta.etl_reject ADD COLUMN source_key VARCHAR;
CREATE TABLE meta.etl_watermark (
  source VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  watermark TIMESTAMPTZ,
  rows_extracted BIGINT NOT NULL DEFAULT 0,
  loads_since_reconcile BIGINT NOT NULL DEFAULT 0,
  reconciled_at TIMESTAMPTZ,
  load_id BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (source, table_name)
);
`,
  },
  {
    version: 5,
    description: 'identity resolution: match edges, golden customer history, dim_golden_customer',
    sql: `
ALTER TABLE core.dim_customer ADD COLUMN golden_customer_key BIGINT;
CREATE TABLE meta.identity_run (
  run_id BIGINT PRIMARY KEY,
  load_id BIGINT,
  started_at TIMESTAMPTZ NOT NULL,
  settings JSON NOT NULL,
  metrics JSON NOT NULL
);
CREATE TABLE core.customer_match (
  left_customer_durable_key BIGINT NOT NULL,
  right_customer_durable_key BIGINT NOT NULL,
  rule VARCHAR NOT NULL,
  score DOUBLE NOT NULL,
  reason VARCHAR NOT NULL,
  decision VARCHAR NOT NULL,
  matched_in_load BIGINT,
  matched_in_run BIGINT NOT NULL,
  ended_in_run BIGINT,
  valid_from TIMESTAMPTZ NOT NULL,
  valid_to TIMESTAMPTZ NOT NULL,
  is_current BOOLEAN NOT NULL
);
CREATE TABLE core.customer_identity (
  customer_durable_key BIGINT NOT NULL,
  golden_customer_key BIGINT NOT NULL,
  valid_from TIMESTAMPTZ NOT NULL,
  valid_to TIMESTAMPTZ NOT NULL,
  is_current BOOLEAN NOT NULL,
  assigned_in_run BIGINT NOT NULL,
  assigned_in_load BIGINT
);
CREATE VIEW core.dim_golden_customer AS
SELECT coalesce(golden_customer_key, customer_durable_key) AS golden_customer_key,
  count(*) AS member_count,
  list(DISTINCT source ORDER BY source) AS sources,
  arg_min(name, customer_durable_key) FILTER (WHERE name IS NOT NULL) AS name,
  arg_min(email, customer_durable_key) FILTER (WHERE email IS NOT NULL) AS email,
  arg_min(phone, customer_durable_key) FILTER (WHERE phone IS NOT NULL) AS phone,
  arg_max({'region': region, 'country': country, 'city': city}, (load_id, customer_durable_key))
    FILTER (WHERE country IS NOT NULL OR city IS NOT NULL) AS address,
  arg_min(channel, (signup_date, customer_durable_key)) FILTER (WHERE channel IS NOT NULL) AS channel,
  arg_min(segment, customer_durable_key) FILTER (WHERE segment IS NOT NULL) AS segment,
  min(signup_date) AS signup_date
FROM core.dim_customer WHERE is_current
GROUP BY 1;
`,
  },
  {
    version: 6,
    description:
      "one definition of 'the latest run' (newest as_of, then newest created_at) and of the run before it",
    sql: `
${RUN_VIEWS.map(([name, sql]) => `CREATE VIEW mining.${name} AS ${sql};`).join('\n')}
`,
  },
  {
    version: 7,
    description:
      "dim_customer.access_region: the golden customer's current region, so the region rule reads one column",
    sql: `
ALTER TABLE core.dim_customer ADD COLUMN access_region VARCHAR;
${REFRESH_ACCESS_REGIONS_SQL};
`,
  },
  {
    version: 8,
    description:
      'campaign.*: saved audiences with their frozen members and control group, and the export log (docs/campaigns.md)',
    sql: `
CREATE SCHEMA campaign;
CREATE TABLE campaign.audience (
  audience_id BIGINT PRIMARY KEY,
  name VARCHAR NOT NULL,
  definition JSON NOT NULL,
  run_id BIGINT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  created_by VARCHAR NOT NULL,
  control_share DOUBLE NOT NULL,
  seed BIGINT NOT NULL,
  member_count BIGINT NOT NULL,
  control_count BIGINT NOT NULL
);
CREATE TABLE campaign.audience_member (
  audience_id BIGINT NOT NULL,
  customer_durable_key BIGINT NOT NULL,
  is_control BOOLEAN NOT NULL
);
CREATE TABLE campaign.audience_export (
  export_id BIGINT PRIMARY KEY,
  audience_id BIGINT,
  definition JSON NOT NULL,
  run_id BIGINT NOT NULL,
  format VARCHAR NOT NULL,
  row_count BIGINT NOT NULL,
  file_name VARCHAR NOT NULL,
  exported_at TIMESTAMPTZ NOT NULL,
  exported_by VARCHAR NOT NULL
);
`,
  },
  {
    version: 9,
    description:
      "data quality: each rejected file's column layout, a reject's customer and natural key, and which rejects a later load resolved",
    sql: `
CREATE TABLE meta.etl_reject_file (
  load_id BIGINT NOT NULL,
  source_file VARCHAR NOT NULL,
  entity VARCHAR,
  header JSON NOT NULL,
  delimiter VARCHAR NOT NULL,
  key_columns JSON
);
ALTER TABLE meta.etl_reject ADD COLUMN customer_id VARCHAR;
ALTER TABLE meta.etl_reject ADD COLUMN natural_key VARCHAR;
${REJECT_STATUS_VIEW_SQL};
`,
  },
  {
    version: 10,
    description:
      "auth.token_scram: each API token's SCRAM-SHA-256 verifier, for sign-in to the PostgreSQL endpoint (docs/sql-api.md)",
    sql: `
CREATE SCHEMA auth;
CREATE TABLE auth.token_scram (
  token_id VARCHAR PRIMARY KEY,
  salt VARCHAR NOT NULL,
  iterations INTEGER NOT NULL,
  stored_key VARCHAR NOT NULL,
  server_key VARCHAR NOT NULL
);
`,
  },
  {
    version: 12,
    description:
      'meta.etl_reject_resolution looks only at rejects a later succeeded load of their source could have resolved',
    sql: `${REJECT_STATUS_VIEW_SQL_V12};`,
  },
  {
    version: 15,
    description:
      'meta.etl_load.currency: the ISO 4217 code of the money amounts a load brought (from its profile), which the dashboards show',
    // loads made before it get the currency their profile had then; canonical loads stay unknown
    sql: `
ALTER TABLE meta.etl_load ADD COLUMN currency VARCHAR;
UPDATE meta.etl_load SET currency = CASE profile WHEN 'online-retail' THEN 'GBP'
  WHEN 'cdnow' THEN 'USD' WHEN 'superstore' THEN 'USD' WHEN 'telco' THEN 'USD' WHEN 'northwind' THEN 'USD' END;
`,
  },
  {
    version: 16,
    description:
      'identity resolution state: each current record as the last run matched it (fingerprint, normalized fields, block keys) and the settings of that run, so a rerun rematches only what changed',
    // empty after the upgrade: the next run finds no state and runs in full (full_reason no_state)
    sql: `
CREATE TABLE meta.identity_record (
  customer_durable_key BIGINT NOT NULL,
  source VARCHAR,
  fingerprint UBIGINT NOT NULL,
  email_n VARCHAR,
  phone_n VARCHAR,
  first_t VARCHAR,
  last_t VARCHAR,
  city_n VARCHAR,
  country_n VARCHAR,
  name_n VARCHAR,
  block VARCHAR
);
CREATE TABLE meta.identity_state (
  run_id BIGINT NOT NULL,
  settings_hash VARCHAR NOT NULL
);
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
