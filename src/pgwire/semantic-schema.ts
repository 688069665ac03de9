/**
 * Schema `semantic`: one table per public cube. Its columns are the cube's public dimensions and
 * measures under their short names, plus the dimensions of the cubes it reaches through a
 * many-to-one join (sales → customers.region as `region`); a name taken twice gets the cube as a
 * prefix (`customers__name`). Measures are columns only to aggregate: MEASURE(revenue).
 */

import type { Model } from '../cube/index.ts';
import { modelMeta } from '../cube/index.ts';
import type { MetaCube } from '../cube/meta.ts';
import { PG, type PgType } from './types.ts';

export interface SemanticColumn {
  readonly name: string;
  /** The cube member, `cube.member`. */
  readonly member: string;
  readonly kind: 'dimension' | 'measure';
  /** For measures: the model's aggregation (sum, count, count_distinct, avg, min, max, number). */
  readonly aggType?: string;
  readonly time: boolean;
  readonly type: PgType;
}

export interface SemanticTable {
  readonly name: string;
  readonly columns: readonly SemanticColumn[];
  readonly byName: ReadonlyMap<string, SemanticColumn>;
}

function dimensionType(type: string): PgType {
  if (type === 'time') return PG.timestamp;
  if (type === 'number') return PG.numeric;
  if (type === 'boolean') return PG.bool;
  return PG.text;
}

function measureType(aggType: string | undefined): PgType {
  return aggType === 'count' || aggType === 'count_distinct' ? PG.int8 : PG.numeric;
}

/** The semantic tables of a model, by table name. */
export function semanticTables(model: Model): ReadonlyMap<string, SemanticTable> {
  const meta = modelMeta(model);
  const cubes = new Map(meta.cubes.map((c) => [c.name, c]));
  const out = new Map<string, SemanticTable>();
  for (const cube of meta.cubes) {
    const columns: SemanticColumn[] = [];
    const taken = new Set<string>();
    const add = (short: string, cubeName: string, column: Omit<SemanticColumn, 'name'>) => {
      const name = taken.has(short) ? `${cubeName}__${short}` : short;
      if (taken.has(name)) return;
      taken.add(name);
      columns.push({ name, ...column });
    };
    const addDimensions = (of: MetaCube) => {
      for (const d of of.dimensions)
        add(d.name.split('.')[1] ?? d.name, of.name, {
          member: d.name,
          kind: 'dimension',
          time: d.type === 'time',
          type: dimensionType(d.type),
        });
    };
    addDimensions(cube);
    for (const m of cube.measures)
      add(m.name.split('.')[1] ?? m.name, cube.name, {
        member: m.name,
        kind: 'measure',
        time: false,
        type: measureType(m.aggType),
        ...(m.aggType ? { aggType: m.aggType } : {}),
      });
    for (const edge of model.edges.get(cube.name) ?? []) {
      if (edge.relationship !== 'many_to_one') continue;
      const joined = cubes.get(edge.to);
      if (joined) addDimensions(joined);
    }
    out.set(cube.name, { name: cube.name, columns, byName: new Map(columns.map((c) => [c.name, c])) });
  }
  return out;
}
