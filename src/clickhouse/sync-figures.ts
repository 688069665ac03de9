/**
 * Per-table figures, computed alike on DuckDB and ClickHouse and compared value by value.
 *
 *   - `full`: row count, and per column the count of non-NULL values plus a sum that moves when a
 *     value moves (types.ts columnChecks) — the reconciliation of a copied table;
 *   - `keys`: row count, the sum of every integer and boolean column (ids, keys, load and run
 *     ids, flags) and the largest `load_id`/`run_id` — a cheaper figure (no text, no amounts)
 *     that still moves with a new load or run, a deleted row, a re-pointed key or a flipped flag.
 *
 * An incremental sync compares the `keys` figures of every table that loads mark (sync-delta.ts)
 * and the `full` figures of the others, in one ClickHouse query per node, and leaves a table whose
 * figures agree alone (no staging table, no DDL). What `keys` cannot see is an in-place edit of a
 * text, amount or date that no load id marks; `crm-bi sync` without `--incremental` copies every
 * row and reconciles the `full` figures.
 */
import type { ClickHouseClient } from '../db/clickhouse.ts';
import { quoteChIdent } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { quoteIdent } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import type { TableMapping } from './schema.ts';
import { type ColumnCheck, columnChecks } from './types.ts';

export type FigureKind = 'full' | 'keys';

/** `load_id` or `run_id`: the column whose largest value is a table's high-water mark. */
export const MARK_COLUMNS = ['load_id', 'run_id'] as const;

/** The table's high-water mark column (an integer `load_id` or `run_id`), if it has one. */
export function markColumn(t: TableMapping): string | undefined {
  return MARK_COLUMNS.find((name) =>
    t.columns.some((c) => c.name === name && /^(Nullable\()?U?Int\d+\)?$/.test(c.chType)),
  );
}

/** The label of the high-water mark figure in a `keys` list. */
export const MARK_LABEL = 'mark:max';

/** The figures of a table, `rows` first. */
export function figureChecks(t: TableMapping, kind: FigureKind): ColumnCheck[] {
  const rows: ColumnCheck = {
    label: 'rows',
    duck: 'CAST(count(*) AS VARCHAR)',
    ch: 'toString(count())',
    approx: false,
  };
  if (kind === 'full') return [rows, ...t.columns.flatMap(columnChecks)];
  const checks = [
    rows,
    ...t.columns
      .filter((c) => c.kind === 'int' || c.kind === 'bool')
      .flatMap(columnChecks)
      .filter((c) => c.label.endsWith(':sum')),
  ];
  const mark = markColumn(t);
  if (mark !== undefined) {
    checks.push({
      label: MARK_LABEL,
      duck: `coalesce(CAST(max(${quoteIdent(mark)}) AS VARCHAR), '')`,
      // an empty non-Nullable column's max is 0 in ClickHouse, and a Nullable one's max of only
      // NULLs is NULL: '' when no row has a value, as in DuckDB (an identity run outside a load
      // has no load_id)
      ch: `if(count(${quoteChIdent(mark)}) = 0, '', toString(max(${quoteChIdent(mark)})))`,
      approx: false,
    });
  }
  return checks;
}

/**
 * The figures that differ, as `label: DuckDB a, ClickHouse b`; floats agree within 1e-9 relative.
 * `duck` and `ch` hold one value per check, in the order of `checks`.
 */
export function figureProblems(
  checks: readonly Pick<ColumnCheck, 'label' | 'approx'>[],
  duck: readonly unknown[],
  ch: readonly unknown[],
): string[] {
  const problems: string[] = [];
  checks.forEach((c, i) => {
    const a = duck[i];
    const b = ch[i];
    const same = c.approx ? closeEnough(Number(a), Number(b)) : String(a) === String(b);
    if (!same) problems.push(`${c.label}: DuckDB ${String(a)}, ClickHouse ${String(b)}`);
  });
  return problems;
}

export function closeEnough(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * A sharded table's figures from each shard's own rows, added up: counts and sums add (exactly as
 * integers, floats as doubles), the high-water mark is the largest shard's (`''` on a shard with
 * no row). A shard that did not answer for the table makes every figure `undefined`.
 */
