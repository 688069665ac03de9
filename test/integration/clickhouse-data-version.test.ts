/**
 * The data version on the ClickHouse cluster, which keys the API's answer cache when it serves from
 * the cluster: read with the cluster's own SQL (ClickHouse 18.16 has no JSON functions), it must
 * follow what DuckDB's version follows — the last succeeded load, the newest mining run, and an
 * identity run of its own that moved records — and change when the synced data does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEngine } from '../../src/clickhouse/cube-engine.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { dataVersion } from '../../src/cube/data-version.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

/** 'load.newest-run-digest.identity' → the parts both engines compute alike (the digests differ: ClickHouse keeps seconds). */
function parts(version: string): { load: string; newestRun: string; identity: string } {
  const m = /^(\d+)\.(\d+)-[0-9a-f]+\.(\d+)$/.exec(version);
  if (!m) throw new Error(`not a data version: ${version}`);
  return { load: m[1] as string, newestRun: m[2] as string, identity: m[3] as string };
}

describe.skipIf(!URL)('the data version on the ClickHouse cluster', () => {
  let db: Database;
  let cluster: ClickHouseCluster;
  beforeAll(async () => {
    db = await fixtureWarehouse();
    cluster = ClickHouseCluster.fromUrl(URL as string);
    await syncWarehouse(db, cluster, { mode: 'full' });
  }, 180_000);
  afterAll(() => db?.close());

  it('follows the loads, mining runs and identity runs DuckDB’s version follows, and changes with them', async () => {
    const engine = clickhouseEngine(cluster);
    const first = await engine.dataVersion();
    expect(parts(first)).toEqual(parts(await dataVersion(db)));

    // an identity run of its own (no load) that moved records, its metrics written with a space
    // after the colon; and one that moved none, which must not count
    await db.run(
      `INSERT INTO meta.identity_run VALUES (7, NULL, '2025-03-01 00:00:00+00', '{}', '{"assignments_changed": 3, "records": 9}'),
         (8, NULL, '2025-03-02 00:00:00+00', '{}', '{"records": 9, "assignments_changed":0}')`,
    );
    await syncWarehouse(db, cluster, { mode: 'incremental' });
    const second = await engine.dataVersion();
    expect(parts(second)).toEqual({ ...parts(first), identity: '7' });
    expect(parts(second)).toEqual(parts(await dataVersion(db)));

    // a new mining run
    await db.run(
      `INSERT INTO mining.mining_run VALUES (3, '2025-01-31', 'rfm', '{}', '{}', '2025-02-01 00:00:00+00')`,
    );
    await syncWarehouse(db, cluster, { mode: 'incremental' });
    const third = await engine.dataVersion();
    expect(parts(third)).toEqual({ ...parts(second), newestRun: '3' });
    expect(third).not.toBe(second);

    // an older run deleted: the newest id stays, the version still changes
    await db.run('DELETE FROM mining.mining_run WHERE run_id = 1');
    await syncWarehouse(db, cluster, { mode: 'incremental' });
    const fourth = await engine.dataVersion();
    expect(parts(fourth)).toEqual(parts(third));
    expect(fourth).not.toBe(third);
  }, 180_000);
});
