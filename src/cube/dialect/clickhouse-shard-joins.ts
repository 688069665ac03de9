/**
 * Joins that run on the shards. When the left side of a SELECT's one JOIN is a Distributed table
 * (read by name, not through a subquery), 18.16 sends the whole SELECT to every shard with the
 * table replaced by the shard's own: the join, WHERE and partial aggregation run there and the
 * entry node merges partial aggregates. What the right side reads decides whether that is right:
 *
 *   - a replicated dimension (`core.dim_product`, …) is a view over the node's full copy: the
 *     shard joins its own copy;
 *   - a customer-sharded table joined on `customer_durable_key` = `customer_durable_key` is
 *     co-located: the right side is rewritten to the shard's `<schema>_local.<table>` view;
 *   - anything else reading a Distributed table becomes a GLOBAL JOIN (the client's
 *     `distributed_product_mode=global`): the entry node computes the right side once and sends
 *     it to every shard, which still joins and aggregates its own left rows.
 *
 * 18.16 cannot resolve a left-side column qualified by the table's alias inside ON when it
 * rewrites the query for the shards, so those references are written unqualified.
 *
 * Several joins: `F ⋈ B ⋈ C`, where C's ON reads only B's columns and C is a LEFT JOIN, is
 * `F ⋈ (B ⋈ C)`; moving B ⋈ C into the right side keeps the Distributed F on the left.
 */
import {
  AliasNode,
  BinaryNode,
  ColumnNode,
  DerivedNode,
  IdentifierNode,
  type JoinNode,
  LogicalNode,
  type Node,
  SelectNode,
  TableNode,
  TemplateNode,
} from '../ir/nodes.ts';
import { RUN_SUBQUERY } from '../run-ids.ts';
import { nestedColumns, type Resolve, rewriteRefs, sourceAlias } from './clickhouse-joins.ts';
import {
  CURRENT_SCORES,
  CUSTOMER_SHARDED_TABLES,
  currentScoresColumn,
  GOLDEN_POINTER_TABLE,
  GOLDEN_SCORE_TABLES,
  goldenSchema,
  latestScoresTable,
  localSchema,
  readsSameOnEveryNode,
  SHARD_COLUMN,
} from './clickhouse-layout.ts';

type Source = TableNode | DerivedNode;

function tableName(t: TableNode): string | undefined {
  return t.schema === undefined ? undefined : `${t.schema}.${t.table}`;
}

/** True when the SELECT's FROM is a warehouse table read by name (a Distributed table or a node-local view). */
export function readsTableByName(from: Source): from is TableNode {
  return from.kind === 'Table' && from.schema !== undefined;
}

/** The ON text with cube aliases as `{alias}`, or undefined when it holds more than text and aliases. */
function onText(on: Node): string | undefined {
  if (on.kind !== 'Template') return undefined;
  let text = '';
  for (const part of on.parts) {
    if (typeof part === 'string') text += part;
    else if (part.kind === 'Identifier') text += `{${part.name}}`;
    else return undefined;
  }
  return text;
}

/** `{left}.customer_durable_key = {right}.customer_durable_key`, in either order. */
function joinsOnCustomerKey(on: Node, left: string, right: string): boolean {
  const text = onText(on)?.trim();
  if (text === undefined) return false;
  const side = (a: string) => `\\{${a.replace(/[^A-Za-z0-9_]/g, '\\$&')}\\}\\.${SHARD_COLUMN}`;
  const re = new RegExp(`^(?:${side(left)}\\s*=\\s*${side(right)}|${side(right)}\\s*=\\s*${side(left)})$`);
  return re.test(text);
}

const TABLE_REF = /\b(core|mining|meta)\.([A-Za-z_][A-Za-z0-9_]*)\b/g;

/**
 * `source` rewritten to read, instead of the one table of `tables` it reads, `to(schema).rename(table)`,
 * or undefined when it cannot be: a table of `tables` by name, or model SQL `SELECT * … FROM <one
 * table of tables> …` without joins, whose other table references read the same on every node.
 */
