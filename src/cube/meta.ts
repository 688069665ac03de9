/**
 * The model's metadata in Cube's /v1/meta shape: cubes with their public measures, dimensions,
 * segments, plus our hierarchies and pre-aggregations.
 */
import type { Model, ModelCube } from './model/types.ts';

export interface MetaMember {
  readonly name: string;
  readonly title: string;
  readonly shortTitle: string;
  readonly type: string;
  readonly aggType?: string;
  readonly format?: string;
  readonly description?: string;
  readonly primaryKey?: boolean;
}

export interface MetaCube {
  readonly name: string;
  readonly title: string;
  readonly description?: string;
  readonly measures: readonly MetaMember[];
  readonly dimensions: readonly MetaMember[];
  readonly segments: readonly MetaMember[];
  readonly hierarchies: readonly {
    readonly name: string;
    readonly title: string;
    readonly levels: readonly string[];
  }[];
  readonly preAggregations: readonly {
    readonly name: string;
    readonly measures: readonly string[];
    readonly dimensions: readonly string[];
    readonly timeDimension?: string;
    readonly granularity?: string;
  }[];
}

export interface Meta {
  readonly cubes: readonly MetaCube[];
}

function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function cubeMeta(cube: ModelCube): MetaCube {
  return {
    name: cube.name,
    title: cube.title,
    ...opt('description', cube.description),
    measures: [...cube.measures.values()]
      .filter((m) => m.public)
      .map((m) => ({
        name: m.fullName,
        title: m.title,
        shortTitle: m.shortTitle,
        type: 'number',
        aggType: m.type,
        ...opt('format', m.format),
        ...opt('description', m.description),
      })),
    dimensions: [...cube.dimensions.values()]
      .filter((d) => d.public)
      .map((d) => ({
        name: d.fullName,
        title: d.title,
        shortTitle: d.shortTitle,
        type: d.type,
        ...opt('format', d.format),
        ...opt('description', d.description),
        ...(d.primaryKey ? { primaryKey: true } : {}),
      })),
    segments: [...cube.segments.values()].map((s) => ({
      name: s.fullName,
      title: s.title,
      shortTitle: s.shortTitle,
      type: 'boolean',
      ...opt('description', s.description),
    })),
    hierarchies: [...cube.hierarchies.values()].map((h) => ({
      name: h.fullName,
      title: h.title,
      levels: h.levels,
    })),
    preAggregations: cube.preAggregations.map((p) => ({
      name: p.fullName,
      measures: p.measures,
      dimensions: p.dimensions,
      ...opt('timeDimension', p.timeDimension),
      ...opt('granularity', p.granularity),
    })),
  };
}

/** Public cubes and members of a model. */
export function modelMeta(model: Model): Meta {
  return { cubes: [...model.cubes.values()].filter((c) => c.public).map(cubeMeta) };
}
