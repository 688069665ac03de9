/**
 * The `canonical` profile: one file per entity as described in canonical.ts (what `crm-bi generate`
 * writes). Validates types, natural keys and references between the files (and to what the
 * warehouse already holds for the same source), then emits each conformed table as soon as it is
 * ready; raw tables and validating views are dropped once their entity is checked.
 *
 * Per entity: raw text table → typed table (`v_*`, validate.ts) → conformed table (`c_*`, one
 * statement adding duplicate-key and reference problems) → rejects recorded → loaded and dropped.
 */
import { type Database, quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { CANONICAL_ENTITIES, type EntityName, type EntitySpec } from '../canonical.ts';
import { readValidated, recordsRead } from '../extract/read-file.ts';
import type { SourceFile } from '../extract/source-files.ts';
import { countWarnings, recordRowRejects } from '../rejects.ts';
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

/**
 * Keys of an entity already in the warehouse for this source (so later files may refer to them;
 * a key may repeat, e.g. an order id once per line),
 * from loads before this one. What this load wrote itself comes from accepted rows, whose keys are
 * among this load's accepted keys already (acceptedKeys); leaving those rows out (they are the
 * newest row groups, skipped by their load_id) spares e.g. the payments a distinct pass over the
 * order lines just inserted.
 */
const WAREHOUSE_KEYS: Partial<Record<EntityName, string>> = {
  customers:
    'SELECT customer_id AS k FROM core.dim_customer WHERE source = $src AND is_current AND load_id <> $load',
  products: 'SELECT product_id AS k FROM core.dim_product WHERE source = $src AND load_id <> $load',
  campaigns: 'SELECT campaign_id AS k FROM core.dim_campaign WHERE source = $src AND load_id <> $load',
  contacts: 'SELECT contact_id AS k FROM core.dim_contact WHERE source = $src AND load_id <> $load',
  leads: 'SELECT lead_id AS k FROM core.fact_lead WHERE source = $src AND load_id <> $load',
  orders: 'SELECT order_id AS k FROM core.fact_order_line WHERE source = $src AND load_id <> $load',
};

/** The warehouse-keys query of an entity for this source and load, or undefined. */
function warehouseKeys(entity: EntityName, source: string, loadId: number): string | undefined {
  return WAREHOUSE_KEYS[entity]
    ?.replace('$src', () => quoteLiteral(source))
    .replace('$load', () => String(Math.trunc(loadId)));
}

const CONFORMED: Record<EntityName, ConformedTable | undefined> = {
  customers: 'c_customers',
  contacts: 'c_contacts',
  products: 'c_products',
  orders: undefined,
  order_lines: 'c_order_lines',
  payments: 'c_payments',
  campaigns: 'c_campaigns',
  campaign_touches: 'c_campaign_touches',
  tickets: 'c_tickets',
  leads: 'c_leads',
  opportunities: 'c_opportunities',
  interactions: 'c_interactions',
};

const vTable = (e: EntityName) => `v_${e}`;
/** The conformed table of an entity (orders have one too: the lines and payments read it). */
const conformedTable = (e: EntityName) => CONFORMED[e] ?? 'c_orders';
/** Rejected keys of an entity in this load (for `rejected_parent`). */
const rejTable = (e: EntityName) => `rej_${e}`;
/** Entities other files refer to: only their keys are kept after they are loaded. */
const REFERENCED = new Set(
  CANONICAL_ENTITIES.flatMap((e) => e.columns.flatMap((c) => (c.ref ? [c.ref] : []))),
);

export const canonicalProfile: Profile = {
  name: 'canonical',
  description: 'the canonical CRM export: one file per entity (what `crm-bi generate` writes)',
  timezone: 'UTC',
  currency: null,
  sourceName: 'crm',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const byEntity = matchFiles(ctx.files);
    await checkSubset(db, byEntity, ctx.source, ctx.loadId);
    const stats: FileStats[] = [];
    const present = new Set<EntityName>();
    const warnings: Record<string, number> = {};
    for (const spec of CANONICAL_ENTITIES) {
      const file = byEntity.get(spec.name);
      if (!file) continue;
      ctx.step(`reading ${spec.name}`);
      const raw = await readValidated(db, file, spec.columns, vTable(spec.name), {
        timezone: ctx.timezone,
        emailWarnings: spec.name === 'customers',
        view: true,
      });
      stats.push({ file: file.path, entity: spec.name, rowsRead: recordsRead(raw) });
      await ctx.keepRaw(file.path, spec.name, raw.table);
      ctx.step(`checking ${spec.name}`);
      const target = conformedTable(spec.name);
      if (spec.name === 'order_lines')
        await buildOrderLines(db, ctx.source, ctx.timezone, present.has('products'));
      else if (spec.name === 'payments') await buildPayments(db, spec, ctx.source, ctx.loadId, present);
      else await conform(db, spec, ctx.source, ctx.loadId, present, target);
      await recordRowRejects(db, file.path, raw, target, ',', { entity: spec.name, key: spec.key });
      if (spec.name === 'customers') Object.assign(warnings, await countWarnings(db, target));
      if (REFERENCED.has(spec.name)) await keepRejectedKeys(db, spec, target);
      present.add(spec.name);
      await db.run(`DROP VIEW IF EXISTS ${quoteIdent(vTable(spec.name))}`);
      await dropTables(db, [raw.table]);
      const conformed = CONFORMED[spec.name];
      if (conformed) await ctx.emit(conformed);
    }
    await dropTables(db, ['c_orders', ...[...present].map(rejTable)]);
    const used = new Set([...byEntity.values()].map((f) => f.path));
    return {
      files: stats,
      warnings,
      ignoredFiles: ctx.files.filter((f) => !used.has(f.path)).map((f) => f.path),
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
  return byEntity;
}

/**
 * The files a load must have. A whole export has every required entity. A corrected subset (e.g.
 * the fixed rejects of one file) may leave out a required entity the warehouse already holds for
 * this source: its rows then refer to what is there, and a reference to nothing is rejected as
 * before. Orders and their lines come together (orders alone write nothing; lines take their
 * customer and time from their order).
 */
async function checkSubset(
  db: Database,
  byEntity: ReadonlyMap<EntityName, SourceFile>,
  source: string,
  loadId: number,
): Promise<void> {
  const pair = (['orders', 'order_lines'] as const).filter((e) => byEntity.has(e));
  if (pair.length === 1) {
    const other = pair[0] === 'orders' ? 'order_lines' : 'orders';
    throw new CrmBiError(
      'missing_file',
      `${pair[0]}.csv needs ${other}.csv beside it (orders and their lines load together)`,
      { file: byEntity.get(pair[0] as EntityName)?.path ?? '' },
    );
  }
  const missing: string[] = [];
  for (const e of CANONICAL_ENTITIES) {
    if (!e.requiredFile || byEntity.has(e.name)) continue;
    const held = warehouseKeys(e.name === 'order_lines' ? 'orders' : e.name, source, loadId);
    const inWarehouse = held !== undefined && (await db.scalar(`SELECT count(*) FROM (${held} LIMIT 1)`));
    if (!Number(inWarehouse ?? 0)) missing.push(e.name);
  }
  if (missing.length > 0) {
    throw new CrmBiError(
      'missing_file',
      `the canonical export lacks ${missing.map((m) => `${m}.csv`).join(', ')} and the warehouse holds none of source '${source}' yet (pass the export's directory as --source; a corrected subset may leave out only what is already loaded)`,
      {},
    );
  }
}

/**
 * The keys of `ref` accepted in this load, as `k` (with `more`, further columns of its conformed
 * table): the rows of the conformed table without a problem. Each key is there once, since every
 * repeat of a key after its first row is a `duplicate_key` (createDups), so no DISTINCT is needed,
 * and a left join onto them never repeats a row.
 */
function acceptedKeys(ref: EntityName, more = ''): string {
  const refKey = CANONICAL_ENTITIES.find((e) => e.name === ref)?.key[0] as string;
  return `SELECT ${quoteIdent(refKey)} AS k${more} FROM ${conformedTable(ref)} WHERE _problem IS NULL`;
}

/**
 * Queries of the keys of `ref` accepted in this load (when it has the entity) and of those already
 * in the warehouse, each returning a key at most once. A row refers to a known key when either
 * matches: two left joins, rather than one join onto their UNION, spare deduplicating this load's
 * keys again (4M order ids for the payments at 1M customers).
 */
function knownKeySets(
  ref: EntityName,
  source: string,
  loadId: number,
  present: ReadonlySet<EntityName>,
  more = '',
): string[] {
  const held = warehouseKeys(ref, source, loadId);
  return [
    present.has(ref) ? acceptedKeys(ref, more) : undefined,
    held === undefined ? undefined : `SELECT DISTINCT k FROM (${held})`,
  ].filter((s): s is string => s !== undefined);
}

function rejectedKeys(ref: EntityName, present: ReadonlySet<EntityName>): string {
  return present.has(ref) ? `SELECT k FROM ${rejTable(ref)}` : 'SELECT NULL::VARCHAR AS k WHERE false';
}

/** Further columns of a referenced row to carry: `columns` (', a, b') of the row `column` names. */
interface Carry {
  readonly column: string;
  readonly columns: string;
}

/**
 * SQL pieces that add duplicate-key and reference problems to `v` in one statement:
 * `duplicate_key` for every repeat of a natural key after its first row (in file order),
 * `rejected_parent` when a referenced row is in this load but was rejected,
 * `unknown_<entity>` when it is nowhere (neither in this load nor in the warehouse).
 * `thisLoad` names, by referring column, the join onto the keys accepted in this load (which also
 * selects `carry.columns` for `carry.column`).
 */
async function problemJoins(
  db: Database,
  spec: EntitySpec,
  source: string,
  loadId: number,
  present: ReadonlySet<EntityName>,
  carry?: Carry,
): Promise<{ joins: string[]; cases: string[]; thisLoad: Record<string, string> }> {
  const v = vTable(spec.name);
  await createDups(db, v, spec.key);
  const joins = [
    `LEFT JOIN dups ON ${spec.key.map((k) => `dups.${quoteIdent(k)} = v.${quoteIdent(k)}`).join(' AND ')}`,
  ];
  const cases = [
    `WHEN v._problem IS NOT NULL THEN v._problem`,
    `WHEN dups.keep IS NOT NULL AND v._row <> dups.keep THEN ${quoteLiteral(`duplicate_key:${spec.key.join('+')}`)}`,
  ];
  const thisLoad: Record<string, string> = {};
  spec.columns.forEach((col, i) => {
    if (!col.ref) return;
    const c = `v.${quoteIdent(col.name)}`;
    const more = carry?.column === col.name ? carry.columns : '';
    const sets = knownKeySets(col.ref, source, loadId, present, more);
    if (present.has(col.ref)) thisLoad[col.name] = `ok${i}_0`;
    for (const [j, q] of sets.entries()) joins.push(`LEFT JOIN (${q}) ok${i}_${j} ON ok${i}_${j}.k = ${c}`);
    const unknown = sets.map((_, j) => `ok${i}_${j}.k IS NULL`).join(' AND ') || 'true';
    joins.push(`LEFT JOIN (${rejectedKeys(col.ref, present)}) rj${i} ON rj${i}.k = ${c}`);
    cases.push(`WHEN ${c} IS NOT NULL AND ${unknown} AND rj${i}.k IS NOT NULL
      THEN ${quoteLiteral(`rejected_parent:${col.name}`)}`);
    cases.push(`WHEN ${c} IS NOT NULL AND ${unknown}
      THEN ${quoteLiteral(`unknown_${SINGULAR[col.ref]}:${col.name}`)}`);
  });
  return { joins, cases, thisLoad };
}

async function conform(
  db: Database,
  spec: EntitySpec,
  source: string,
  loadId: number,
  present: ReadonlySet<EntityName>,
  target: string,
): Promise<void> {
  const { joins, cases } = await problemJoins(db, spec, source, loadId, present);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${target} AS
    SELECT v.* REPLACE (CASE ${cases.join('\n      ')} END AS _problem)
    FROM ${vTable(spec.name)} v ${joins.join('\n    ')}`);
}

/**
 * Payments take their customer from their order: in this load (the reference check's join onto
 * the accepted orders carries it), or (for a payment of an order loaded earlier, which the
 * reference check accepts) from the warehouse. The validating view is read once here; the rare
 * warehouse lookups patch the materialized rows afterwards.
 */
async function buildPayments(
  db: Database,
  spec: EntitySpec,
  source: string,
  loadId: number,
  present: ReadonlySet<EntityName>,
): Promise<void> {
  const { joins, cases, thisLoad } = await problemJoins(db, spec, source, loadId, present, {
    column: 'order_id',
    columns: ', customer_id',
  });
  const order = thisLoad.order_id;
  await db.run(`CREATE OR REPLACE TEMP TABLE c_payments AS
    SELECT v.* REPLACE (CASE ${cases.join('\n      ')} END AS _problem),
      ${order ? `${order}.customer_id` : 'NULL::VARCHAR AS customer_id'}
    FROM v_payments v ${joins.join('\n    ')}`);
  const unmatched = 'SELECT order_id FROM c_payments WHERE customer_id IS NULL AND _problem IS NULL';
  if (!Number(await db.scalar(`SELECT count(*) FROM (${unmatched} LIMIT 1)`))) return;
  await db.run(`UPDATE c_payments SET customer_id = w.customer_id
    FROM (SELECT DISTINCT f.order_id, c.customer_id FROM core.fact_order_line f
          JOIN core.dim_customer c ON c.customer_key = f.customer_key
          WHERE f.source = ${quoteLiteral(source)}
            AND f.order_id IN (${unmatched})) w
    WHERE c_payments.customer_id IS NULL AND c_payments._problem IS NULL AND c_payments.order_id = w.order_id`);
}

/**
 * Order lines in one statement: joins each line to its order (customer, time, type) and product,
 * applies the key, reference and sign rules, and computes net revenue. The export has no cost or
 * shipping columns, so the table leaves them out (load-core.ts loads them as NULL).
 */
async function buildOrderLines(
  db: Database,
  source: string,
  timezone: string,
  haveProducts: boolean,
): Promise<void> {
  const spec = CANONICAL_ENTITIES.find((e) => e.name === 'order_lines') as EntitySpec;
  const products = [
    haveProducts ? acceptedKeys('products') : undefined,
    `SELECT product_id AS k FROM core.dim_product WHERE source = ${quoteLiteral(source)}`,
  ]
    .filter(Boolean)
    .join(' UNION ');
  const rejectedProducts = haveProducts
    ? `SELECT k FROM ${rejTable('products')}`
    : 'SELECT NULL::VARCHAR AS k WHERE false';
  await createDups(db, 'v_order_lines', spec.key);
  await db.run(`CREATE OR REPLACE TEMP TABLE c_order_lines AS
    SELECT v._row, v.order_id, v.line_no, o.customer_id, v.product_id, o.ordered_at,
      o.ordered_date,
      o.order_type, o.channel, v.quantity, v.unit_price, coalesce(v.discount, 0) AS discount,
      CAST(round(v.quantity * v.unit_price * (1 - coalesce(v.discount, 0)), 4) AS DECIMAL(18,4)) AS revenue,
      CASE WHEN v._problem IS NOT NULL THEN v._problem
           WHEN dups.keep IS NOT NULL AND v._row <> dups.keep THEN ${quoteLiteral(`duplicate_key:${spec.key.join('+')}`)}
           WHEN o.order_id IS NULL AND ro.k IS NOT NULL THEN 'rejected_parent:order_id'
           WHEN o.order_id IS NULL THEN 'unknown_order:order_id'
           WHEN p.k IS NULL AND rp.k IS NOT NULL THEN 'rejected_parent:product_id'
           WHEN p.k IS NULL THEN 'unknown_product:product_id'
           WHEN v.quantity = 0 THEN 'zero_quantity:quantity'
           WHEN o.order_type = 'sale' AND v.quantity < 0 THEN 'negative_quantity:quantity'
           WHEN o.order_type = 'return' AND v.quantity > 0 THEN 'positive_return_quantity:quantity'
      END AS _problem
    FROM v_order_lines v
    LEFT JOIN dups ON dups.order_id = v.order_id AND dups.line_no = v.line_no
    LEFT JOIN (SELECT *, CAST(timezone(${quoteLiteral(timezone)}, ordered_at) AS DATE) AS ordered_date
               FROM c_orders WHERE _problem IS NULL) o ON o.order_id = v.order_id
    LEFT JOIN (SELECT k FROM ${rejTable('orders')}) ro ON ro.k = v.order_id
    LEFT JOIN (${products}) p ON p.k = v.product_id
    LEFT JOIN (${rejectedProducts}) rp ON rp.k = v.product_id`);
}

/**
 * Repeated natural keys and the row that keeps each: the first in file order. Only the key columns
 * are read, so a validating view computes just those. A repeat is a duplicate even when the first
 * row is rejected for another reason: which of the two was meant is unknown, so both go to
 * quarantine.
 */
async function createDups(db: Database, table: string, key: readonly string[]): Promise<void> {
  const cols = key.map(quoteIdent);
  await db.run(`CREATE OR REPLACE TEMP TABLE dups AS
    SELECT ${cols.join(', ')}, min(_row) AS keep FROM ${quoteIdent(table)}
    WHERE ${cols.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ALL HAVING count(*) > 1`);
}

/**
 * Keeps the rejected keys of an entity (none of whose rows was accepted) for the entities that
 * refer to it; they read its accepted keys from its conformed table (acceptedKeys).
 */
async function keepRejectedKeys(db: Database, spec: EntitySpec, table: string): Promise<void> {
  const key = quoteIdent(spec.key[0] as string);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${rejTable(spec.name)} AS
    SELECT DISTINCT ${key} AS k FROM ${table} WHERE _problem IS NOT NULL AND ${key} IS NOT NULL
    EXCEPT SELECT ${key} FROM ${table} WHERE _problem IS NULL`);
}

async function dropTables(db: Database, tables: readonly string[]): Promise<void> {
  for (const t of tables) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
}