function readThrough(
  source: Source,
  tables: ReadonlySet<string>,
  to: (schema: string) => string,
  rename: (table: string) => string = (table) => table,
): Source | undefined {
  if (source.kind === 'Table') {
    const name = tableName(source);
    if (name === undefined || !tables.has(name)) return undefined;
    return TableNode.create(rename(source.table), to(source.schema as string), source.alias ?? source.table);
  }
  const rewrite = (t: TemplateNode | null): TemplateNode | null | undefined => {
    if (t === null) return null;
    if (!t.parts.every((p) => typeof p === 'string')) return undefined;
    const text = (t.parts as string[]).join('');
    if (!/^\s*SELECT\s+\*/i.test(text) || /\bJOIN\b/i.test(text)) return undefined;
    const found = new Set<string>();
    for (const m of text.matchAll(TABLE_REF)) {
      const name = `${m[1]}.${m[2]}`;
      if (tables.has(name)) found.add(name);
      else if (!readsSameOnEveryNode(name)) return undefined;
    }
    if (found.size !== 1) return undefined;
    return TemplateNode.create([
      text.replace(TABLE_REF, (ref, schema: string, table: string) =>
        found.has(ref) ? `${to(schema)}.${rename(table)}` : ref,
      ),
    ]);
  };
  if (source.query.kind !== 'Template') return undefined;
  const query = rewrite(source.query);
  if (query === undefined || query === null) return undefined;
  let variants: Record<string, TemplateNode | null> | undefined;
  if (source.variants) {
    variants = {};
    for (const [k, v] of Object.entries(source.variants)) {
      const r = rewrite(v);
      if (r === undefined) return undefined;
      variants[k] = r;
    }
  }
  return DerivedNode.create(query, source.alias, variants);
}

/**
 * The right side rewritten to read the shard's own rows, or undefined when it cannot be: a
 * customer-sharded table by name, or model SQL `SELECT * … FROM <one customer-sharded table> …`
 * without joins, whose other table references read the same on every node.
 */
function localized(source: Source): Source | undefined {
  return readThrough(source, CUSTOMER_SHARDED_TABLES, localSchema);
}

/** True when `source` reads only `core.dim_customer` of the shard-placed tables (the golden pointers). */
function readsGoldenPointers(source: Source): boolean {
  return readThrough(source, new Set([GOLDEN_POINTER_TABLE]), localSchema) !== undefined;
}

/** `coalesce({b}.golden_customer_key, {b}.customer_durable_key) = {j}.customer_durable_key`. */
function joinsOnGoldenKey(on: Node, b: string, j: string): boolean {
  const text = onText(on)?.replace(/\s+/g, ' ').trim();
  const q = (a: string) => `{${a}}`;
  return text === `coalesce(${q(b)}.golden_customer_key, ${q(b)}.${SHARD_COLUMN}) = ${q(j)}.${SHARD_COLUMN}`;
}

/** Model SQL that keeps the latest run's rows: `SELECT *[, expressions] FROM <table> WHERE run_id = <latest run>`. */
function readsLatestRun(source: Source): boolean {
  if (source.kind !== 'Derived') return false;
  const templates = [source.query, ...Object.values(source.variants ?? {})];
  return templates.every((t) => {
    if (t === null) return true;
    if (t.kind !== 'Template' || !t.parts.every((p) => typeof p === 'string')) return false;
    const text = (t.parts as string[]).join('').replace(/\s+/g, ' ').trim();
    const where = text.toUpperCase().lastIndexOf(' WHERE ');
    if (where < 0 || text.toUpperCase().indexOf(' WHERE ') !== where) return false;
    if (/\b(?:JOIN|UNION|GROUP|HAVING|LIMIT|ORDER)\b/i.test(text)) return false;
    return text.slice(where + ' WHERE '.length) === `run_id = ${RUN_SUBQUERY.latest}`;
  });
}

