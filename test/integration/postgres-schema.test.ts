import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../src/api/routes/health.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { CrmBiError } from '../../src/errors.ts';
import { seedPostgres } from '../../src/etl/extract/postgres-seed.ts';
import { loadSource } from '../../src/etl/load.ts';
import { freshSchema, havePostgres, pgRun, withSchema } from '../helpers/postgres.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ok = await havePostgres();
const SCHEMA = 'it_schema';
let base = '';
let url = '';
let db: Database;
let dir: string;
let cleanup: () => void;

describe.skipIf(!ok)('PostgreSQL source: schema mapping, rejects, freshness', () => {
  beforeAll(async () => {
    base = process.env.CRM_BI_TEST_PG_URL as string;
    url = await freshSchema(SCHEMA);
  });
  beforeEach(async () => {
    await seedPostgres({ target: url, customers: 40, seed: 3, replace: true });
    ({ dir, cleanup } = tempDir());
    db = await openWarehouse(join(dir, 'w.duckdb'));
  }, 60_000);
  afterEach(() => {
    db.close();
    cleanup();
  });
  afterAll(async () => {
    if (ok) await pgRun(base, `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  });

  it('a dropped column is an error naming schema.table.column, and changes nothing', async () => {
    await loadSource(db, { source: url, profile: 'canonical' });
    await pgRun(
      base,
      `UPDATE ${SCHEMA}.customers SET city = 'Changed' WHERE customer_id IN
      (SELECT customer_id FROM ${SCHEMA}.customers ORDER BY 1 LIMIT 5)`,
    );
    await pgRun(base, `ALTER TABLE ${SCHEMA}.orders DROP COLUMN channel`);
    const before = await warehouseState(db);
    const err = await loadSource(db, { source: url, profile: 'canonical' }).catch((e) => e);
    expect(err).toBeInstanceOf(CrmBiError);
    expect(err.code).toBe('source_schema_mismatch');
    expect(err.message).toContain(`${SCHEMA}.orders.channel`);
    expect(await warehouseState(db)).toEqual(before);
    const last = await db.one('SELECT status, message FROM meta.etl_load ORDER BY load_id DESC LIMIT 1');
    expect(last?.status).toBe('failed');
    expect(String(last?.message)).toContain(`${SCHEMA}.orders.channel`);
  }, 60_000);

  it('a column whose type changed is an error naming it', async () => {
    await pgRun(base, `ALTER TABLE ${SCHEMA}.order_lines ALTER COLUMN quantity TYPE text`);
    const before = await warehouseState(db);
    const err = await loadSource(db, { source: url, profile: 'canonical' }).catch((e) => e);
    expect(err).toBeInstanceOf(CrmBiError);
    expect(err.message).toContain(`column ${SCHEMA}.order_lines.quantity has type text`);
    expect(await warehouseState(db)).toEqual(before);
  }, 60_000);

  it('a missing table is an error naming it', async () => {
    await pgRun(base, `DROP TABLE ${SCHEMA}.order_lines`);
    const err = await loadSource(db, { source: url, profile: 'canonical' }).catch((e) => e);
    expect(err.message).toContain(`no table ${SCHEMA}.order_lines`);
  }, 60_000);

  it('a table that was empty at the first load is read in full once it has rows', async () => {
    await pgRun(base, `DELETE FROM ${SCHEMA}.tickets`);
    await loadSource(db, { source: url, profile: 'canonical', postgres: { watermarkLagMs: 0 } });
    expect(
      await db.scalar("SELECT watermark FROM meta.etl_watermark WHERE table_name = 'it_schema.tickets'"),
    ).toBe(null);
    await pgRun(
      base,
      `INSERT INTO ${SCHEMA}.tickets (ticket_id, customer_id, opened_at, priority)
       SELECT 'T-new', min(customer_id), now(), 'high' FROM ${SCHEMA}.customers`,
    );
    const r = await loadSource(db, { source: url, profile: 'canonical', postgres: { watermarkLagMs: 0 } });
    expect(r.files.find((f) => f.entity === 'tickets')?.rows_read).toBe(1);
    expect(r.files.find((f) => f.entity === 'order_lines')?.rows_read).toBe(0);
    expect(await db.scalar("SELECT count(*) FROM core.fact_ticket WHERE ticket_id = 'T-new'")).toBe(1);
  }, 60_000);

  it('a table whose COPY fails after others were extracted fails the load, changes nothing, leaves no temp table', async () => {
    await loadSource(db, { source: url, profile: 'canonical' });
    await pgRun(
      base,
      `UPDATE ${SCHEMA}.customers SET city = 'Changed' WHERE customer_id IN
      (SELECT customer_id FROM ${SCHEMA}.customers ORDER BY 1 LIMIT 5)`,
    );
    // same columns and types, but reading any row divides by zero: the tables before it are
    // already in DuckDB when its COPY fails
    await pgRun(
      base,
      `ALTER TABLE ${SCHEMA}.interactions RENAME TO interactions_base;
       CREATE VIEW ${SCHEMA}.interactions AS SELECT * FROM ${SCHEMA}.interactions_base
         WHERE 1 / (length(interaction_id) - length(interaction_id)) = 0`,
    );
    const before = await warehouseState(db);
    const err = await loadSource(db, { source: url, profile: 'canonical', postgres: { full: true } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(CrmBiError);
    expect(err.code).toBe('source_failed');
    expect(err.message).toMatch(/division by zero/);
    expect(await warehouseState(db)).toEqual(before);
    expect(await db.scalar('SELECT count(*) FROM duckdb_tables() WHERE temporary')).toBe(0);
    const last = await db.one('SELECT status FROM meta.etl_load ORDER BY load_id DESC LIMIT 1');
    expect(last?.status).toBe('failed');
    await pgRun(
      base,
      `DROP VIEW ${SCHEMA}.interactions; ALTER TABLE ${SCHEMA}.interactions_base RENAME TO interactions`,
    );
    // the same load succeeds once the table reads again, and a rerun finds nothing new
    expect(
      (await loadSource(db, { source: url, profile: 'canonical', postgres: { full: true } })).status,
    ).toBe('succeeded');
    const again = await loadSource(db, { source: url, profile: 'canonical', postgres: { full: true } });
    expect(again.status).toBe('skipped');
    expect(await db.scalar('SELECT count(*) FROM duckdb_tables() WHERE temporary')).toBe(0);
  }, 60_000);

  it('rejects point at the PostgreSQL table and the row key, not at a temp file', async () => {
    const [line] = await pgRun<{ order_id: string; line_no: number }>(
      base,
      `UPDATE ${SCHEMA}.order_lines SET quantity = 0 WHERE (order_id, line_no) =
         (SELECT order_id, line_no FROM ${SCHEMA}.order_lines ORDER BY 1, 2 LIMIT 1) RETURNING order_id, line_no`,
    );
    const r = await loadSource(db, { source: url, profile: 'canonical' });
    expect(r.rejects_by_reason).toEqual({ zero_quantity: 1 });
    const rej = await db.all(
      'SELECT source_file, line, source_key, reason, column_name FROM meta.etl_reject',
    );
    expect(rej).toEqual([
      {
        source_file: `postgres:${SCHEMA}.order_lines`,
        line: null,
        source_key: `order_id=${line?.order_id}, line_no=${line?.line_no}`,
        reason: 'zero_quantity',
        column_name: 'quantity',
      },
    ]);
    expect(r.files.every((f) => f.file.startsWith(`postgres:${SCHEMA}.`))).toBe(true);
  }, 60_000);

  it('never stores or prints the password of the source URL', async () => {
    const secret = 'S3cr3t-pw';
    const u = new URL(url);
    u.password = secret;
    const r = await loadSource(db, { source: u.toString(), profile: 'canonical' });
    expect(r.source).not.toContain(secret);
    expect(r.source).toContain(':***@');
    const bad = new URL(withSchema(url, 'no_such_schema'));
    bad.password = secret;
    const err = await loadSource(db, { source: bad.toString(), profile: 'canonical' }).catch((e) => e);
    expect(err.message).toContain("schema 'no_such_schema' has no tables");
    expect(err.message).not.toContain(secret);
    const rows = await db.all("SELECT source, coalesce(message, '') AS message FROM meta.etl_load");
    expect(JSON.stringify(rows)).not.toContain(secret);
  }, 60_000);

  it('/healthz shows the last successful load per source and its lags', async () => {
    await loadSource(db, { source: url, profile: 'canonical' });
    const maxUpdated = (
      await pgRun<{ m: Date }>(
        base,
        `SELECT min(m) AS m FROM (
         SELECT max(updated_at) AS m FROM ${SCHEMA}.customers UNION ALL SELECT max(updated_at) FROM ${SCHEMA}.orders
         UNION ALL SELECT max(updated_at) FROM ${SCHEMA}.order_lines UNION ALL SELECT max(updated_at) FROM ${SCHEMA}.products) x`,
      )
    )[0]?.m as Date;
    const app = healthRoutes({ db: () => db });
    const body = (await (await app.request('/healthz')).json()) as {
      last_load: { status: string };
      sources: {
        source: string;
        last_success: { load_id: number; lag_seconds: number };
        watermark: { at: string; lag_seconds: number };
      }[];
    };
    expect(body.last_load.status).toBe('succeeded');
    expect(body.sources).toHaveLength(1);
    const s = body.sources[0];
    expect(s?.source).toBe('crm');
    expect(s?.last_success.load_id).toBe(1);
    expect(s?.last_success.lag_seconds).toBeGreaterThanOrEqual(0);
    expect(s?.last_success.lag_seconds).toBeLessThan(120);
    // the stalest watermark is the oldest table's latest change
    expect(new Date(s?.watermark.at as string).getTime()).toBeLessThanOrEqual(maxUpdated.getTime());
    expect(s?.watermark.lag_seconds).toBeGreaterThanOrEqual((Date.now() - maxUpdated.getTime()) / 1000 - 120);
  }, 60_000);

  it('load --watch runs rounds with a log line each and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'crm-bi.js'),
        'load',
        '--source',
        url,
        '--db',
        join(dir, 'watch.duckdb'),
        '--watch',
        '--interval',
        '300ms',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no second round in time: ${err}`)), 60_000);
      const check = setInterval(() => {
        if ((err.match(/watch: round \d+:/g) ?? []).length >= 2) {
          clearInterval(check);
          clearTimeout(timer);
          res();
        }
      }, 50);
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(0);
    expect(err).toMatch(/watch: round 1: load 1 succeeded/);
    expect(err).toMatch(/watch: round 2: load 2 (succeeded|skipped)/);
    expect(err).toMatch(/watch: SIGTERM received/);
    expect(err).toMatch(/watch: stopped after \d+ rounds/);
  }, 90_000);
});
