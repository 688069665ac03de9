/**
 * Write requests: how a writer asks a running server to let go of the warehouse file.
 *
 * DuckDB lets many processes open a file read-only, or one process open it for writing, never
 * both. `crm-bi serve` reads the warehouse itself, read-only; a command that must write
 * (`load`, `mine`, `token create`, ...) and finds the file locked leaves a request file in
 * `<db>.writers/` (named by its process id) and keeps trying to open the file. A server that sees a
 * live request closes its handle and its ad hoc SQL children, and opens the file again once every
 * request is gone (the writer removes its own when it closes the file; a request whose process
 * has died is ignored and removed).
 *
 * @example
 * const withdraw = requestWrite('data/warehouse.duckdb');
 * // ... open the file for writing, write, close ...
 * withdraw();
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The folder of write requests of a warehouse file. */
export function writeRequestDir(path: string): string {
  return `${resolve(path)}.writers`;
}

let counter = 0;

/** Leaves a write request for `path`; the function returned withdraws it (safe to call twice). */
export function requestWrite(path: string): () => void {
  const dir = writeRequestDir(path);
  mkdirSync(dir, { recursive: true });
  counter += 1;
  const file = join(dir, `${process.pid}-${counter}`);
  writeFileSync(file, String(process.pid));
  let withdrawn = false;
  const withdraw = () => {
    if (withdrawn) return;
    withdrawn = true;
    process.off('exit', withdraw);
    rmSync(file, { force: true });
  };
  // a writer that exits without closing (an error, Ctrl-C) does not leave the server waiting
  process.once('exit', withdraw);
  return withdraw;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How many live write requests there are for `path` (requests of dead processes are removed). */
export function pendingWrites(path: string): number {
  const dir = writeRequestDir(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let live = 0;
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) live += 1;
    else rmSync(join(dir, name), { force: true });
  }
  return live;
}