/**
 * A LEFT JOIN of golden-keyed scores to the rows of `core.dim_customer` read as `pointers`,
 * rewritten to read the shard's golden-score view (clickhouse-layout.ts, GOLDEN_SCORE_TABLES),
 * or undefined when the join is not one or the cluster has no such views (`golden` false: synced
 * by code older than the views). Valid only where `pointers` reads the shard's own rows. When the
 * model SQL keeps the latest run only, it reads the shard's latest scores instead
 * (`<table>_latest`: the latest run's rows of the view, one per golden customer, checked by the
 * sync), and the join is marked unique (ClickHouse `ANY LEFT JOIN`).
 */
function goldenScores(join: JoinNode, pointers: Source, golden: boolean): JoinNode | undefined {
  if (!golden || join.type !== 'left' || !readsGoldenPointers(pointers)) return undefined;
  if (!joinsOnGoldenKey(join.on, sourceAlias(pointers), sourceAlias(join.table))) return undefined;
  if (readsLatestRun(join.table)) {
    const latest = readThrough(join.table, GOLDEN_SCORE_TABLES, goldenSchema, latestScoresTable);
    if (latest !== undefined) return { ...join, table: latest, unique: true };
  }
  const table = readThrough(join.table, GOLDEN_SCORE_TABLES, goldenSchema);
  return table === undefined ? undefined : { ...join, table };
}

/** True when joining `right` to `left` on the customer key can run on each shard over its own rows. */
function coLocated(left: TableNode, join: JoinNode): Source | undefined {
  const name = tableName(left);
  if (name === undefined || !CUSTOMER_SHARDED_TABLES.has(name)) return undefined;
  if (!joinsOnCustomerKey(join.on, sourceAlias(left), sourceAlias(join.table))) return undefined;
  return localized(join.table);
}

/**
 * The one join of a SELECT whose FROM is a table by name, rewritten to run on the shards. With
 * `currentKeysUnique` (the sync found one current row per customer key), a co-located join to the
 * current customers (model SQL `SELECT * FROM core.dim_customer WHERE is_current`) is marked unique
 * (`ANY`: each row meets its one customer and the probe stops there).
 */
export function shardJoin(from: TableNode, join: JoinNode, currentKeysUnique = false): JoinNode {
  const leftAlias = sourceAlias(from);
  const on = rewriteRefs(join.on, new Set([leftAlias]), (_alias, column) => ColumnNode.create(column));
  const local = coLocated(from, join);
  const unique = local !== undefined && currentKeysUnique && readsCurrentCustomers(join.table);
  return { ...join, table: local ?? join.table, on, ...(unique ? { unique: true } : {}) };
}

/** A table every node reads from its own full copy. */
function nodeLocal(source: Source): boolean {
  return source.kind === 'Table' && readsSameOnEveryNode(tableName(source) ?? '');
}

/** The unique name `resolve` gives a right-side column (registering it for the subquery). */
function resolveName(resolve: Resolve, alias: string, column: string): string {
  const node = resolve(alias, column);
  if (node.kind !== 'Column') throw new Error('resolve returns a column');
  return node.column;
}

/** True when the join reads only what the shard holds: co-located rows or a replicated table. */
export function joinStaysOnShard(from: TableNode, join: JoinNode): boolean {
  return coLocated(from, join) !== undefined || nodeLocal(join.table);
}

/** Every `{alias}` (or Column table) a node refers to. */
function aliasesIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) aliasesIn(v, out);
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  const node = value as Node;
  if (node.kind === 'Identifier') out.add(node.name);
  else if (node.kind === 'Column' && node.table !== undefined) out.add(node.table);
  else if (node.kind === 'Select' || node.kind === 'Union' || node.kind === 'Derived') return out;
  else for (const v of Object.values(value)) aliasesIn(v, out);
  return out;
}

/**
 * `F ⋈ B ⋈ C …` as `F ⋈ (B ⋈ C …)` when F is a table by name and every join after the first is
 * a LEFT JOIN whose ON reads no column of F; undefined otherwise. With one join, the right side
 * moves into a subquery that names its columns `<alias>__<column>` when it is neither co-located
 * nor node-local (it becomes a GLOBAL JOIN, whose ON must name columns bare).
 */
