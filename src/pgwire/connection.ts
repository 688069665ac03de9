/**
 * One client connection: startup, SCRAM-SHA-256 with an API token as the password, then the simple
 * and extended query protocols. pg-gateway (PostgresConnection) frames the messages, answers
 * SSLRequest and upgrades to TLS; the rest is handled here through its onStartup and onMessage
 * hooks, since pg-gateway 0.2.4 has neither SCRAM nor the extended protocol nor cancel requests.
 */
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { PostgresConnection, type TlsOptions } from 'pg-gateway';
import type { StoredToken } from '../db/token-store.ts';
import { isCrmBiError } from '../errors.ts';
import { SERVER_VERSION } from './catalog.ts';
import { type Answer, answer, DEFAULT_SETTINGS, type EngineContext, type Session } from './engine.ts';
import { errorFields, PgError, SQLSTATE } from './errors.ts';
import { backend, type Column, frontend, reader } from './messages.ts';
import {
  SCRAM_MECHANISM,
  ScramError,
  type ScramVerifier,
  scramExchange,
  unmatchableVerifier,
} from './scram.ts';

export interface ConnectionOptions {
  readonly engine: EngineContext;
  /** The SCRAM verifier and grant of a token id (the user name), or undefined. */
  readonly lookup: (user: string) => Promise<{ verifier: ScramVerifier; token: StoredToken } | undefined>;
  readonly tls?: TlsOptions;
  /** Registers a live connection under its cancel key; returns the function that unregisters it. */
  readonly register: (pid: number, secret: number, cancel: () => void) => () => void;
  /** A cancel request arrived (on a connection of its own). */
  readonly onCancel: (pid: number, secret: number) => void;
  /** Rows a statement may return (54000 past it). */
  readonly maxRows: number;
}

const CANCEL_REQUEST = 80877102;
/** Largest frontend message read (a query or a Bind with its values). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

interface Prepared {
  readonly sql: string;
  readonly paramTypes: readonly number[];
}

interface Portal {
  readonly sql: string;
  readonly params: readonly (string | null)[];
  readonly resultFormats: readonly number[];
  /** Run at Describe (so its columns are known) or at the first Execute. */
  answer?: Promise<Answer>;
  /** Rows already sent (Execute with a row limit resumes). */
  sent: number;
}

