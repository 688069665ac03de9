/**
 * Ad hoc SQL for region-limited tokens: one sandbox per set of regions, each over its own snapshot
 * holding only those regions' rows of core.* and mining.* (regional-snapshot.ts). A snapshot is cut
 * from the warehouse (opened read-only) on the first query of a region set and kept until the
 * warehouse changes (`restart`) or until more than `max` region sets are in use (the least
 * recently used goes).
 *
 * @example
 * const regional = createRegionalSandboxes({ source: 'data/warehouse.duckdb' });
 * await (await regional.get(['Europe'])).query('SELECT count(*) FROM core.dim_customer');
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { BusyError } from '../errors.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox.ts';
import { publishSnapshot } from './snapshot.ts';

export interface RegionalSandboxOptions extends Omit<SandboxOptions, 'snapshot'> {
  /** The warehouse file (or a full snapshot) the regional snapshots are cut from, read-only. */
  readonly source: string;
  /** Region sets kept at once (default 8). */
  readonly max?: number;
}

export interface RegionalSandboxes {
  /** The sandbox that sees only these regions (cut on first use). */
  get(regions: readonly string[]): Promise<Sandbox>;
  /** Drops every regional sandbox and snapshot; the next query cuts fresh ones. */
  restart(): void;
  /** Drops them all and cuts none until `resume()` (the warehouse is handed to a writer): 503. */
  pause(): void;
  resume(): void;
  close(): void;
}

interface Entry {
  readonly path: string;
  readonly sandbox: Promise<Sandbox>;
}

export function createRegionalSandboxes(options: RegionalSandboxOptions): RegionalSandboxes {
  const { source, max = 8, ...sandboxOptions } = options;
  const entries = new Map<string, Entry>();
  let generation = 0;
  let paused = false;

  function drop(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    entry.sandbox.then(
      (s) => {
        s.close();
        rmSync(entry.path, { force: true });
      },
      () => rmSync(entry.path, { force: true }),
    );
  }

  return {
    get(regions) {
      if (paused)
        return Promise.reject(
          new BusyError(
            'warehouse_busy',
            'ad hoc SQL waits while the warehouse is being written; try again in a few seconds',
            5,
            503,
          ),
        );
      const sorted = [...new Set(regions)].sort();
      const key = JSON.stringify(sorted);
      const found = entries.get(key);
      if (found) {
        entries.delete(key); // re-insert: the Map's order is the recency order
        entries.set(key, found);
        return found.sandbox;
      }
      const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
      const path = `${source}.g${generation}.r-${digest}.duckdb`;
      const sandbox = publishSnapshot(source, path, { schemas: ['core', 'mining'], regions: sorted }).then(
        // no warm spare per region set: up to `max` sets would double their idle children
        () => createSandbox({ spare: false, ...sandboxOptions, snapshot: path }),
      );
      entries.set(key, { path, sandbox });
      // a failed cut is not kept: the next query tries again
      sandbox.catch(() => {
        if (entries.get(key)?.sandbox === sandbox) entries.delete(key);
      });
      while (entries.size > max) drop(entries.keys().next().value as string);
      return sandbox;
    },
    restart() {
      generation += 1;
      for (const key of [...entries.keys()]) drop(key);
    },
    pause() {
      paused = true;
      generation += 1;
      for (const key of [...entries.keys()]) drop(key);
    },
    resume() {
      paused = false;
    },
    close() {
      for (const key of [...entries.keys()]) drop(key);
    },
  };
}
