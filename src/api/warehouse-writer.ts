/**
 * Writes from the API (saved audiences, the export log) go to the warehouse file itself, never the
 * published read-only copy: opened for one call, closed, then the copy is republished so the next
 * read sees the change. A warehouse another process is writing to (a load or a mining run) is a
 * 429 `busy` with Retry-After, not a failure.
 */
import type { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { isCrmBiError } from '../errors.ts';
import { BusyError } from './errors.ts';
import type { CampaignWriter } from './routes/audiences.ts';

export function warehouseWriter(path: string, afterWrite: () => Promise<unknown>): CampaignWriter {
  let queue: Promise<unknown> = Promise.resolve();
  return async function writeWarehouse<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    // one writer at a time in this process: DuckDB allows one writing instance per file
    const run = queue.then(async () => {
      let db: Database;
      try {
        db = await openWarehouse(path);
      } catch (e) {
        if (isCrmBiError(e))
          throw new BusyError(
            'busy',
            `the warehouse is being written by another process; try again (${e.message})`,
            5,
          );
        throw e;
      }
      try {
        return await fn(db);
      } finally {
        db.close();
      }
    });
    queue = run.catch(() => undefined);
    const result = await run;
    await afterWrite();
    return result;
  };
}
