import type { Command } from 'commander';
import { type ServerOptions, startServer } from '../api/server.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError } from '../errors.ts';
import { action, intOption, log, withDb } from './common.ts';

interface ServeFlags {
  port: number;
  host: string;
  db: string;
  demo: boolean;
  pgPort?: number;
  pgHost: string;
  pgTlsCert?: string;
  pgTlsKey?: string;
}

/** `crm-bi serve`: the HTTP API over a published read-only copy of the warehouse. */
export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the HTTP API (Cube REST, customer 360, mining runs, ad hoc SQL) and the dashboards')
    .option('--port <p>', 'HTTP port', intOption('--port', 0), 3000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--demo', 'DEMO MODE: requests without a token act as admin (local use only)', false)
    .option(
      '--pg-port <p>',
      'also serve the PostgreSQL protocol on this port (off by default)',
      intOption('--pg-port', 0),
    )
    .option('--pg-host <host>', 'address the PostgreSQL endpoint listens on', '127.0.0.1')
    .option('--pg-tls-cert <file>', 'PEM certificate: the PostgreSQL endpoint offers TLS (with --pg-tls-key)')
    .option('--pg-tls-key <file>', 'PEM private key of --pg-tls-cert');
  withDb(cmd).action(
    action(async (flags: ServeFlags) => {
      await serveUntilStopped({
        dbPath: flags.db,
        port: flags.port,
        hostname: flags.host,
        demoMode: flags.demo,
        ...pgOptions(flags),
      });
    }),
  );
}

function pgOptions(flags: ServeFlags): Pick<ServerOptions, 'pgPort' | 'pgHost' | 'pgTls'> {
  if ((flags.pgTlsCert === undefined) !== (flags.pgTlsKey === undefined))
    throw new CrmBiError('usage', '--pg-tls-cert and --pg-tls-key go together');
  if (flags.pgPort === undefined) {
    if (flags.pgTlsCert !== undefined) throw new CrmBiError('usage', '--pg-tls-cert needs --pg-port');
    return {};
  }
  return {
    pgPort: flags.pgPort,
    pgHost: flags.pgHost,
    ...(flags.pgTlsCert !== undefined && flags.pgTlsKey !== undefined
      ? { pgTls: { cert: flags.pgTlsCert, key: flags.pgTlsKey } }
      : {}),
  };
}

/** Starts the API, says where (and loudly if in demo mode), and serves until SIGINT or SIGTERM. */
export async function serveUntilStopped(
  options: {
    dbPath: string;
    port: number;
    hostname?: string;
    demoMode: boolean;
    /** Says where the server listens instead of the default lines (the demo prints its own). */
    announce?: (url: string) => void;
    /** Where log lines go (default stderr); the demo passes its progress display's. */
    say?: (line: string) => void;
  } & Pick<ServerOptions, 'pgPort' | 'pgHost' | 'pgTls'>,
): Promise<void> {
  const { dbPath, port, hostname, demoMode, announce, say = log, ...pg } = options;
  const server = await startServer({ dbPath, port, hostname: hostname ?? '127.0.0.1', demoMode, ...pg });
  if (server.pg)
    say(
      `PostgreSQL endpoint on ${server.pg.host}:${server.pg.port} (user = token id, password = token; see docs/sql-api.md)`,
    );
  if (options.demoMode) {
    say('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
    say('!! DEMO MODE: requests WITHOUT A TOKEN ACT AS ADMIN. Do not expose this server. !!');
    say('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  }
  if (announce) announce(server.url);
  else {
    say(
      warehouseTarget(options.dbPath).kind === 'clickhouse'
        ? `crm-bi API listening on ${server.url} (cube figures from ${options.dbPath}; tokens and run records from its DuckDB staging warehouse)`
        : `crm-bi API listening on ${server.url} (warehouse ${options.dbPath}, read in place; writers are let in on request)`,
    );
    say(`dashboards: ${server.url}/executive`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      say(`${signal}: shutting down`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
