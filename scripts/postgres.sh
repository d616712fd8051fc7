#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a new data directory, loopback only.
#   scripts/postgres.sh start DIR   initdb DIR (if new), start on a free port, print the base URL
#                                   (postgres://postgres@127.0.0.1:PORT, no database: add /NAME)
#   scripts/postgres.sh stop DIR    stop it (fast shutdown) and wait
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the package creates.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ]; then
  echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

command=${1:?start|stop}
dir=${2:?data directory}

case "$command" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    chmod a+x "$(dirname "$dir")" # the postgres user must reach it (mktemp -d makes 0700 folders)
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >"$dir.initdb.log" 2>&1 ||
      { cat "$dir.initdb.log" >&2; exit 1; }
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" >/dev/null
  echo "postgres://postgres@127.0.0.1:$port"
  ;;
stop)
  as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
