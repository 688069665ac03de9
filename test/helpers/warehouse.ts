import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../src/db/duckdb.ts';

/**
 * A fingerprint of every warehouse table's contents (row count and an order-independent hash of
 * the rows), so a test can prove that something "changed nothing". meta.etl_load is left out: it
 * records every attempt by design.
 */
export async function warehouseState(db: Database): Promise<Record<string, string>> {
  const tables = await db.all(
    `SELECT schema_name, table_name FROM duckdb_tables()
     WHERE NOT temporary AND schema_name IN ('core', 'meta', 'mining', 'staging')
       AND NOT (schema_name = 'meta' AND table_name = 'etl_load')
     ORDER BY 1, 2`,
  );
  const state: Record<string, string> = {};
  for (const t of tables) {
    const name = `${t.schema_name}.${t.table_name}`;
    const r = await db.one(`SELECT count(*) AS n, coalesce(sum(hash(x)), 0)::VARCHAR AS h FROM ${name} x`);
    state[name] = `${r?.n}:${r?.h}`;
  }
  return state;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'crm-bi-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
