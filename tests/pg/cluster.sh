#!/usr/bin/env bash
# A private PostgreSQL 15 cluster on loopback for the tests: initdb into a temporary directory,
# pg_ctl start as the unprivileged user `postgres` (PostgreSQL refuses to run as root), stop and
# remove on exit. No system service is used or needed.
#
#   tests/pg/cluster.sh PORT -- COMMAND [ARG...]
#
# Runs COMMAND with the cluster up and these in its environment:
#   AGENTGATE_TEST_PG_URL  postgresql://agentgate@127.0.0.1:PORT/postgres  (a superuser)
#   PG_PORT, PG_DATA, PG_BIN, PG_SOCKDIR
# and exits with COMMAND's status. A missing PostgreSQL is a failure (status 2), never a skip.
# For outage tests, COMMAND may stop, start or restart the cluster with
#   tests/pg/cluster.sh ctl stop|start|restart
# which reads PG_DATA and PG_BIN from the environment.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
run_as_pg() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ ${1:-} == ctl ]]; then
  : "${PG_DATA:?PG_DATA is not set: run under tests/pg/cluster.sh PORT -- ...}"
  case ${2:-} in
    stop) run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null ;;
    start) run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 30 -l "$PG_DATA/server.log" start >/dev/null ;;
    restart) run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -l "$PG_DATA/server.log" restart >/dev/null ;;
    *) echo "usage: $0 ctl stop|start|restart" >&2; exit 2 ;;
  esac
  exit 0
fi

if [[ $# -lt 3 || $2 != -- ]]; then
  echo "usage: $0 PORT -- COMMAND [ARG...]" >&2
  exit 2
fi
PG_PORT=$1
shift 2
for tool in initdb pg_ctl; do
  if [[ ! -x $PG_BIN/$tool ]]; then
    echo "$0: $PG_BIN/$tool not found: install postgresql-15 (scripts/deps.sh does)" >&2
    exit 2
  fi
done
if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
  echo "$0: no user 'postgres' (the postgresql-15 package creates it)" >&2
  exit 2
fi

BASE=$(mktemp -d /tmp/agentgate-pg.XXXXXX)
PG_DATA=$BASE/data
PG_SOCKDIR=$BASE/sock
mkdir -p "$PG_SOCKDIR"
[[ $(id -u) == 0 ]] && chown -R postgres: "$BASE"
chmod 755 "$BASE"
cleanup() {
  run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$BASE"
}
trap cleanup EXIT

# trust on loopback and the private socket only: a throwaway cluster for one test run
run_as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U agentgate --auth=trust -E UTF8 --locale=C.UTF-8 \
  >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; exit 2; }
cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF
if ! run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 30 -l "$PG_DATA/server.log" start >/dev/null; then
  echo "$0: PostgreSQL did not start on port $PG_PORT:" >&2
  sed 's/^/  | /' "$PG_DATA/server.log" >&2 || true
  exit 2
fi

export AGENTGATE_TEST_PG_URL="postgresql://agentgate@127.0.0.1:$PG_PORT/postgres"
export PG_PORT PG_DATA PG_BIN PG_SOCKDIR
set +e
"$@"
status=$?
set -e
exit $status