export function addShardFigures(
  checks: readonly Pick<ColumnCheck, 'label' | 'approx'>[],
  perShard: readonly (readonly unknown[] | undefined)[],
): (string | undefined)[] {
  return checks.map((c, i) => {
    const values = perShard.map((f) => f?.[i]);
    if (values.some((v) => v === undefined || v === null)) return undefined;
    const text = values.map(String);
    if (c.label === MARK_LABEL) {
      // load and run ids stay far below 2^53
      const marks = text.filter((v) => v !== '').map(Number);
      return marks.length === 0 ? '' : String(Math.max(...marks));
    }
    if (c.approx) return String(text.reduce((a, v) => a + Number(v), 0));
    if (!text.every((v) => /^-?\d+$/.test(v))) return undefined;
    return text.reduce((a, v) => a + BigInt(v), 0n).toString();
  });
}

/**
 * The DuckDB side does not change during a sync (read-only): computed once per table and kind.
 * The `full` scan also answers the `keys` figures (a label both lists hold is the same
 * expression); the compare asks for `keys` alone, which is cheaper, and only a table that moves
 * needs `full`.
 */
const duckCache = new WeakMap<
  TableMapping,
  { db: Database; full?: Promise<Map<string, unknown>>; keys?: Promise<Map<string, unknown>> }
>();

/** The checks of both kinds, each label once. */
function allChecks(t: TableMapping): ColumnCheck[] {
  const full = figureChecks(t, 'full');
  const labels = new Set(full.map((c) => c.label));
  return [...full, ...figureChecks(t, 'keys').filter((c) => !labels.has(c.label))];
}

/** DuckDB's figures of a table (one value per check of `figureChecks(t, kind)`). */
export async function duckFigures(db: Database, t: TableMapping, kind: FigureKind): Promise<unknown[]> {
  let entry = duckCache.get(t);
  if (entry === undefined || entry.db !== db) {
    entry = { db };
    duckCache.set(t, entry);
  }
  let pending = kind === 'full' ? entry.full : (entry.keys ?? entry.full);
  if (pending === undefined) {
    const checks = kind === 'full' ? allChecks(t) : figureChecks(t, 'keys');
    pending = db
      .one(
        `SELECT ${checks.map((c, i) => `${c.duck} AS c${i}`).join(', ')} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
      )
      .then((row) => new Map(checks.map((c, i) => [c.label, row?.[`c${i}`]])));
    if (kind === 'full') entry.full = pending;
    else entry.keys = pending;
  }
  const byLabel = await pending;
  return figureChecks(t, kind).map((c) => byLabel.get(c.label));
}

/**
 * DuckDB's figures of the rows `where` selects (a DuckDB condition, e.g. the rows above a
 * high-water mark), one value per check of `figureChecks(t, kind)`; not cached.
 */
export async function duckFiguresWhere(
  db: Database,
  t: TableMapping,
  kind: FigureKind,
  where: string,
): Promise<unknown[]> {
  const checks = figureChecks(t, kind);
  const row = await db.one(
    `SELECT ${checks.map((c, i) => `${c.duck} AS c${i}`).join(', ')} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)} WHERE ${where}`,
  );
  return checks.map((_, i) => row?.[`c${i}`]);
}

/** One ClickHouse SELECT of a table's figures as `[t, f]`: its name and an array of strings. */
export function chFiguresSelect(name: string, from: string, checks: readonly ColumnCheck[]): string {
  if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`unexpected table name ${name}`);
  return `SELECT '${name}' AS t, [${checks.map((c) => `toString(${c.ch})`).join(', ')}] AS f FROM ${from}`;
}

/**
 * ClickHouse figures of several tables in one query (`UNION ALL`) on one node: name → values.
 * `parts` are `[name, from, checks]`. When ClickHouse refuses the union, each table is asked on
 * its own and a table it refuses is left out of the answer (its figures then agree with nothing).
 */
export async function chFigures(
  node: ClickHouseClient,
  parts: readonly (readonly [string, string, readonly ColumnCheck[]])[],
): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  if (parts.length === 0) return out;
  const ask = async (some: typeof parts) => {
    const rows = await node.rows(
      some.map(([n, from, checks]) => chFiguresSelect(n, from, checks)).join(' UNION ALL '),
    );
    for (const r of rows) out.set(String(r.t), Array.isArray(r.f) ? r.f : []);
  };
  try {
    await ask(parts);
  } catch (e) {
    if (!(e instanceof CrmBiError && e.code === 'clickhouse_error') || parts.length === 1) throw e;
    for (const part of parts) await ask([part]).catch(() => {});
  }
  return out;
}
