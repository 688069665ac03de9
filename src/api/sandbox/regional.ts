/**
 * Ad hoc SQL for region-limited tokens: one sandbox per set of regions, each over its own snapshot
 * holding only those regions' rows (regional-snapshot.ts). A snapshot is cut from the full ad hoc
 * snapshot on the first query of a region set and kept until the warehouse is republished
 * (`restart`) or until more than `max` region sets are in use (the least recently used goes).
 *
 * @example
 * const regional = createRegionalSandboxes({ source: 'data/warehouse.sandbox.duckdb' });
 * await (await regional.get(['Europe'])).query('SELECT count(*) FROM core.dim_customer');
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox.ts';
import { publishSnapshot } from './snapshot.ts';

export interface RegionalSandboxOptions extends Omit<SandboxOptions, 'snapshot'> {
  /** The full ad hoc snapshot (core.* and mining.*) the regional ones are cut from. */
  readonly source: string;
  /** Region sets kept at once (default 8). */
  readonly max?: number;
}

export interface RegionalSandboxes {
  /** The sandbox that sees only these regions (cut on first use). */
  get(regions: readonly string[]): Promise<Sandbox>;
  /** Drops every regional sandbox and snapshot; the next query cuts fresh ones. */
  restart(): void;
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
    close() {
      for (const key of [...entries.keys()]) drop(key);
    },
  };
}
