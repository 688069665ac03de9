/**
 * Join paths. From a root cube the planner needs a tree reaching every cube a query uses; among
 * paths it prefers fewer fan-out (one_to_many) steps, then fewer joins, then declaration order.
 */
import { cubeError } from '../errors.ts';
import type { Model, Relationship, SqlTemplate } from './types.ts';

export interface TreeEdge {
  readonly from: string;
  readonly to: string;
  /** Seen from the parent (`from`). */
  readonly relationship: Relationship;
  readonly on: SqlTemplate;
}

export interface JoinTree {
  readonly root: string;
  /** Parent → child edges, parents first. */
  readonly edges: readonly TreeEdge[];
  /** True when some edge fans out (one_to_many away from the root): the root's rows repeat. */
  readonly multiplied: boolean;
}

interface Cost {
  readonly fanOuts: number;
  readonly hops: number;
  readonly parent?: string;
  readonly edge?: TreeEdge;
}

function less(a: Cost, b: Cost): boolean {
  return a.fanOuts < b.fanOuts || (a.fanOuts === b.fanOuts && a.hops < b.hops);
}

/** Shortest (fewest fan-outs, then hops) paths from root, as parent pointers. */
function shortestPaths(model: Model, root: string): Map<string, Cost> {
  const best = new Map<string, Cost>([[root, { fanOuts: 0, hops: 0 }]]);
  const done = new Set<string>();
  for (;;) {
    let current: string | undefined;
    let cost: Cost | undefined;
    for (const [c, k] of best) {
      if (!done.has(c) && (cost === undefined || less(k, cost))) {
        current = c;
        cost = k;
      }
    }
    if (current === undefined || cost === undefined) return best;
    done.add(current);
    for (const e of model.edges.get(current) ?? []) {
      if (done.has(e.to)) continue;
      const next: Cost = {
        fanOuts: cost.fanOuts + (e.relationship === 'one_to_many' ? 1 : 0),
        hops: cost.hops + 1,
        parent: current,
        edge: { from: current, to: e.to, relationship: e.relationship, on: e.on },
      };
      const old = best.get(e.to);
      if (old === undefined || less(next, old)) best.set(e.to, next);
    }
  }
}

const treeCache = new WeakMap<Model, Map<string, Map<string, Cost>>>();

function pathsFrom(model: Model, root: string): Map<string, Cost> {
  let byRoot = treeCache.get(model);
  if (!byRoot) {
    byRoot = new Map();
    treeCache.set(model, byRoot);
  }
  let paths = byRoot.get(root);
  if (!paths) {
    paths = shortestPaths(model, root);
    byRoot.set(root, paths);
  }
  return paths;
}

/** The join tree from `root` reaching every cube in `required`. */
export function joinTree(model: Model, root: string, required: Iterable<string>): JoinTree {
  const paths = pathsFrom(model, root);
  const included = new Set<string>([root]);
  const edges: TreeEdge[] = [];
  const add = (cube: string): void => {
    if (included.has(cube)) return;
    const cost = paths.get(cube);
    if (!cost?.parent || !cost.edge) {
      throw cubeError(
        'no_join_path',
        `cube '${cube}' cannot be joined to cube '${root}': the model declares no join path between them`,
        { member: cube },
      );
    }
    add(cost.parent);
    included.add(cube);
    edges.push(cost.edge);
  };
  for (const c of required) add(c);
  edges.sort((a, b) => (paths.get(a.to)?.hops ?? 0) - (paths.get(b.to)?.hops ?? 0));
  return { root, edges, multiplied: edges.some((e) => e.relationship === 'one_to_many') };
}

/** Whether there is any join path between two cubes. */
export function connected(model: Model, a: string, b: string): boolean {
  return a === b || pathsFrom(model, a).has(b);
}
