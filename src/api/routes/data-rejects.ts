/**
 * `GET /v1/data/rejects`: the quarantine. Counts by reason, column, file, load and status (what
 * every caller may see, cut by the region rule), and, for analysts and admins only, a page of the
 * rejected rows themselves: the raw row split into the source's fields, the bad field marked and
 * the rule it broke in words, and whether a later load resolved it.
 */
import type { CubeResponse, Model, QueryCache } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import { type Principal, roleAllows } from '../auth.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';
import { type RejectFilter, rejectCubeFilters } from './data-params.ts';
import { readReject } from './data-reject-rule.ts';
import { num, str } from './insights/read.ts';

type Facet = 'load_id' | 'source_file' | 'reason' | 'column_name' | 'status';

const ROW_DIMENSIONS = [
  'data_rejects.load_id',
  'data_rejects.source_file',
  'data_rejects.line',
  'data_rejects.source_key',
  'data_rejects.column_name',
  'data_rejects.reason',
  'data_rejects.raw',
  'data_rejects.customer_id',
  'data_rejects.natural_key',
  'data_rejects.entity',
  'data_reject_files.header',
  'data_reject_files.delimiter',
];

/** Rows of the quarantine in a stable order: load, file, line. */
export const REJECT_ORDER: [string, 'asc' | 'desc'][] = [
  ['data_rejects.load_id', 'asc'],
  ['data_rejects.source_file', 'asc'],
  ['data_rejects.line', 'asc'],
  ['data_rejects.source_key', 'asc'],
];

export interface Quarantine {
  readonly total: number;
  /** Counts by each facet under the other facets' filters (a facet's own filter is left out). */
  readonly counts: Record<Facet, readonly { value: string | number | null; count: number }[]>;
  /** null when the caller's role sees counts only. */
  readonly rows: readonly Record<string, unknown>[] | null;
}

/** The filter parameter of each facet: a facet's counts ignore its own filter, so its other values stay listed. */
const FACET_PARAM: Record<Facet, keyof RejectFilter> = {
  load_id: 'load',
  source_file: 'file',
  reason: 'reason',
  column_name: 'column',
  status: 'status',
};

function facetCounts(groups: readonly CubeRow[], facet: Facet) {
  return (
    groups
      .map((g) => ({
        value: g[`data_rejects.${facet}`] as string | number | null,
        count: Number(g['data_rejects.count']),
      }))
      // ties in a stable order, so the same data always lists the same way
      .sort((a, b) => b.count - a.count || String(a.value ?? '').localeCompare(String(b.value ?? '')))
  );
}

export function headerOf(v: unknown): string[] | null {
  if (typeof v !== 'string') return null;
  try {
    const h = JSON.parse(v) as unknown;
    return Array.isArray(h) && h.every((x) => typeof x === 'string') ? h : null;
  } catch {
    return null;
  }
}

/** A reject's identity: load, file and line (or a PostgreSQL source's row key). */
const rowKey = (r: CubeRow) =>
  JSON.stringify([
    r['data_rejects.load_id'],
    r['data_rejects.source_file'],
    r['data_rejects.line'],
    r['data_rejects.source_key'],
  ]);

/**
 * Which later load resolved each of a page of rejects. Asked for these rows only, per file of the
 * page (its load and file, and the page's lines or row keys in it), so the resolution view is
 * probed for a page, not computed for the whole quarantine before the page is cut.
 */
