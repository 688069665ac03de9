/**
 * Loads and validates the semantic model: YAML files → zod shape check → name resolution →
 * join graph → checks (cycles, fan-out-safe measure inputs, hierarchies, pre-aggregations).
 * Every problem is collected with its file, path and line, then thrown once as a ModelError.
 *
 * @example
 * const model = await loadModel('model');
 * model.members.get('sales.revenue'); // { memberKind: 'measure', type: 'sum', ... }
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { cubeError, ModelError, type ModelProblem } from '../errors.ts';
import { didYouMean, editDistance, humanize } from '../names.ts';
import { type Granularity, isValidTimeZone } from '../time.ts';
import { type CubeSpec, modelFileSchema } from './schema.ts';
import { parseTemplate, sameTemplate, type TemplateScope, templateCubes, templateRefs } from './template.ts';
import type {
  CubeSource,
  JoinEdge,
  Model,
  ModelCube,
  ModelDimension,
  ModelHierarchy,
  ModelJoin,
  ModelMeasure,
  ModelMember,
  ModelSegment,
  PreAggregation,
  Relationship,
  SqlTemplate,
} from './types.ts';

export interface ModelSourceFile {
  readonly file: string;
  readonly text: string;
}

export interface LoadModelOptions {
  /**
   * The dimension a region-limited security context filters on; default 'customers.access_region'
   * (the golden customer's current region), else 'customers.region', when the model has it.
   */
  readonly securityMember?: string;
}

/** The model shipped with crm-bi (`model/` at the package root); env CRM_BI_MODEL overrides. */
export function defaultModelDir(): string {
  return process.env.CRM_BI_MODEL ?? resolve(import.meta.dirname, '..', '..', '..', 'model');
}

