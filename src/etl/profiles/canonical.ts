/**
 * The `canonical` profile: one file per entity as described in canonical.ts (what `crm-bi generate`
 * writes). Validates types, natural keys and references between the files (and to what the
 * warehouse already holds for the same source), then builds the conformed tables.
 */
import { type Database, quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { CANONICAL_ENTITIES, type EntityName, type EntitySpec } from '../canonical.ts';
import { readValidated, recordsRead } from '../extract/read-file.ts';
import type { RawTable } from '../extract/read-raw.ts';
import type { SourceFile } from '../extract/source-files.ts';
import { markDuplicateKeys, recordRowRejects } from '../rejects.ts';
import type { ConformedTable, ExtractContext, ExtractResult, FileStats, Profile } from './profile.ts';

const SINGULAR: Record<EntityName, string> = {
  customers: 'customer',
  contacts: 'contact',
  products: 'product',
  orders: 'order',
  order_lines: 'order_line',
  payments: 'payment',
  campaigns: 'campaign',
  campaign_touches: 'campaign_touch',
  tickets: 'ticket',
  leads: 'lead',
  opportunities: 'opportunity',
  interactions: 'interaction',
};

/** Keys of an entity already in the warehouse for this source (so later files may refer to them). */
const WAREHOUSE_KEYS: Partial<Record<EntityName, string>> = {
  customers: 'SELECT customer_id AS k FROM core.dim_customer WHERE source = $1 AND is_current',
  products: 'SELECT product_id AS k FROM core.dim_product WHERE source = $1',
  campaigns: 'SELECT campaign_id AS k FROM core.dim_campaign WHERE source = $1',
  contacts: 'SELECT contact_id AS k FROM core.dim_contact WHERE source = $1',
  leads: 'SELECT lead_id AS k FROM core.fact_lead WHERE source = $1',
  orders: 'SELECT DISTINCT order_id AS k FROM core.fact_order_line WHERE source = $1',
};

const vTable = (e: EntityName) => `v_${e}`;
const okTable = (e: EntityName) => `ok_${e}`;

export const canonicalProfile: Profile = {
  name: 'canonical',
  description: 'the canonical CRM export: one file per entity (what `crm-bi generate` writes)',
  timezone: 'UTC',
  sourceName: 'crm',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const byEntity = matchFiles(ctx.files);
    const stats: FileStats[] = [];
    const raws = new Map<EntityName, { file: SourceFile; raw: RawTable }>();
    for (const spec of CANONICAL_ENTITIES) {
      const file = byEntity.get(spec.name);
      if (!file) continue;
      ctx.step(`reading ${spec.name}`);
      const raw = await readValidated(db, file, spec.columns, vTable(spec.name), {
        timezone: ctx.timezone,
        emailWarnings: spec.name === 'customers',
      });
      raws.set(spec.name, { file, raw });
      stats.push({ file: file.path, entity: spec.name, rowsRead: recordsRead(raw) });
      ctx.step(`checking ${spec.name}`);
      await markDuplicateKeys(db, vTable(spec.name), spec.key);
      if (spec.name === 'order_lines')
        await buildOrderLines(db, ctx.source, ctx.timezone, raws.has('products'));
      else await resolveReferences(db, spec, ctx.source, raws);
      await db.run(
        `CREATE OR REPLACE TEMP TABLE ${okTable(spec.name)} AS
         SELECT ${spec.key.map(quoteIdent).join(', ')} FROM ${vTable(spec.name)} WHERE _problem IS NULL`,
      );
    }
    const tables: ConformedTable[] = [];
    const conform = async (entity: EntityName, table: ConformedTable, select: string) => {
      if (!raws.has(entity)) return;
      await db.run(`CREATE OR REPLACE TEMP TABLE ${table} AS ${select}`);
      tables.push(table);
    };
    await conform('customers', 'c_customers', 'SELECT * EXCLUDE (_warning) FROM v_customers');
    await conform('contacts', 'c_contacts', 'SELECT * FROM v_contacts');
    await conform('products', 'c_products', 'SELECT * FROM v_products');
    if (raws.has('order_lines')) tables.push('c_order_lines');
    await conform(
      'payments',
      'c_payments',
      `SELECT p.*, coalesce(o.customer_id, w.customer_id) AS customer_id
       FROM v_payments p
       LEFT JOIN (SELECT order_id, customer_id FROM v_orders WHERE _problem IS NULL) o USING (order_id)
       LEFT JOIN (SELECT DISTINCT f.order_id, c.customer_id FROM core.fact_order_line f
                  JOIN core.dim_customer c ON c.customer_key = f.customer_key
                  WHERE f.source = ${quoteLiteral(ctx.source)}) w ON w.order_id = p.order_id AND o.order_id IS NULL`,
    );
    await conform('campaigns', 'c_campaigns', 'SELECT * FROM v_campaigns');
    await conform('campaign_touches', 'c_campaign_touches', 'SELECT * FROM v_campaign_touches');
    await conform('tickets', 'c_tickets', 'SELECT * FROM v_tickets');
    await conform('leads', 'c_leads', 'SELECT * FROM v_leads');
    await conform('opportunities', 'c_opportunities', 'SELECT * FROM v_opportunities');
    await conform('interactions', 'c_interactions', 'SELECT * FROM v_interactions');
    for (const [entity, { file, raw }] of raws) {
      const table = entity === 'order_lines' ? 'c_order_lines' : vTable(entity);
      await recordRowRejects(db, file.path, raw, table);
    }
    const used = new Set([...raws.values()].map((r) => r.file.path));
    return {
      files: stats,
      tables,
      warningTables: raws.has('customers') ? ['v_customers'] : [],
      ignoredFiles: ctx.files.filter((f) => !used.has(f.path)).map((f) => f.path),
      rawTables: [...raws].map(([entity, { file, raw }]) => ({
        file: file.path,
        name: entity,
        table: raw.table,
      })),
    };
  },
};

