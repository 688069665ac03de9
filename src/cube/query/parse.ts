/**
 * Parses Cube's query JSON into a typed `Query`, once, at the edge: shape (zod), size and depth
 * limits (checked iteratively before anything recurses), members resolved against the model
 * (unknown names get a "did you mean"), operators checked against member types, values typed,
 * dates resolved in the query's time zone.
 *
 * @example
 * parseQuery(model, { measures: ['sales.revenue'], dimensions: ['customers.region'] })
 */
import type { CrmBiError } from '../../errors.ts';
import { cubeError } from '../errors.ts';
import type { Model, ModelDimension, ModelMeasure, ModelMember, ModelSegment } from '../model/types.ts';
import { didYouMean } from '../names.ts';
import {
  addUnits,
  dayRange,
  GRANULARITIES,
  type Granularity,
  invalidDate,
  isValidTimeZone,
  parseDate,
  parseDateRange,
  pointToLocal,
  SUPPORTED_DATES,
  startOf,
  type TimeRange,
} from '../time.ts';
import { QUERY_KEYS, rawQuerySchema } from './schema.ts';
import {
  type Calculation,
  FILTER_OPERATORS,
  type FilterOperator,
  type FilterTree,
  type OrderItem,
  type Query,
  type RawQuery,
  type Subtotals,
  type Test,
  type TimeDimensionQuery,
  type TypedValue,
} from './types.ts';

export interface ParseOptions {
  /** "Now" for relative date ranges (tests inject it). */
  readonly now?: Date;
  /** Limit when the query gives none (Cube's default 10,000). */
  readonly defaultLimit?: number;
  /** Largest limit a query may ask for. */
  readonly maxLimit?: number;
  /** Deepest and/or nesting of filters. */
  readonly maxFilterDepth?: number;
  /** Most members (measures + dimensions + time dimensions + segments + order items). */
  readonly maxMembers?: number;
  /** Most filter conditions. */
  readonly maxConditions?: number;
  /** Most values in all filters together. */
  readonly maxValues?: number;
}

export const DEFAULT_LIMIT = 10_000;
export const DEFAULT_MAX_LIMIT = 50_000;
const MAX_JSON_DEPTH = 48;
const MAX_JSON_NODES = 200_000;

const parsed = new WeakSet<Query>();

/** Whether a value is a Query this module produced (so it is not parsed twice). */
export function isParsedQuery(value: unknown): value is Query {
  return typeof value === 'object' && value !== null && parsed.has(value as Query);
}

