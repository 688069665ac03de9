/**
 * The Segmentation page's figures as cube queries over `run_scores` (every run's RFM scores and
 * cluster per golden customer): the RFM grid (recency × frequency score), a cell's customers,
 * segment cards and cluster profiles. Each runs as the caller with its effective regions (the
 * token's limit narrowed by the page's region filter) as the security context, so the model's
 * region rule cuts them; no SQL here.
 */
import type { Model } from '../../cube/index.ts';
import { addUnits, formatLocalDate, SUPPORTED_DATES } from '../../cube/time.ts';
import type { Database } from '../../db/duckdb.ts';
import { type MigrationBy, migrationMatrix, type SegmentMigration } from '../../mining/steps/migration.ts';
import type { MiningRun } from '../../mining/steps/runs.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';

export interface SegmentationScope {
  readonly db: Database;
  readonly model: Model;
  /** The regions to show (undefined: all). */
  readonly regions: readonly string[] | undefined;
}

const read = (s: SegmentationScope, query: Parameters<typeof readCube>[3]) =>
  readCube(s.db, s.model, s.regions === undefined ? {} : { regions: s.regions }, query);

const ofRun = (run: number) => ({ member: 'run_scores.run_id', operator: 'equals', values: [String(run)] });
const isSet = (member: string) => ({ member, operator: 'set' });
const num = (v: CubeRow[string] | undefined): number => Number(v ?? 0);
const numOrNull = (v: CubeRow[string] | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

/**
 * The segment of each of the 25 R × F cells in a run's rule table (`params.rfm.rules.cells`, as
 * `crm-bi mine` scored them: `cells[(r - 1) * 5 + (f - 1)]`), or undefined for a run record
 * without one.
 */
export function ruleCells(params: Readonly<Record<string, unknown>>): readonly string[] | undefined {
  const rfm = params.rfm as { rules?: { cells?: unknown } } | undefined;
  const cells = rfm?.rules?.cells;
  return Array.isArray(cells) && cells.length === 25 && cells.every((c) => typeof c === 'string')
    ? (cells as string[])
    : undefined;
}

/**
 * One row per (r_score, f_score) cell: customers, their net spend and the cell's segment. Given
 * the run's rule cells (ruleCells), a cell is named by them and the query groups by the two
 * scores only; without them it groups by the stored segment too.
 */
export async function rfmGrid(s: SegmentationScope, run: number, rules?: readonly string[]) {
  const rows = await read(s, {
    measures: ['run_scores.count', 'run_scores.monetary_total'],
    dimensions: [
      'run_scores.r_score',
      'run_scores.f_score',
      ...(rules === undefined ? ['run_scores.rfm_segment'] : []),
    ],
    filters: [ofRun(run), isSet('run_scores.r_score'), isSet('run_scores.f_score')],
    limit: 1000,
  });
  // the rule table gives each cell one segment; should a cell hold several, the largest names it
  const cells = new Map<
    string,
    {
      r_score: number;
      f_score: number;
      customers: number;
      value: number;
      segment: string | null;
      top: number;
    }
  >();
  for (const r of rows) {
    const key = `${r['run_scores.r_score']}/${r['run_scores.f_score']}`;
    const n = num(r['run_scores.count']);
    const cell = cells.get(key) ?? {
      r_score: num(r['run_scores.r_score']),
      f_score: num(r['run_scores.f_score']),
      customers: 0,
      value: 0,
      segment: null,
      top: -1,
    };
    cell.customers += n;
    cell.value += num(r['run_scores.monetary_total']);
    if (n > cell.top) {
      cell.top = n;
      cell.segment =
        rules === undefined
          ? ((r['run_scores.rfm_segment'] as string | null) ?? null)
          : (rules[(cell.r_score - 1) * 5 + (cell.f_score - 1)] ?? null);
    }
    cells.set(key, cell);
  }
  return [...cells.values()]
    .map(({ top: _top, ...cell }) => cell)
    .sort((a, b) => b.r_score - a.r_score || b.f_score - a.f_score);
}

/** The customers of one grid cell, largest net spend first, and how many there are. */
export async function rfmCellCustomers(
  s: SegmentationScope,
  run: number,
  r: number,
  f: number,
  limit: number,
) {
  const filters = [
    ofRun(run),
    { member: 'run_scores.r_score', operator: 'equals', values: [String(r)] },
    { member: 'run_scores.f_score', operator: 'equals', values: [String(f)] },
  ];
  const [count] = await read(s, { measures: ['run_scores.count'], filters });
  const rows = await read(s, {
    dimensions: [
      'customers.customer_durable_key',
      'customers.customer_id',
      'customers.name',
      'customers.region',
      'run_scores.rfm_segment',
      'run_scores.recency_days',
      'run_scores.frequency',
      'run_scores.monetary',
    ],
    filters,
    order: [
      ['run_scores.monetary', 'desc'],
      ['customers.customer_id', 'asc'],
    ],
    limit,
  });
  return {
    total: num(count?.['run_scores.count']),
    customers: rows.map((c) => ({
      customer_id: c['customers.customer_id'] ?? null,
      name: c['customers.name'] ?? null,
      region: c['customers.region'] ?? null,
      rfm_segment: c['run_scores.rfm_segment'] ?? null,
      recency_days: numOrNull(c['run_scores.recency_days']),
      frequency: numOrNull(c['run_scores.frequency']),
      monetary_total: numOrNull(c['run_scores.monetary']),
    })),
  };
}

/** Shares of customers and of net spend within the answer (0 when the total is 0). */
function withShares<T extends { customers: number; value: number }>(rows: T[]) {
  const customers = rows.reduce((n, r) => n + r.customers, 0);
  const value = rows.reduce((n, r) => n + r.value, 0);
  return rows.map((r) => ({
    ...r,
    customer_share: customers > 0 ? r.customers / customers : 0,
    value_share: value !== 0 ? r.value / value : 0,
  }));
}

type Card = {
  segment: string;
  customers: number;
  value: number;
  mean_r: number | null;
  mean_f: number | null;
  mean_m: number | null;
};

/**
 * Segment cards from the R × F cells, each named by the run's rule table: a cell holds one
 * segment, so sizes, net spend and mean scores add up per segment (the mean M weighted by the
 * customers with an M score), and the query groups by two small numbers instead of the name.
 */
async function cardsFromCells(s: SegmentationScope, run: number, rules: readonly string[]): Promise<Card[]> {
  const rows = await read(s, {
    measures: [
      'run_scores.count',
      'run_scores.monetary_total',
      'run_scores.avg_m_score',
      'run_scores.m_scored',
    ],
    dimensions: ['run_scores.r_score', 'run_scores.f_score'],
    filters: [ofRun(run), isSet('run_scores.r_score'), isSet('run_scores.f_score')],
    limit: 1000,
  });
  const cards = new Map<
    string,
    { n: number; value: number; r: number; f: number; m: number; mScored: number }
  >();
  for (const row of rows) {
    const r = num(row['run_scores.r_score']);
    const f = num(row['run_scores.f_score']);
    const segment = rules[(r - 1) * 5 + (f - 1)];
    if (segment === undefined) continue; // no cell: the stored segment is NULL too
    const card = cards.get(segment) ?? { n: 0, value: 0, r: 0, f: 0, m: 0, mScored: 0 };
    const n = num(row['run_scores.count']);
    const mScored = num(row['run_scores.m_scored']);
    card.n += n;
    card.value += num(row['run_scores.monetary_total']);
    card.r += r * n;
    card.f += f * n;
    card.m += (numOrNull(row['run_scores.avg_m_score']) ?? 0) * mScored;
    card.mScored += mScored;
    cards.set(segment, card);
  }
  return [...cards].map(([segment, c]) => ({
    segment,
    customers: c.n,
    value: c.value,
    mean_r: c.n > 0 ? c.r / c.n : null,
    mean_f: c.n > 0 ? c.f / c.n : null,
    mean_m: c.mScored > 0 ? c.m / c.mScored : null,
  }));
}

/** Segment cards grouped by the stored segment name (a run record without a rule table). */
async function cardsBySegment(s: SegmentationScope, run: number): Promise<Card[]> {
  const rows = await read(s, {
    measures: [
      'run_scores.count',
      'run_scores.monetary_total',
      'run_scores.avg_r_score',
      'run_scores.avg_f_score',
      'run_scores.avg_m_score',
    ],
    dimensions: ['run_scores.rfm_segment'],
    filters: [ofRun(run), isSet('run_scores.rfm_segment')],
    limit: 1000,
  });
  return rows.map((r) => ({
    segment: String(r['run_scores.rfm_segment']),
    customers: num(r['run_scores.count']),
    value: num(r['run_scores.monetary_total']),
    mean_r: numOrNull(r['run_scores.avg_r_score']),
    mean_f: numOrNull(r['run_scores.avg_f_score']),
    mean_m: numOrNull(r['run_scores.avg_m_score']),
  }));
}

/**
 * Segment cards: size, share of customers and of net spend, mean R, F and M scores. Given the
 * run's rule cells (ruleCells) they add up the R × F cells; without them they group by the stored
 * segment.
 */
export async function segmentCards(s: SegmentationScope, run: number, rules?: readonly string[]) {
  const cards = rules === undefined ? await cardsBySegment(s, run) : await cardsFromCells(s, run, rules);
  return withShares(cards)
    .map(({ segment, customers, customer_share, value, value_share, mean_r, mean_f, mean_m }) => ({
      segment,
      customers,
      customer_share,
      value,
      value_share,
      mean_r,
      mean_f,
      mean_m,
    }))
    .sort(
      (a, b) => b.customers - a.customers || (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0),
    );
}

/**
 * The name of each cluster of a run (`params.segmentation.model.names[cluster]`, the names `crm-bi
 * mine` stored on its customers), or undefined for a run record without them.
 */
export function clusterNames(params: Readonly<Record<string, unknown>>): readonly string[] | undefined {
  const segmentation = params.segmentation as { model?: { names?: unknown } } | undefined;
  const names = segmentation?.model?.names;
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
}

/**
 * Cluster profiles of a run: size, shares and mean behaviour of each cluster's customers. Given the
 * run's cluster names (clusterNames), the query groups by the cluster number only and names each
 * cluster from them; without them it groups by the stored name too.
 */
export async function clusterProfiles(s: SegmentationScope, run: number, names?: readonly string[]) {
  const rows = await read(s, {
    measures: [
      'run_scores.count',
      'run_scores.monetary_total',
      'run_scores.avg_recency_days',
      'run_scores.avg_frequency',
      'run_scores.avg_monetary',
      'run_scores.avg_r_score',
      'run_scores.avg_f_score',
      'run_scores.avg_m_score',
    ],
    dimensions: ['run_scores.cluster', ...(names === undefined ? ['run_scores.cluster_name'] : [])],
    filters: [ofRun(run), isSet('run_scores.cluster')],
    order: [['run_scores.cluster', 'asc']],
    limit: 1000,
  });
  return withShares(
    rows.map((r) => ({
      cluster: num(r['run_scores.cluster']),
      cluster_name:
        names === undefined
          ? ((r['run_scores.cluster_name'] as string | null) ?? null)
          : (names[num(r['run_scores.cluster'])] ?? null),
      customers: num(r['run_scores.count']),
      value: num(r['run_scores.monetary_total']),
      mean_recency_days: numOrNull(r['run_scores.avg_recency_days']),
      mean_frequency: numOrNull(r['run_scores.avg_frequency']),
      mean_monetary: numOrNull(r['run_scores.avg_monetary']),
      mean_r: numOrNull(r['run_scores.avg_r_score']),
      mean_f: numOrNull(r['run_scores.avg_f_score']),
      mean_m: numOrNull(r['run_scores.avg_m_score']),
    })),
  );
}

/**
 * The transition matrix between runs `from` and `to` (cube run_migration): golden customers by
 * their segment (or cluster) in each run, a customer scored in only one of them '(not scored)' on
 * the other side; the caller's regions cut it as every cube query. The run records give the as-of
 * days and the rule tables' segment order.
 */
export async function segmentMigration(
  s: SegmentationScope,
  from: MiningRun,
  to: MiningRun,
  by: MigrationBy,
): Promise<SegmentMigration> {
  const equals = (member: string, value: string | number) => ({
    member: `run_migration.${member}`,
    operator: 'equals',
    values: [String(value)],
  });
  const rows = await read(s, {
    measures: ['run_migration.count'],
    dimensions: ['run_migration.from_label', 'run_migration.to_label'],
    filters: [equals('from_run', from.run_id), equals('to_run', to.run_id), equals('kind', by)],
    // at most labels² cells
    limit: 50_000,
  });
  const cells = rows.map((r) => ({
    from: String(r['run_migration.from_label']),
    to: String(r['run_migration.to_label']),
    customers: num(r['run_migration.count']),
  }));
  return migrationMatrix(from, to, by, cells);
}

export interface CohortCell {
  readonly cohort: string;
  readonly months_since: number;
  readonly customers: number;
  readonly size: number;
  readonly retention: number;
}

/** 'YYYY-MM-DD' of the first day of `date`'s month, or of the month after it (`next`). */
function monthStart(date: string, next = false): string {
  const [year, month] = date.split('-').map(Number) as [number, number];
  const first = { year, month, day: 1, hour: 0, minute: 0, second: 0, ms: 0 };
  return formatLocalDate(addUnits(first, 'month', next ? 1 : 0));
}

/**
 * Cohort retention (cube cohort_activity): golden customers by the UTC month of their first
 * purchase and the months since it, up to `maxMonths`, for cohorts from `from`'s month to `to`'s
 * month; each cell with its cohort's size (month 0) and the share still buying. The cell count is
 * `customer_months`, which equals the distinct customers of a cohort × months-since cell and adds
 * up, so the cohort_activity.retention rollup answers it.
 */
export async function cohortRetention(
  s: SegmentationScope,
  from: string | undefined,
  to: string | undefined,
  maxMonths: number,
): Promise<CohortCell[]> {
  const cohort = 'cohort_activity.cohort_month';
  const filters: object[] = [
    { member: 'cohort_activity.months_since', operator: 'lte', values: [String(maxMonths)] },
  ];
  if (from !== undefined)
    filters.push({ member: cohort, operator: 'afterOrOnDate', values: [monthStart(from)] });
  // before the first day of the month after `to`'s, which stays a month boundary (so the rollup
  // fits); past the last supported day nothing is later, so no bound is needed
  const end = to === undefined ? undefined : monthStart(to, true);
  if (end !== undefined && end <= SUPPORTED_DATES.last)
    filters.push({ member: cohort, operator: 'beforeDate', values: [end] });
  const rows = await readCube(
    s.db,
    s.model,
    s.regions === undefined ? {} : { regions: s.regions },
    {
      measures: ['cohort_activity.customer_months'],
      dimensions: ['cohort_activity.months_since'],
      timeDimensions: [{ dimension: cohort, granularity: 'month' }],
      filters,
      order: [
        [`${cohort}.month`, 'asc'],
        ['cohort_activity.months_since', 'asc'],
      ],
      timezone: 'UTC',
      limit: Number.MAX_SAFE_INTEGER,
    } as Parameters<typeof readCube>[3],
    { maxLimit: Number.MAX_SAFE_INTEGER },
  );
  const cells = rows.map((r) => ({
    cohort: String(r[`${cohort}.month`]).slice(0, 7),
    months_since: num(r['cohort_activity.months_since']),
    customers: num(r['cohort_activity.customer_months']),
  }));
  const sizes = new Map<string, number>();
  for (const c of cells) if (c.months_since === 0) sizes.set(c.cohort, c.customers);
  return cells.map((c) => {
    const size = sizes.get(c.cohort) ?? 0;
    return { ...c, size, retention: size > 0 ? c.customers / size : 0 };
  });
}
