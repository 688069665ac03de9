/**
 * Starts the HTTP server over a warehouse file, read in place (see published.ts), with the ad hoc
 * SQL sandbox, and stops it cleanly.
 *
 * Over a ClickHouse cluster (`dbPath` = clickhouse://...), every cube read (all dashboard and API
 * figures) runs on the cluster, while the DuckDB staging warehouse that `crm-bi load --db
 * clickhouse://...` keeps (src/clickhouse/load-target.ts) is published as usual for what is not
 * a cube figure: tokens, the mining run records, load status, and the ad hoc SQL snapshot.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { clickhouseEngine } from '../clickhouse/cube-engine.ts';
import { stagingPath } from '../clickhouse/staging-path.ts';
import { readCubeFrom } from '../cube/engine.ts';
import { type CubeResponse, createQueryCache, loadModel } from '../cube/index.ts';
import { ClickHouseCluster } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError, listenError } from '../errors.ts';
import { startPgEndpoint } from '../pgwire/endpoint.ts';
import { createApp } from './app.ts';
import { asOwnRequest } from './auth.ts';
import { publishWarehouse } from './published.ts';
import { webRoutes } from './routes/web.ts';
import { createRegionalSandboxes, type RegionalSandboxes } from './sandbox/regional.ts';
import { createSandbox } from './sandbox/sandbox.ts';
import { createWarmUp, type WarmRequest, warmUpFile } from './warm-up.ts';

export interface ServerOptions {
  /** A DuckDB warehouse file, or clickhouse://host:port/database to serve from a cluster. */
  readonly dbPath: string;
  /**
   * Over a cluster: the DuckDB warehouse holding tokens and run records (default: the cluster's
   * staging warehouse, `$CRM_BI_CLICKHOUSE_STAGING` or ./data/clickhouse-<host>-<port>-<db>.duckdb).
   */
  readonly stagingPath?: string;
  readonly port?: number;
  readonly hostname?: string;
  readonly demoMode?: boolean;
  readonly modelDir?: string;
  /** How often to look for write requests and file changes (ms; 0: file changes only on refresh()). */
  readonly refreshMs?: number;
  readonly log?: boolean;
  /**
   * Ask the remembered reads again at start (default true); they are still noted, and asked again
   * after each publication. Off: the first visit after start is cold (the dashboards bench).
   */
  readonly warmUpAtStart?: boolean;
  /** Serve the dashboards (default true). */
  readonly dashboards?: boolean;
  /** Also serve the PostgreSQL protocol (src/pgwire) on this port; off when absent. */
  readonly pgPort?: number;
  /** Address of the PostgreSQL endpoint (default 127.0.0.1). */
  readonly pgHost?: string;
  /** PEM certificate and key files: the PostgreSQL endpoint then offers TLS. */
  readonly pgTls?: { readonly cert: string; readonly key: string };
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Looks now: hands the file over to a writer that asks, reopens it when it changed. */
  refresh(): Promise<boolean>;
  /**
   * Resolves, with how many reads were answered, when the warm-up under way is done (the one of
   * the start, or of the latest publication); at once when none is under way.
   */
  warmedUp(): Promise<number>;
  /** The PostgreSQL endpoint's address, when it was asked for. */
  readonly pg?: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const model = await loadModel(options.modelDir);
  const web = options.dashboards === false ? null : await webRoutes();
  const log = (m: string) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg: m })}\n`);
  let sandboxRef: ReturnType<typeof createSandbox> | null = null;
  let regionalRef: RegionalSandboxes | null = null;
  const target = warehouseTarget(options.dbPath);
  let warehousePath = options.dbPath;
  let bindCluster: (db: Database) => Database = (db) => db;
  if (target.kind === 'clickhouse') {
    const cluster = new ClickHouseCluster(target.cluster);
    await cluster.shards(); // fail at start-up when the cluster is not there
    warehousePath = options.stagingPath ?? stagingPath(target.url);
    if (!existsSync(warehousePath)) {
      throw new CrmBiError(
        'warehouse_not_found',
        `serving ${target.url} needs its DuckDB staging warehouse (tokens, run records) at ${warehousePath}: run \`crm-bi load --db ${target.url}\`, or set CRM_BI_CLICKHOUSE_STAGING to the file you synced from`,
      );
    }
    const engine = clickhouseEngine(cluster);
    bindCluster = (db) => {
      readCubeFrom(db, engine);
      return db;
    };
  }
  const warmUp = createWarmUp({ file: warmUpFile(warehousePath), log });
  const warm = () =>
    warmUp.run().then((n) => {
      if (n > 0) log(`warmed ${n} requests`);
      return n;
    });
  const published = await publishWarehouse(warehousePath, {
    intervalMs: options.refreshMs ?? 250,
    onRelease: () => {
      sandboxRef?.pause();
      regionalRef?.pause();
    },
    onSwap: () => {
      sandboxRef?.restart();
      sandboxRef?.resume();
      regionalRef?.restart();
      regionalRef?.resume();
      // the reads the pages asked of the previous handle, answered again before anyone asks
      void warm();
    },
    log,
  });
  // the children open the warehouse file itself, read-only, beside the server's own handle
  const sandbox = createSandbox({ snapshot: published.path });
  sandboxRef = sandbox;
  const regionalSandboxes = createRegionalSandboxes({ source: published.path });
  regionalRef = regionalSandboxes;
  const cache = createQueryCache<CubeResponse>();
  const app = createApp({
    db: () => bindCluster(published.current()),
    lastDb: () => published.last(),
    model,
    cache,
    sandbox,
    regionalSandboxes,
    demoMode: options.demoMode ?? false,
    log: options.log ?? true,
    web,
    campaignWriter: (fn) => published.write(fn),
    warmUp,
  });
  // a remembered read is asked again through the app itself, as its caller's regions (no token)
  warmUp.answerWith(async (entry: WarmRequest) => {
    const request = new Request(`http://warm-up.invalid${entry.path}`, {
      method: entry.method,
      ...(entry.body === null ? {} : { body: entry.body, headers: { 'content-type': 'application/json' } }),
    });
    const principal = {
      role: 'executive' as const,
      tokenId: null,
      ...(entry.regions === null ? {} : { regions: entry.regions }),
    };
    const res = await app.fetch(asOwnRequest(request, principal));
    if (res.status !== 200)
      log(`warm-up ${entry.method} ${entry.path}: ${res.status} ${await res.clone().text()}`);
    await res.arrayBuffer();
    return res.status;
  });
  const hostname = options.hostname ?? '127.0.0.1';
  const wanted = options.port ?? 3000;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: wanted, hostname }, () => resolve(s));
    s.once('error', (e) => reject(listenError(e, hostname, wanted, '--port')));
  });
  const port = (server.address() as AddressInfo).port;
  const pg =
    options.pgPort === undefined
      ? null
      : await startPgEndpoint({
          db: () => bindCluster(published.current()),
          tokens: () => published.current(),
          model,
          cache,
          sandbox,
          regional: regionalSandboxes,
          port: options.pgPort,
          host: options.pgHost ?? '127.0.0.1',
          ...(options.pgTls ? { tls: options.pgTls } : {}),
        }).catch((e: unknown) => {
          server.close();
          throw e;
        });
  let closed = false;
  // the reads remembered by the previous run of the server, before its first visitor asks
  if (options.warmUpAtStart !== false) void warm();
  return {
    url: `http://${hostname}:${port}`,
    port,
    refresh: () => published.refresh(),
    warmedUp: () => warmUp.done(),
    ...(pg ? { pg: { host: pg.host, port: pg.port } } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await pg?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeIdleConnections' in server)
          (server as { closeIdleConnections(): void }).closeIdleConnections();
      });
      await warmUp.stop();
      sandbox.close();
      regionalSandboxes.close();
      await published.close();
    },
  };
}
