/**
 * The JSON text of cube answers, kept per read-only warehouse handle: a dashboard sends the same
 * few queries over and over, and on a handle that cannot change (the server opens a new one after
 * every write) the same query from the same regions always has the same answer. A hit skips
 * parsing, compiling, the result cache's key and the JSON encoding; the route still checks the
 * caller's token and role first. Any other handle (a writable one) is never memoised.
 *
 * @example
 * const memo = cubeAnswerMemo();
 * const key = memo.key(db, [queryType, regions, query]);
 * const text = key === null ? null : memo.get(db, key);
 */
import { cubeEngineOf } from '../cube/engine.ts';
import type { Database } from '../db/duckdb.ts';

/** Longest key kept: dashboards' queries are a few hundred characters. */
const MAX_KEY_CHARS = 16 * 1024;

export interface CubeAnswerMemoOptions {
  /** Most answers kept (default 500). */
  readonly maxEntries?: number;
  /** Most characters kept over all answers (default 32 M). */
  readonly maxChars?: number;
}

export interface CubeAnswerMemo {
  /**
   * The memo key of a request on `db`, or null when `db` is not a read-only DuckDB handle (never
   * memoised).
   */
  key(db: Database, parts: unknown): string | null;
  get(db: Database, key: string): string | undefined;
  set(db: Database, key: string, text: string): void;
}

export function cubeAnswerMemo(options: CubeAnswerMemoOptions = {}): CubeAnswerMemo {
  const maxEntries = options.maxEntries ?? 500;
  const maxChars = options.maxChars ?? 32 * 1024 * 1024;
  const texts = new Map<string, string>();
  let chars = 0;
  let owner: Database | null = null;

  function own(db: Database): void {
    if (db === owner) return;
    texts.clear();
    chars = 0;
    owner = db;
  }

  return {
    key(db, parts) {
      // a cluster's data can change under a read-only staging handle: its answers are not kept
      if (!db.readOnly || cubeEngineOf(db).kind !== 'duckdb') return null;
      const key = JSON.stringify(parts);
      // a huge query (the body may be up to 1 MB) is not worth a key of its size
      return key === undefined || key.length > MAX_KEY_CHARS ? null : key;
    },
    get(db, key) {
      own(db);
      const text = texts.get(key);
      if (text !== undefined) {
        // most recently used last: the first entry is the one to drop
        texts.delete(key);
        texts.set(key, text);
      }
      return text;
    },
    set(db, key, text) {
      own(db);
      if (text.length > maxChars / 8) return;
      const old = texts.get(key);
      if (old !== undefined) chars -= old.length;
      texts.delete(key);
      texts.set(key, text);
      chars += text.length;
      while (texts.size > maxEntries || chars > maxChars) {
        const first = texts.keys().next();
        if (first.done) break;
        chars -= (texts.get(first.value) as string).length;
        texts.delete(first.value);
      }
    },
  };
}
