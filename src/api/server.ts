/**
 * Starts the HTTP server over a published copy of a warehouse (see published.ts), with the ad hoc
 * SQL sandbox, and stops it cleanly.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createQueryCache, loadModel } from '../cube/index.ts';
import { createApp } from './app.ts';
import { publishWarehouse } from './published.ts';
import { webRoutes } from './routes/web.ts';
import { createRegionalSandboxes, type RegionalSandboxes } from './sandbox/regional.ts';
import { createSandbox } from './sandbox/sandbox.ts';

export interface ServerOptions {
  readonly dbPath: string;
  readonly port?: number;
  readonly hostname?: string;
  readonly demoMode?: boolean;
  readonly modelDir?: string;
  /** How often to look for warehouse changes (ms). */
  readonly refreshMs?: number;
  readonly log?: boolean;
  /** Serve the dashboards (default true). */
  readonly dashboards?: boolean;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Republishes the warehouse copy now if it changed. */
  refresh(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const model = await loadModel(options.modelDir);
  const web = options.dashboards === false ? null : await webRoutes();
  const log = (m: string) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg: m })}\n`);
  let sandboxRef: ReturnType<typeof createSandbox> | null = null;
  let regionalRef: RegionalSandboxes | null = null;
  const published = await publishWarehouse(options.dbPath, {
    intervalMs: options.refreshMs ?? 3000,
    onSwap: () => {
      sandboxRef?.restart();
      regionalRef?.restart();
    },
    log,
  });
  const sandbox = createSandbox({ snapshot: published.sandboxPath });
  sandboxRef = sandbox;
  const regionalSandboxes = createRegionalSandboxes({ source: published.sandboxPath });
  regionalRef = regionalSandboxes;
  const app = createApp({
    db: published.current,
    model,
    cache: createQueryCache(),
    sandbox,
    regionalSandboxes,
    demoMode: options.demoMode ?? false,
    log: options.log ?? true,
    web,
  });
  const hostname = options.hostname ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://${hostname}:${port}`,
    port,
    refresh: () => published.refresh(),
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeIdleConnections' in server)
          (server as { closeIdleConnections(): void }).closeIdleConnections();
      });
      sandbox.close();
      regionalSandboxes.close();
      published.close();
    },
  };
}