/** Reads every `*.yml` / `*.yaml` file of a folder (sorted by name) and validates the model. */
export async function loadModel(
  dir: string = defaultModelDir(),
  options: LoadModelOptions = {},
): Promise<Model> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/i.test(n))
      .sort();
  } catch {
    throw cubeError(
      'model_not_found',
      `model folder ${dir} cannot be read; pass an existing folder of *.yml files`,
      {
        file: dir,
      },
    );
  }
  if (names.length === 0) {
    throw cubeError('model_not_found', `model folder ${dir} has no *.yml files`, { file: dir });
  }
  const sources = names.map((n) => ({ file: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
  return loadModelFromSources(sources, options);
}

interface RawCube {
  readonly spec: CubeSpec;
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly index: number;
}

type Path = readonly (string | number)[];

class Problems {
  readonly list: ModelProblem[] = [];
  add(raw: { file: string; doc?: Document; lines?: LineCounter }, path: Path, message: string): void {
    let line: number | undefined;
    if (raw.doc && raw.lines) {
      for (let n = path.length; n > 0 && line === undefined; n--) {
        const node = raw.doc.getIn(path.slice(0, n), true) as
          | { range?: [number, number, number] }
          | undefined;
        if (node && typeof node === 'object' && node.range) line = raw.lines.linePos(node.range[0]).line;
      }
    }
    const p = formatPath(path);
    this.list.push(
      line === undefined ? { file: raw.file, path: p, message } : { file: raw.file, path: p, line, message },
    );
  }
}

function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Validates a model given as file texts (used by loadModel and by tests). */
export function loadModelFromSources(
  sources: readonly ModelSourceFile[],
  options: LoadModelOptions = {},
): Model {
  const problems = new Problems();
  const raws: RawCube[] = [];
  for (const source of sources) {
    const lines = new LineCounter();
    const doc = parseDocument(source.text, { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = e.linePos?.[0]?.line ?? (e.pos ? lines.linePos(e.pos[0]).line : undefined);
        const message = `YAML syntax: ${e.message.split('\n')[0]}`;
        problems.list.push(
          line === undefined
            ? { file: source.file, path: '', message }
            : { file: source.file, path: '', line, message },
        );
      }
      continue;
    }
    const js: unknown = doc.toJS() ?? {};
    if (!isModelFile(js)) continue;
    const parsed = modelFileSchema.safeParse(js);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const message =
          issue.code === 'unrecognized_keys'
            ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`
            : issue.message;
        problems.add({ file: source.file, doc, lines }, path, message);
      }
      continue;
    }
    parsed.data.cubes.forEach((spec, index) => {
      raws.push({ spec, file: source.file, doc, lines, index });
    });
  }
  if (problems.list.length > 0) throw new ModelError(problems.list);
  return new ModelBuilder(raws, problems, options).build();
}

/**
 * Whether a YAML file of the model folder is a model file. Other YAML files may live beside the
 * cubes (the mining's rfm-segments.yml); a file is skipped when its top level is a mapping with no
 * `cubes` key and no key that looks like a misspelt `cubes`.
 */
function isModelFile(js: unknown): boolean {
  if (typeof js !== 'object' || js === null || Array.isArray(js)) return true;
  const keys = Object.keys(js);
  if (keys.includes('cubes') || keys.length === 0) return true;
  return keys.some((k) => editDistance(k.toLowerCase(), 'cubes', 3) <= 2);
}

const RESERVED = new Set(['CUBE']);

class ModelBuilder {
  private readonly byName = new Map<string, RawCube>();
  private readonly kinds = new Map<string, Map<string, 'dimension' | 'measure' | 'segment'>>();
  private readonly cubeNames = new Set<string>();

  constructor(
    private readonly raws: readonly RawCube[],
    private readonly problems: Problems,
    private readonly options: LoadModelOptions,
  ) {}

  private at(raw: RawCube, ...path: (string | number)[]): [RawCube, Path] {
    return [raw, ['cubes', raw.index, ...path]];
  }

  private problem(raw: RawCube, path: Path, message: string): void {
    this.problems.add(raw, path, message);
  }

  build(): Model {
    for (const raw of this.raws) {
      const name = raw.spec.name;
      if (this.byName.has(name)) {
        const first = this.byName.get(name) as RawCube;
        this.problem(raw, ['cubes', raw.index, 'name'], `cube '${name}' is already defined in ${first.file}`);
        continue;
      }
      if (RESERVED.has(name)) this.problem(raw, ['cubes', raw.index, 'name'], `'${name}' is a reserved name`);
      this.byName.set(name, raw);
      this.cubeNames.add(name);
      const kinds = new Map<string, 'dimension' | 'measure' | 'segment'>();
      const seen = (kind: 'dimension' | 'measure' | 'segment', list: { name: string }[], key: string) => {
        list.forEach((m, i) => {
          if (kinds.has(m.name)) {
            this.problem(
              raw,
              ['cubes', raw.index, key, i, 'name'],
              `member '${name}.${m.name}' is defined twice`,
            );
          } else if (RESERVED.has(m.name)) {
            this.problem(raw, ['cubes', raw.index, key, i, 'name'], `'${m.name}' is a reserved name`);
          } else kinds.set(m.name, kind);
        });
      };
      seen('dimension', raw.spec.dimensions, 'dimensions');
      seen('measure', raw.spec.measures, 'measures');
      seen('segment', raw.spec.segments, 'segments');
      this.kinds.set(name, kinds);
      if ((raw.spec.sql_table === undefined) === (raw.spec.sql === undefined)) {
        this.problem(raw, ['cubes', raw.index], "needs exactly one of 'sql_table' or 'sql'");
      } else if (raw.spec.sql_clickhouse !== undefined && raw.spec.sql === undefined) {
        this.problem(raw, ['cubes', raw.index, 'sql_clickhouse'], "goes with 'sql', not 'sql_table'");
      }
    }

    const members = new Map<string, ModelMember>();
    const cubeParts = new Map<
      string,
      {
        raw: RawCube;
        source: CubeSource;
        dims: Map<string, ModelDimension>;
        measures: Map<string, ModelMeasure>;
        segments: Map<string, ModelSegment>;
      }
    >();
    const joins: ModelJoin[] = [];
    for (const raw of this.byName.values()) {
      const cube = raw.spec.name;
      const cubeTitle = raw.spec.title ?? humanize(cube);
      const source = this.source(raw);
      const dims = new Map<string, ModelDimension>();
      raw.spec.dimensions.forEach((d, i) => {
        const sql = this.template(raw, ['dimensions', i, 'sql'], d.sql, ['dimension'], true);
        const dim: ModelDimension = {
          memberKind: 'dimension',
          cube,
          name: d.name,
          fullName: `${cube}.${d.name}`,
          ...titles(cubeTitle, d.name, d.title),
          ...(d.description === undefined ? {} : { description: d.description }),
          ...(d.format === undefined ? {} : { format: d.format }),
          public: d.public ?? d.shown ?? true,
          type: d.type,
          sql,
          primaryKey: d.primary_key ?? false,
          timeStorage: d.time_storage ?? 'timestamptz',
          cubes: new Set(),
        };
        if (d.time_storage !== undefined && d.type !== 'time') {
          this.problem(
            ...this.at(raw, 'dimensions', i, 'time_storage'),
            'only time dimensions have a time_storage',
          );
        }
        if (!dims.has(d.name)) dims.set(d.name, dim);
      });
      const measures = new Map<string, ModelMeasure>();
      raw.spec.measures.forEach((m, i) => {
        const isNumber = m.type === 'number';
        if (m.sql === undefined && m.type !== 'count') {
          this.problem(...this.at(raw, 'measures', i), `a '${m.type}' measure needs 'sql'`);
        }
        if (isNumber && m.filters && m.filters.length > 0) {
          this.problem(
            ...this.at(raw, 'measures', i, 'filters'),
            'number measures cannot have filters; filter the measures they use',
          );
        }
        const sql =
          m.sql === undefined
            ? undefined
            : this.template(raw, ['measures', i, 'sql'], m.sql, isNumber ? ['measure'] : ['dimension'], true);
        if (isNumber && sql !== undefined && templateCubes(sql).length > 0) {
          this.problem(
            ...this.at(raw, 'measures', i, 'sql'),
            'a number measure combines other measures ({measure}); it cannot read columns directly',
          );
        }
        const filters = (m.filters ?? []).map((f, j) =>
          this.template(raw, ['measures', i, 'filters', j, 'sql'], f.sql, ['dimension'], true),
        );
        const measure: ModelMeasure = {
          memberKind: 'measure',
          cube,
          name: m.name,
          fullName: `${cube}.${m.name}`,
          ...titles(cubeTitle, m.name, m.title),
          ...(m.description === undefined ? {} : { description: m.description }),
          ...(m.format === undefined ? {} : { format: m.format }),
          public: m.public ?? m.shown ?? true,
          type: m.type,
          ...(sql === undefined ? {} : { sql }),
          filters,
          cubes: new Set([cube]),
          references: isNumber ? templateRefs(sql, 'measure') : [],
        };
        if (!measures.has(m.name)) measures.set(m.name, measure);
      });
      const segments = new Map<string, ModelSegment>();
      raw.spec.segments.forEach((s, i) => {
        const sql = this.template(raw, ['segments', i, 'sql'], s.sql, ['dimension'], true);
        const seg: ModelSegment = {
          memberKind: 'segment',
          cube,
          name: s.name,
          fullName: `${cube}.${s.name}`,
          ...titles(cubeTitle, s.name, s.title),
          ...(s.description === undefined ? {} : { description: s.description }),
          sql,
          cubes: new Set(),
        };
        if (!segments.has(s.name)) segments.set(s.name, seg);
      });
      raw.spec.joins.forEach((j, i) => {
        if (!this.cubeNames.has(j.name)) {
          this.problem(
            ...this.at(raw, 'joins', i, 'name'),
            `unknown join target cube '${j.name}'${didYouMean(j.name, this.cubeNames)}`,
          );
          return;
        }
        if (j.name === cube) {
          this.problem(...this.at(raw, 'joins', i, 'name'), 'a cube cannot join itself');
          return;
        }
        const on = this.template(raw, ['joins', i, 'sql'], j.sql, ['dimension'], true);
        const used = new Set([
          ...templateCubes(on),
          ...templateRefs(on, 'dimension').map((r) => r.split('.')[0]),
        ]);
        for (const c of used) {
          if (c !== cube && c !== j.name) {
            this.problem(
              ...this.at(raw, 'joins', i, 'sql'),
              `a join to '${j.name}' may only use cubes '${cube}' and '${j.name}', not '${c}'`,
            );
          }
        }
        joins.push({ from: cube, to: j.name, relationship: j.relationship, on });
      });
      for (const d of dims.values()) members.set(d.fullName, d);
      for (const m of measures.values()) members.set(m.fullName, m);
      for (const s of segments.values()) members.set(s.fullName, s);
      cubeParts.set(cube, { raw, source, dims, measures, segments });
    }

    this.resolveDimensionCubes(members, cubeParts);
    this.checkNumberCycles(members, cubeParts);
    const edges = this.buildEdges(joins, cubeParts);

    const cubes = new Map<string, ModelCube>();
    const hierarchies = new Map<string, ModelHierarchy>();
    const preAggregations: PreAggregation[] = [];
    for (const [name, parts] of cubeParts) {
      const { raw } = parts;
      this.checkMeasureInputs(parts.measures, edges, raw);
      const primaryKey = [...parts.dims.values()].filter((d) => d.primaryKey).map((d) => d.fullName);
      const multipliable = [...parts.measures.values()].some((m) => ['count', 'sum', 'avg'].includes(m.type));
      if (primaryKey.length === 0 && multipliable) {
        this.problem(
          ...this.at(raw),
          `cube '${name}' has count/sum/avg measures but no dimension with primary_key: true; fan-out-safe aggregation needs the key`,
        );
      }
      const cubeHierarchies = new Map<string, ModelHierarchy>();
      raw.spec.hierarchies.forEach((h, i) => {
        const levels: string[] = [];
        h.levels.forEach((ref, j) => {
          const full = ref.includes('.') ? ref : `${name}.${ref}`;
          const member = members.get(full);
          if (member?.memberKind !== 'dimension') {
            this.problem(
              ...this.at(raw, 'hierarchies', i, 'levels', j),
              `unknown dimension '${full}'${didYouMean(full, dimensionNames(members))}`,
            );
          } else if (member.type === 'time') {
            this.problem(
              ...this.at(raw, 'hierarchies', i, 'levels', j),
              `'${full}' is a time dimension; time drills by granularity (year → quarter → month → day) without a hierarchy`,
            );
          } else levels.push(full);
        });
        const hierarchy: ModelHierarchy = {
          cube: name,
          name: h.name,
          fullName: `${name}.${h.name}`,
          title: h.title ?? humanize(h.name),
          levels,
        };
        cubeHierarchies.set(h.name, hierarchy);
        hierarchies.set(hierarchy.fullName, hierarchy);
      });
      const cubePre: PreAggregation[] = [];
      raw.spec.pre_aggregations.forEach((p, i) => {
        const pre = this.preAggregation(raw, i, p, parts, members, edges);
        if (pre) {
          cubePre.push(pre);
          preAggregations.push(pre);
        }
      });
      cubes.set(name, {
        name,
        title: raw.spec.title ?? humanize(name),
        ...(raw.spec.description === undefined ? {} : { description: raw.spec.description }),
        file: raw.file,
        source: parts.source,
        public: raw.spec.public ?? raw.spec.shown ?? true,
        shared: raw.spec.shared ?? false,
        primaryKey,
        measures: parts.measures,
        dimensions: parts.dims,
        segments: parts.segments,
        hierarchies: cubeHierarchies,
        preAggregations: cubePre,
      });
    }

    // The security rule: a region-limited caller sees a customer when its golden customer's current
    // region (customers.access_region) is allowed; models without it fall back to customers.region.
    let securityMember = this.options.securityMember;
    for (const candidate of ['customers.access_region', 'customers.region']) {
      if (securityMember === undefined && members.get(candidate)?.memberKind === 'dimension') {
        securityMember = candidate;
      }
    }
    if (securityMember !== undefined && members.get(securityMember)?.memberKind !== 'dimension') {
      this.problems.list.push({
        file: '(options)',
        path: 'securityMember',
        message: `security member '${securityMember}' is not a dimension of the model`,
      });
    }
    if (this.problems.list.length > 0) throw new ModelError(this.problems.list);
    return {
      cubes,
      members,
      joins,
      edges,
      hierarchies,
      preAggregations,
      ...(securityMember === undefined ? {} : { securityMember }),
    };
  }

  private source(raw: RawCube): CubeSource {
    if (raw.spec.sql_table !== undefined) {
      const [a, b] = raw.spec.sql_table.split('.') as [string, string | undefined];
      return b === undefined ? { kind: 'table', table: a } : { kind: 'table', schema: a, table: b };
    }
    const scope = this.scope(raw.spec.name, [], false);
    const { template, errors } = parseTemplate(raw.spec.sql ?? '', scope);
    for (const e of errors) this.problem(...this.at(raw, 'sql'), e);
    if (raw.spec.sql_clickhouse === undefined) return { kind: 'sql', sql: template };
    if (raw.spec.sql_clickhouse === false)
      return { kind: 'sql', sql: template, dialectSql: { clickhouse: null } };
    const clickhouse = parseTemplate(raw.spec.sql_clickhouse, scope);
    for (const e of clickhouse.errors) this.problem(...this.at(raw, 'sql_clickhouse'), e);
    return { kind: 'sql', sql: template, dialectSql: { clickhouse: clickhouse.template } };
  }

  private scope(cube: string, allow: ('dimension' | 'measure')[], crossCube: boolean): TemplateScope {
    return {
      cube,
      cubes: this.cubeNames,
      memberKind: (c, n) => this.kinds.get(c)?.get(n),
      allow: new Set(allow),
      crossCube,
    };
  }

  private template(
    raw: RawCube,
    path: (string | number)[],
    sql: string,
    allow: ('dimension' | 'measure')[],
    crossCube: boolean,
  ): SqlTemplate {
    const { template, errors } = parseTemplate(sql, this.scope(raw.spec.name, allow, crossCube));
    for (const e of errors) this.problem(...this.at(raw, ...path), e);
    return template;
  }

  /** Fills each dimension's and segment's `cubes` (transitively through member references); finds cycles. */
  private resolveDimensionCubes(
    members: Map<string, ModelMember>,
    cubeParts: Map<
      string,
      {
        raw: RawCube;
        dims: Map<string, ModelDimension>;
        segments: Map<string, ModelSegment>;
        measures: Map<string, ModelMeasure>;
      }
    >,
  ): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (full: string, trail: string[]): Set<string> => {
      const dim = members.get(full) as ModelDimension;
      if (state.get(full) === 'done') return dim.cubes as Set<string>;
      const set = dim.cubes as Set<string>;
      if (state.get(full) === 'visiting') {
        const raw = cubeParts.get(dim.cube)?.raw;
        if (raw) {
          const i = raw.spec.dimensions.findIndex((d) => d.name === dim.name);
          this.problem(
            ...this.at(raw, 'dimensions', i, 'sql'),
            `circular reference: ${[...trail, full].join(' → ')}`,
          );
        }
        return set;
      }
      state.set(full, 'visiting');
      set.add(dim.cube);
      for (const c of templateCubes(dim.sql)) set.add(c);
      for (const ref of templateRefs(dim.sql, 'dimension'))
        for (const c of visit(ref, [...trail, full])) set.add(c);
      state.set(full, 'done');
      return set;
    };
    for (const m of members.values()) {
      if (m.memberKind === 'dimension') visit(m.fullName, []);
    }
    const addTemplate = (set: Set<string>, t: SqlTemplate | undefined) => {
      for (const c of templateCubes(t)) set.add(c);
      for (const ref of templateRefs(t, 'dimension')) {
        const d = members.get(ref);
        if (d?.memberKind === 'dimension') for (const c of d.cubes) set.add(c);
      }
    };
    for (const m of members.values()) {
      if (m.memberKind === 'segment') {
        const set = m.cubes as Set<string>;
        set.add(m.cube);
        addTemplate(set, m.sql);
      } else if (m.memberKind === 'measure' && m.type !== 'number') {
        const set = m.cubes as Set<string>;
        addTemplate(set, m.sql);
        for (const f of m.filters) addTemplate(set, f);
      }
    }
  }

  private checkNumberCycles(
    members: Map<string, ModelMember>,
    cubeParts: Map<string, { raw: RawCube }>,
  ): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (full: string, trail: string[]): void => {
      const s = state.get(full);
      if (s === 'done') return;
      const m = members.get(full) as ModelMeasure;
      if (s === 'visiting') {
        const raw = cubeParts.get(m.cube)?.raw;
        if (raw) {
          const i = raw.spec.measures.findIndex((x) => x.name === m.name);
          this.problem(
            ...this.at(raw, 'measures', i, 'sql'),
            `circular number measures: ${[...trail, full].join(' → ')}`,
          );
        }
        return;
      }
      state.set(full, 'visiting');
      for (const ref of m.references) visit(ref, [...trail, full]);
      state.set(full, 'done');
    };
    for (const m of members.values())
      if (m.memberKind === 'measure' && m.type === 'number') visit(m.fullName, []);
  }

  private buildEdges(
    joins: readonly ModelJoin[],
    cubeParts: Map<string, { raw: RawCube }>,
  ): Map<string, JoinEdge[]> {
    const edges = new Map<string, JoinEdge[]>();
    for (const c of cubeParts.keys()) edges.set(c, []);
    for (const j of joins) {
      const forward = edges.get(j.from) as JoinEdge[];
      const backward = edges.get(j.to) as JoinEdge[];
      const existing = forward.find((e) => e.to === j.to);
      if (existing) {
        if (existing.relationship !== j.relationship) {
          const raw = cubeParts.get(j.from)?.raw;
          if (raw) {
            const i = raw.spec.joins.findIndex((x) => x.name === j.to);
            this.problem(
              ...this.at(raw, 'joins', i, 'relationship'),
              `'${j.from}' → '${j.to}' is ${j.relationship} here but ${existing.relationship} where '${j.to}' declares the join`,
            );
          }
        }
        continue;
      }
      forward.push({ to: j.to, relationship: j.relationship, on: j.on });
      backward.push({ to: j.from, relationship: reverse(j.relationship), on: j.on });
    }
    return edges;
  }

  /** A measure's inputs must come from cubes on the 'one' side of its own cube, so each row of its cube has one value. */
  private checkMeasureInputs(
    measures: Map<string, ModelMeasure>,
    edges: Map<string, JoinEdge[]>,
    raw: RawCube,
  ): void {
    let i = -1;
    for (const m of raw.spec.measures) {
      i++;
      const measure = measures.get(m.name);
      if (!measure || measure.type === 'number') continue;
      for (const c of measure.cubes) {
        if (c !== measure.cube && !reachableWithoutFanOut(edges, measure.cube, c)) {
          this.problem(
            ...this.at(raw, 'measures', i, 'sql'),
            `measure '${measure.fullName}' reads cube '${c}', which is not on the 'one' side of '${measure.cube}'; define the measure in '${c}'`,
          );
        }
      }
    }
  }

  private preAggregation(
    raw: RawCube,
    i: number,
    p: CubeSpec['pre_aggregations'][number],
    parts: { dims: Map<string, ModelDimension>; measures: Map<string, ModelMeasure> },
    members: Map<string, ModelMember>,
    edges: Map<string, JoinEdge[]>,
  ): PreAggregation | undefined {
    const cube = raw.spec.name;
    const before = this.problems.list.length;
    const full = (ref: string) => (ref.includes('.') ? ref : `${cube}.${ref}`);
    const dimensions: string[] = [];
    p.dimensions.forEach((ref, j) => {
      const name = full(ref);
      const d = members.get(name);
      if (d?.memberKind !== 'dimension') {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'dimensions', j),
          `unknown dimension '${name}'${didYouMean(name, dimensionNames(members))}`,
        );
        return;
      }
      if (d.type === 'time' && name === full(p.time_dimension ?? '')) {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'dimensions', j),
          `'${name}' is the rollup's time_dimension; it is stored by its granularity`,
        );
        return;
      }
      // another time dimension is stored as its value (grouped by as it is, never bucketed)
      for (const c of d.cubes) {
        if (c !== cube && !reachableWithoutFanOut(edges, cube, c)) {
          this.problem(
            ...this.at(raw, 'pre_aggregations', i, 'dimensions', j),
            `'${name}' is on the 'many' side of '${cube}'; a rollup of '${cube}' measures cannot be grouped by it`,
          );
        }
      }
      dimensions.push(name);
    });
    const measures: string[] = [];
    const storedDistinct: string[] = [];
    const determinedByKey: string[] = [];
    (p.determined_by_key ?? []).forEach((ref, j) => {
      const name = full(ref);
      if (!dimensions.includes(name)) {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'determined_by_key', j),
          `'${name}' is not one of the rollup's dimensions`,
        );
      } else determinedByKey.push(name);
    });
    const addMeasure = (name: string, path: (string | number)[], trail: number): void => {
      const m = members.get(name);
      if (m?.memberKind !== 'measure' || m.cube !== cube) {
        this.problem(
          ...this.at(raw, ...path),
          `'${name}' is not a measure of cube '${cube}'${didYouMean(
            name,
            [...parts.measures.values()].map((x) => x.fullName),
          )}`,
        );
        return;
      }
      if (m.type === 'number') {
        if (trail > 20) return;
        for (const r of m.references) addMeasure(r, path, trail + 1);
        return;
      }
      if (m.type === 'count_distinct' || m.type === 'count_distinct_approx') {
        const keyDim = dimensions.some((d) => sameTemplate((members.get(d) as ModelDimension).sql, m.sql));
        if (!keyDim) {
          if (m.type === 'count_distinct' && p.determined_by_key !== undefined) {
            // stored as a count per row, re-added only over dimensions its key decides (plan/rollups.ts)
            if (!storedDistinct.includes(name)) storedDistinct.push(name);
            if (!measures.includes(name)) measures.push(name);
            return;
          }
          this.problem(
            ...this.at(raw, ...path),
            `'${name}' (${m.type}) is not additive; a rollup can hold it only when a dimension with the same sql is in its dimensions, or as a count per row with determined_by_key`,
          );
          return;
        }
        if (m.filters.length > 0) {
          // the routed query counts the stored key column, so the filter would be lost
          this.problem(
            ...this.at(raw, ...path),
            `'${name}' (${m.type}) has filters; a rollup can hold it only unfiltered (put the condition in its sql: CASE WHEN ... THEN key END)`,
          );
          return;
        }
      }
      if (!measures.includes(name)) measures.push(name);
    };
    p.measures.forEach((ref, j) => {
      addMeasure(full(ref), ['pre_aggregations', i, 'measures', j], 0);
    });
    let timeDimension: string | undefined;
    if (p.time_dimension !== undefined) {
      const name = full(p.time_dimension);
      const d = members.get(name);
      if (d?.memberKind !== 'dimension' || d.type !== 'time') {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'time_dimension'),
          `'${name}' is not a time dimension`,
        );
      } else if ([...d.cubes].some((c) => c !== cube && !reachableWithoutFanOut(edges, cube, c))) {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'time_dimension'),
          `'${name}' is on the 'many' side of '${cube}'`,
        );
      } else timeDimension = name;
    }
    if ((p.time_dimension === undefined) !== (p.granularity === undefined)) {
      this.problem(...this.at(raw, 'pre_aggregations', i), 'time_dimension and granularity go together');
    }
    const timezone = p.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone)) {
      this.problem(...this.at(raw, 'pre_aggregations', i, 'timezone'), `unknown time zone '${timezone}'`);
    }
    if (
      p.determined_by_key !== undefined &&
      storedDistinct.length === 0 &&
      this.problems.list.length === before
    ) {
      this.problem(
        ...this.at(raw, 'pre_aggregations', i, 'determined_by_key'),
        'determined_by_key needs a count_distinct measure stored without its key dimension',
      );
    }
    const partitionBy: string[] = [];
    (p.partitions?.by ?? []).forEach((ref, j) => {
      const name = full(ref);
      const d = members.get(name);
      if (!dimensions.includes(name) || d?.memberKind !== 'dimension') {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'partitions', 'by', j),
          `'${name}' is not one of the rollup's dimensions`,
        );
      } else if (d.type !== 'number' && d.type !== 'string') {
        this.problem(
          ...this.at(raw, 'pre_aggregations', i, 'partitions', 'by', j),
          `'${name}' is a ${d.type} dimension; a rollup is partitioned by number or string dimensions`,
        );
      } else if (!partitionBy.includes(name)) partitionBy.push(name);
    });
    if (measures.length === 0 && this.problems.list.length === before) {
      this.problem(...this.at(raw, 'pre_aggregations', i, 'measures'), 'a rollup needs at least one measure');
    }
    if (this.problems.list.length > before) return undefined;
    const definition = {
      source: raw.spec.sql_table ?? raw.spec.sql,
      measures: measures.map((m) => {
        const x = members.get(m) as ModelMeasure;
        return [m, x.type, x.sql, x.filters];
      }),
      dimensions: dimensions.map((d) => [d, (members.get(d) as ModelDimension).sql]),
      timeDimension: timeDimension && [timeDimension, (members.get(timeDimension) as ModelDimension).sql],
      granularity: p.granularity,
      timezone,
      ...(p.determined_by_key === undefined ? {} : { storedDistinct, determinedByKey }),
      ...(p.partitions === undefined ? {} : { partitions: [partitionBy, p.partitions.sql] }),
    };
    return {
      cube,
      name: p.name,
      fullName: `${cube}.${p.name}`,
      table: `${cube}__${p.name}`,
      measures,
      dimensions,
      ...(timeDimension === undefined ? {} : { timeDimension }),
      ...(p.granularity === undefined ? {} : { granularity: p.granularity as Granularity }),
      timezone,
      storedDistinct,
      determinedByKey,
      ...(p.partitions === undefined ? {} : { partitions: { by: partitionBy, sql: p.partitions.sql } }),
      hash: fnv1a(JSON.stringify(definition)),
    };
  }
}

function dimensionNames(members: Map<string, ModelMember>): string[] {
  return [...members.values()].filter((m) => m.memberKind === 'dimension').map((m) => m.fullName);
}

function titles(
  cubeTitle: string,
  name: string,
  title: string | undefined,
): { title: string; shortTitle: string } {
  const short = title ?? humanize(name);
  return { title: `${cubeTitle} ${short}`, shortTitle: short };
}

export function reverse(r: Relationship): Relationship {
  return r === 'many_to_one' ? 'one_to_many' : r === 'one_to_many' ? 'many_to_one' : 'one_to_one';
}

/** Whether `to` is reachable from `from` through many_to_one / one_to_one joins only. */
export function reachableWithoutFanOut(
  edges: ReadonlyMap<string, readonly JoinEdge[]>,
  from: string,
  to: string,
): boolean {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === to) return true;
    for (const e of edges.get(c) ?? []) {
      if (e.relationship !== 'one_to_many' && !seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return false;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