export function joinsMovedRight(node: SelectNode, golden = true): SelectNode | undefined {
  const [first, ...rest] = node.joins;
  if (first === undefined || !readsTableByName(node.from)) return undefined;
  // one join that reads the shard's own rows or a replicated table needs no subquery
  if (rest.length === 0 && (coLocated(node.from, first) !== undefined || nodeLocal(first.table))) {
    return undefined;
  }
  const fromAlias = sourceAlias(node.from);
  if (rest.some((j) => j.type !== 'left' || aliasesIn(j.on).has(fromAlias))) return undefined;
  const right = new Set([first, ...rest].map((j) => sourceAlias(j.table)));
  const taken = new Set([fromAlias, ...right]);
  let nested = 'joined_r';
  while (taken.has(nested)) nested = `_${nested}`;
  const { resolve, clauses, selections } = nestedColumns(nested);
  const outer = clauses(node, right);
  // in ON, 18.16 resolves neither side's alias-qualified names once it rewrites the query for the
  // shards (a GLOBAL JOIN's right side becomes a temporary table): both sides are written bare,
  // the right side's columns under their unique `<alias>__<column>` names
  const on = rewriteRefs(
    rewriteRefs(first.on, right, (alias, column) => ColumnNode.create(resolveName(resolve, alias, column))),
    new Set([fromAlias]),
    (_alias, column) => ColumnNode.create(column),
  );
  // the first join's right side reads the shard's own rows when co-located, but only if the
  // joins moved with it read the same on every node or the golden customers' scores through the
  // shard's golden-score view: a Distributed table there would make the whole right side a
  // GLOBAL JOIN, computed on the entry node over its own rows alone
  const firstLocal = coLocated(node.from, first);
  const onShard =
    firstLocal !== undefined &&
    rest.every((j) => nodeLocal(j.table) || goldenScores(j, first.table, golden) !== undefined);
  const innerFrom = (onShard ? firstLocal : undefined) ?? first.table;
  const innerJoins = onShard ? rest.map((j) => goldenScores(j, first.table, golden) ?? j) : rest;
  const inner = SelectNode.create({
    selections: selections(),
    from: innerFrom,
    joins: innerJoins,
  });
  return SelectNode.create({
    ...node,
    ...outer,
    joins: [{ ...first, table: DerivedNode.create(inner, nested), on }],
  });
}

/** Model SQL `SELECT * FROM <schema>.<table> WHERE <column>` (the customers cube: `WHERE is_current`). */
const FILTERED_TABLE =
  /^\s*SELECT\s+\*\s+FROM\s+(core|mining)\.([A-Za-z_][A-Za-z0-9_]*)\s+WHERE\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/i;

/**
 * A SELECT whose left side is model SQL `SELECT * FROM <customer-sharded table> WHERE <column>`
 * (the customers cube) with that table read by name and `<alias>.<column>` added to the WHERE,
 * so its joins can run on the shards like those of a fact table; undefined for any other left
 * side. `(σp C) ⋈ X = σp (C ⋈ X)` for LEFT and INNER joins when p reads only C's columns.
 */
export function leftTableByName(node: SelectNode): SelectNode | undefined {
  const from = node.from;
  if (from.kind !== 'Derived') return undefined;
  const template =
    from.variants && Object.hasOwn(from.variants, 'clickhouse') ? from.variants.clickhouse : from.query;
  if (template === undefined || template === null || template.kind !== 'Template') return undefined;
  if (!template.parts.every((p) => typeof p === 'string')) return undefined;
  const m = FILTERED_TABLE.exec((template.parts as string[]).join(''));
  if (m === null) return undefined;
  const [, schema, table, column] = m as unknown as [string, string, string, string];
  if (!CUSTOMER_SHARDED_TABLES.has(`${schema}.${table}`)) return undefined;
  // 18.16 takes the left operand of a shard join's ON for the left table's column: the model
  // writes the order lines' join as `{sales}.customer_durable_key = {CUBE}.customer_durable_key`
  const joins = node.joins.map((j) => {
    const right = sourceAlias(j.table);
    if (!joinsOnCustomerKey(j.on, from.alias, right)) return j;
    const key = `.${SHARD_COLUMN}`;
    const on = TemplateNode.create([
      IdentifierNode.create(from.alias),
      `${key} = `,
      IdentifierNode.create(right),
      key,
    ]);
    return { ...j, on };
  });
  return SelectNode.create({
    ...node,
    joins,
    from: TableNode.create(table, schema, from.alias),
    where: LogicalNode.create('and', [ColumnNode.create(column, from.alias), node.where]),
  });
}

