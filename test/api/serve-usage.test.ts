import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmBiError, listenError } from '../../src/errors.ts';
import { crmBi } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

/** A port held by another socket, so a second listener on it fails as a real one would. */
let holder: Server;
let busyPort = 0;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  busyPort = (holder.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

describe('serve: usage errors are told as such', () => {
  it('a port in use becomes a port_in_use error naming the address and the flag', async () => {
    const second = createServer();
    const failure = await new Promise<unknown>((resolve) => {
      second.once('error', resolve);
      second.listen(busyPort, '127.0.0.1');
    });
    const e = listenError(failure, '127.0.0.1', busyPort, '--port');
    expect(e).toBeInstanceOf(CrmBiError);
    expect((e as CrmBiError).code).toBe('port_in_use');
    expect((e as CrmBiError).message).toBe(`127.0.0.1:${busyPort} is already in use: choose another --port`);
  });

  it('other socket failures pass through unchanged', () => {
    const other = Object.assign(new Error('boom'), { code: 'ECONNRESET' });
    expect(listenError(other, '127.0.0.1', 1, '--port')).toBe(other);
  });

  it('`serve --port abc` is a usage error (exit 2, no stack trace)', async () => {
    const r = await crmBi(['serve', '--db', '/nonexistent/w.duckdb', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port must be an integer >= 0, got 'abc'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('`serve` on a port in use exits non-zero naming the port, not an internal error', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, 'w.duckdb');
      // a token makes the warehouse: the smallest one serve will open
      expect((await crmBi(['token', 'create', '--db', db, '--role', 'admin'])).code).toBe(0);
      const r = await crmBi(['serve', '--db', db, '--port', String(busyPort)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`127.0.0.1:${busyPort} is already in use: choose another --port`);
      expect(r.stderr).not.toMatch(/internal error/i);
    } finally {
      cleanup();
    }
  });
});
