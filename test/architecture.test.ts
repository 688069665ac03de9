import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Layers read top-down: a lower module never imports a higher one. The graph is built from the
 * static import/export lines of every src/**\/*.ts file (relative specifiers only; packages are not
 * layers).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

// `import … from '…'`, `export … from '…'` (possibly over several lines) and bare `import '…'`.
const FROM_RE = /^\s*(?:import|export)\s[^'"`;=()]*?\bfrom\s+['"]([^'"]+)['"]/gm;
const BARE_RE = /^\s*import\s+['"]([^'"]+)['"]/gm;
const DYNAMIC_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Repository-relative paths (`src/db/duckdb.ts`) this file imports through relative specifiers. */
function relativeImports(file: string, text: string): string[] {
  const specifiers = [FROM_RE, BARE_RE, DYNAMIC_RE].flatMap((re) =>
    [...text.matchAll(re)].map((m) => m[1] ?? ''),
  );
  return specifiers
    .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
    .map((spec) => relative(ROOT, resolve(dirname(file), spec)));
}

const graph = new Map<string, string[]>(
  sourceFiles(SRC).map((file) => [relative(ROOT, file), relativeImports(file, readFileSync(file, 'utf8'))]),
);

function within(path: string, folder: string): boolean {
  return path.startsWith(`${folder}/`);
}

/** Every "file → imported file" edge from `from` into any of `forbidden`. */
function upwardImports(from: string, forbidden: readonly string[]): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (!within(file, from)) continue;
    for (const target of imports) {
      if (forbidden.some((folder) => within(target, folder))) found.push(`${file} → ${target}`);
    }
  }
  return found;
}

/** Each cycle found by depth-first search, as the list of files around it. */
function importCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of edges.get(file) ?? []) {
      if (!edges.has(target)) continue;
      const seen = state.get(target);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('import graph of src/', () => {
  it('reads import lines, including multi-line and re-export forms', () => {
    const text = [
      "import { a } from './one.ts';",
      'import {',
      '  b,',
      '  type C,',
      "} from '../two.ts';",
      "export { d } from './three.ts';",
      "import type { E } from 'vitest';",
      "import './side-effect.ts';",
      "const sql = 'select 1 from x';",
    ].join('\n');
    expect(relativeImports(join(SRC, 'db', 'x.ts'), text)).toEqual([
      'src/db/one.ts',
      'src/two.ts',
      'src/db/three.ts',
      'src/db/side-effect.ts',
    ]);
  });

  it('finds the files and edges it checks', () => {
    expect(graph.get('src/db/open-warehouse.ts')).toContain('src/db/duckdb.ts');
    expect(graph.get('src/mining/CONTEXT.md')).toBeUndefined();
  });

  it('src/db imports no higher layer (etl, identity, mining, cube, api, cli)', () => {
    expect(
      upwardImports('src/db', ['src/etl', 'src/identity', 'src/mining', 'src/cube', 'src/api', 'src/cli']),
    ).toEqual([]);
  });

  it('src/cube imports neither src/api nor src/cli', () => {
    expect(upwardImports('src/cube', ['src/api', 'src/cli'])).toEqual([]);
  });

  it('src/mining imports neither src/api nor src/cli', () => {
    expect(upwardImports('src/mining', ['src/api', 'src/cli'])).toEqual([]);
  });

  it('src/mining/models (pure models on typed arrays) imports neither src/mining/steps nor src/db', () => {
    expect(upwardImports('src/mining/models', ['src/mining/steps', 'src/db'])).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const cycles = importCycles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', ['c.ts']],
        ['c.ts', ['a.ts']],
        ['d.ts', ['a.ts']],
      ]),
    );
    expect(cycles).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('src/db and src/mining have no import cycle (type-only imports count: they name a module above)', () => {
    const inScope = (file: string) => within(file, 'src/db') || within(file, 'src/mining');
    expect(importCycles(graph).filter((cycle) => cycle.some(inScope))).toEqual([]);
  });
});
