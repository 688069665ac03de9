/**
 * The API's one error type and one error handler: a `CrmBiError` (user mistake) maps to 4xx by its
 * code or status, anything else is a bug and answers 500 `internal`. The body is always
 * `{ error: { code, message } }`, never a stack or a server path.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CrmBiError, isCrmBiError } from '../errors.ts';
import { scrubPaths } from './sandbox/protocol.ts';

export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'not_acceptable';

const STATUS: Record<ApiErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  not_acceptable: 406,
};

/** The API's error: a CrmBiError whose status follows from its code. */
export function apiError(code: ApiErrorCode, message: string): CrmBiError {
  return new CrmBiError(code, message, {}, STATUS[code]);
}

/**
 * Too much shared work is waiting (429), or the resource is briefly unavailable (503): the caller
 * should come back after `retryAfter` seconds, which the error handler sends as a Retry-After header.
 */
export class BusyError extends CrmBiError {
  constructor(
    code: string,
    message: string,
    readonly retryAfter: number,
    status: 429 | 503 = 429,
  ) {
    super(code, message, {}, status);
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export function errorBody(e: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (isCrmBiError(e)) {
    const known = Object.hasOwn(STATUS, e.code) ? STATUS[e.code as ApiErrorCode] : undefined;
    const status = (known ?? (e.status >= 400 && e.status < 600 ? e.status : 400)) as ContentfulStatusCode;
    return { status, body: { error: { code: e.code, message: scrubPaths(e.message) } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };
}

/** Hono's onError: logs bugs to stderr (with stack) and answers with the JSON body. */
export function handleError(e: unknown, c: Context): Response {
  const { status, body } = errorBody(e);
  if (status >= 500 && !isCrmBiError(e)) {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', msg: e instanceof Error ? (e.stack ?? e.message) : String(e) })}\n`,
    );
  }
  if (e instanceof BusyError) c.header('Retry-After', String(Math.max(1, Math.ceil(e.retryAfter))));
  // Cube's REST protocol (and its client library) expects `error` to be the message string.
  if (c.req.path.startsWith('/cubejs-api/')) {
    return c.json({ error: body.error.message, code: body.error.code }, status);
  }
  return c.json(body, status);
}

/** Reads a JSON body; a body that is not JSON is a 400, not a 500. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw apiError('invalid_json', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw apiError('invalid_json', 'the request body is not valid JSON');
  }
}
