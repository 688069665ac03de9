import { afterAll, describe, expect, it } from 'vitest';
import { createSqlChecker } from './sql-check.ts';

const checker = createSqlChecker();
afterAll(() => checker.close());

async function verdict(sql: string): Promise<string> {
  try {
    await checker.check(sql);
    return 'ok';
  } catch (e) {
    const err = e as { code: string; message: string; status: number };
    expect(err.status).toBe(400);
    return `${err.code}: ${err.message}`;
  }
}

describe('the parse-tree check', () => {
  const hiddenSomewhere: [string, string][] = [
    ['a table function argument', "SELECT * FROM range(current_setting('threads')::INT)"],
    ['a lambda body', "SELECT list_transform([1], x -> current_setting('a'))"],
    ['an aggregate FILTER', "SELECT count(*) FILTER (WHERE current_setting('x') = '1') FROM range(1)"],
    ['VALUES', "SELECT * FROM (VALUES (current_setting('x')))"],
    ['ORDER BY', "SELECT 1 ORDER BY current_setting('x')"],
    ['a LIMIT subquery', "SELECT 1 LIMIT (SELECT length(current_setting('x')))"],
    ['QUALIFY', "SELECT * FROM range(2) t(x) QUALIFY current_setting('x') IS NULL"],
    ['a CTE', "WITH s AS (SELECT current_setting('x') AS v) SELECT v FROM s"],
    ['a UNION branch', "SELECT 'a' UNION ALL SELECT current_setting('x')"],
    ['a scalar subquery in WHERE', "SELECT 1 WHERE EXISTS (SELECT current_setting('x'))"],
    ['unnest of a table function call', 'SELECT * FROM unnest(duckdb_settings())'],
    ['a quoted, commented name', 'SELECT "current_setting"/* hidden */ (\'x\')'],
    ['a schema-qualified name', "SELECT system.main.current_setting('x')"],
  ];
  for (const [where, sql] of hiddenSomewhere) {
    it(`finds a refused function in ${where}`, async () => {
      expect(await verdict(sql)).toMatch(/^statement_not_allowed: .*(current_setting|duckdb_settings)/);
    });
  }

  it('refuses tables outside core, mining and two information_schema views', async () => {
    expect(await verdict('SELECT * FROM meta.api_token')).toMatch(/meta\.api_token/);
    expect(await verdict('SELECT * FROM "other db".core.dim_customer')).toMatch(/other db/);
    expect(await verdict('SELECT * FROM information_schema.schemata')).toMatch(/schemata/);
    expect(await verdict('SELECT * FROM core.dim_customer')).toBe('ok');
    expect(await verdict('SELECT * FROM information_schema.columns')).toBe('ok');
  });

  it('a CTE name is a table only where the statement defines it, and never a system name', async () => {
    expect(await verdict('WITH t AS (SELECT 1) SELECT * FROM t')).toBe('ok');
    expect(await verdict('SELECT * FROM t')).toMatch(/table t is not available/);
    expect(await verdict('WITH duckdb_databases AS (SELECT 1) SELECT * FROM duckdb_databases')).toMatch(
      /CTE may not be named duckdb_databases/,
    );
  });

  it('says what is wrong with statements that are not one SELECT', async () => {
    expect(await verdict('SELECT 1; SELECT 2')).toMatch(/exactly one statement, got 2/);
    expect(await verdict('')).toMatch(/exactly one statement, got 0/);
    expect(await verdict('EXPLAIN SELECT 1')).toMatch(/only SELECT/);
    expect(await verdict('SELEC 1')).toMatch(/^sql_error: .*syntax error/);
  });

  it('a statement nested past the parser limits is a 400, not a crash', async () => {
    const deep = `SELECT ${'abs('.repeat(3000)}1${')'.repeat(3000)}`;
    expect(await verdict(deep)).toMatch(/^(sql_error|statement_not_allowed): /);
    const wide = `SELECT ${Array.from({ length: 5000 }, (_, i) => String(i)).join(' + ')}`;
    expect(await verdict(wide)).toMatch(/^(sql_error|statement_not_allowed): /);
  });
});