/** Parses a query given as JSON text or as an already parsed value. */
export function parseQuery(model: Model, input: unknown, options: ParseOptions = {}): Query {
  if (isParsedQuery(input)) return input;
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw cubeError(
        'invalid_json',
        `query is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  checkSize(value, options);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw cubeError('invalid_query', 'a query is a JSON object such as {"measures": ["sales.revenue"]}');
  }
  const shaped = rawQuerySchema.safeParse(value);
  if (!shaped.success) throw shapeError(shaped.error.issues);
  const query = new QueryParser(model, value as RawQuery, shaped.data as RawQuery, options).parse();
  parsed.add(query);
  return query;
}

/** A copy of a parsed query with some fields replaced (still counted as parsed). */
export function deriveQuery(query: Query, changes: Partial<Query>): Query {
  const next = { ...query, ...changes };
  parsed.add(next);
  return next;
}

/** Depth and size are checked iteratively, so a 100,000-deep document cannot overflow the stack. */
function checkSize(value: unknown, options: ParseOptions): void {
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_JSON_DEPTH) {
      throw cubeError(
        'query_too_deep',
        `query is nested more than ${MAX_JSON_DEPTH} levels deep; filters allow ${options.maxFilterDepth ?? 16} levels of and/or`,
      );
    }
    const children = Array.isArray(v) ? v : Object.values(v);
    nodes += children.length;
    if (nodes > MAX_JSON_NODES) {
      throw cubeError(
        'query_too_large',
        `query has more than ${MAX_JSON_NODES} values; split it into smaller queries`,
      );
    }
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
}

interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

function shapeError(issues: readonly Issue[]): CrmBiError {
  const issue = issues[0] as Issue;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    const key = issue.keys[0] as string;
    const hint = issue.path.length === 0 ? didYouMean(key, QUERY_KEYS) : '';
    return cubeError('invalid_query', `query${path}: unknown key '${key}'${hint}`, { path: `query${path}` });
  }
  return cubeError('invalid_query', `query${path}: ${issue.message}`, { path: `query${path}` });
}

type Kind = 'measure' | 'dimension' | 'segment';

const TIME_OPS: ReadonlySet<FilterOperator> = new Set([
  'inDateRange',
  'notInDateRange',
  'beforeDate',
  'beforeOrOnDate',
  'afterDate',
  'afterOrOnDate',
  'onTheDate',
]);
const STRING_OPS: ReadonlySet<FilterOperator> = new Set([
  'contains',
  'notContains',
  'startsWith',
  'notStartsWith',
  'endsWith',
  'notEndsWith',
]);
const COMPARE_OPS: ReadonlySet<FilterOperator> = new Set(['gt', 'gte', 'lt', 'lte']);
const EQUALITY_OPS: ReadonlySet<FilterOperator> = new Set(['equals', 'notEquals', 'in', 'notIn']);
const NULL_OPS: ReadonlySet<FilterOperator> = new Set(['set', 'notSet']);

class QueryParser {
  private readonly now: Date;
  private timezone = 'UTC';
  private conditions = 0;
  private values = 0;

  constructor(
    private readonly model: Model,
    private readonly original: RawQuery,
    private readonly raw: RawQuery,
    private readonly options: ParseOptions,
  ) {
    this.now = options.now ?? new Date();
  }

  parse(): Query {
    const raw = this.raw;
    const timezone = raw.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone)) {
      throw cubeError(
        'invalid_timezone',
        `query.timezone: unknown time zone '${timezone}'; use an IANA name such as 'Europe/Berlin' or 'UTC'`,
        { path: 'query.timezone' },
      );
    }
    this.timezone = timezone;
    const maxMembers = this.options.maxMembers ?? 200;
    const count =
      (raw.measures?.length ?? 0) +
      (raw.dimensions?.length ?? 0) +
      (raw.segments?.length ?? 0) +
      (raw.timeDimensions?.length ?? 0);
    if (count > maxMembers) {
      throw cubeError('query_too_large', `query names ${count} members; the limit is ${maxMembers}`);
    }
    const measures = unique(
      (raw.measures ?? []).map((m, i) => this.member(m, `measures[${i}]`, 'measure') as ModelMeasure),
      'measures',
    );
    const dimensions = unique(
      (raw.dimensions ?? []).map((d, i) => this.member(d, `dimensions[${i}]`, 'dimension') as ModelDimension),
      'dimensions',
    );
    const segments = unique(
      (raw.segments ?? []).map((s, i) => this.member(s, `segments[${i}]`, 'segment') as ModelSegment),
      'segments',
    );
    const timeDimensions = this.timeDimensions();

    const where: FilterTree[] = segments.map((segment) => ({ kind: 'segment', segment }));
    const having: FilterTree[] = [];
    (raw.filters ?? []).forEach((f, i) => {
      const tree = this.filter(f, `filters[${i}]`, 1);
      const cls = classify(tree);
      if (cls === 'mixed') {
        throw cubeError(
          'mixed_filter',
          `filters[${i}]: an and/or group mixes dimensions and measures; dimension conditions filter rows (WHERE) and measure conditions filter groups (HAVING), so put them in separate top-level filters`,
          { path: `filters[${i}]` },
        );
      }
      if (cls === 'having') having.push(tree);
      else if (cls === 'where') where.push(tree);
    });

    const ungrouped = raw.ungrouped ?? false;
    const calculations = this.calculations(measures, timeDimensions, ungrouped);
    const outputKeys = [
      ...measures.map((m) => m.fullName),
      ...dimensions.map((d) => d.fullName),
      ...timeDimensions.filter((t) => t.granularity).map((t) => `${t.dimension.fullName}.${t.granularity}`),
      ...calculations.map((c) => c.key),
    ];
    const dimensionKeys = [
      ...dimensions.map((d) => d.fullName),
      ...timeDimensions.filter((t) => t.granularity).map((t) => `${t.dimension.fullName}.${t.granularity}`),
    ];
    if (ungrouped && having.length > 0) {
      throw cubeError(
        'invalid_query',
        'query.filters: an ungrouped query cannot filter on measures (there are no groups)',
      );
    }
    const order = this.order(measures, dimensions, timeDimensions, calculations, outputKeys, ungrouped);
    const maxLimit = this.options.maxLimit ?? DEFAULT_MAX_LIMIT;
    const requested = raw.limit ?? raw.rowLimit;
    if (requested !== undefined && requested > maxLimit) {
      throw cubeError(
        'limit_too_large',
        `query.limit: ${requested} is above the maximum of ${maxLimit} rows; page with offset or export to a file`,
        { path: 'query.limit' },
      );
    }
    const limit = requested ?? Math.min(this.options.defaultLimit ?? DEFAULT_LIMIT, maxLimit);
    const subtotals = this.subtotals(timeDimensions, dimensionKeys, ungrouped);
    // a time dimension without a granularity only filters: it selects no column
    const bucketed = timeDimensions.filter((t) => t.granularity !== undefined).length;
    if (measures.length + dimensions.length + bucketed === 0) {
      throw cubeError(
        'invalid_query',
        'query has no measures, dimensions or time dimensions with a granularity; add at least one member',
      );
    }
    return {
      measures,
      dimensions,
      segments,
      timeDimensions,
      where: andOf(where),
      having: andOf(having),
      order,
      limit,
      offset: raw.offset ?? 0,
      total: raw.total ?? false,
      ungrouped,
      timezone,
      subtotals,
      calculations,
      raw: this.original,
    };
  }

  private member(name: string, path: string, kind: Kind): ModelMember {
    const m = this.model.members.get(name);
    if (m === undefined || !isPublic(this.model, m)) {
      const candidates = publicNames(this.model, kind);
      const hint = didYouMean(name, candidates);
      const form = /^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$/.test(name)
        ? ''
        : "; members are named 'cube.member'";
      throw cubeError('unknown_member', `${path}: unknown ${kind} '${name}'${hint}${form}`, {
        member: name,
        path,
      });
    }
    if (m.memberKind !== kind) {
      throw cubeError('wrong_member_kind', `${path}: '${name}' is a ${m.memberKind}, not a ${kind}`, {
        member: name,
        path,
      });
    }
    return m;
  }

  private anyMember(name: string, path: string): ModelDimension | ModelMeasure {
    const m = this.model.members.get(name);
    if (m === undefined || !isPublic(this.model, m) || m.memberKind === 'segment') {
      const candidates = [...publicNames(this.model, 'dimension'), ...publicNames(this.model, 'measure')];
      throw cubeError('unknown_member', `${path}: unknown member '${name}'${didYouMean(name, candidates)}`, {
        member: name,
        path,
      });
    }
    return m;
  }

  private timeDimensions(): TimeDimensionQuery[] {
    const out: TimeDimensionQuery[] = [];
    const keys = new Set<string>();
    let compares = 0;
    (this.raw.timeDimensions ?? []).forEach((t, i) => {
      const path = `timeDimensions[${i}]`;
      const dim = this.member(t.dimension, `${path}.dimension`, 'dimension') as ModelDimension;
      if (dim.type !== 'time') {
        throw cubeError(
          'wrong_member_kind',
          `${path}.dimension: '${dim.fullName}' is a ${dim.type} dimension, not a time dimension; put it in dimensions`,
          { member: dim.fullName, path },
        );
      }
      let granularity: Granularity | undefined;
      if (t.granularity !== undefined && t.granularity !== null) {
        if (!GRANULARITIES.includes(t.granularity as Granularity)) {
          throw cubeError(
            'invalid_granularity',
            `${path}.granularity: unknown granularity '${t.granularity}'${didYouMean(t.granularity, GRANULARITIES)}; use one of ${GRANULARITIES.join(', ')}`,
            { member: dim.fullName, path: `${path}.granularity` },
          );
        }
        granularity = t.granularity as Granularity;
        const key = `${dim.fullName}.${granularity}`;
        if (keys.has(key)) {
          throw cubeError('invalid_query', `${path}: '${key}' is requested twice`, { path });
        }
        keys.add(key);
      }
      const dateRange =
        t.dateRange === undefined
          ? undefined
          : parseDateRange(t.dateRange, this.now, this.timezone, `${path}.dateRange`);
      let compareDateRange: TimeRange[] | undefined;
      if (t.compareDateRange !== undefined) {
        compares++;
        if (dateRange !== undefined) {
          throw cubeError('invalid_query', `${path}: give either dateRange or compareDateRange, not both`, {
            path,
          });
        }
        if (t.compareDateRange.length === 0) {
          throw cubeError('invalid_date_range', `${path}.compareDateRange: needs at least one range`, {
            path,
          });
        }
        compareDateRange = t.compareDateRange.map((r, j) =>
          parseDateRange(r, this.now, this.timezone, `${path}.compareDateRange[${j}]`),
        );
      }
      out.push({
        dimension: dim,
        ...(granularity === undefined ? {} : { granularity }),
        ...(dateRange === undefined ? {} : { dateRange }),
        ...(compareDateRange === undefined ? {} : { compareDateRange }),
      });
    });
    if (compares > 1) {
      throw cubeError('invalid_query', 'only one time dimension may have a compareDateRange');
    }
    return out;
  }

  private filter(raw: unknown, path: string, depth: number): FilterTree {
    const maxDepth = this.options.maxFilterDepth ?? 16;
    if (depth > maxDepth) {
      throw cubeError(
        'query_too_deep',
        `${path}: filters are nested more than ${maxDepth} levels deep; flatten the and/or groups`,
        {
          path,
        },
      );
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw cubeError(
        'invalid_query',
        `${path}: a filter is an object: {member, operator, values} or {and: [...]} / {or: [...]}`,
        {
          path,
        },
      );
    }
    const obj = raw as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.includes('and') || keys.includes('or')) {
      const op = keys.includes('and') ? 'and' : 'or';
      if (keys.length !== 1) {
        throw cubeError('invalid_query', `${path}: an '${op}' group has only the '${op}' key`, { path });
      }
      const items = obj[op];
      if (!Array.isArray(items))
        throw cubeError('invalid_query', `${path}.${op}: must be an array of filters`, { path });
      return { kind: op, items: items.map((f, i) => this.filter(f, `${path}.${op}[${i}]`, depth + 1)) };
    }
    for (const k of keys) {
      if (k !== 'member' && k !== 'dimension' && k !== 'operator' && k !== 'values') {
        throw cubeError(
          'invalid_query',
          `${path}: unknown key '${k}'${didYouMean(k, ['member', 'operator', 'values', 'and', 'or'])}`,
          { path },
        );
      }
    }
    const name = obj.member ?? obj.dimension;
    if (typeof name !== 'string')
      throw cubeError('invalid_query', `${path}.member: must be a member name`, { path });
    if (typeof obj.operator !== 'string') {
      throw cubeError('invalid_query', `${path}.operator: must be one of ${FILTER_OPERATORS.join(', ')}`, {
        path,
      });
    }
    const operator = obj.operator as FilterOperator;
    if (!FILTER_OPERATORS.includes(operator)) {
      throw cubeError(
        'invalid_operator',
        `${path}.operator: unknown operator '${obj.operator}'${didYouMean(obj.operator, FILTER_OPERATORS)}`,
        { path: `${path}.operator` },
      );
    }
    const rawValues = obj.values ?? [];
    if (!Array.isArray(rawValues))
      throw cubeError('invalid_query', `${path}.values: must be an array`, { path });
    this.conditions++;
    this.values += rawValues.length;
    const maxConditions = this.options.maxConditions ?? 1000;
    const maxValues = this.options.maxValues ?? 50_000;
    if (this.conditions > maxConditions || this.values > maxValues) {
      throw cubeError(
        'query_too_large',
        `filters have more than ${maxConditions} conditions or ${maxValues} values; narrow the query`,
        { path },
      );
    }
    const member = this.anyMember(name, `${path}.member`);
    return this.condition(member, operator, rawValues, path);
  }

  private condition(
    member: ModelDimension | ModelMeasure,
    operator: FilterOperator,
    values: unknown[],
    path: string,
  ): FilterTree {
    const where = `${path} (${member.fullName} ${operator})`;
    const type = member.memberKind === 'measure' ? 'number' : member.type;
    const refuse = (why: string): never => {
      throw cubeError('invalid_operator', `${where}: ${why}`, {
        member: member.fullName,
        path: `${path}.operator`,
      });
    };
    if (operator === 'measureFilter') {
      if (member.memberKind !== 'measure')
        refuse(`measureFilter applies a measure's own filters; '${member.fullName}' is a dimension`);
      return { kind: 'measureFilter', measure: member as ModelMeasure };
    }
    if (
      member.memberKind === 'measure' &&
      !EQUALITY_OPS.has(operator) &&
      !COMPARE_OPS.has(operator) &&
      !NULL_OPS.has(operator)
    ) {
      refuse(`measures take equals, notEquals, in, notIn, gt, gte, lt, lte, set, notSet or measureFilter`);
    }
    if (TIME_OPS.has(operator) && type !== 'time')
      refuse(`'${operator}' needs a time dimension; '${member.fullName}' is ${article(type)}`);
    if (STRING_OPS.has(operator) && type !== 'string')
      refuse(`'${operator}' needs a string dimension; '${member.fullName}' is ${article(type)}`);
    if (COMPARE_OPS.has(operator) && type !== 'number' && type !== 'time') {
      refuse(`'${operator}' needs a number or time member; '${member.fullName}' is ${article(type)}`);
    }
    const count = (min: number, max: number, what: string): void => {
      if (values.length < min || values.length > max) {
        throw cubeError('invalid_filter_value', `${where}: takes ${what}, got ${values.length}`, {
          member: member.fullName,
          path: `${path}.values`,
        });
      }
    };
    const test = (t: Test): FilterTree => ({ kind: 'condition', member, operator, test: t });
    if (NULL_OPS.has(operator)) {
      count(0, 0, 'no values');
      return test({ kind: 'null', negated: operator === 'set' });
    }
    if (EQUALITY_OPS.has(operator)) {
      count(1, Number.POSITIVE_INFINITY, 'at least one value');
      const typed = values.map((v, i) => this.value(v, type, `${path}.values[${i}]`, member.fullName));
      return test({ kind: 'in', values: typed, negated: operator === 'notEquals' || operator === 'notIn' });
    }
    if (STRING_OPS.has(operator)) {
      count(1, Number.POSITIVE_INFINITY, 'at least one value');
      const strings = values.map((v, i) => {
        const t = this.value(v, 'string', `${path}.values[${i}]`, member.fullName);
        return t.kind === 'string' ? t.value : String(t.kind);
      });
      const mode = operator.replace(/^not/, '');
      const normalized = (mode[0]?.toLowerCase() ?? '') + mode.slice(1);
      return test({
        kind: 'match',
        mode: normalized as 'contains' | 'startsWith' | 'endsWith',
        values: strings,
        negated: operator.startsWith('not'),
      });
    }
    if (COMPARE_OPS.has(operator)) {
      count(1, 1, 'exactly one value');
      const op = ({ gt: '>', gte: '>=', lt: '<', lte: '<=' } as const)[
        operator as 'gt' | 'gte' | 'lt' | 'lte'
      ];
      return test({
        kind: 'compare',
        op,
        value: this.value(values[0], type, `${path}.values[0]`, member.fullName),
      });
    }
    // date operators on a time dimension
    if (operator === 'inDateRange' || operator === 'notInDateRange') {
      count(1, 2, 'a [from, to] pair or one relative range');
      const strings = values.map((v, i) => this.dateString(v, `${path}.values[${i}]`));
      const range = parseDateRange(
        strings.length === 1 ? (strings[0] as string) : strings,
        this.now,
        this.timezone,
        `${path}.values`,
      );
      return test({ kind: 'range', range, negated: operator === 'notInDateRange' });
    }
    count(1, 1, 'exactly one date');
    const text = this.dateString(values[0], `${path}.values[0]`);
    const d = parseDate(text);
    if (!d) throw invalidDate(text, `${path}.values[0]`);
    const dayStart = startOf(pointToLocal(d.point, this.timezone), 'day');
    const local = (t: typeof dayStart): TypedValue => ({ kind: 'time', point: { kind: 'local', t } });
    const exact: TypedValue = { kind: 'time', point: d.point };
    switch (operator) {
      case 'beforeDate':
        return test({ kind: 'compare', op: '<', value: d.dateOnly ? local(dayStart) : exact });
      case 'beforeOrOnDate':
        return d.dateOnly
          ? test({ kind: 'compare', op: '<', value: local(addUnits(dayStart, 'day', 1)) })
          : test({ kind: 'compare', op: '<=', value: exact });
      case 'afterDate':
        return d.dateOnly
          ? test({ kind: 'compare', op: '>=', value: local(addUnits(dayStart, 'day', 1)) })
          : test({ kind: 'compare', op: '>', value: exact });
      case 'afterOrOnDate':
        return test({ kind: 'compare', op: '>=', value: d.dateOnly ? local(dayStart) : exact });
      default: {
        const range = d.dateOnly
          ? dayRange(d)
          : dayRange({ point: { kind: 'local', t: dayStart }, dateOnly: true });
        return test({ kind: 'range', range, negated: false });
      }
    }
  }

  private dateString(v: unknown, path: string): string {
    if (typeof v !== 'string') {
      throw cubeError(
        'invalid_date',
        `${path}: dates are strings such as '2024-01-31', got ${JSON.stringify(v)}`,
        { path },
      );
    }
    return v;
  }

  private value(v: unknown, type: string, path: string, member: string): TypedValue {
    const bad = (why: string): never => {
      throw cubeError('invalid_filter_value', `${path}: ${why} for '${member}'`, { member, path });
    };
    if (v === null || v === undefined) bad('null is not a value; use the set / notSet operators');
    switch (type) {
      case 'string':
        if (typeof v === 'string') {
          if (v.length > 10_000) bad('the value is longer than 10,000 characters');
          return { kind: 'string', value: v };
        }
        if (typeof v === 'number' && Number.isFinite(v)) return { kind: 'string', value: String(v) };
        return bad(`expected a string, got ${JSON.stringify(v)}`);
      case 'number': {
        const n =
          typeof v === 'number'
            ? v
            : typeof v === 'string' && NUMBER_RE.test(v.trim())
              ? Number(v)
              : Number.NaN;
        if (!Number.isFinite(n)) bad(`expected a number, got ${JSON.stringify(v)}`);
        return { kind: 'number', value: n };
      }
      case 'boolean':
        if (v === true || v === 'true' || v === 1 || v === '1') return { kind: 'boolean', value: true };
        if (v === false || v === 'false' || v === 0 || v === '0') return { kind: 'boolean', value: false };
        return bad(`expected true or false, got ${JSON.stringify(v)}`);
      default: {
        if (typeof v !== 'string') return bad(`expected a date string, got ${JSON.stringify(v)}`);
        const d = parseDate(v);
        if (!d)
          throw cubeError(
            'invalid_date',
            `${path}: '${v}' is not a valid date for '${member}'; use YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss between ${SUPPORTED_DATES.first} and ${SUPPORTED_DATES.last}`,
            { member, path },
          );
        return { kind: 'time', point: d.point };
      }
    }
  }

  private calculations(
    measures: readonly ModelMeasure[],
    timeDimensions: readonly TimeDimensionQuery[],
    ungrouped: boolean,
  ): Calculation[] {
    const out: Calculation[] = [];
    (this.raw.calculations ?? []).forEach((c, i) => {
      const path = `calculations[${i}]`;
      const measure = measures.find((m) => m.fullName === c.measure);
      if (!measure) {
        throw cubeError(
          'invalid_calculation',
          `${path}.measure: '${c.measure}' must be one of the query's measures`,
          {
            member: c.measure,
            path,
          },
        );
      }
      if (ungrouped)
        throw cubeError('invalid_calculation', `${path}: an ungrouped query has no calculations`, { path });
      if (c.type !== 'percentOfTotal' && !timeDimensions.some((t) => t.granularity)) {
        throw cubeError(
          'invalid_calculation',
          `${path}: '${c.type}' runs along time; add a time dimension with a granularity`,
          { path },
        );
      }
      const key = `${measure.fullName}.${c.type}`;
      if (out.some((x) => x.key === key))
        throw cubeError('invalid_calculation', `${path}: '${key}' is asked twice`, { path });
      out.push({ measure, type: c.type, key });
    });
    return out;
  }

  private order(
    measures: readonly ModelMeasure[],
    dimensions: readonly ModelDimension[],
    timeDimensions: readonly TimeDimensionQuery[],
    calculations: readonly Calculation[],
    outputKeys: readonly string[],
    ungrouped: boolean,
  ): OrderItem[] {
    const raw = this.raw.order;
    if (raw === undefined) {
      const td = timeDimensions.find((t) => t.granularity);
      if (td) return [{ key: `${td.dimension.fullName}.${td.granularity}`, direction: 'asc' }];
      if (measures[0] && !ungrouped) return [{ key: measures[0].fullName, direction: 'desc' }];
      if (dimensions[0]) return [{ key: dimensions[0].fullName, direction: 'asc' }];
      return [];
    }
    let entries: [unknown, unknown][];
    if (Array.isArray(raw)) {
      entries = raw.map((e, i) => {
        if (!Array.isArray(e) || e.length !== 2) {
          throw cubeError('invalid_order', `order[${i}]: each item is [member, 'asc' | 'desc']`, {
            path: `order[${i}]`,
          });
        }
        return [e[0], e[1]];
      });
    } else if (typeof raw === 'object' && raw !== null) {
      entries = Object.entries(raw as Record<string, unknown>);
    } else {
      throw cubeError(
        'invalid_order',
        "order is an object {member: 'asc' | 'desc'} or an array of [member, direction]",
      );
    }
    if (entries.length > (this.options.maxMembers ?? 200)) {
      throw cubeError('query_too_large', `order has ${entries.length} items`);
    }
    return entries.map(([member, direction], i) => {
      const path = `order[${i}]`;
      if (typeof member !== 'string')
        throw cubeError('invalid_order', `${path}: the member must be a string`, { path });
      if (direction !== 'asc' && direction !== 'desc') {
        throw cubeError(
          'invalid_order',
          `${path}: direction of '${member}' must be 'asc' or 'desc', got ${JSON.stringify(direction)}`,
          {
            path,
            member,
          },
        );
      }
      if (outputKeys.includes(member)) return { key: member, direction };
      const td = timeDimensions.find((t) => t.dimension.fullName === member && t.granularity);
      if (td) return { key: `${member}.${td.granularity}`, direction };
      if (calculations.some((c) => c.key === member)) return { key: member, direction };
      const known = this.model.members.get(member);
      if (known && known.memberKind !== 'segment') {
        throw cubeError(
          'invalid_order',
          `${path}: cannot order by '${member}' because it is not in the query's measures, dimensions or time dimensions`,
          { path, member },
        );
      }
      throw cubeError(
        'unknown_member',
        `${path}: unknown member '${member}'${didYouMean(member, outputKeys)}`,
        {
          path,
          member,
        },
      );
    });
  }

  private subtotals(
    timeDimensions: readonly TimeDimensionQuery[],
    dimensionKeys: readonly string[],
    ungrouped: boolean,
  ): Subtotals | null {
    const raw = this.raw.subtotals;
    if (raw === undefined) return null;
    if (ungrouped) throw cubeError('invalid_subtotals', 'subtotals need grouping; remove ungrouped');
    if (dimensionKeys.length === 0) {
      throw cubeError(
        'invalid_subtotals',
        'subtotals need at least one dimension or time dimension with a granularity',
      );
    }
    const keyOf = (name: string, path: string): string => {
      if (dimensionKeys.includes(name)) return name;
      const td = timeDimensions.find((t) => t.dimension.fullName === name && t.granularity);
      if (td) return `${name}.${td.granularity}`;
      throw cubeError(
        'invalid_subtotals',
        `${path}: '${name}' is not one of the query's dimensions${didYouMean(name, dimensionKeys)}`,
        { path, member: name },
      );
    };
    if (raw === 'rollup' || raw === 'cube') {
      if (raw === 'cube' && dimensionKeys.length > 6) {
        throw cubeError(
          'invalid_subtotals',
          `subtotals 'cube' over ${dimensionKeys.length} dimensions is too many sets; use rollup or groupingSets`,
        );
      }
      return { mode: raw, over: dimensionKeys };
    }
    if ('rollup' in raw || 'cube' in raw) {
      const mode = 'rollup' in raw ? 'rollup' : 'cube';
      const list = 'rollup' in raw ? raw.rollup : raw.cube;
      const over = list.map((n, i) => keyOf(n, `subtotals.${mode}[${i}]`));
      if (over.length === 0 || new Set(over).size !== over.length) {
        throw cubeError('invalid_subtotals', `subtotals.${mode}: list distinct dimensions of the query`);
      }
      if (mode === 'cube' && over.length > 6) {
        throw cubeError(
          'invalid_subtotals',
          `subtotals.cube over ${over.length} dimensions is too many sets`,
        );
      }
      return { mode, over };
    }
    const over: string[] = [];
    const sets = raw.groupingSets.map((set, i) =>
      set.map((n, j) => {
        const key = keyOf(n, `subtotals.groupingSets[${i}][${j}]`);
        if (!over.includes(key)) over.push(key);
        return over.indexOf(key);
      }),
    );
    if (sets.length === 0)
      throw cubeError('invalid_subtotals', 'subtotals.groupingSets: give at least one set');
    return { mode: 'sets', over, sets };
  }
}

