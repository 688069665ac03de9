import { CrmBiError, isCrmBiError } from '../errors.ts';
import { Database, DEFAULT_DB_PATH, type OpenOptions } from './duckdb.ts';
import { migrate } from './schema/migrate.ts';

export interface OpenWarehouseOptions extends OpenOptions {
  /**
   * How long to wait while another process holds the warehouse (ms). A running server holds it for
   * a few seconds each time it republishes its read-only copy, so writers (token, load, mine) wait
   * rather than fail. Default: env CRM_BI_LOCK_WAIT (seconds), else 60 s for writers, 0 for readers.
   */
  readonly lockWaitMs?: number;
  /** Told once when the wait starts (default: a line on stderr). */
  readonly onWait?: (message: string) => void;
}

const RETRY_MS = 250;

function defaultWaitMs(readOnly: boolean): number {
  const env = process.env.CRM_BI_LOCK_WAIT;
  if (env !== undefined && env.trim() !== '' && Number.isFinite(Number(env)) && Number(env) >= 0)
    return Number(env) * 1000;
  return readOnly ? 0 : 60_000;
}

/** Opens a warehouse and upgrades its schema in place (a no-op when it is current). */
export async function openWarehouse(
  path: string = DEFAULT_DB_PATH,
  options: OpenWarehouseOptions = {},
): Promise<Database> {
  const { lockWaitMs, onWait, ...openOptions } = options;
  const waitMs = lockWaitMs ?? defaultWaitMs(options.readOnly ?? false);
  const db = await openWaiting(path, openOptions, waitMs, onWait ?? ((m) => process.stderr.write(`${m}\n`)));
  try {
    if (!options.readOnly) await migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

async function openWaiting(
  path: string,
  options: OpenOptions,
  waitMs: number,
  onWait: (message: string) => void,
): Promise<Database> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return await Database.open(path, options);
    } catch (e) {
      if (!isCrmBiError(e) || e.code !== 'warehouse_locked' || waitMs <= 0) throw e;
      if (Date.now() >= deadline) {
        throw new CrmBiError(
          'warehouse_locked',
          `${e.message} (still locked after waiting ${Math.round(waitMs / 1000)} s; set CRM_BI_LOCK_WAIT=<seconds> to wait longer)`,
          e.place,
        );
      }
      if (!told) {
        told = true;
        onWait(
          `warehouse ${path} is locked by another process (a server republishing its copy, or another writer); waiting up to ${Math.round(waitMs / 1000)} s`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }
}
