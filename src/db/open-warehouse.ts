import { migrate } from '../etl/schema/migrate.ts';
import { Database, DEFAULT_DB_PATH, type OpenOptions } from './duckdb.ts';

/** Opens a warehouse and upgrades its schema in place (a no-op when it is current). */
export async function openWarehouse(
  path: string = DEFAULT_DB_PATH,
  options: OpenOptions = {},
): Promise<Database> {
  const db = await Database.open(path, options);
  try {
    if (!options.readOnly) await migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
