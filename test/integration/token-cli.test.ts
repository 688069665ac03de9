/** `crm-bi token create|list|revoke` through the real binary, and the API refusing a revoked token. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadModel } from '../../src/cube/index.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { crmBi as cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: ReturnType<typeof tempDir>;
let dbPath: string;

beforeAll(async () => {
  dir = tempDir('crm-bi-token-');
  dbPath = join(dir.dir, 'w.duckdb');
  (await openWarehouse(dbPath)).close();
});
afterAll(() => dir.cleanup());

describe('crm-bi token', () => {
  it('creates, lists and revokes; a revoked token is refused by the API', async () => {
    const a = await cli([
      'token',
      'create',
      '--role',
      'analyst',
      '--region',
      'Europe',
      '--json',
      '--db',
      dbPath,
    ]);
    expect(a.code).toBe(0);
    const created = JSON.parse(a.stdout) as { token: string; token_id: string };
    const b = await cli(['token', 'create', '--role', 'executive', '--json', '--db', dbPath]);
    const other = JSON.parse(b.stdout) as { token: string; token_id: string };

    const listed = JSON.parse((await cli(['token', 'list', '--json', '--db', dbPath])).stdout) as {
      tokens: { token_id: string; role: string; regions: string[] | null; revoked_at: string | null }[];
    };
    expect(listed.tokens.map((t) => [t.token_id, t.role, t.regions, t.revoked_at]).sort()).toEqual(
      [
        [created.token_id, 'analyst', ['Europe'], null],
        [other.token_id, 'executive', null, null],
      ].sort(),
    );
    // The list never shows a secret or its hash.
    const text = (await cli(['token', 'list', '--db', dbPath])).stdout;
    expect(text).not.toContain(created.token);
    expect(text).toContain(created.token_id);

    const r = await cli(['token', 'revoke', created.token_id, '--json', '--db', dbPath]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { revoked_at: string | null }).revoked_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    const db = await openWarehouse(dbPath, { readOnly: true });
    try {
      const app = createApp({ db, model: await loadModel(), log: false });
      const meta = (token: string) =>
        app.request('/v1/meta', { headers: { authorization: `Bearer ${token}` } });
      expect((await meta(created.token)).status).toBe(401);
      expect((await meta(other.token)).status).toBe(200);
    } finally {
      db.close();
    }
  });

  it('revoking an unknown or already revoked token names it and exits non-zero', async () => {
    const unknown = await cli(['token', 'revoke', 'nosuchid', '--db', dbPath]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no token with id 'nosuchid'");

    const c = JSON.parse(
      (await cli(['token', 'create', '--role', 'marketing', '--json', '--db', dbPath])).stdout,
    ) as {
      token_id: string;
    };
    expect((await cli(['token', 'revoke', c.token_id, '--db', dbPath])).code).toBe(0);
    const again = await cli(['token', 'revoke', c.token_id, '--db', dbPath]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`token '${c.token_id}' is already revoked`);
  });
});
