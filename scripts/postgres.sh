#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL 15 cluster for the test suite.
#
#   scripts/postgres.sh start DIR   -> prints the SQLAlchemy URL on stdout
#   scripts/postgres.sh stop DIR
#
# PostgreSQL refuses to run as root, so the cluster lives in DIR owned by the
# `postgres` user and listens only on a Unix socket in DIR plus 127.0.0.1 on a
# free port. Nothing outside DIR is touched.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bin=$(dirname "$(command -v initdb)")
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "'$bin/initdb' -D '$dir/data' -U postgres -A trust -E UTF8 --no-locale >'$dir/initdb.log' 2>&1"
    as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start >/dev/null"
    as_pg "psql -h 127.0.0.1 -p $port -U postgres -qc 'CREATE DATABASE exoneb_test' >/dev/null"
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/exoneb_test"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
