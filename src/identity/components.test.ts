import { describe, expect, it } from 'vitest';
import { assignGoldenKeys, buildComponents, type MatchEdge, type NodeInfo } from './components.ts';

const strong = (left: number, right: number, rule = 'email', score = 1): MatchEdge => ({
  left,
  right,
  rule,
  score,
  strong: true,
});
const weak = (left: number, right: number, score = 0.95): MatchEdge => ({
  left,
  right,
  rule: 'name_city',
  score,
  strong: false,
});

describe('buildComponents', () => {
  const sources = new Map<number, NodeInfo>([
    [1, { source: 'crm' }],
    [2, { source: 'crm' }],
    [3, { source: 'shop' }],
    [4, { source: 'desk' }],
    [5, { source: 'shop' }],
    [6, { source: 'desk' }],
  ]);

  it('joins records connected by any path and lists each component once, smallest member first', () => {
    const r = buildComponents([strong(3, 4), strong(1, 3, 'phone'), strong(5, 6)], sources, 10);
    expect(r.components).toEqual([
      [1, 3, 4],
      [5, 6],
    ]);
    expect(r.decisions).toEqual(['merged', 'merged', 'merged']);
  });

  it('a redundant edge inside a component is recorded as such', () => {
    const r = buildComponents([strong(1, 3), strong(3, 4), strong(1, 4, 'phone', 0.95)], sources, 10);
    expect(r.decisions).toEqual(['merged', 'merged', 'same_component']);
  });

  it('a weak edge never puts two records of one source together; a strong one may', () => {
    // 3 (shop) already sits with 1 (crm); a lookalike edge 2 (crm) – 3 would make crm appear twice
    const r = buildComponents([strong(1, 3), weak(2, 3)], sources, 10);
    expect(r.decisions).toEqual(['merged', 'same_source']);
    expect(r.components).toEqual([[1, 3]]);
    const s = buildComponents([strong(1, 3), strong(2, 3, 'phone')], sources, 10);
    expect(s.components).toEqual([[1, 2, 3]]);
  });

  it('a weak edge may not grow a component past the size limit (no chains of lookalikes)', () => {
    const many = new Map<number, NodeInfo>();
    for (let i = 1; i <= 6; i++) many.set(i, { source: `s${i}` });
    const chain = [weak(1, 2, 0.99), weak(2, 3, 0.98), weak(3, 4, 0.97), weak(4, 5, 0.96)];
    const r = buildComponents(chain, many, 3);
    expect(r.components).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(r.decisions).toEqual(['merged', 'merged', 'component_too_large', 'merged']);
  });

  it('a weak edge may not join records whose known emails differ through a third record without one', () => {
    // crm 1 (a@x) and shop 3 (b@x) are two people; desk 4 has no email and resembles both
    const nodes = new Map<number, NodeInfo>([
      [1, { source: 'crm', email: 'a@x.com' }],
      [3, { source: 'shop', email: 'b@x.com' }],
      [4, { source: 'desk', email: null }],
    ]);
    const r = buildComponents([weak(1, 4, 0.97), weak(3, 4, 0.96)], nodes, 10);
    expect(r.decisions).toEqual(['merged', 'conflict']);
    expect(r.components).toEqual([[1, 4]]);
  });

  it('does not depend on the order of the edges: strong first, then by score', () => {
    const edges = [weak(2, 3, 0.91), weak(1, 3, 0.97), strong(3, 4)];
    const a = buildComponents(edges, sources, 10);
    const b = buildComponents([...edges].reverse(), sources, 10);
    expect(a.components).toEqual([[1, 3, 4]]);
    expect(b.components).toEqual(a.components);
  });
});

describe('assignGoldenKeys', () => {
  it('a new component takes its smallest durable key', () => {
    expect(assignGoldenKeys([[4, 7, 9]], new Map())).toEqual(
      new Map([
        [4, 4],
        [9, 4],
        [7, 4],
      ]),
    );
  });

  it('a growing component keeps its golden key, and a new record claims nothing', () => {
    // {5, 9} had golden 5; new record 2 (new, though its key is smaller) joins: the key stays 5
    const previous = new Map([
      [5, 5],
      [9, 5],
    ]);
    expect(assignGoldenKeys([[2, 5, 9]], previous)).toEqual(
      new Map([
        [2, 5],
        [5, 5],
        [9, 5],
      ]),
    );
  });

  it('a merge of two golden customers keeps the smaller of their keys', () => {
    const previous = new Map([
      [3, 3],
      [8, 3],
      [6, 6],
      [12, 6],
    ]);
    const g = assignGoldenKeys([[3, 6, 8, 12]], previous);
    expect([...new Set(g.values())]).toEqual([3]);
  });

  it('after a split, the part with the old golden record keeps the key and the other part takes its smallest', () => {
    // {1, 5, 9} had golden 1; 11 is new
    const previous = new Map([
      [1, 1],
      [5, 1],
      [9, 1],
    ]);
    const g = assignGoldenKeys(
      [
        [1, 9],
        [5, 11],
      ],
      previous,
    );
    expect(g).toEqual(
      new Map([
        [1, 1],
        [9, 1],
        [5, 5],
        [11, 5],
      ]),
    );
  });
});
