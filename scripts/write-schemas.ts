import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemaOf, OUTPUT_SCHEMAS } from '../src/schemas.ts';

const dir = join(import.meta.dirname, '..', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(OUTPUT_SCHEMAS)) {
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(jsonSchemaOf(schema), null, 2)}\n`);
  console.log(`schemas/${name}.json`);
}