/**
 * True when every join of a SELECT whose left side is a table by name reads only what each
 * shard holds: one join that stays on the shard, or `F ⋈ B ⋈ C …` with B co-located and the
 * others LEFT JOINs of node-local tables that read only B (joinsMovedRight's nesting).
 */
export function joinsStayOnShards(node: SelectNode, golden = true): boolean {
  const [first, ...rest] = node.joins;
  if (first === undefined || !readsTableByName(node.from)) return false;
  if (rest.length === 0) return joinStaysOnShard(node.from, first);
  const fromAlias = sourceAlias(node.from);
  return (
    coLocated(node.from, first) !== undefined &&
    rest.every(
      (j) =>
        (j.type === 'left' && nodeLocal(j.table) && !aliasesIn(j.on).has(fromAlias)) ||
        goldenScores(j, first.table, golden) !== undefined,
    )
  );
}

/** The templates a source's model SQL may compile to (its query and its per-dialect variants). */
function templatesOf(source: DerivedNode): (string | undefined)[] {
  return [source.query, ...Object.values(source.variants ?? {})].map((t) => {
    if (t === null) return '';
    if (t.kind !== 'Template' || !t.parts.every((p) => typeof p === 'string')) return undefined;
    return (t.parts as string[]).join('');
  });
}

/**
 * The golden-score table a latest-run score cube reads (`SELECT *[, e AS name …] FROM mining.<table>
 * WHERE run_id = <latest run>`) and the names its own expressions add, or undefined.
 */
