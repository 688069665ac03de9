/**
 * The only module that talks to ClickHouse: a small client over the HTTP interface (fetch), which
 * works with old servers (Debian's 18.16) as well as new ones. Statements go in the POST body,
 * results come back as JSONEachRow, inserts stream TSV. A server error surfaces with the
 * server's own message and the node it came from.
 *
 * `clickhouse://host:port/database?cluster=NAME` names the entry node's HTTP port, the database
 * that holds the local (per-shard) tables, and the `remote_servers` cluster (default `crm_bi`).
 */
import { z } from 'zod';
import { CrmBiError } from '../errors.ts';

export interface ClickHouseTarget {
  /** http://host:port of the entry node */
  readonly http: string;
  readonly host: string;
  readonly port: number;
  /** database of the local and staging tables (the logical schemas core/meta/mining are databases too) */
  readonly database: string;
  readonly cluster: string;
  readonly url: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for `clickhouse://...` (a `--db` value that names a cluster rather than a DuckDB file). */
export function isClickHouseUrl(value: string): boolean {
  return /^clickhouse:\/\//i.test(value);
}

/**
 * Parses `clickhouse://host:port/database[?cluster=NAME]`.
 * @example parseClickHouseUrl('clickhouse://127.0.0.1:18123/crm_bi') // { http: 'http://127.0.0.1:18123', database: 'crm_bi', cluster: 'crm_bi', ... }
 */
export function parseClickHouseUrl(value: string): ClickHouseTarget {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CrmBiError(
      'usage',
      `not a ClickHouse URL: '${value}' (expected clickhouse://host:port/database)`,
    );
  }
  if (url.protocol !== 'clickhouse:') {
    throw new CrmBiError(
      'usage',
      `not a ClickHouse URL: '${value}' (expected clickhouse://host:port/database)`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const cluster = url.searchParams.get('cluster') ?? 'crm_bi';
  if (!NAME.test(database)) {
    throw new CrmBiError('usage', `ClickHouse URL '${value}' needs a database name of letters, digits and _`);
  }
  if (!NAME.test(cluster)) {
    throw new CrmBiError('usage', `ClickHouse URL '${value}': cluster must be letters, digits and _`);
  }
  const port = url.port === '' ? 8123 : Number(url.port);
  const host = url.hostname;
  return { http: `http://${host}:${port}`, host, port, database, cluster, url: value };
}

/** Settings sent with every request: exact numbers in JSON, SQL NULLs from outer joins, global joins. */
const DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  output_format_json_quote_64bit_integers: '0',
  output_format_json_quote_denormals: '1',
  join_use_nulls: '1',
  distributed_product_mode: 'global',
  insert_distributed_sync: '1',
};

export type ClickHouseRow = Record<string, unknown>;

const rowSchema = z.record(z.string(), z.unknown());

export class ClickHouseClient {
  readonly http: string;
  private readonly settings: Record<string, string>;

  constructor(http: string, settings: Record<string, string> = {}) {
    this.http = http;
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  private endpoint(extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ ...this.settings, ...extra });
    return `${this.http}/?${params.toString()}`;
  }

  private async post(
    body: BodyInit,
    extra: Record<string, string> = {},
    what = 'statement',
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.endpoint(extra), {
        method: 'POST',
        body,
        ...(typeof body === 'string' ? {} : { duplex: 'half' }),
      } as RequestInit);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CrmBiError(
        'clickhouse_unreachable',
        `ClickHouse at ${this.http} is unreachable (${cause?.code ?? cause?.message ?? String(e)}); is the server running?`,
      );
    }
    if (!res.ok) {
      const text = (await res.text()).trim();
      throw new CrmBiError(
        'clickhouse_error',
        `ClickHouse at ${this.http} refused the ${what}: ${serverMessage(text)}`,
      );
    }
    return res;
  }

  /** Runs one statement for its effect. */
  async exec(sql: string): Promise<void> {
    const res = await this.post(sql);
    const text = await res.text();
    checkTrailingError(text, this.http);
  }

  /**
   * Runs a query and returns its rows (parsed line by line from JSONEachRow). `settings` apply to
   * this query only (e.g. `{ max_execution_time: '20' }`).
   */
  async rows(sql: string, settings: Record<string, string> = {}): Promise<ClickHouseRow[]> {
    const rows: ClickHouseRow[] = [];
    for await (const row of this.stream(sql, settings)) rows.push(row);
    return rows;
  }

  /** Streams the rows of a query. */
  async *stream(sql: string, settings: Record<string, string> = {}): AsyncGenerator<ClickHouseRow> {
    const res = await this.post(`${sql}\nFORMAT JSONEachRow`, settings, 'query');
    if (!res.body) return;
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line.length > 0) yield parseLine(line, this.http);
        nl = rest.indexOf('\n');
      }
    }
    rest += decoder.decode();
    if (rest.trim().length > 0) yield parseLine(rest, this.http);
  }

  /** The first column of the first row. */
  async scalar(sql: string): Promise<unknown> {
    const rows = await this.rows(sql);
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  }

  /** Sends `INSERT INTO table (cols) FORMAT TabSeparated` with the given TSV body. */
  async insertTsv(table: string, columns: readonly string[], tsv: string): Promise<void> {
    const query = `INSERT INTO ${table} (${columns.join(', ')}) FORMAT TabSeparated`;
    const res = await this.post(tsv, { query }, `insert into ${table}`);
    checkTrailingError(await res.text(), this.http);
  }
}

