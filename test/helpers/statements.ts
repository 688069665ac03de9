/**
 * The SQL statements a piece of code sends to a warehouse handle, recorded by wrapping the handle's
 * read methods: how the rollup tests show a route read a rollup and not the base tables.
 */
import { vi } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';

/** Runs `fn` and returns its value with every statement it sent through `db`. */
export async function statementsOf<T>(
  db: Database,
  fn: () => Promise<T>,
): Promise<{ value: T; sql: string[] }> {
  const sql: string[] = [];
  const spies = (['all', 'read', 'stream', 'one', 'scalar'] as const).map((m) => {
    const original = db[m].bind(db) as (...a: unknown[]) => unknown;
    return vi.spyOn(db, m).mockImplementation(((...args: unknown[]) => {
      sql.push(String(args[0]));
      return original(...args);
    }) as never);
  });
  try {
    return { value: await fn(), sql };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}
