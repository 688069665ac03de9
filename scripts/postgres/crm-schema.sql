-- A sample operational CRM in PostgreSQL: the canonical entities of crm-bi (src/etl/canonical.ts)
-- as tables with primary keys, foreign keys, a change time (updated_at, set by a trigger on every
-- update) and a soft-delete time (deleted_at). `crm-bi seed-postgres` creates it in a schema and
-- fills it from the synthetic generator; `crm-bi load --source postgres://...?schema=crm` reads it.
--
-- The tables are created in the first schema of the search_path, e.g.
--   psql "$URL" -c 'CREATE SCHEMA crm'
--   PGOPTIONS='-c search_path=crm' psql "$URL" -v ON_ERROR_STOP=1 -f scripts/postgres/crm-schema.sql

CREATE OR REPLACE FUNCTION crm_bi_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE customers (
  customer_id text PRIMARY KEY,
  name text,
  email text,
  phone text,
  region text,
  country text,
  city text,
  channel text,
  segment text,
  signup_date date,
  -- the customer's last change; NULL for rows imported without one
  updated_at timestamptz DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE contacts (
  contact_id text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers,
  name text,
  email text,
  phone text,
  role text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE products (
  product_id text PRIMARY KEY,
  name text,
  category text,
  subcategory text,
  list_price numeric(18, 4),
  unit_cost numeric(18, 4),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE orders (
  order_id text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers,
  ordered_at timestamptz NOT NULL,
  channel text,
  order_type text NOT NULL CHECK (order_type IN ('sale', 'return')),
  status text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE order_lines (
  order_id text NOT NULL REFERENCES orders,
  line_no integer NOT NULL,
  product_id text NOT NULL REFERENCES products,
  quantity numeric(18, 4) NOT NULL,
  unit_price numeric(18, 4) NOT NULL,
  discount numeric(9, 6),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE payments (
  payment_id text PRIMARY KEY,
  order_id text NOT NULL REFERENCES orders,
  paid_at timestamptz NOT NULL,
  amount numeric(18, 4) NOT NULL,
  method text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE campaigns (
  campaign_id text PRIMARY KEY,
  name text,
  channel text,
  started_at timestamptz,
  ended_at timestamptz,
  budget numeric(18, 4),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE campaign_touches (
  touch_id text PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES campaigns,
  customer_id text NOT NULL REFERENCES customers,
  touched_at timestamptz NOT NULL,
  event text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE tickets (
  ticket_id text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers,
  opened_at timestamptz NOT NULL,
  closed_at timestamptz,
  priority text,
  status text,
  category text,
  satisfaction integer,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE leads (
  lead_id text PRIMARY KEY,
  name text,
  email text,
  lead_source text,
  created_at timestamptz NOT NULL,
  status text,
  converted_customer_id text REFERENCES customers,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE opportunities (
  opportunity_id text PRIMARY KEY,
  lead_id text REFERENCES leads,
  customer_id text REFERENCES customers,
  created_at timestamptz NOT NULL,
  closed_at timestamptz,
  stage text NOT NULL,
  amount numeric(18, 4),
  probability double precision,
  owner text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE interactions (
  interaction_id text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers,
  contact_id text REFERENCES contacts,
  kind text NOT NULL,
  occurred_at timestamptz NOT NULL,
  duration_minutes double precision,
  direction text,
  outcome text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- incremental extraction reads `updated_at > watermark`: index every change time
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['customers', 'contacts', 'products', 'orders', 'order_lines', 'payments', 'campaigns',
                           'campaign_touches', 'tickets', 'leads', 'opportunities', 'interactions'] LOOP
    EXECUTE format('CREATE INDEX %I ON %I (updated_at)', t || '_updated_at', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION crm_bi_touch_updated_at()',
                   t || '_touch', t);
  END LOOP;
END;
$$;