/** Maps files to entities by name; a required entity without a file, or two files for one entity, is an error. */
function matchFiles(files: readonly SourceFile[]): Map<EntityName, SourceFile> {
  const byEntity = new Map<EntityName, SourceFile>();
  for (const f of files) {
    const spec = CANONICAL_ENTITIES.find((e) => e.name === f.stem);
    if (!spec) continue;
    const other = byEntity.get(spec.name);
    if (other) {
      throw new CrmBiError(
        'ambiguous_source',
        `two files for ${spec.name}: ${other.path} and ${f.path}; keep one`,
        {
          file: f.path,
        },
      );
    }
    byEntity.set(spec.name, f);
  }
  if (byEntity.size === 0) {
    throw new CrmBiError(
      'bad_source',
      `no canonical files found (expected ${CANONICAL_ENTITIES.map((e) => `${e.name}.csv`).join(', ')}); is --profile right?`,
      {},
    );
  }
  const missing = CANONICAL_ENTITIES.filter((e) => e.requiredFile && !byEntity.has(e.name)).map(
    (e) => e.name,
  );
  if (missing.length > 0) {
    throw new CrmBiError(
      'missing_file',
      `the canonical export lacks ${missing.map((m) => `${m}.csv`).join(', ')}`,
      {},
    );
  }
  return byEntity;
}

/**
 * Marks rows whose references do not resolve: `rejected_parent` when the referenced row is in this
 * load but was rejected, `unknown_<entity>` when it is nowhere (neither in this load nor in the warehouse).
 */
