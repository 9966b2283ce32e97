#!/usr/bin/env bash
# Stops what deploy/local/up.sh started, newest first: nginx, the gateways, PgBouncer, the
# replica, the primary. --purge also deletes deploy/local/run/ (the databases).
set -uo pipefail
cd "$(dirname "$0")/../.."
RUN="$PWD/deploy/local/run"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PATH="$PGBIN:/usr/sbin:$PATH"
[ -d "$RUN" ] || exit 0
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if alive "$RUN/nginx.pid"; then nginx -c "$RUN/nginx.conf" -s quit && echo "[down] nginx"; fi
for pidfile in "$RUN"/gateway-*.pid; do
  [ -f "$pidfile" ] || continue
  if alive "$pidfile"; then
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "[down] gateway $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
if alive "$RUN/pgbouncer.pid"; then
  pid=$(cat "$RUN/pgbouncer.pid")
  kill -INT "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "[down] pgbouncer"
fi
for data in replica primary; do
  if [ -f "$RUN/$data/postmaster.pid" ]; then
    as_pg pg_ctl -D "$RUN/$data" -m fast -w stop >/dev/null && echo "[down] $data"
  fi
done
if [ "${1:-}" = "--purge" ]; then rm -rf "$RUN" && echo "[down] removed $RUN"; fi
