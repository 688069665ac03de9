/**
 * The dashboards' HTTP client for the API on the same origin. Sends the bearer token kept in
 * sessionStorage (none in demo mode), throws `ApiError` with the server's JSON error body, and asks
 * for a token with a small form when the API answers 401.
 */

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
}

/** How often a read is asked again while the warehouse is handed to a writer (about 10 s in all). */
const BUSY_RETRIES = 10;

/** Reads can be asked again after a 503 `warehouse_busy`: the server did no work for them. */
function isRead(path: string, init: RequestInit): boolean {
  const method = (init.method ?? 'GET').toUpperCase();
  return method === 'GET' || (method === 'POST' && (path === '/v1/load' || path === '/v1/audiences/count'));
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

async function errorOf(res: Response): Promise<ApiError> {
  let body: ApiErrorBody = { code: `http_${res.status}`, message: `${res.status} ${res.statusText}` };
  try {
    const j = (await res.json()) as { error?: ApiErrorBody };
    if (j && typeof j === 'object' && j.error && typeof j.error.message === 'string') body = j.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, body);
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const base = options.base ?? '';
  const doFetch = options.fetch ?? fetch.bind(globalThis);
  const busyWaitMs = options.busyWaitMs ?? 1000;
  async function request(path: string, init: RequestInit, retried = false, busy = 0): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = storedToken();
    if (token) headers.set('authorization', `Bearer ${token}`);
    const res = await doFetch(base + path, { ...init, headers });
    if (res.ok) return res;
    const err = await errorOf(res);
    if (res.status === 401 && !retried && options.onUnauthorized) {
      await options.onUnauthorized(err);
      return request(path, init, true, busy);
    }
    // a load, a mining run or a save has the warehouse for a moment: ask a read again shortly
    if (res.status === 503 && err.code === 'warehouse_busy' && busy < BUSY_RETRIES && isRead(path, init)) {
      const after = Number(res.headers.get('retry-after')) * 1000;
      await pause(
        Math.min(Number.isFinite(after) && after > 0 ? after : busyWaitMs, busyWaitMs),
        init.signal,
      );
      return request(path, init, retried, busy + 1);
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
      const res = await request(path, body === undefined ? {} : postInit(body));
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