async function resolveReferences(
  db: Database,
  spec: EntitySpec,
  source: string,
  present: ReadonlyMap<EntityName, unknown>,
): Promise<void> {
  const v = vTable(spec.name);
  for (const col of spec.columns) {
    if (!col.ref) continue;
    const ref = col.ref;
    const refKey = CANONICAL_ENTITIES.find((e) => e.name === ref)?.key[0] as string;
    const known = [
      present.has(ref) ? `SELECT ${quoteIdent(refKey)} AS k FROM ${okTable(ref)}` : undefined,
      WAREHOUSE_KEYS[ref]?.replace('$1', quoteLiteral(source)),
    ].filter((s): s is string => s !== undefined);
    const rejected = present.has(ref)
      ? `SELECT DISTINCT ${quoteIdent(refKey)} AS k FROM ${vTable(ref)} WHERE _problem IS NOT NULL`
      : 'SELECT NULL::VARCHAR AS k WHERE false';
    const c = quoteIdent(col.name);
    await db.run(`UPDATE ${v} SET _problem = bad.problem FROM (
        SELECT t._row, CASE WHEN r.k IS NOT NULL THEN ${quoteLiteral(`rejected_parent:${col.name}`)}
                            ELSE ${quoteLiteral(`unknown_${SINGULAR[ref]}:${col.name}`)} END AS problem
        FROM ${v} t
        LEFT JOIN (${known.length > 0 ? known.join(' UNION ') : 'SELECT NULL::VARCHAR AS k WHERE false'}) ok ON ok.k = t.${c}
        LEFT JOIN (${rejected}) r ON r.k = t.${c}
        WHERE t._problem IS NULL AND t.${c} IS NOT NULL AND ok.k IS NULL) bad
      WHERE ${v}._row = bad._row`);
  }
}

/**
 * Order lines in one pass: joins each line to its order (customer, time, type) and product,
 * applies the reference and sign rules, and computes net revenue.
 */
async function buildOrderLines(
  db: Database,
  source: string,
  timezone: string,
  haveProducts: boolean,
): Promise<void> {
  const products = [
    haveProducts ? 'SELECT product_id AS k FROM v_products WHERE _problem IS NULL' : undefined,
    `SELECT product_id AS k FROM core.dim_product WHERE source = ${quoteLiteral(source)}`,
  ]
    .filter(Boolean)
    .join(' UNION ');
  const rejectedProducts = haveProducts
    ? 'SELECT DISTINCT product_id FROM v_products WHERE _problem IS NOT NULL'
    : 'SELECT NULL::VARCHAR AS product_id WHERE false';
  await db.run(`CREATE OR REPLACE TEMP TABLE c_order_lines AS
    SELECT l._row, l.order_id, l.line_no, o.customer_id, l.product_id, o.ordered_at,
      CAST(timezone(${quoteLiteral(timezone)}, o.ordered_at) AS DATE) AS ordered_date,
      o.order_type, o.channel, l.quantity, l.unit_price, coalesce(l.discount, 0) AS discount,
      CAST(round(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0)), 4) AS DECIMAL(18,4)) AS revenue,
      NULL::DECIMAL(18,4) AS cost, NULL::VARCHAR AS ship_city, NULL::VARCHAR AS ship_state,
      NULL::VARCHAR AS ship_region, NULL::VARCHAR AS ship_postal_code, NULL::VARCHAR AS ship_mode,
      NULL::TIMESTAMPTZ AS shipped_at,
      CASE WHEN l._problem IS NOT NULL THEN l._problem
           WHEN o.order_id IS NULL AND ro.order_id IS NOT NULL THEN 'rejected_parent:order_id'
           WHEN o.order_id IS NULL THEN 'unknown_order:order_id'
           WHEN p.k IS NULL AND rp.product_id IS NOT NULL THEN 'rejected_parent:product_id'
           WHEN p.k IS NULL THEN 'unknown_product:product_id'
           WHEN l.quantity = 0 THEN 'zero_quantity:quantity'
           WHEN o.order_type = 'sale' AND l.quantity < 0 THEN 'negative_quantity:quantity'
           WHEN o.order_type = 'return' AND l.quantity > 0 THEN 'positive_return_quantity:quantity'
      END AS _problem
    FROM v_order_lines l
    LEFT JOIN (SELECT * FROM v_orders WHERE _problem IS NULL) o ON o.order_id = l.order_id
    LEFT JOIN (SELECT DISTINCT order_id FROM v_orders WHERE _problem IS NOT NULL) ro ON ro.order_id = l.order_id
    LEFT JOIN (${products}) p ON p.k = l.product_id
    LEFT JOIN (${rejectedProducts}) rp ON rp.product_id = l.product_id`);
}
