/**
 * The server reads a published read-only copy of the warehouse (`<db>.serve.duckdb`), never the
 * warehouse itself, so `crm-bi load` and `crm-bi mine` can write while it runs. It checks the
 * warehouse file (and its WAL) every few seconds; when they changed and no writer holds them, it
 * republishes the copy, opens it and swaps it in. The old copy stays open for a grace period so
 * requests in flight finish on it. The ad hoc SQL snapshot (`<db>.sandbox.duckdb`, core.* and
 * mining.* only) is republished with it. The copy's load status (what /healthz reports) is read
 * once when it is published.
 */
import { existsSync, statSync } from 'node:fs';
import { Database } from '../db/duckdb.ts';
import { pinLoadStatus } from '../db/load-status.ts';
import { CrmBiError, isCrmBiError } from '../errors.ts';
import { publishSnapshot } from './sandbox/snapshot.ts';

export interface PublishedWarehouse {
  current(): Database;
  readonly servePath: string;
  readonly sandboxPath: string;
  /** Republishes when the warehouse changed; true when a new copy was swapped in. */
  refresh(force?: boolean): Promise<boolean>;
  close(): void;
}

export interface PublishOptions {
  /** How often to look at the warehouse file (ms); 0 = never (call refresh yourself). */
  readonly intervalMs?: number;
  /** How long a replaced copy stays open for requests in flight (ms). */
  readonly graceMs?: number;
  /** Called after each swap (e.g. to restart the sandbox on the new snapshot). */
  readonly onSwap?: () => void;
  readonly log?: (message: string) => void;
}

function stamp(path: string): string {
  const parts = [path, `${path}.wal`].map((p) => {
    if (!existsSync(p)) return '-';
    const s = statSync(p);
    return `${s.mtimeMs}:${s.size}`;
  });
  return parts.join('|');
}

export async function publishWarehouse(
  source: string,
  options: PublishOptions = {},
): Promise<PublishedWarehouse> {
  const servePath = `${source}.serve.duckdb`;
  const sandboxPath = `${source}.sandbox.duckdb`;
  const log = options.log ?? (() => {});
  const graceMs = options.graceMs ?? 60_000;

  async function publish(): Promise<Database> {
    await publishSnapshot(source, servePath);
    await publishSnapshot(servePath, sandboxPath, { schemas: ['core', 'mining'] });
    // a small pool: cube queries take at most all readers but one (see Database.read)
    const db = await Database.open(servePath, { readOnly: true, readers: 3 });
    try {
      // read once here, so /healthz answers from memory until the next publication
      await pinLoadStatus(db);
    } catch (e) {
      db.close();
      throw e;
    }
    return db;
  }

  if (!existsSync(source)) {
    throw new CrmBiError('warehouse_not_found', `warehouse ${source} does not exist; run crm-bi load first`);
  }
  let seen = stamp(source);
  let db = await publish();
  const retired = new Map<NodeJS.Timeout, Database>();
  let refreshing: Promise<boolean> | null = null;

  async function doRefresh(force: boolean): Promise<boolean> {
    const now = stamp(source);
    if (!force && now === seen) return false;
    let next: Database;
    try {
      // the old copy is still open under servePath: publish writes a .tmp and renames it over
      next = await publish();
    } catch (e) {
      if (isCrmBiError(e) && e.code === 'warehouse_locked') return false; // a writer is busy: next time
      throw e;
    }
    seen = now;
    const old = db;
    db = next;
    const t = setTimeout(() => {
      retired.delete(t);
      old.close();
    }, graceMs);
    t.unref();
    retired.set(t, old);
    options.onSwap?.();
    log('republished the warehouse snapshot');
    return true;
  }

  const timer =
    options.intervalMs === 0
      ? null
      : setInterval(() => {
          if (refreshing) return;
          refreshing = doRefresh(false)
            .catch((e: unknown) => {
              log(`snapshot refresh failed: ${e instanceof Error ? e.message : String(e)}`);
              return false;
            })
            .finally(() => {
              refreshing = null;
            });
        }, options.intervalMs ?? 3000);
  timer?.unref();

  return {
    current: () => db,
    servePath,
    sandboxPath,
    refresh: (force = false) => doRefresh(force),
    close(): void {
      if (timer) clearInterval(timer);
      for (const [t, old] of retired) {
        clearTimeout(t);
        old.close();
      }
      retired.clear();
      db.close();
    },
  };
}