function latestScoresRead(source: Source): { table: string; added: Set<string> } | undefined {
  if (source.kind !== 'Derived' || !readsLatestRun(source)) return undefined;
  let table: string | undefined;
  const added = new Set<string>();
  for (const text of templatesOf(source)) {
    if (text === undefined) return undefined;
    if (text === '') continue;
    const refs = [...text.matchAll(TABLE_REF)].map((m) => `${m[1]}.${m[2]}`);
    const scores = refs.filter((r) => GOLDEN_SCORE_TABLES.has(r));
    if (scores.length !== 1 || refs.some((r) => !GOLDEN_SCORE_TABLES.has(r) && !readsSameOnEveryNode(r)))
      return undefined;
    if (table !== undefined && table !== scores[0]) return undefined;
    table = scores[0];
    // every column of the table under its own name, then the cube's own expressions
    const list = /^\s*SELECT\s+\*(\s*,[\s\S]*?)?\sFROM\s/i.exec(text);
    if (list === null) return undefined;
    for (const m of (list[1] ?? '').matchAll(/\bAS\s+[`"]?([A-Za-z_][A-Za-z0-9_]*)/gi))
      added.add(m[1] as string);
  }
  return table === undefined ? undefined : { table, added };
}

/** Model SQL of the customers cube as the sync builds CURRENT_SCORES from it: `SELECT * FROM core.dim_customer WHERE is_current`. */
function readsCurrentCustomers(source: Source): boolean {
  if (source.kind !== 'Derived') return false;
  return templatesOf(source).every((text) => {
    if (text === '') return true;
    const m = text === undefined ? null : FILTERED_TABLE.exec(text);
    return m !== null && `${m[1]}.${m[2]}` === GOLDEN_POINTER_TABLE && m[3] === 'is_current';
  });
}

/**
 * The right side of `C ⋈ (C' ⋈ S1 ⋈ S2 …)` read from the shard's current records with their
 * latest scores side by side (clickhouse-layout.ts, CURRENT_SCORES) instead of joining each score
 * table: `selected` are the columns the query reads (`<alias>.<column>` of the score cubes, under
 * their unique names), `key` the name of the record's key. Undefined when C is not the current
 * customer records, a score cube does not keep the latest run of one golden-score table, or the
 * query reads a column a score cube's own SQL computes (`rfm_score`): the table holds the score
 * tables' columns only.
 */
function currentScoresSide(
  from: Source,
  joins: readonly JoinNode[],
  selected: Node[],
  key: string,
): SelectNode | undefined {
  if (!readsCurrentCustomers(from)) return undefined;
  const byAlias = new Map<string, { table: string; added: Set<string> }>();
  for (const j of joins) {
    const read = latestScoresRead(j.table);
    if (j.type !== 'left' || read === undefined) return undefined;
    byAlias.set(sourceAlias(j.table), read);
  }
  const alias = 'current_scores';
  const selections: Node[] = [AliasNode.create(ColumnNode.create(SHARD_COLUMN, alias), key)];
  for (const sel of selected) {
    if (sel.kind !== 'Alias' || sel.node.kind !== 'Column' || sel.node.table === undefined) return undefined;
    const read = byAlias.get(sel.node.table);
    if (read === undefined || read.added.has(sel.node.column)) return undefined;
    const column = ColumnNode.create(currentScoresColumn(read.table, sel.node.column), alias);
    selections.push(AliasNode.create(column, sel.alias));
  }
  return SelectNode.create({
    selections,
    from: TableNode.create(CURRENT_SCORES.table, goldenSchema(CURRENT_SCORES.schema), alias),
  });
}

/**
 * The customers cube joined only to golden-keyed scores (`C ⋈ S1 ⋈ S2 …`, LEFT JOINs on
 * `coalesce(golden_customer_key, customer_durable_key)`), as `C ⋈ (C' ⋈ S1 ⋈ S2 …)`: C is read by
 * name (the Distributed table, its filter in the WHERE, as leftTableByName), and the right side
 * joins the shard's own rows of the same cube (C') to the shard's golden-score views, one row per
 * customer key, joined back on the customer key. C' has one row per key of C (the cube's primary
 * key), so each row of C meets exactly its own scores; every join then runs on the shards, and
 * the entry node merges partial aggregates. Undefined for any other shape.
 */
export function goldenJoinsOnShards(
  node: SelectNode,
  golden = true,
  currentScores = false,
): SelectNode | undefined {
  if (!golden || node.joins.length === 0 || node.from.kind !== 'Derived') return undefined;
  const byName = leftTableByName(node);
  const own = localized(node.from);
  if (byName === undefined || own === undefined) return undefined;
  const scores = node.joins.map((j) => goldenScores(j, node.from, golden));
  if (scores.some((s) => s === undefined)) return undefined;
  const fromAlias = node.from.alias;
  const right = new Set(node.joins.map((j) => sourceAlias(j.table)));
  const taken = new Set([fromAlias, ...right]);
  let nested = 'joined_g';
  while (taken.has(nested)) nested = `_${nested}`;
  const key = `${fromAlias}__${SHARD_COLUMN}`;
  const { clauses, selections } = nestedColumns(nested, new Set([key]));
  const outer = clauses(byName, right);
  // where the sync built them, the records with their latest scores side by side: one table
  // instead of a join per score table
  const inner =
    (currentScores ? currentScoresSide(node.from, node.joins, selections(false), key) : undefined) ??
    SelectNode.create({
      selections: [AliasNode.create(ColumnNode.create(SHARD_COLUMN, fromAlias), key), ...selections(false)],
      from: own,
      joins: scores as JoinNode[],
    });
  // 18.16 resolves neither side's alias-qualified names in a shard join's ON: both bare
  const on = BinaryNode.create('=', ColumnNode.create(SHARD_COLUMN), ColumnNode.create(key));
  // each row of C meets the first row of C' with its key: the one it has, C' being the cube's
  // rows by its primary key (ALL would pair every such row of C with every such row of C')
  return SelectNode.create({
    ...byName,
    ...outer,
    joins: [{ kind: 'Join', type: 'left', table: DerivedNode.create(inner, nested), on, unique: true }],
  });
}