async function resolutionsOf(
  read: (q: object) => Promise<CubeRow[]>,
  rows: readonly CubeRow[],
): Promise<Map<string, number | null>> {
  const byFile = new Map<string, CubeRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r['data_rejects.load_id'], r['data_rejects.source_file']]);
    byFile.set(k, [...(byFile.get(k) ?? []), r]);
  }
  const values = (group: readonly CubeRow[], member: string) => [
    ...new Set(group.flatMap((r) => (r[member] === null ? [] : [String(r[member])]))),
  ];
  const answers = await Promise.all(
    [...byFile.values()].map((group) => {
      const first = group[0] as CubeRow;
      const lines = values(group, 'data_rejects.line');
      const keys = values(group, 'data_rejects.source_key');
      const at = [
        ...(lines.length > 0 ? [{ member: 'data_rejects.line', operator: 'equals', values: lines }] : []),
        ...(keys.length > 0 ? [{ member: 'data_rejects.source_key', operator: 'equals', values: keys }] : []),
      ];
      return read({
        dimensions: [...REJECT_ORDER.map(([m]) => m), 'data_rejects.resolved_by_load'],
        filters: [
          {
            member: 'data_rejects.load_id',
            operator: 'equals',
            values: [String(first['data_rejects.load_id'])],
          },
          {
            member: 'data_rejects.source_file',
            operator: 'equals',
            values: [String(first['data_rejects.source_file'])],
          },
          ...(at.length > 1 ? [{ or: at }] : at),
        ],
        ungrouped: true,
        // room to spare: a line the loader wrote twice must not push another row out
        limit: Math.max(100, group.length * 4),
      });
    }),
  );
  const out = new Map<string, number | null>();
  for (const r of answers.flat()) out.set(rowKey(r), num(r['data_rejects.resolved_by_load']));
  return out;
}

/** One reject as the API shows it. */
function rejectRow(r: CubeRow): Record<string, unknown> {
  const header = headerOf(r['data_reject_files.header']);
  const reason = String(r['data_rejects.reason']);
  const column = str(r['data_rejects.column_name']);
  const raw = str(r['data_rejects.raw']);
  const resolvedBy = num(r['data_rejects.resolved_by_load'] ?? null);
  return {
    load_id: num(r['data_rejects.load_id']),
    source_file: str(r['data_rejects.source_file']),
    line: num(r['data_rejects.line']),
    source_key: str(r['data_rejects.source_key']),
    entity: str(r['data_rejects.entity']),
    reason,
    column_name: column,
    raw,
    header,
    ...readReject(raw, header, String(r['data_reject_files.delimiter'] ?? ','), reason, column),
    customer_id: str(r['data_rejects.customer_id']),
    natural_key: str(r['data_rejects.natural_key']),
    status: resolvedBy === null ? 'standing' : 'resolved',
    resolved_by_load: resolvedBy,
  };
}

export async function quarantine(
  db: Database,
  model: Model,
  principal: Principal,
  filter: RejectFilter,
  cache: QueryCache<CubeResponse> | null = null,
): Promise<Quarantine> {
  const filters = rejectCubeFilters(filter);
  const read = (q: object) => readCube(db, model, principal, q, { cache });
  const showRows = roleAllows(principal.role, 'analyst');
  const facet = (f: Facet) =>
    read({
      measures: ['data_rejects.count'],
      dimensions: [`data_rejects.${f}`],
      filters: rejectCubeFilters({ ...filter, [FACET_PARAM[f]]: undefined }),
    }).then((rows) => facetCounts(rows, f));
  const rowsAndStatus = async () => {
    const page = await read({
      dimensions: ROW_DIMENSIONS,
      filters,
      ungrouped: true,
      order: REJECT_ORDER,
      limit: filter.limit,
      offset: filter.offset,
    });
    const resolved = await resolutionsOf(read, page);
    return page.map((r) => ({ ...r, 'data_rejects.resolved_by_load': resolved.get(rowKey(r)) ?? null }));
  };
  const [total, loadIds, files, reasons, columns, statuses, rows] = await Promise.all([
    read({ measures: ['data_rejects.count'], filters }),
    facet('load_id'),
    facet('source_file'),
    facet('reason'),
    facet('column_name'),
    facet('status'),
    showRows ? rowsAndStatus() : Promise.resolve(null),
  ]);
  const counts = {
    load_id: loadIds,
    source_file: files,
    reason: reasons,
    column_name: columns,
    status: statuses,
  };
  return {
    total: Number(total[0]?.['data_rejects.count'] ?? 0),
    counts,
    rows: rows === null ? null : rows.map(rejectRow),
  };
}
