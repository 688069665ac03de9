/**
 * Seeded hostile inputs for the API fuzz test: values drawn from a route's JSON schema (as
 * /openapi.json gives it), then bent: wrong types, missing and extra fields, out-of-range dates and
 * numbers, huge and deeply nested values, and unicode that trips naive code.
 */
import { createRng } from '../../src/mining/models/kmeans.ts';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  additionalProperties?: boolean | JsonSchema;
};

export interface Fuzzer {
  readonly next: () => number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  /** Anything at all: the odd values below, or a random JSON value. */
  any(depth?: number): unknown;
  /** A string that is usually odd. */
  string(): string;
  /** A value for the schema, right or (often) wrong. */
  value(schema: JsonSchema | undefined, depth?: number): unknown;
}

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '\u200b\u200d\ufeff',
  '\u202eevil',
  'e\u0301\u0301\u0301',
  '😀👨‍👩‍👧',
  '𝕏'.repeat(50),
  "'; DROP TABLE core.dim_customer; --",
  '" OR 1=1 --',
  '../../../../etc/passwd',
  '%00%2e%2e%2f',
  '__proto__',
  'constructor',
  'toString',
  '#{7*7}',
  '<script>alert(1)</script>',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9007199254740993',
  'null',
  'true',
  '[]',
  '{}',
  '0001-01-01',
  '9999-12-31',
  '2024-02-30',
  '2024-13-01',
  '1899-12-31',
  '2200-01-01',
  '2024-01-01T25:61:61Z',
  '2024-01-01T00:00:00+99:99',
  'last 100000 years',
  'last 0 days',
  'next 99999999 months',
  'from 2020-01-01 to 9999-12-31',
  'today',
  'sales.revenue',
  'customers.region',
  'sales.ordered_at',
  'customers.nope',
  'x.y.z',
  'a'.repeat(300),
  'Europe',
];

const ODD_NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  -2147483649,
  2147483648,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
  123456789012,
];

export function createFuzzer(seed: number): Fuzzer {
  const next = createRng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const chance = (p: number) => next() < p;

  function string(): string {
    const r = next();
    if (r < 0.6) return pick(ODD_STRINGS);
    if (r < 0.7) return pick(ODD_STRINGS).repeat(int(2, 2000));
    if (r < 0.8) return String.fromCodePoint(...Array.from({ length: int(1, 40) }, () => int(0, 0x10ffff)));
    if (r < 0.9)
      return `${int(1, 9999)}-${String(int(0, 13)).padStart(2, '0')}-${String(int(0, 32)).padStart(2, '0')}`;
    return `member${int(0, 1e6)}`;
  }

  function nested(depth: number): unknown {
    let v: unknown = pick([1, 'x', null]);
    for (let i = 0; i < depth; i++) v = chance(0.5) ? [v] : { a: v };
    return v;
  }

  function any(depth = 0): unknown {
    const r = next();
    if (r < 0.2) return string();
    if (r < 0.35) return pick(ODD_NUMBERS);
    if (r < 0.42) return pick([true, false, null]);
    if (r < 0.5) return nested(int(10, 3000));
    if (r < 0.6 || depth > 3) return [];
    if (r < 0.8) return Array.from({ length: int(0, 5) }, () => any(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = int(0, 4); i > 0; i--) o[string().slice(0, 50)] = any(depth + 1);
    return o;
  }

  /** A value that fits the schema's type (bounds and patterns not always kept). */
  function fitting(schema: JsonSchema, depth: number): unknown {
    if (schema.enum) return pick(schema.enum);
    const alternatives = schema.anyOf ?? schema.oneOf;
    if (alternatives) return value(pick(alternatives), depth + 1);
    const type = Array.isArray(schema.type) ? pick(schema.type) : schema.type;
    switch (type) {
      case 'integer':
      case 'number': {
        const lo = schema.minimum ?? -1000;
        const hi = schema.maximum ?? 1000;
        return chance(0.5) ? int(Math.max(lo, -1e6), Math.min(hi, 1e6)) : pick(ODD_NUMBERS);
      }
      case 'boolean':
        return chance(0.5);
      case 'string':
        return string();
      case 'array':
        return Array.from({ length: int(0, 4) }, () => value(schema.items, depth + 1));
      case 'object': {
        const o: Record<string, unknown> = {};
        for (const [k, s] of Object.entries(schema.properties ?? {})) {
          const required = schema.required?.includes(k) ?? false;
          if (required ? chance(0.9) : chance(0.5)) o[k] = value(s, depth + 1);
        }
        if (chance(0.15)) o[string().slice(0, 40)] = any(depth + 1);
        return o;
      }
      default:
        return any(depth + 1);
    }
  }

  function value(schema: JsonSchema | undefined, depth = 0): unknown {
    if (!schema || depth > 8) return any(depth);
    return chance(0.75) ? fitting(schema, depth) : any(depth);
  }

  return { next, int, pick, chance, any, string, value };
}
