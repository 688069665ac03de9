/**
 * From match edges to golden customers: union-find over the edges with the guard rails, then a
 * stable golden key per component.
 *
 * Guard rails (edges of a weak rule only; strong rules, exact email and phone, always apply):
 * - a weak edge may not join two components that already hold a record of the same source (one
 *   person has one account per system; two "Anna Smith" of the CRM are two people), and
 * - a weak edge may not make a component larger than `maxComponentSize` (no chains of lookalikes),
 * - a weak edge may not join two components whose known emails (or phones) are all different: the
 *   fuzzy rule refuses such a pair directly, and this keeps it from happening through a third
 *   record without email and phone that resembles both.
 *
 * Golden key rule: a component keeps the previous golden key of one of its members when that key
 * is itself still in the component (the smallest such key when components merge); otherwise (a new
 * component, or the part of a split that lost the old golden record) it is its smallest durable key.
 * Components are disjoint, so two components never claim the same key.
 */

export interface MatchEdge {
  readonly left: number;
  readonly right: number;
  readonly rule: string;
  readonly score: number;
  /** Exact-identifier rules (email, phone) are strong and skip the guard rails. */
  readonly strong: boolean;
}

export type EdgeDecision = 'merged' | 'same_component' | 'same_source' | 'component_too_large' | 'conflict';

/** What the guard rails know of a record. */
export interface NodeInfo {
  readonly source: string;
  /** Normalized email and phone, when known. */
  readonly email?: string | null;
  readonly phone?: string | null;
}

interface Group {
  size: number;
  sources: Set<string>;
  emails: Set<string>;
  phones: Set<string>;
}

const disjoint = (a: Set<string>, b: Set<string>) =>
  a.size > 0 && b.size > 0 && ![...a].some((x) => b.has(x));

export interface ComponentResult {
  /** Decision per input edge, in input order. */
  readonly decisions: EdgeDecision[];
  /** Multi-member components: members ascending, components by smallest member. */
  readonly components: number[][];
}

/** Strong edges first, then by score (highest first), then by keys: the result does not depend on input order. */
function edgeOrder(edges: readonly MatchEdge[]): number[] {
  return edges
    .map((_, i) => i)
    .sort((i, j) => {
      const a = edges[i] as MatchEdge;
      const b = edges[j] as MatchEdge;
      return (
        Number(b.strong) - Number(a.strong) ||
        b.score - a.score ||
        a.left - b.left ||
        a.right - b.right ||
        (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)
      );
    });
}

/**
 * Connected components of the applied edges.
 *
 * @example
 * const nodes = new Map([[1, { source: 'crm' }], [2, { source: 'shop' }]]);
 * buildComponents([{ left: 1, right: 2, rule: 'email', score: 1, strong: true }], nodes, 10)
 * // { decisions: ['merged'], components: [[1, 2]] }
 */
export function buildComponents(
  edges: readonly MatchEdge[],
  nodes: ReadonlyMap<number, NodeInfo>,
  maxComponentSize: number,
): ComponentResult {
  const parent = new Map<number, number>();
  const groups = new Map<number, Group>();
  const find = (x: number): number => {
    let root = x;
    if (!parent.has(root)) {
      const info = nodes.get(root);
      parent.set(root, root);
      groups.set(root, {
        size: 1,
        sources: new Set([info?.source ?? '']),
        emails: new Set(info?.email ? [info.email] : []),
        phones: new Set(info?.phone ? [info.phone] : []),
      });
      return root;
    }
    while (parent.get(root) !== root) root = parent.get(root) as number;
    let node = x;
    while (node !== root) {
      const next = parent.get(node) as number;
      parent.set(node, root);
      node = next;
    }
    return root;
  };

  const decisions: EdgeDecision[] = new Array(edges.length);
  for (const i of edgeOrder(edges)) {
    const e = edges[i] as MatchEdge;
    const a = find(e.left);
    const b = find(e.right);
    if (a === b) {
      decisions[i] = 'same_component';
      continue;
    }
    const ga = groups.get(a) as Group;
    const gb = groups.get(b) as Group;
    if (!e.strong) {
      if (ga.size + gb.size > maxComponentSize) {
        decisions[i] = 'component_too_large';
        continue;
      }
      if ([...ga.sources].some((s) => gb.sources.has(s))) {
        decisions[i] = 'same_source';
        continue;
      }
      if (disjoint(ga.emails, gb.emails) || disjoint(ga.phones, gb.phones)) {
        decisions[i] = 'conflict';
        continue;
      }
    }
    const [big, small] = ga.size >= gb.size ? [a, b] : [b, a];
    const into = groups.get(big) as Group;
    const from = groups.get(small) as Group;
    parent.set(small, big);
    into.size += from.size;
    for (const x of from.sources) into.sources.add(x);
    for (const x of from.emails) into.emails.add(x);
    for (const x of from.phones) into.phones.add(x);
    groups.delete(small);
    decisions[i] = 'merged';
  }

  const byRoot = new Map<number, number[]>();
  for (const node of parent.keys()) {
    const root = find(node);
    const list = byRoot.get(root);
    if (list) list.push(node);
    else byRoot.set(root, [node]);
  }
  const components = [...byRoot.values()]
    .filter((m) => m.length > 1)
    .map((m) => m.sort((x, y) => x - y))
    .sort((x, y) => (x[0] as number) - (y[0] as number));
  return { decisions, components };
}

/**
 * The golden key of each member of each component, given the previous golden key of every member
 * that had one (a member absent from `previous` is new and claims nothing).
 *
 * @example
 * // {1, 5, 9} had golden 1; now {5, 9} split off: they get 5, and 1 stays 1 on its own
 * assignGoldenKeys([[5, 9]], new Map([[1, 1], [5, 1], [9, 1]])) // Map { 5 => 5, 9 => 5 }
 */
export function assignGoldenKeys(
  components: readonly (readonly number[])[],
  previous: ReadonlyMap<number, number>,
): Map<number, number> {
  const golden = new Map<number, number>();
  for (const members of components) {
    const inComponent = new Set(members);
    let key = Number.POSITIVE_INFINITY;
    for (const m of members) {
      const before = previous.get(m);
      if (before !== undefined && inComponent.has(before) && before < key) key = before;
    }
    if (!Number.isFinite(key)) key = Math.min(...members);
    for (const m of members) golden.set(m, key);
  }
  return golden;
}
