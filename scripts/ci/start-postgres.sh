#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the integration tests and benchmarks, then exports
# CRM_BI_TEST_PG_URL. Meant to be sourced (`source scripts/ci/start-postgres.sh`) by .ci/run, which
# runs as root after `apt-get install -y postgresql`; also works as the postgres user or any user
# that can run initdb. Idempotent: a server already answering on the port is reused.
#
# Settings (environment): CRM_BI_PG_PORT (54329), CRM_BI_PG_DIR (a fixed temp directory).

crm_bi_start_postgres() {
  local port="${CRM_BI_PG_PORT:-54329}"
  local dir="${CRM_BI_PG_DIR:-${TMPDIR:-/tmp}/crm-bi-pg-${port}}"
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "start-postgres: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)" >&2
    return 1
  fi
  # initdb and postgres refuse to run as root: run them as the postgres user then
  local as=()
  if [ "$(id -u)" = "0" ]; then as=(runuser -u postgres --); fi

  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir"
      if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$dir"; fi
      "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        echo "start-postgres: initdb failed, see $dir/initdb.log" >&2
        return 1
      }
    fi
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null || {
      echo "start-postgres: the server did not start, see $dir/server.log" >&2
      return 1
    }
  fi
  local i
  for i in $(seq 1 60); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 1
  done
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "start-postgres: no server answering on 127.0.0.1:$port" >&2
    return 1
  fi
  if [ "$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'crm_bi_test'")" != "1" ]; then
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE crm_bi_test" || return 1
  fi
  export CRM_BI_TEST_PG_URL="postgres://postgres@127.0.0.1:${port}/crm_bi_test"
  echo "start-postgres: PostgreSQL ready at $CRM_BI_TEST_PG_URL (data in $dir)"
}

crm_bi_start_postgres
