/**
 * Statements that must never run as ad hoc SQL (writes, file and network access, settings,
 * instance introspection); `__OUT__` stands for a path the test checks stays absent. Shared by the
 * /v1/adhoc tests and the PostgreSQL endpoint's tests, so both refuse the same corpus.
 */
export const HOSTILE_SQL: readonly string[] = [
  "COPY (SELECT 1) TO '__OUT__'",
  "ATTACH '__OUT__.db' AS x",
  'INSTALL httpfs',
  'LOAD httpfs',
  'CREATE TABLE t AS SELECT 1',
  'CREATE TEMP TABLE t AS SELECT 1',
  'INSERT INTO core.dim_region VALUES (1)',
  "UPDATE core.dim_customer SET name = 'x'",
  'DELETE FROM core.dim_customer',
  'DROP TABLE core.dim_customer',
  'PRAGMA enable_profiling',
  "SET memory_limit = '10GB'",
  'SET VARIABLE x = 1',
  'CALL pragma_version()',
  "SELECT * FROM read_csv('/etc/passwd')",
  "SELECT * FROM read_text('/etc/passwd')",
  "SELECT * FROM glob('/*')",
  "EXPORT DATABASE '__OUT__'",
  "IMPORT DATABASE '/tmp'",
  'SELECT 1; SELECT 2',
  'SELECT * FROM meta.api_token',
  'SELECT enable_logging()',
  'SELECT * FROM duckdb_databases()',
  "SELECT current_setting('memory_limit')",
];
