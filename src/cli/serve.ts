import type { Command } from 'commander';
import { startServer } from '../api/server.ts';
import { warehouseTarget } from '../db/target.ts';
import { action, intOption, log, withDb } from './common.ts';

interface ServeFlags {
  port: number;
  host: string;
  db: string;
  demo: boolean;
}

/** `crm-bi serve`: the HTTP API over a published read-only copy of the warehouse. */
export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the HTTP API (Cube REST, customer 360, mining runs, ad hoc SQL) and the dashboards')
    .option('--port <p>', 'HTTP port', intOption('--port', 0), 3000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--demo', 'DEMO MODE: requests without a token act as admin (local use only)', false);
  withDb(cmd).action(
    action(async (flags: ServeFlags) => {
      await serveUntilStopped({
        dbPath: flags.db,
        port: flags.port,
        hostname: flags.host,
        demoMode: flags.demo,
      });
    }),
  );
}

/** Starts the API, says where (and loudly if in demo mode), and serves until SIGINT or SIGTERM. */
export async function serveUntilStopped(options: {
  dbPath: string;
  port: number;
  hostname?: string;
  demoMode: boolean;
}): Promise<void> {
  const server = await startServer({
    dbPath: options.dbPath,
    port: options.port,
    hostname: options.hostname ?? '127.0.0.1',
    demoMode: options.demoMode,
  });
  log(
    warehouseTarget(options.dbPath).kind === 'clickhouse'
      ? `crm-bi API listening on ${server.url} (cube figures from ${options.dbPath}; tokens and run records from its DuckDB staging warehouse)`
      : `crm-bi API listening on ${server.url} (warehouse ${options.dbPath}, read through a published copy)`,
  );
  log(`dashboards: ${server.url}/executive`);
  if (options.demoMode) {
    log('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
    log('!! DEMO MODE: requests WITHOUT A TOKEN ACT AS ADMIN. Do not expose this server. !!');
    log('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log(`${signal}: shutting down`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