function paramCount(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

export function servePgConnection(socket: Socket, options: ConnectionOptions): void {
  const { engine } = options;
  let phase: 'startup' | 'sasl-initial' | 'sasl-final' | 'ready' | 'closed' = 'startup';
  let exchange: ReturnType<typeof scramExchange> | null = null;
  let grant: StoredToken | null = null;
  let session: Session | null = null;
  let unregister: (() => void) | null = null;
  let running: AbortController | null = null;
  /** After an error in the extended protocol, messages are skipped until Sync. */
  let skipping = false;
  const statements = new Map<string, Prepared>();
  const portals = new Map<string, Portal>();
  const pid = randomInt(1, 2 ** 31 - 1);
  const secret = randomInt(1, 2 ** 31 - 1);

  let connection: PostgresConnection;
  /** The (possibly TLS) socket, once the connection reads its own messages. */
  let out: Socket = socket;
  const send = (...buffers: Buffer[]) => {
    if (phase !== 'closed' && out.writable)
      out.write(buffers.length === 1 && buffers[0] ? buffers[0] : Buffer.concat(buffers));
  };
  const fatal = (code: string, message: string) => {
    send(backend.error({ severity: 'FATAL', code, message }));
    close();
  };
  const close = () => {
    if (phase === 'closed') return;
    phase = 'closed';
    running?.abort();
    unregister?.();
    out.end();
  };

  const user = () => connection.clientInfo?.parameters.user ?? '';

  async function startAuthentication(): Promise<void> {
    phase = 'sasl-initial';
    send(backend.authenticationSasl(SCRAM_MECHANISM));
  }

  async function password(message: Buffer): Promise<void> {
    const r = reader(message);
    try {
      if (phase === 'sasl-initial') {
        const mechanism = r.cstring();
        if (mechanism !== SCRAM_MECHANISM)
          return fatal(SQLSTATE.invalidPassword, `only ${SCRAM_MECHANISM} authentication is offered`);
        const length = r.int32();
        const clientFirst = r.bytes(Math.max(0, length)).toString('utf8');
        const found = await options.lookup(user());
        grant = found?.token ?? null;
        exchange = scramExchange(found?.verifier ?? unmatchableVerifier(user()));
        send(backend.authentication(11, exchange.first(clientFirst)));
        phase = 'sasl-final';
        return;
      }
      if (phase === 'sasl-final' && exchange) {
        const clientFinal = message.subarray(5).toString('utf8');
        const serverFinal = exchange.final(clientFinal);
        if (serverFinal === null || !grant)
          return fatal(SQLSTATE.invalidPassword, `password authentication failed for user "${user()}"`);
        send(backend.authentication(12, serverFinal), backend.authentication(0));
        authenticated(grant);
        return;
      }
      fatal(SQLSTATE.protocolViolation, 'unexpected password message');
    } catch (e) {
      if (e instanceof ScramError) return fatal(SQLSTATE.invalidPassword, e.message);
      // the server has handed the warehouse (where tokens live) to a writer for a moment
      if (isCrmBiError(e) && e.code === 'warehouse_busy') return fatal(SQLSTATE.cannotConnectNow, e.message);
      return fatal(SQLSTATE.protocolViolation, 'malformed authentication message');
    }
  }

  function authenticated(token: StoredToken): void {
    const params = connection.clientInfo?.parameters ?? { user: '' };
    session = {
      token,
      user: params.user,
      database: params.database ?? params.user,
      settings: new Map(params.application_name ? [['application_name', params.application_name]] : []),
      transaction: 'I',
    };
    phase = 'ready';
    unregister = options.register(pid, secret, () => running?.abort());
    const status = [
      'server_version',
      'server_encoding',
      'client_encoding',
      'datestyle',
      'timezone',
      'integer_datetimes',
      'standard_conforming_strings',
      'intervalstyle',
      'is_superuser',
      'application_name',
      'default_transaction_read_only',
    ];
    send(
      ...status.map((k) =>
        backend.parameterStatus(
          k === 'datestyle'
            ? 'DateStyle'
            : k === 'timezone'
              ? 'TimeZone'
              : k === 'intervalstyle'
                ? 'IntervalStyle'
                : k,
          k === 'server_version' ? SERVER_VERSION : (session?.settings.get(k) ?? DEFAULT_SETTINGS[k] ?? ''),
        ),
      ),
      backend.backendKeyData(pid, secret),
      backend.readyForQuery('I'),
    );
  }

  /** Runs one statement as the session, cancellable by a cancel request. */
  async function run(sql: string, params: readonly (string | null)[]): Promise<Answer> {
    if (!session) throw new PgError(SQLSTATE.protocolViolation, 'not authenticated');
    running = new AbortController();
    try {
      const a = await answer(engine, session, sql, params, running.signal);
      if (a.kind === 'rows' && a.rows.length > options.maxRows)
        throw new PgError(
          SQLSTATE.programLimitExceeded,
          `the result has more than ${options.maxRows} rows`,
          'add a LIMIT or aggregate',
        );
      return a;
    } finally {
      running = null;
    }
  }

  function failed(e: unknown): Buffer {
    if (session && session.transaction === 'T') session.transaction = 'E';
    return backend.error(errorFields(e));
  }

  function rowsOf(
    a: Answer,
    formats: readonly number[],
    from = 0,
    max = 0,
  ): { buffers: Buffer[]; done: boolean; sent: number } {
    if (a.kind !== 'rows') return { buffers: [], done: true, sent: 0 };
    const end = max > 0 ? Math.min(a.rows.length, from + max) : a.rows.length;
    const buffers: Buffer[] = [];
    for (let i = from; i < end; i++) buffers.push(backend.dataRow(a.columns, a.rows[i] ?? [], formats));
    return { buffers, done: end >= a.rows.length, sent: end - from };
  }

  function completion(a: Answer): Buffer {
    return a.kind === 'empty' ? backend.emptyQuery() : backend.commandComplete(a.tag);
  }

  async function simpleQuery(message: Buffer): Promise<void> {
    const sql = frontend.query(message);
    try {
      const a = await run(sql, []);
      const out: Buffer[] = [];
      if (a.kind === 'rows') out.push(backend.rowDescription(a.columns, []), ...rowsOf(a, []).buffers);
      out.push(completion(a));
      send(...out, backend.readyForQuery(session?.transaction ?? 'I'));
    } catch (e) {
      send(failed(e), backend.readyForQuery(session?.transaction ?? 'I'));
    }
  }

  function decodeParams(
    values: readonly (Buffer | null)[],
    formats: readonly number[],
    types: readonly number[],
  ): (string | null)[] {
    return values.map((v, i) => {
      if (v === null) return null;
      const format = (formats.length === 1 ? formats[0] : formats[i]) ?? 0;
      if (format === 0) return v.toString('utf8');
      const type = types[i] ?? 0;
      if (type === 20 && v.length === 8) return v.readBigInt64BE().toString();
      if (type === 23 && v.length === 4) return String(v.readInt32BE());
      if (type === 21 && v.length === 2) return String(v.readInt16BE());
      if (type === 701 && v.length === 8) return String(v.readDoubleBE());
      if (type === 16 && v.length === 1) return v[0] === 1 ? 'true' : 'false';
      if (type === 25 || type === 1043 || type === 0) return v.toString('utf8');
      throw new PgError(
        SQLSTATE.featureNotSupported,
        `binary parameter $${i + 1} of type ${type}`,
        'send parameters as text',
      );
    });
  }

  function columnsOf(a: Answer): readonly Column[] | null {
    return a.kind === 'rows' ? a.columns : null;
  }

  async function extended(code: number, message: Buffer): Promise<void> {
    if (code === 0x53) {
      // Sync: the end of an extended-protocol batch, and of skipping after an error
      skipping = false;
      send(backend.readyForQuery(session?.transaction ?? 'I'));
      return;
    }
    if (skipping) return;
    try {
      switch (code) {
        case 0x50: {
          const p = frontend.parse(message);
          statements.set(p.name, { sql: p.sql, paramTypes: p.paramTypes });
          send(backend.parseComplete());
          return;
        }
        case 0x42: {
          const b = frontend.bind(message);
          const stmt = statements.get(b.statement);
          if (!stmt) throw new PgError('26000', `prepared statement "${b.statement}" does not exist`);
          portals.set(b.portal, {
            sql: stmt.sql,
            params: decodeParams(b.values, b.paramFormats, stmt.paramTypes),
            resultFormats: b.resultFormats,
            sent: 0,
          });
          send(backend.bindComplete());
          return;
        }
        case 0x44: {
          const d = frontend.describeOrClose(message);
          if (d.kind === 'S') {
            const stmt = statements.get(d.name);
            if (!stmt) throw new PgError('26000', `prepared statement "${d.name}" does not exist`);
            const n = Math.max(paramCount(stmt.sql), stmt.paramTypes.length);
            const oids = Array.from({ length: n }, (_, i) => stmt.paramTypes[i] || 25);
            // the columns are known once it runs: a dry run with NULL parameters says them
            const probe = await run(
              stmt.sql,
              oids.map(() => null),
            ).catch(() => null);
            const columns = probe ? columnsOf(probe) : null;
            send(
              backend.parameterDescription(oids),
              columns ? backend.rowDescription(columns, []) : backend.noData(),
            );
            return;
          }
          const portal = portals.get(d.name);
          if (!portal) throw new PgError('34000', `portal "${d.name}" does not exist`);
          portal.answer ??= run(portal.sql, portal.params);
          const columns = columnsOf(await portal.answer);
          send(columns ? backend.rowDescription(columns, portal.resultFormats) : backend.noData());
          return;
        }
        case 0x45: {
          const e = frontend.execute(message);
          const portal = portals.get(e.portal);
          if (!portal) throw new PgError('34000', `portal "${e.portal}" does not exist`);
          portal.answer ??= run(portal.sql, portal.params);
          const a = await portal.answer;
          const { buffers, done, sent } = rowsOf(a, portal.resultFormats, portal.sent, e.maxRows);
          portal.sent += sent;
          send(...buffers, done ? completion(a) : backend.portalSuspended());
          return;
        }
        case 0x43: {
          const c = frontend.describeOrClose(message);
          if (c.kind === 'S') statements.delete(c.name);
          else portals.delete(c.name);
          send(backend.closeComplete());
          return;
        }
        case 0x48:
          return; // Flush: every answer is written at once already
        default:
          throw new PgError(
            SQLSTATE.protocolViolation,
            `message type ${String.fromCharCode(code)} is not supported`,
          );
      }
    } catch (e) {
      skipping = true;
      send(failed(e));
    }
  }

  /** One framed message after startup, handled strictly in arrival order. */
  async function handle(data: Buffer): Promise<void> {
    if (phase === 'closed') return;
    const code = data[0] ?? 0;
    try {
      if (code === 0x58) return close();
      if (phase === 'sasl-initial' || phase === 'sasl-final') {
        if (code !== 0x70) return fatal(SQLSTATE.protocolViolation, 'expected a password message');
        return await password(data);
      }
      if (phase !== 'ready')
        return fatal(SQLSTATE.protocolViolation, 'unexpected message before authentication');
      if (code === 0x51) await simpleQuery(data);
      else await extended(code, data);
    } catch {
      fatal(SQLSTATE.internal, 'internal error');
    }
  }

  /**
   * After the startup message the connection reads its own messages: pg-gateway 0.2.4 frames a
   * second data event while the first one's messages are still being handled, which loses the
   * pipelined extended-protocol messages node-postgres sends.
   */
  function takeOver(own: Socket): void {
    out = own;
    // answers are several small writes (ParseComplete, BindComplete, rows, ReadyForQuery):
    // with Nagle's algorithm each batch would wait for the client's delayed ACK (about 40 ms)
    own.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let chain = Promise.resolve();
    own.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (length < 4 || length > MAX_MESSAGE_BYTES) {
          pending = Buffer.alloc(0);
          chain = chain.then(() => fatal(SQLSTATE.protocolViolation, 'invalid message length'));
          return;
        }
        if (pending.length < length + 1) break;
        const message = pending.subarray(0, length + 1);
        pending = pending.subarray(length + 1);
        chain = chain.then(() => handle(message));
      }
    });
  }

  connection = new PostgresConnection(socket, {
    serverVersion: SERVER_VERSION,
    ...(options.tls ? { tls: options.tls } : {}),
    async onMessage(bytes, state) {
      if (state.hasStarted) return true;
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (data.length === 16 && data.readInt32BE(4) === CANCEL_REQUEST) {
        options.onCancel(data.readInt32BE(8), data.readInt32BE(12));
        phase = 'closed';
        socket.end();
        return true;
      }
      return false; // SSLRequest and the startup message: pg-gateway reads them
    },
    async onStartup() {
      takeOver(connection.detach());
      await startAuthentication();
      return true;
    },
  });
  socket.on('error', () => close());
  socket.on('close', () => {
    phase = 'closed';
    running?.abort();
    unregister?.();
  });
}
