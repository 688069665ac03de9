import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaOf, OUTPUT_SCHEMAS } from './schemas.ts';

describe('JSON Schemas in schemas/', () => {
  for (const [name, schema] of Object.entries(OUTPUT_SCHEMAS)) {
    it(`schemas/${name}.json matches the zod schema that produces the output (npm run schemas)`, () => {
      const file = JSON.parse(
        readFileSync(join(import.meta.dirname, '..', 'schemas', `${name}.json`), 'utf8'),
      );
      expect(file).toEqual(jsonSchemaOf(schema));
    });
  }
});
