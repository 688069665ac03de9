/**
 * Response bodies sent piece by piece: a large answer is encoded as the client reads it (the
 * stream pulls the next piece only when the previous one was taken) instead of being built as one
 * string first. Routes check every cap (rows, bytes, time) before they start a stream, so a client
 * never gets a 200 that stops short.
 */

/** Pieces are gathered up to about this many characters before they are sent. */
const PIECE_CHARS = 64 * 1024;

type Json = unknown;

function isLeaf(v: Json): boolean {
  return typeof v !== 'object' || v === null || typeof (v as { toJSON?: unknown }).toJSON === 'function';
}

/** A container whose members are all leaves (a result row): encoded in one JSON.stringify call. */
function isFlat(v: object): boolean {
  return Array.isArray(v) ? v.every(isLeaf) : Object.values(v).every(isLeaf);
}

/** What JSON.stringify leaves out of an object and writes as null in an array. */
function isSkipped(v: Json): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function* pieces(value: Json): Generator<string> {
  if (isLeaf(value) || isFlat(value as object)) {
    yield JSON.stringify(value);
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (const [i, v] of value.entries()) {
      if (i > 0) yield ',';
      if (isSkipped(v)) yield 'null';
      else yield* pieces(v);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, v] of Object.entries(value as object)) {
    if (isSkipped(v)) continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* pieces(v);
  }
  yield '}';
}

/**
 * The JSON text of `value` in pieces of about 64 K characters; joined, they are exactly
 * `JSON.stringify(value)` (for values JSON can hold: plain objects, arrays, primitives, dates).
 */
export function* jsonPieces(value: Json): Generator<string> {
  let buffer = '';
  for (const piece of pieces(value)) {
    buffer += piece;
    if (buffer.length >= PIECE_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer.length > 0) yield buffer;
}

/** Answers with at most this many rows are encoded in one JSON.stringify call, not streamed. */
export const SMALL_ANSWER_ROWS = 1000;

/**
 * The JSON body of an answer of `rows` rows: one string when it is small (a stream's set-up costs
 * more than the encoding of a dashboard's few hundred rows), else a stream of pieces.
 */
export function jsonBody(value: Json, rows: number): string | ReadableStream<Uint8Array> {
  return rows <= SMALL_ANSWER_ROWS ? JSON.stringify(value) : streamOf(jsonPieces(value));
}

/** Gathers small text pieces (e.g. CSV lines) into pieces of about 64 K characters. */
export function* gathered(texts: Iterable<string>): Generator<string> {
  let buffer = '';
  for (const text of texts) {
    buffer += text;
    if (buffer.length >= PIECE_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer.length > 0) yield buffer;
}

/** A byte stream that encodes the next piece only when the client has taken the previous one. */
export function streamOf(texts: Iterable<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const it = texts[Symbol.iterator]();
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = it.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
      cancel() {
        it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