function parseLine(line: string, http: string): ClickHouseRow {
  if (line.startsWith('Code: ')) {
    throw new CrmBiError(
      'clickhouse_error',
      `ClickHouse at ${http} failed mid-result: ${serverMessage(line)}`,
    );
  }
  return rowSchema.parse(JSON.parse(line));
}

function checkTrailingError(text: string, http: string): void {
  const at = text.indexOf('Code: ');
  if (at >= 0 && /Exception/.test(text)) {
    throw new CrmBiError(
      'clickhouse_error',
      `ClickHouse at ${http} failed: ${serverMessage(text.slice(at))}`,
    );
  }
}

/** "Code: 62, e.displayText() = DB::Exception: Syntax error ..., e.what() = ..." → the useful part. */
function serverMessage(text: string): string {
  const m = /DB::Exception: (.*?)(?:, e\.what\(\) = .*)?$/s.exec(text);
  return (m?.[1] ?? text).trim().slice(0, 2000);
}

/** Quotes an identifier for ClickHouse (the one place ClickHouse identifiers are quoted). */
export function quoteChIdent(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

export interface Shard {
  readonly shard: number;
  readonly client: ClickHouseClient;
}

/**
 * The entry node and every shard of the cluster. A shard's HTTP port comes from its `http_port`
 * macro (scripts/ci/start-clickhouse.sh writes it), read over the cluster's native port.
 */
export class ClickHouseCluster {
  readonly target: ClickHouseTarget;
  readonly entry: ClickHouseClient;
  private shardList: Shard[] | undefined;

  constructor(target: ClickHouseTarget, settings: Record<string, string> = {}) {
    this.target = target;
    this.entry = new ClickHouseClient(target.http, settings);
  }

  static fromUrl(url: string): ClickHouseCluster {
    return new ClickHouseCluster(parseClickHouseUrl(url));
  }

  async shards(): Promise<Shard[]> {
    if (this.shardList) return this.shardList;
    const cluster = this.target.cluster;
    const rows = await this.entry.rows(
      `SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = '${cluster}' AND replica_num = 1 ORDER BY shard_num`,
    );
    if (rows.length === 0) {
      throw new CrmBiError(
        'clickhouse_no_cluster',
        `ClickHouse at ${this.target.http} has no cluster '${cluster}' in remote_servers (set ?cluster=NAME in the URL)`,
      );
    }
    const shards: Shard[] = [];
    for (const r of rows) {
      const host = String(r.host_address);
      const tcp = Number(r.port);
      if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new Error(`unexpected host in system.clusters: ${host}`);
      const macro = await this.entry.scalar(
        `SELECT substitution FROM remote('${host}:${tcp}', system, macros) WHERE macro = 'http_port'`,
      );
      if (macro === undefined) {
        throw new CrmBiError(
          'clickhouse_no_http_port',
          `shard ${String(r.shard_num)} (${host}:${tcp}) declares no <macros><http_port> in its config; crm-bi needs it to create tables on every shard`,
        );
      }
      const hostPart = host.includes(':') ? `[${host}]` : host;
      shards.push({
        shard: Number(r.shard_num),
        client: new ClickHouseClient(`http://${hostPart}:${Number(macro)}`),
      });
    }
    this.shardList = shards;
    return shards;
  }
}
