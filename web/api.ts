/**
 * The dashboards' HTTP client for the API on the same origin. Sends the bearer token kept in
 * sessionStorage (none in demo mode), throws `ApiError` with the server's JSON error body, and asks
 * for a token with a small form when the API answers 401.
 */

import { MAX_BATCH, POST_READS } from '../src/api/routes/batch-reads.ts';

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly [k: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
  get code(): string {
    return this.body.code;
  }
}

export type Row = Record<string, string | number | boolean | null>;

/** A Cube query (members by `cube.member` name). */
export interface CubeQuery {
  readonly measures?: readonly string[];
  readonly dimensions?: readonly string[];
  readonly timeDimensions?: readonly unknown[];
  readonly filters?: readonly unknown[];
  /** Model segments (named filters), e.g. `customers.scored`. */
  readonly segments?: readonly string[];
  readonly order?: Record<string, 'asc' | 'desc'> | readonly (readonly [string, 'asc' | 'desc'])[];
  readonly limit?: number;
  readonly offset?: number;
}

export interface ApiClient {
  /** Runs a cube query (POST /v1/load) and returns its rows. */
  load(query: CubeQuery, signal?: AbortSignal): Promise<Row[]>;
  get<T = unknown>(path: string, signal?: AbortSignal): Promise<T>;
  post<T = unknown>(path: string, body: unknown, signal?: AbortSignal): Promise<T>;
  /** Fetches a file (with the token) and saves it through a temporary link, named as the server names it. */
  download(path: string, filename: string, body?: unknown): Promise<void>;
}

const TOKEN_KEY = 'crm-bi-token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export interface ApiClientOptions {
  readonly base?: string;
  /** Called on 401; resolves once a new token is stored (then the request is retried once). */
  readonly onUnauthorized?: (error: ApiError) => Promise<void>;
  readonly fetch?: typeof fetch;
  /** Longest wait before asking again while the server lets a writer in (default 1,000 ms). */
  readonly busyWaitMs?: number;
  /** Send the reads asked together as one `POST /v1/batch` (default true). */
  readonly batch?: boolean;
}

/** How often a read is asked again while the warehouse is handed to a writer (about 10 s in all). */
const BUSY_RETRIES = 10;

/** Reads can be asked again after a 503 `warehouse_busy`: the server did no work for them. */
function isRead(path: string, init: RequestInit): boolean {
  const method = (init.method ?? 'GET').toUpperCase();
  return method === 'GET' || (method === 'POST' && POST_READS.has(path));
}

