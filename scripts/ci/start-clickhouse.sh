# Starts a two-shard ClickHouse cluster on loopback for the tests and benchmarks; meant to be
# sourced (`source scripts/ci/start-clickhouse.sh`) so the exported variables reach the caller.
#
#   shard 1: http 18123, tcp 19000      shard 2: http 18124, tcp 19001
#   cluster `crm_bi` in remote_servers (one replica per shard), listen_host 127.0.0.1
#
# Each server has its own config.xml/users.xml and data/tmp/log folders under
# $CRM_BI_CLICKHOUSE_DIR (default /tmp/crm-bi-clickhouse). Each server also declares the macro
# `http_port`, from which crm-bi finds every shard's HTTP endpoint for per-shard DDL.
# Idempotent: a server that already answers is left alone.
# Exports CRM_BI_TEST_CLICKHOUSE_URL=clickhouse://127.0.0.1:18123/crm_bi and
# CRM_BI_TEST_CLICKHOUSE_DIR (shard<n>/server.pid there: for tests that stop and restart a shard).

crm_bi_ch_dir="${CRM_BI_CLICKHOUSE_DIR:-/tmp/crm-bi-clickhouse}"
crm_bi_ch_server="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"

crm_bi_ch_config() {
  # $1 shard number, $2 http port, $3 tcp port, $4 interserver port
  local dir="$crm_bi_ch_dir/shard$1"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/format_schemas"
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$2</http_port>
  <tcp_port>$3</tcp_port>
  <interserver_http_port>$4</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <crm_bi>
      <shard>
        <replica><host>127.0.0.1</host><port>19000</port></replica>
      </shard>
      <shard>
        <replica><host>127.0.0.1</host><port>19001</port></replica>
      </shard>
    </crm_bi>
  </remote_servers>
  <macros>
    <shard>$1</shard>
    <http_port>$2</http_port>
  </macros>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>in_order</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
    </default>
  </quotas>
</yandex>
EOF
}

crm_bi_ch_up() {
  curl -fsS --max-time 2 "http://127.0.0.1:$1/?query=SELECT%201" 2>/dev/null | grep -q '^1$'
}

crm_bi_ch_start() {
  # $1 shard number, $2 http port, $3 tcp port, $4 interserver port
  local dir="$crm_bi_ch_dir/shard$1"
  if crm_bi_ch_up "$2"; then
    echo "clickhouse shard $1 already answers on port $2"
    if [ ! -s "$dir/server.pid" ] && command -v pgrep >/dev/null; then
      pgrep -f -- "--config-file=$dir/config.xml" | head -n 1 >"$dir/server.pid" || true
    fi
    return 0
  fi
  crm_bi_ch_config "$@"
  rm -f "$dir/server.pid"
  # the server writes no pid file when it does not daemonize: record the process id here
  (
    cd "$dir" || exit 1
    nohup "$crm_bi_ch_server" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 </dev/null &
    echo $! >"$dir/server.pid"
  )
}

crm_bi_ch_wait() {
  local port
  for port in "$@"; do
    local i=0
    until crm_bi_ch_up "$port"; do
      i=$((i + 1))
      if [ "$i" -gt 60 ]; then
        echo "clickhouse on port $port did not answer SELECT 1 within 30 s; see $crm_bi_ch_dir/shard*/log" >&2
        return 1
      fi
      sleep 0.5
    done
  done
}

if [ ! -x "$crm_bi_ch_server" ]; then
  echo "clickhouse-server is not installed (apt-get install -y clickhouse-server clickhouse-client)" >&2
  false
else
  mkdir -p "$crm_bi_ch_dir"
  crm_bi_ch_start 1 18123 19000 19009
  crm_bi_ch_start 2 18124 19001 19010
  if crm_bi_ch_wait 18123 18124; then
    export CRM_BI_TEST_CLICKHOUSE_URL="clickhouse://127.0.0.1:18123/crm_bi"
    export CRM_BI_TEST_CLICKHOUSE_DIR="$crm_bi_ch_dir"
    echo "clickhouse cluster crm_bi up: $CRM_BI_TEST_CLICKHOUSE_URL"
  else
    false
  fi
fi
