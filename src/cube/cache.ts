/**
 * An in-memory LRU of query results, keyed by (database, warehouse data version, SQL, params).
 * The data version changes on every succeeded load and every change to the set of mining runs
 * (src/cube/data-version.ts), so a cached result is never served after the data changed. Size is
 * capped by entries and by approximate bytes.
 */
export interface QueryCacheOptions {
  /** Most results kept (default 500). */
  readonly maxEntries?: number;
  /** Approximate cap on the JSON size of kept results (default 64 MB). */
  readonly maxBytes?: number;
}

interface Entry<V> {
  readonly value: V;
  readonly bytes: number;
}

export class QueryCache<V = unknown> {
  private readonly entries = new Map<string, Entry<V>>();
  private bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  hits = 0;
  misses = 0;

  constructor(options: QueryCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 500;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.value;
  }

  /** Keeps a value; `bytes` is its approximate size (a value larger than the cap is not kept). */
  set(key: string, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const e = this.entries.get(oldest.value) as Entry<V>;
      this.entries.delete(oldest.value);
      this.bytes -= e.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }
}

export function createQueryCache<V = unknown>(options: QueryCacheOptions = {}): QueryCache<V> {
  return new QueryCache<V>(options);
}
