/**
 * `POST /v1/batch`: several reads in one request, each answered as soon as it is ready.
 *
 * A browser opens at most six HTTP/1.1 connections to a host, so a page that asks 13–16 reads at
 * once queues most of them behind the first six (measured on the 1M warehouse: reads waited up to
 * 0.84 s only to be sent). The dashboards' client sends the reads it asks together as one batch.
 *
 * Each read is handed to the whole app as a request of its own, with the caller's
 * `Authorization`: authentication, the role check, the region limit, body limits, logging and the
 * warm-up notes apply to it exactly as to the same request sent alone. The batch adds no rights
 * and reads nothing itself. Only reads are accepted (GET under /v1, POST /v1/load and
 * /v1/audiences/count), never another batch; an answer that is not JSON (a CSV file) is refused in
 * its own entry, asked alone it works.
 *
 * The answer is NDJSON (`application/x-ndjson`), one line per read in the order they complete:
 * `{"i": <index in the batch>, "status": <HTTP status>, "retry_after"?: <seconds>, "ms": <milliseconds
 * from the batch's start to this answer's end>, "body": <the JSON answer>}`.
 * The batch itself answers 200 once its reads are valid; each read's own failure (400, 403, 503 …)
 * is in its line.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError, readJson } from '../errors.ts';
import { validate } from '../validate.ts';
import { MAX_BATCH, POST_READS } from './batch-reads.ts';

/**
 * Most bytes of JSON one batch carries (default), as much as one cube answer may be: a batch
 * holds each answer whole until its line is written, so 32 reads of large answers would otherwise
 * hold 32 times that. A read that does not fit gets a 413 `too_large_for_batch` line; asked on its
 * own it is streamed as usual (the dashboards' client does that).
 */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

export const BatchRead = z.strictObject({
  method: z.enum(['GET', 'POST']),
  /** Path and query string under /v1, e.g. `/v1/insights/clv/pareto?region=Europe`. */
  path: z.string().min(1).max(8192),
  /** A POST's JSON body. */
  body: z.unknown().optional(),
});

export const BatchRequest = z
  .strictObject({ requests: z.array(BatchRead).min(1).max(MAX_BATCH) })
  .meta({ description: `Up to ${MAX_BATCH} reads (GET under /v1, POST /v1/load or /v1/audiences/count)` });

export type BatchRead = z.infer<typeof BatchRead>;

/** The read's URL on this server, or a 400 naming the read when it is not an allowed read. */
function readUrl(read: BatchRead, i: number, base: string): URL {
  const where = `requests.${i}.path`;
  if (!read.path.startsWith('/v1/') || read.path.startsWith('//')) {
    throw apiError(
      'bad_request',
      `invalid request at ${where}: a read is a path under /v1/, e.g. /v1/segments`,
    );
  }
  const url = new URL(read.path, base);
  // a path that leaves /v1 after normalising (/v1/../healthz) or the server is not a read of the API
  if (url.origin !== new URL(base).origin || !url.pathname.startsWith('/v1/')) {
    throw apiError('bad_request', `invalid request at ${where}: a read is a path under /v1/`);
  }
  if (url.pathname === '/v1/batch') {
    throw apiError('bad_request', `invalid request at ${where}: a batch cannot hold another batch`);
  }
  if (read.method === 'POST' && !POST_READS.has(url.pathname)) {
    throw apiError(
      'bad_request',
      `invalid request at ${where}: only ${[...POST_READS].join(' and ')} are POST reads; send ${url.pathname} on its own`,
    );
  }
  if (read.method === 'GET' && read.body !== undefined) {
    throw apiError('bad_request', `invalid request at requests.${i}.body: a GET read has no body`);
  }
  return url;
}

