import { CrmBiError, isCrmBiError } from '../errors.ts';
import { Database, DEFAULT_DB_PATH, type OpenOptions } from './duckdb.ts';
import { migrate } from './schema/migrate.ts';
import { requestWrite } from './write-handover.ts';

export interface OpenWarehouseOptions extends OpenOptions {
  /**
   * How long to wait while another process holds the warehouse (ms). A running server reads the
   * file itself and lets go when a writer asks (write-handover.ts), so writers (token, load, mine)
   * wait rather than fail. Default: env CRM_BI_LOCK_WAIT (seconds), else 60 s for writers, 0 for
   * readers.
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
  // a writer that finds the file locked asks a server reading it to let go (write-handover.ts)
  let withdraw: (() => void) | null = null;
  for (;;) {
    try {
      const db = await Database.open(path, options);
      if (withdraw) db.afterClose(withdraw);
      return db;
    } catch (e) {
      if (!isCrmBiError(e) || e.code !== 'warehouse_locked' || waitMs <= 0) {
        withdraw?.();
        throw e;
      }
      if (!options.readOnly && path !== ':memory:') withdraw ??= requestWrite(path);
      if (Date.now() >= deadline) {
        withdraw?.();
        throw new CrmBiError(
          'warehouse_locked',
          `${e.message} (still locked after waiting ${Math.round(waitMs / 1000)} s; set CRM_BI_LOCK_WAIT=<seconds> to wait longer)`,
          e.place,
        );
      }
      if (!told) {
        told = true;
        onWait(
          `warehouse ${path} is locked by another process (a server, asked to let go, or another writer); waiting up to ${Math.round(waitMs / 1000)} s`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }
}
