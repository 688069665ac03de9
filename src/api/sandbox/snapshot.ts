/**
 * Publishes a read-only copy of a warehouse: copied into `<dest>.tmp`, then renamed over `dest`,
 * so readers never see a half-written file. The source is held only while copying, under a shared
 * (read-only) lock, so `crm-bi load` is blocked for the copy, not for the life of the server.
 */
import { renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { ALLOWED_REGIONS, regionalCopySql } from './regional-snapshot.ts';

export interface SnapshotOptions {
  /** Copy only these schemas (tables only); all of the database (COPY FROM DATABASE) when absent. */
  readonly schemas?: readonly string[];
  /** Cut the copied tables to these regions (see regional-snapshot.ts); needs `schemas`. */
  readonly regions?: readonly string[];
}

export async function publishSnapshot(
  source: string,
  dest: string,
  options: SnapshotOptions = {},
): Promise<void> {
  const tmp = `${resolve(dest)}.tmp`;
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: '512MB' });
  const c = await instance.connect();
  try {
    try {
      await c.run(`ATTACH ${quoteLiteral(resolve(source))} AS src (READ_ONLY)`);
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(text))
        throw new CrmBiError(
          'warehouse_locked',
          'the warehouse is being written; try again shortly',
          {},
          503,
        );
      // the server's own file is missing or unreadable: unavailable for now, not the caller's fault or a bug
      throw new CrmBiError('warehouse_not_found', 'the warehouse cannot be opened', {}, 503);
    }
    await c.run(`ATTACH ${quoteLiteral(tmp)} AS dst`);
    if (options.schemas === undefined) {
      await c.run('COPY FROM DATABASE src TO dst');
    } else {
      const reader = await c.runAndReadAll(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src' ORDER BY 1, 2",
      );
      const regions = options.regions;
      if (regions) {
        await c.run(`CREATE TEMP TABLE ${ALLOWED_REGIONS} (region VARCHAR)`);
        for (const region of new Set(regions))
          await c.run(`INSERT INTO ${ALLOWED_REGIONS} VALUES ($1)`, [region]);
      }
      for (const [schema, table] of reader.getRowsJS() as [string, string][]) {
        if (!options.schemas.includes(schema)) continue;
        const s = quoteIdent(schema);
        const t = quoteIdent(table);
        let sql = `CREATE TABLE dst.${s}.${t} AS SELECT * FROM src.${s}.${t}`;
        if (regions) {
          const cols = await c.runAndReadAll(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'src' AND schema_name = $1 AND table_name = $2",
            [schema, table],
          );
          const cut = regionalCopySql(
            schema,
            table,
            cols.getRowsJS().map((r) => String(r[0])),
          );
          if (cut === null) continue;
          sql = cut;
        }
        await c.run(`CREATE SCHEMA IF NOT EXISTS dst.${s}`);
        await c.run(sql);
      }
      for (const schema of options.schemas)
        await c.run(`CREATE SCHEMA IF NOT EXISTS dst.${quoteIdent(schema)}`);
    }
    await c.run('DETACH dst');
    await c.run('DETACH src');
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  renameSync(tmp, resolve(dest));
}
