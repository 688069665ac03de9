/**
 * Wires the PostgreSQL endpoint to a running API server's pieces: the published warehouse (cube
 * reads, token verifiers), the model, the API's query cache and its ad hoc sandboxes. The
 * `warehouse` schema lists the ad hoc snapshot's tables as they were when the server started.
 */
import { readFileSync } from 'node:fs';
import type { RegionalSandboxes } from '../api/sandbox/regional.ts';
import type { Sandbox } from '../api/sandbox/sandbox.ts';
import type { CubeResponse, Model, QueryCache } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { type CatalogTable, createCatalog } from './catalog.ts';
import { semanticTables } from './semantic-schema.ts';
import { type RunningPgServer, startPgServer } from './server.ts';
import { tokenVerifier } from './token-verifier.ts';
import { pgTypeOfDuckDb } from './types.ts';

export interface PgEndpointOptions {
  /** Where cube queries read (a published copy, or the cluster). */
  readonly db: () => Database;
  /** The published DuckDB copy holding tokens and the snapshot's table list. */
  readonly tokens: () => Database;
  readonly model: Model;
  readonly cache: QueryCache<CubeResponse> | null;
  readonly sandbox: Sandbox | null;
  readonly regional: RegionalSandboxes | null;
  readonly port: number;
  readonly host: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly timeoutMs?: number;
}

/** The ad hoc snapshot's tables (core.* and mining.*) with their columns. */
async function snapshotTables(
  db: Database,
): Promise<{ schema: string; table: string; columns: CatalogTable['columns'] }[]> {
  const rows = await db.all(
    `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()
     WHERE schema_name IN ('core', 'mining') AND NOT internal
       AND (schema_name, table_name) IN (SELECT (schema_name, table_name) FROM duckdb_tables())
     ORDER BY schema_name, table_name, column_index`,
  );
  const out = new Map<
    string,
    { schema: string; table: string; columns: { name: string; type: ReturnType<typeof pgTypeOfDuckDb> }[] }
  >();
  for (const r of rows) {
    const key = `${r.schema_name}.${r.table_name}`;
    let t = out.get(key);
    if (!t) {
      t = { schema: String(r.schema_name), table: String(r.table_name), columns: [] };
      out.set(key, t);
    }
    t.columns.push({ name: String(r.column_name), type: pgTypeOfDuckDb(String(r.data_type)) });
  }
  return [...out.values()];
}

function readTls(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (e) {
    throw new CrmBiError(
      'usage',
      `cannot read the TLS certificate or key (--pg-tls-cert/--pg-tls-key): ${(e as Error).message}`,
    );
  }
}

export async function startPgEndpoint(options: PgEndpointOptions): Promise<RunningPgServer> {
  const semantic = semanticTables(options.model);
  const snapshot = await snapshotTables(options.tokens());
  const warehouse = new Map<string, string>();
  for (const t of snapshot) if (!warehouse.has(t.table)) warehouse.set(t.table, t.schema);
  const catalogTables: CatalogTable[] = [
    ...[...semantic.values()].map((t) => ({ schema: 'semantic', name: t.name, columns: t.columns })),
    ...snapshot
      .filter((t) => warehouse.get(t.table) === t.schema)
      .map((t) => ({ schema: 'warehouse', name: t.table, columns: t.columns })),
  ];
  const catalog = await createCatalog(catalogTables);
  try {
    const server = await startPgServer({
      port: options.port,
      host: options.host,
      ...(options.tls ? { tls: readTls(options.tls) } : {}),
      lookup: (user) => tokenVerifier(options.tokens(), user),
      engine: {
        db: options.db,
        model: options.model,
        cache: options.cache,
        sandbox: options.sandbox,
        regional: options.regional,
        semantic,
        warehouse,
        catalog,
        timeoutMs: options.timeoutMs ?? 20_000,
      },
    });
    return {
      ...server,
      close: async () => {
        await server.close();
        catalog.close();
      },
    };
  } catch (e) {
    catalog.close();
    if (e instanceof Error && 'code' in e && e.code === 'EADDRINUSE')
      throw new CrmBiError('usage', `--pg-port ${options.port} is in use on ${options.host}`);
    throw e;
  }
}
