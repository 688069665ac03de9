/**
 * Runs one measured task in its own process, so its peak RSS is its own:
 *   node --import tsx bench/child.ts raw-copy|load <export dir> <warehouse file>
 * Prints `{ seconds, maxRssMb, ... }` as one JSON line.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Database, quoteIdent, quoteLiteral } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';

const [mode, source, dbFile] = process.argv.slice(2) as [string, string, string];
rmSync(dbFile, { force: true });
rmSync(`${dbFile}.wal`, { force: true });

const t0 = performance.now();
let extra: Record<string, unknown> = {};
if (mode === 'raw-copy') {
  // The baseline: DuckDB's own CSV reader straight into tables, types auto-detected, no checks.
  const db = await Database.open(dbFile);
  const files = readdirSync(source).filter((f) => f.endsWith('.csv') && !f.startsWith('truth'));
  for (const f of files) {
    const table = f.replace(/\.csv$/, '');
    await db.run(
      `CREATE TABLE ${quoteIdent(table)} AS SELECT * FROM read_csv(${quoteLiteral(join(source, f))})`,
    );
  }
  await db.run('CHECKPOINT');
  db.close();
  extra = { files: files.length };
} else if (mode === 'load') {
  const db = await openWarehouse(dbFile);
  const r = await loadSource(db, { source, profile: 'canonical' });
  await db.run('CHECKPOINT');
  db.close();
  extra = { rows_read: r.rows_read, rows_rejected: r.rows_rejected };
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, ...extra })}\n`,
);