/** One NDJSON line without its `ms`; `json` is the answer's JSON text, kept as it is when it is one line. */
function line(i: number, status: number, json: string, retryAfter: string | null): Line {
  let body = json;
  if (body.includes('\n')) body = JSON.stringify(JSON.parse(body));
  const after = retryAfter !== null && /^\d+$/.test(retryAfter) ? `,"retry_after":${retryAfter}` : '';
  return { head: `{"i":${i},"status":${status}${after}`, body };
}

/** A line's parts: what comes before `ms`, and the answer's JSON. */
interface Line {
  readonly head: string;
  readonly body: string;
}

function errorLine(i: number, status: number, code: string, message: string): Line {
  return line(i, status, JSON.stringify({ error: { code, message } }), null);
}

/** The bytes a batch may still hold. */
interface Budget {
  left: number;
  readonly max: number;
}

/** The body's bytes while they fit in `budget` (taken from it), else undefined; read to the end either way. */
async function bodyWithin(res: Response, budget: Budget): Promise<Uint8Array[] | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let fits = true;
  if (!res.body) return chunks;
  // read to its end, never cancelled: cancelling a stream fed by a Node stream can break its source
  for await (const chunk of res.body) {
    if (!fits) continue;
    size += chunk.byteLength;
    if (size > budget.left) fits = false;
    else chunks.push(chunk);
  }
  if (!fits) return undefined;
  budget.left -= size;
  return chunks;
}

/** The read's answer as one line; never throws. */
async function answerOf(i: number, request: Request, dispatch: Dispatch, budget: Budget): Promise<Line> {
  const path = new URL(request.url).pathname;
  let res: Response;
  try {
    res = await dispatch(request);
  } catch {
    return errorLine(i, 500, 'internal', 'internal error');
  }
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) {
    await bodyWithin(res, { left: 0, max: 0 }).catch(() => undefined);
    return errorLine(
      i,
      406,
      'not_acceptable',
      `${path} answers ${type.split(';')[0] || 'no body'}, not JSON; ask it on its own`,
    );
  }
  try {
    const chunks = await bodyWithin(res, budget);
    if (chunks === undefined) {
      return errorLine(
        i,
        413,
        'too_large_for_batch',
        `${path}: the batch's answers exceed the ${budget.max} bytes a batch carries; ask it on its own`,
      );
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return line(i, res.status, text, res.headers.get('retry-after'));
  } catch {
    return errorLine(i, 500, 'internal', 'internal error');
  }
}

/** Hands a request to the whole app (its middleware included). */
export type Dispatch = (request: Request) => Promise<Response>;

export function batchRoutes(dispatch: Dispatch, options: { readonly maxBytes?: number } = {}): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/', requireRole('executive'), async function batch(c) {
    const { requests } = validate(BatchRequest, await readJson(c));
    const urls = requests.map((r, i) => readUrl(r, i, c.req.url));
    const authorization = c.req.header('authorization');
    const subRequests = requests.map((r, i) => {
      const headers = new Headers();
      if (authorization !== undefined) headers.set('authorization', authorization);
      if (r.method === 'POST') headers.set('content-type', 'application/json');
      return new Request(urls[i] as URL, {
        method: r.method,
        headers,
        ...(r.method === 'POST' ? { body: JSON.stringify(r.body ?? null) } : {}),
      });
    });
    const max = options.maxBytes ?? MAX_BATCH_BYTES;
    const budget: Budget = { left: max, max };
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        // every read starts at once; each line goes out as its read completes, with the time it took
        const t0 = performance.now();
        await Promise.all(
          subRequests.map(async (request, i) => {
            const { head, body } = await answerOf(i, request, dispatch, budget);
            const ms = Math.round(performance.now() - t0);
            try {
              controller.enqueue(encoder.encode(`${head},"ms":${ms},"body":${body}}\n`));
            } catch {
              // the caller went away: the other reads finish, nobody reads them
            }
          }),
        );
        try {
          controller.close();
        } catch {
          // already cancelled by the caller
        }
      },
    });
    return c.body(body, 200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  });
  return app;
}