const NUMBER_RE = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function article(type: string): string {
  return `a ${type} member`;
}

function unique<T extends { fullName: string }>(list: T[], where: string): T[] {
  const seen = new Set<string>();
  for (const m of list) {
    if (seen.has(m.fullName)) {
      throw cubeError('invalid_query', `${where}: '${m.fullName}' is listed twice`, {
        member: m.fullName,
        path: where,
      });
    }
    seen.add(m.fullName);
  }
  return list;
}

function isPublic(model: Model, m: ModelMember): boolean {
  const cube = model.cubes.get(m.cube);
  return (cube?.public ?? false) && (m.memberKind === 'segment' || m.public);
}

const namesCache = new WeakMap<Model, Map<Kind, string[]>>();

function publicNames(model: Model, kind: Kind): string[] {
  let byKind = namesCache.get(model);
  if (!byKind) {
    byKind = new Map();
    namesCache.set(model, byKind);
  }
  let names = byKind.get(kind);
  if (!names) {
    names = [...model.members.values()]
      .filter((m) => m.memberKind === kind && isPublic(model, m))
      .map((m) => m.fullName);
    byKind.set(kind, names);
  }
  return names;
}

function classify(tree: FilterTree): 'where' | 'having' | 'mixed' | 'empty' {
  switch (tree.kind) {
    case 'condition':
      return tree.member.memberKind === 'measure' ? 'having' : 'where';
    case 'measureFilter':
    case 'segment':
      return 'where';
    default: {
      let out: 'where' | 'having' | 'mixed' | 'empty' = 'empty';
      for (const item of tree.items) {
        const c = classify(item);
        if (c === 'empty') continue;
        if (out === 'empty') out = c;
        else if (out !== c) return 'mixed';
      }
      return out;
    }
  }
}

function andOf(items: FilterTree[]): FilterTree | null {
  const kept = items.filter((t) => classify(t) !== 'empty');
  if (kept.length === 0) return null;
  if (kept.length === 1) return kept[0] as FilterTree;
  return { kind: 'and', items: kept };
}