function pause(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

/** What the client needs of an answer: a fetch Response, or one line of a batch's answer. */
interface Answer {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: Headers;
  json(): Promise<unknown>;
}

async function errorOf(res: Answer): Promise<ApiError> {
  let body: ApiErrorBody = { code: `http_${res.status}`, message: `HTTP ${res.status}` };
  try {
    const j = (await res.json()) as { error?: ApiErrorBody };
    if (j && typeof j === 'object' && j.error && typeof j.error.message === 'string') body = j.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, body);
}

interface Queued {
  readonly path: string;
  /** The request as asked (a POST's body is JSON text), its signal included. */
  readonly init: RequestInit;
  readonly resolve: (a: Answer) => void;
  readonly reject: (e: unknown) => void;
}

/** One line of `POST /v1/batch`'s NDJSON answer. */
interface BatchLine {
  readonly i: number;
  readonly status: number;
  readonly retry_after?: number;
  readonly body: unknown;
}

function lineAnswer(line: BatchLine): Answer {
  const headers = new Headers();
  if (line.retry_after !== undefined) headers.set('retry-after', String(line.retry_after));
  return {
    ok: line.status >= 200 && line.status < 300,
    status: line.status,
    headers,
    json: async () => line.body,
  };
}

/** The JSON lines of a streamed body, each as soon as it has arrived. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n');
    while (end >= 0) {
      const text = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (text.trim() !== '') yield JSON.parse(text);
      end = buffer.indexOf('\n');
    }
    if (done) return;
  }
}

/** A queued read as one entry of `POST /v1/batch`: a POST's JSON body goes in as it was sent. */
function batchRead(q: Queued): string {
  const path = JSON.stringify(q.path);
  return q.init.method === 'POST'
    ? `{"method":"POST","path":${path},"body":${q.init.body as string}}`
    : `{"method":"GET","path":${path}}`;
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const base = options.base ?? '';
  const doFetch = options.fetch ?? fetch.bind(globalThis);
  const busyWaitMs = options.busyWaitMs ?? 1000;
  const batching = options.batch ?? true;

  function withToken(init: RequestInit): RequestInit {
    const headers = new Headers(init.headers);
    const token = storedToken();
    if (token) headers.set('authorization', `Bearer ${token}`);
    return { ...init, headers };
  }

  // Reads asked in the same turn of the event loop go out together as one POST /v1/batch: a
  // browser sends at most six requests to a host at a time, so a page's 13–16 reads would queue.
  let queue: Queued[] = [];
  let scheduled = false;

  function enqueue(path: string, init: RequestInit): Promise<Answer> {
    const signal = init.signal;
    return new Promise<Answer>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      queue.push({ path, init, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, 0);
      }
    });
  }

  function flush(): void {
    scheduled = false;
    const ready = queue.filter((q) => !q.init.signal?.aborted);
    queue = [];
    for (let i = 0; i < ready.length; i += MAX_BATCH) void sendBatch(ready.slice(i, i + MAX_BATCH));
  }

  async function sendAlone(q: Queued): Promise<void> {
    try {
      q.resolve(await doFetch(base + q.path, withToken(q.init)));
    } catch (e) {
      q.reject(e);
    }
  }

  async function sendBatch(items: Queued[]): Promise<void> {
    if (items.length === 1) return sendAlone(items[0] as Queued);
    let res: Response;
    try {
      res = await doFetch(
        `${base}/v1/batch`,
        withToken({
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"requests":[${items.map(batchRead).join(',')}]}`,
        }),
      );
    } catch (e) {
      for (const q of items) q.reject(e);
      return;
    }
    if (!res.ok || !res.body) {
      // the batch itself was refused (no token, a server without batches): each read on its own
      // gets the same refusal, or its own answer
      if (res.status === 404 || res.status === 405) {
        await Promise.all(items.map(sendAlone));
        return;
      }
      const text = await res.text().catch(() => '');
      const answer: Answer = {
        ok: false,
        status: res.status,
        headers: res.headers,
        json: async () => JSON.parse(text) as unknown,
      };
      for (const q of items) q.resolve(answer);
      return;
    }
    const answered = new Set<number>();
    try {
      for await (const value of ndjsonLines(res.body)) {
        const line = value as BatchLine;
        const q = items[line.i];
        if (!q || answered.has(line.i)) continue;
        answered.add(line.i);
        // an answer larger than a batch carries: asked on its own, it is streamed
        if (
          line.status === 413 &&
          (line.body as { error?: { code?: unknown } } | null)?.error?.code === 'too_large_for_batch'
        ) {
          void sendAlone(q);
          continue;
        }
        // a failure the network panel cannot show (a busy warehouse is asked again, not a failure)
        if (line.status >= 500 && line.status !== 503)
          console.error(`${q.init.method ?? 'GET'} ${q.path}: HTTP ${line.status} in a batch`);
        q.resolve(lineAnswer(line));
      }
    } catch (e) {
      for (const [i, q] of items.entries()) if (!answered.has(i)) q.reject(e);
      return;
    }
    const lost = new ApiError(502, {
      code: 'batch_incomplete',
      message: 'the server ended the answer before every read was answered; reload the page',
    });
    for (const [i, q] of items.entries()) if (!answered.has(i)) q.reject(lost);
  }

  /** Sends one request: a JSON read through the batch, anything else (a file, a write) on its own. */
  function send(path: string, init: RequestInit, alone: boolean): Promise<Answer> {
    const method = (init.method ?? 'GET').toUpperCase();
    if (
      batching &&
      !alone &&
      isRead(path, init) &&
      path.startsWith('/v1/') &&
      (method === 'GET' || typeof init.body === 'string')
    ) {
      return enqueue(path, init);
    }
    return doFetch(base + path, withToken(init));
  }

  async function request(
    path: string,
    init: RequestInit,
    alone = false,
    retried = false,
    busy = 0,
  ): Promise<Answer> {
    const res = await send(path, init, alone);
    if (res.ok) return res;
    const err = await errorOf(res);
    if (res.status === 401 && !retried && options.onUnauthorized) {
      await options.onUnauthorized(err);
      return request(path, init, alone, true, busy);
    }
    // a load, a mining run or a save has the warehouse for a moment: ask a read again shortly
    if (res.status === 503 && err.code === 'warehouse_busy' && busy < BUSY_RETRIES && isRead(path, init)) {
      const after = Number(res.headers.get('retry-after')) * 1000;
      await pause(
        Math.min(Number.isFinite(after) && after > 0 ? after : busyWaitMs, busyWaitMs),
        init.signal,
      );
      return request(path, init, alone, retried, busy + 1);
    }
    throw err;
  }
  const json = async <T>(path: string, init: RequestInit) => (await (await request(path, init)).json()) as T;
  const postInit = (body: unknown, signal?: AbortSignal): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  return {
    async load(query, signal) {
      const r = await json<{ data: Row[] }>('/v1/load', postInit({ query }, signal));
      return r.data;
    },
    get: (path, signal) => json(path, signal ? { signal } : {}),
    post: (path, body, signal) => json(path, postInit(body, signal)),
    async download(path, filename, body) {
      // a file: asked on its own, so the answer is the server's Response
      const res = (await request(path, body === undefined ? {} : postInit(body), true)) as Response;
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      // the server's name wins: it says what the file holds (e.g. an audience's definition)
      a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  };
}
