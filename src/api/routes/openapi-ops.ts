/**
 * The shape the route modules' OpenAPI paths share (audiences-openapi.ts, data-openapi.ts): an
 * operation answering JSON, described by its summary, the role it needs, the answer's schema
 * (a free-form object when the answer has none yet) and its parameters or JSON body.
 */
import { z } from 'zod';
import type { Json, Op } from './insights-openapi.ts';

/** Turns a zod schema into a JSON Schema object (openapi.ts's `schema`). */
export type Schema = (s: z.ZodType) => Record<string, unknown>;

export interface OpenApiHelpers {
  readonly op: Op;
  readonly json: Json;
  readonly schema?: Schema;
}

/** An answer whose fields the docs list but no schema describes yet. */
export const AnyAnswer = z.record(z.string(), z.unknown());

export interface JsonOpSpec {
  readonly summary: string;
  readonly role: string | null;
  /** What the 200 answer is, e.g. 'the loads'. */
  readonly description: string;
  /** The answer's schema (default: any JSON object). */
  readonly answer?: z.ZodType;
  readonly parameters?: readonly object[];
  /** A required JSON request body. */
  readonly body?: z.ZodType;
  /** The success status when it is not 200 (e.g. 201 for a created resource). */
  readonly status?: number;
}

/**
 * One JSON operation.
 *
 * @example
 * jsonOp(h, { summary: 'the checks', role: 'executive', description: 'the checks' })
 * // h.op('the checks', 'executive', h.json(AnyAnswer, 'the checks'))
 */
export function jsonOp(h: OpenApiHelpers, spec: JsonOpSpec): object {
  const extra: Record<string, unknown> = {};
  if (spec.parameters !== undefined) extra.parameters = spec.parameters;
  if (spec.body !== undefined) extra.requestBody = jsonBody(h, spec.body);
  const op = h.op(spec.summary, spec.role, h.json(spec.answer ?? AnyAnswer, spec.description), extra) as {
    responses?: Record<string, unknown>;
  };
  if (spec.status !== undefined && spec.status !== 200 && op.responses) {
    const { '200': ok, ...others } = op.responses;
    op.responses = { [String(spec.status)]: ok, ...others };
  }
  return op;
}

/** A required JSON request body. */
export function jsonBody(h: OpenApiHelpers, body: z.ZodType): object {
  if (h.schema === undefined) throw new Error("a JSON body needs the helpers' schema function");
  return { required: true, content: { 'application/json': { schema: h.schema(body) } } };
}

/** A query-string parameter. */
export function queryParam(name: string, description: string, type = 'string', required = false) {
  return { name, in: 'query', required, description, schema: { type } };
}
