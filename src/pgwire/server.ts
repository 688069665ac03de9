/**
 * The PostgreSQL-protocol endpoint of `crm-bi serve --pg-port`: psql, notebooks (psycopg2, pandas)
 * and BI tools' PostgreSQL connectors read the semantic layer (schema `semantic`) and, with an
 * analyst or admin token, the ad hoc snapshot (schema `warehouse`). The user name is the token's
 * id, the password the token itself, checked with SCRAM-SHA-256.
 *
 * pg-gateway is used for what it has (message framing, SSLRequest and the TLS upgrade, the
 * startup message) because it is small, maintained and built on node-postgres's own pg-protocol
 * codec; authentication, the query protocols and cancel requests are ours (see connection.ts).
 *
 * @example
 * const pg = await startPgServer({ engine, lookup, port: 5433 });
 * // psql "host=127.0.0.1 port=5433 user=<token id> password=<token> dbname=crm_bi"
 */

import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import type { TlsOptions } from 'pg-gateway';
import type { StoredToken } from '../db/token-store.ts';
import { listenError } from '../errors.ts';
import { type ConnectionOptions, servePgConnection } from './connection.ts';
import type { EngineContext } from './engine.ts';
import type { ScramVerifier } from './scram.ts';

export interface PgServerOptions {
  readonly engine: EngineContext;
  readonly lookup: (user: string) => Promise<{ verifier: ScramVerifier; token: StoredToken } | undefined>;
  readonly port: number;
  readonly host?: string;
  readonly tls?: TlsOptions;
  /** Connections open at once (default 64); past it a client gets 53300. */
  readonly maxConnections?: number;
  /** Rows one statement may return (default 100,000). */
  readonly maxRows?: number;
}

export interface RunningPgServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startPgServer(options: PgServerOptions): Promise<RunningPgServer> {
  const live = new Map<number, { secret: number; cancel: () => void }>();
  const connectionOptions: ConnectionOptions = {
    engine: options.engine,
    lookup: options.lookup,
    ...(options.tls ? { tls: options.tls } : {}),
    maxRows: options.maxRows ?? 100_000,
    register(pid, secret, cancel) {
      live.set(pid, { secret, cancel });
      return () => live.delete(pid);
    },
    onCancel(pid, secret) {
      const target = live.get(pid);
      // a wrong secret is ignored silently, as PostgreSQL does
      if (target && target.secret === secret) target.cancel();
    },
  };
  const server: Server = createServer((socket) => {
    servePgConnection(socket, connectionOptions);
  });
  server.maxConnections = options.maxConnections ?? 64;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError(e, host, options.port, '--pg-port')));
    server.listen(options.port, host, () => resolve());
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
