/**
 * The shape of a model file (YAML), close to Cube's YAML schema: `cubes:` with `sql_table` or
 * `sql`, `joins`, `dimensions`, `measures`, `segments`, plus `hierarchies` and `pre_aggregations`.
 * Only the shape is checked here; names and references are resolved in load.ts.
 */
import { z } from 'zod';
import { GRANULARITIES } from '../time.ts';

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const name = z.string().regex(NAME, 'must be a letter followed by letters, digits or _');
const memberRef = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/, "must be 'member' or 'cube.member'");
const sql = z.string().min(1, 'must not be empty');
const text = z.string().max(2000);
const format = z.enum(['currency', 'percent', 'number', 'id']);

const RELATIONSHIPS = {
  many_to_one: 'many_to_one',
  one_to_many: 'one_to_many',
  one_to_one: 'one_to_one',
  belongs_to: 'many_to_one',
  belongsTo: 'many_to_one',
  has_many: 'one_to_many',
  hasMany: 'one_to_many',
  has_one: 'one_to_one',
  hasOne: 'one_to_one',
} as const;

export const relationshipSchema = z
  .enum(Object.keys(RELATIONSHIPS) as [keyof typeof RELATIONSHIPS, ...(keyof typeof RELATIONSHIPS)[]])
  .transform((r) => RELATIONSHIPS[r]);

const joinSchema = z.strictObject({
  name,
  relationship: relationshipSchema,
  sql,
});

const dimensionSchema = z.strictObject({
  name,
  type: z.enum(['string', 'number', 'boolean', 'time']),
  sql,
  title: text.optional(),
  description: text.optional(),
  primary_key: z.boolean().optional(),
  public: z.boolean().optional(),
  shown: z.boolean().optional(),
  format: format.optional(),
  time_storage: z.enum(['timestamptz', 'timestamp', 'date']).optional(),
});

const measureSchema = z.strictObject({
  name,
  type: z.enum(['count', 'count_distinct', 'count_distinct_approx', 'sum', 'avg', 'min', 'max', 'number']),
  sql: sql.optional(),
  filters: z.array(z.strictObject({ sql })).optional(),
  title: text.optional(),
  description: text.optional(),
  public: z.boolean().optional(),
  shown: z.boolean().optional(),
  format: format.optional(),
});

const segmentSchema = z.strictObject({
  name,
  sql,
  title: text.optional(),
  description: text.optional(),
  public: z.boolean().optional(),
});

const hierarchySchema = z.strictObject({
  name,
  title: text.optional(),
  levels: z.array(memberRef).min(1, 'needs at least one level'),
});

const preAggregationSchema = z.strictObject({
  name,
  type: z.literal('rollup').optional(),
  measures: z.array(memberRef).default([]),
  dimensions: z.array(memberRef).default([]),
  time_dimension: memberRef.optional(),
  granularity: z.enum(GRANULARITIES as [string, ...string[]]).optional(),
  timezone: z.string().optional(),
  /**
   * Rollup dimensions whose value the key of each stored count_distinct measure decides (one
   * value per key): the rollup then stores the distinct count per row, and a query that drops
   * only these dimensions may add the counts up (each key is in one of the rows it adds).
   */
  determined_by_key: z.array(memberRef).optional(),
  /**
   * A rollup that holds only some values of a few of its dimensions (`by`): `sql` (raw SQL over
   * the warehouse, no templates) returns one row per partition to keep, a column per `by`
   * dimension (named as the dimension) and a `stamp` that changes whenever that partition's rows
   * could change other than through a load or an identity run. Each build adds the missing
   * partitions and drops the others; a query is routed only when its filters pin every `by`
   * dimension to one value of a built partition, any other reads the cube.
   */
  partitions: z
    .strictObject({
      by: z.array(memberRef).min(1),
      sql,
    })
    .optional(),
});

export const cubeSchema = z.strictObject({
  name,
  title: text.optional(),
  description: text.optional(),
  sql_table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, "must be 'table' or 'schema.table'")
    .optional(),
  sql: sql.optional(),
  /**
   * The same rows as `sql`, written for ClickHouse 18.16 (one JOIN per SELECT, no window
   * functions): model SQL is raw text, so an engine that cannot read it needs its own. `false`:
   * the cube cannot be read there (a query of it is refused with code `unsupported`).
   */
  sql_clickhouse: z.union([sql, z.literal(false)]).optional(),
  public: z.boolean().optional(),
  shown: z.boolean().optional(),
  shared: z.boolean().optional(),
  joins: z.array(joinSchema).default([]),
  dimensions: z.array(dimensionSchema).default([]),
  measures: z.array(measureSchema).default([]),
  segments: z.array(segmentSchema).default([]),
  hierarchies: z.array(hierarchySchema).default([]),
  pre_aggregations: z.array(preAggregationSchema).default([]),
});

export const modelFileSchema = z.strictObject({
  cubes: z.array(cubeSchema).default([]),
});

export type CubeSpec = z.infer<typeof cubeSchema>;
export type ModelFileSpec = z.infer<typeof modelFileSchema>;
