/**
 * Model SQL templates. `{CUBE}` is the cube's own alias, `{other}` another cube's alias,
 * `{member}` / `{CUBE.member}` / `{other.member}` a member's expression, a bare column name
 * (`revenue`) the column of the cube, and `{LATEST_RUN_ID}` / `{PREVIOUS_RUN_ID}` the id of the
 * latest mining run and of the run before it (src/cube/run-ids.ts: bound as a parameter where the
 * engine knows it, else the scalar subquery over mining.latest_run / mining.previous_run). Text
 * between references is kept verbatim: it is written by the model's author, never by a query.
 */
import type { RunRef, SqlTemplate, TemplatePart } from './types.ts';

/** The run references a template may hold, by their spelling. */
const RUN_REFS: ReadonlyMap<string, RunRef> = new Map([
  ['LATEST_RUN_ID', 'latest'],
  ['PREVIOUS_RUN_ID', 'previous'],
]);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REF = /\$?\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}/g;

/** What a template may refer to, seen from the cube that owns it. */
export interface TemplateScope {
  readonly cube: string;
  readonly cubes: ReadonlySet<string>;
  /** member kind by cube and name */
  memberKind(cube: string, name: string): 'dimension' | 'measure' | 'segment' | undefined;
  /** Which member kinds the template may reference. */
  readonly allow: ReadonlySet<'dimension' | 'measure'>;
  /** Whether `{other}` / `{other.member}` may name other cubes. */
  readonly crossCube: boolean;
}

export interface TemplateResult {
  readonly template: SqlTemplate;
  readonly errors: readonly string[];
}

export function parseTemplate(sql: string, scope: TemplateScope): TemplateResult {
  const errors: string[] = [];
  const trimmed = sql.trim();
  if (IDENT.test(trimmed) && trimmed !== 'CUBE') {
    return { template: { parts: [{ kind: 'column', cube: scope.cube, column: trimmed }] }, errors };
  }
  if (/;/.test(sql.replace(/'[^']*'/g, "''"))) errors.push("must be one SQL expression (no ';')");
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of sql.matchAll(REF)) {
    const index = m.index ?? 0;
    if (index > last) parts.push({ kind: 'text', text: sql.slice(last, index) });
    last = index + m[0].length;
    const a = m[1] as string;
    const b = m[2];
    const part = resolveRef(a, b, scope, errors, m[0]);
    if (part) parts.push(part);
  }
  if (last < sql.length) parts.push({ kind: 'text', text: sql.slice(last) });
  return { template: { parts: mergeText(parts) }, errors };
}

function resolveRef(
  a: string,
  b: string | undefined,
  scope: TemplateScope,
  errors: string[],
  raw: string,
): TemplatePart | undefined {
  if (b === undefined) {
    if (a === 'CUBE') return { kind: 'cube', cube: scope.cube };
    const run = RUN_REFS.get(a);
    if (run !== undefined) return { kind: 'run', run };
    const kind = scope.memberKind(scope.cube, a);
    const isCube = scope.cubes.has(a) && scope.crossCube;
    if (kind !== undefined && !(isCube && (kind === 'segment' || !scope.allow.has(kind)))) {
      return memberPart(scope.cube, a, kind, scope, errors, raw);
    }
    if (scope.cubes.has(a)) {
      if (!scope.crossCube) {
        errors.push(`${raw}: may only refer to its own cube`);
        return undefined;
      }
      return { kind: 'cube', cube: a };
    }
    errors.push(`${raw}: '${a}' is neither a member of cube '${scope.cube}' nor a cube`);
    return undefined;
  }
  const cube = a === 'CUBE' ? scope.cube : a;
  if (!scope.cubes.has(cube)) {
    errors.push(`${raw}: unknown cube '${a}'`);
    return undefined;
  }
  if (cube !== scope.cube && !scope.crossCube) {
    errors.push(`${raw}: may only refer to its own cube`);
    return undefined;
  }
  const kind = scope.memberKind(cube, b);
  if (kind === undefined) {
    errors.push(`${raw}: cube '${cube}' has no member '${b}'`);
    return undefined;
  }
  return memberPart(cube, b, kind, scope, errors, raw);
}

function memberPart(
  cube: string,
  name: string,
  kind: 'dimension' | 'measure' | 'segment',
  scope: TemplateScope,
  errors: string[],
  raw: string,
): TemplatePart | undefined {
  if (kind === 'segment' || !scope.allow.has(kind)) {
    const allowed = [...scope.allow].map((k) => `${k}s`).join(' or ');
    errors.push(
      `${raw}: refers to ${kind} '${cube}.${name}', but only ${allowed || 'columns'} may be used here`,
    );
    return undefined;
  }
  return { kind, member: `${cube}.${name}` };
}

function mergeText(parts: TemplatePart[]): TemplatePart[] {
  const out: TemplatePart[] = [];
  for (const p of parts) {
    const prev = out[out.length - 1];
    if (p.kind === 'text' && prev?.kind === 'text')
      out[out.length - 1] = { kind: 'text', text: prev.text + p.text };
    else out.push(p);
  }
  return out;
}

/** Members a template references directly. */
export function templateRefs(t: SqlTemplate | undefined, kind: 'dimension' | 'measure'): string[] {
  if (!t) return [];
  const out: string[] = [];
  for (const p of t.parts) if (p.kind === kind) out.push(p.member);
  return out;
}

/** Cubes a template names directly ({CUBE}, {other}, columns). */
export function templateCubes(t: SqlTemplate | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  for (const p of t.parts) if (p.kind === 'cube' || p.kind === 'column') out.push(p.cube);
  return out;
}

/** Structural equality of two templates (used to match count_distinct keys with rollup dimensions). */
export function sameTemplate(a: SqlTemplate | undefined, b: SqlTemplate | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a.parts) === JSON.stringify(b.parts);
}
