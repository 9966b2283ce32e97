#!/usr/bin/env bash
# The deployment of deploy/compose.yaml on this machine, from Debian packages, loopback only:
# a PostgreSQL primary and its streaming replica (pg_basebackup), PgBouncer in transaction mode
# in front of the primary, two gateway instances (each with its own GATEWAY_WORKERS) reading
# forecasts from the replica, and nginx balancing them. Every server's state, log and pid file
# is under deploy/local/run/ (gitignored); deploy/local/down.sh stops them all.
#
#   deploy/local/up.sh            # start (the first start imports the bundled sample)
#   deploy/local/down.sh [--purge]
#
# Ports (override with the variables): primary 5540, replica 5541, PgBouncer 6540, nginx 8540,
# gateways 8541 and 8542. Installs postgresql, pgbouncer and nginx when missing (Debian, root).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN="$PWD/deploy/local/run"
PRIMARY_PORT=${PRIMARY_PORT:-5540}
REPLICA_PORT=${REPLICA_PORT:-5541}
BOUNCER_PORT=${BOUNCER_PORT:-6540}
LB_PORT=${LB_PORT:-8540}
GATEWAY_PORTS=(${GATEWAY_A_PORT:-8541} ${GATEWAY_B_PORT:-8542})
GATEWAY_WORKERS_EACH=(${GATEWAY_A_WORKERS:-1} ${GATEWAY_B_WORKERS:-1})
# The compose file's gateway settings, plus what several instances need (docs/deploy.md).
export RATE_LIMIT_STORE=database AUTO_IMPORT=${AUTO_IMPORT:-true} LOG_LEVEL=${LOG_LEVEL:-info}
export READ_REPLICA_MAX_LAG_MS=${READ_REPLICA_MAX_LAG_MS:-2000}

say() { echo "[up] $*"; }

# --- packages -------------------------------------------------------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
missing=()
[ -n "$PGBIN" ] || missing+=(postgresql)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
# pgvector for that PostgreSQL (the CI's script; idempotent)
[ -f ../shared/scripts/install-pgvector.sh ] && bash ../shared/scripts/install-pgvector.sh >/dev/null
PATH="$PGBIN:/usr/sbin:$PATH"

# PostgreSQL, PgBouncer and nginx's workers refuse to run as root: they run as postgres.
mkdir -p "$RUN"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$RUN"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

url() { echo "postgres://postgres@127.0.0.1:$1/${2:-foresight}"; }
ready() { pg_isready -q -h 127.0.0.1 -p "$1"; }

# --- primary --------------------------------------------------------------------------------
if [ ! -f "$RUN/primary/PG_VERSION" ]; then
  say "primary: initdb"
  as_pg initdb -D "$RUN/primary" -U postgres --auth=trust -E UTF8 >/dev/null
  cat >>"$RUN/primary/postgresql.conf" <<CONF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
wal_level = replica
max_wal_senders = 4
wal_keep_size = 256MB
max_connections = 200
CONF
fi
ready "$PRIMARY_PORT" || as_pg pg_ctl -D "$RUN/primary" -l "$RUN/primary.log" -w start >/dev/null
if ! psql "$(url "$PRIMARY_PORT" postgres)" -tAc "SELECT 1 FROM pg_database WHERE datname='foresight'" | grep -q 1; then
  psql -q "$(url "$PRIMARY_PORT" postgres)" -c 'CREATE DATABASE foresight'
  # The settings compose's postgres gets from deploy/init.sql (PgBouncer drops startup options).
  psql -q "$(url "$PRIMARY_PORT")" -f deploy/init.sql
fi
say "primary at $(url "$PRIMARY_PORT")"

# --- replica --------------------------------------------------------------------------------
if [ ! -f "$RUN/replica/PG_VERSION" ]; then
  say "replica: pg_basebackup"
  as_pg pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$RUN/replica" -R -X stream -c fast
  echo "port = $REPLICA_PORT" | as_pg tee -a "$RUN/replica/postgresql.auto.conf" >/dev/null
fi
ready "$REPLICA_PORT" || as_pg pg_ctl -D "$RUN/replica" -l "$RUN/replica.log" -w start >/dev/null
say "replica at $(url "$REPLICA_PORT") (in recovery: $(psql -tAc 'SELECT pg_is_in_recovery()' "$(url "$REPLICA_PORT")"))"

# --- PgBouncer ------------------------------------------------------------------------------
cat >"$RUN/pgbouncer.ini" <<CONF
[databases]
foresight = host=127.0.0.1 port=$PRIMARY_PORT dbname=foresight
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $RUN/pgbouncer.users
pool_mode = transaction
ignore_startup_parameters = options
max_client_conn = 1000
default_pool_size = 40
; a primary that went away (a failover) is tried again after 1 s, not PgBouncer's 15 s
server_login_retry = 1
logfile = $RUN/pgbouncer.log
pidfile = $RUN/pgbouncer.pid
CONF
echo '"postgres" ""' >"$RUN/pgbouncer.users"
chmod a+r "$RUN/pgbouncer.ini" "$RUN/pgbouncer.users"
if ! ready "$BOUNCER_PORT"; then
  as_pg pgbouncer -d "$RUN/pgbouncer.ini"
  for _ in $(seq 1 50); do ready "$BOUNCER_PORT" && break; sleep 0.1; done
fi
say "pgbouncer at $(url "$BOUNCER_PORT") (transaction pooling)"

# --- gateways -------------------------------------------------------------------------------
wait_ready() { # url seconds
  for _ in $(seq 1 "$2"); do
    curl -sf "$1/readyz" >/dev/null && return 0
    sleep 1
  done
  return 1
}
start_gateway() { # index
  local port=${GATEWAY_PORTS[$1]} workers=${GATEWAY_WORKERS_EACH[$1]}
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then return 0; fi
  # setsid: the instance's processes (a cluster's primary and workers) are one group to kill.
  PORT=$port GATEWAY_WORKERS=$workers HOST=127.0.0.1 \
    DATABASE_URL="$(url "$BOUNCER_PORT")" READ_DATABASE_URL="$(url "$REPLICA_PORT")" \
    setsid nohup node_modules/.bin/tsx src/main.ts >"$RUN/gateway-$port.log" 2>&1 &
  echo $! >"$RUN/gateway-$port.pid"
  say "gateway $port: GATEWAY_WORKERS=$workers, pid $(cat "$RUN/gateway-$port.pid")"
}
# The first one alone: it migrates and (first start) imports the sample and embeddings.
start_gateway 0
wait_ready "http://127.0.0.1:${GATEWAY_PORTS[0]}" 900 || {
  say "gateway ${GATEWAY_PORTS[0]} did not become ready; its log:"
  tail -n 30 "$RUN/gateway-${GATEWAY_PORTS[0]}.log"
  exit 1
}
start_gateway 1
wait_ready "http://127.0.0.1:${GATEWAY_PORTS[1]}" 300 || {
  say "gateway ${GATEWAY_PORTS[1]} did not become ready; its log:"
  tail -n 30 "$RUN/gateway-${GATEWAY_PORTS[1]}.log"
  exit 1
}

# --- nginx ----------------------------------------------------------------------------------
# deploy/nginx.conf's proxy settings over the two instances; an instance that fails a request
# is left out for 5 s (passive health checks), and a request it could not connect to or that
# timed out is passed to the other (every mutation is idempotent: recordEvents by
# clientEventId). A 5xx the gateway answers (the database away) is not: the other instance
# shares that database, and counting it as the instance's failure would leave none live.
cat >"$RUN/nginx.conf.new" <<CONF
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream foresight {
    server 127.0.0.1:${GATEWAY_PORTS[0]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${GATEWAY_PORTS[1]} max_fails=1 fail_timeout=5s;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$LB_PORT;
    client_max_body_size 1m;
    location / {
      proxy_pass http://foresight;
      proxy_http_version 1.1;
      proxy_set_header Connection '';
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_read_timeout 30s;
      proxy_next_upstream error timeout non_idempotent;
      proxy_next_upstream_tries 2;
    }
  }
}
CONF
# A running nginx is reloaded only for a changed configuration: a reload closes its idle
# keep-alive connections to clients.
if [ -f "$RUN/nginx.pid" ] && kill -0 "$(cat "$RUN/nginx.pid")" 2>/dev/null; then
  if ! cmp -s "$RUN/nginx.conf.new" "$RUN/nginx.conf"; then
    mv "$RUN/nginx.conf.new" "$RUN/nginx.conf"
    nginx -c "$RUN/nginx.conf" -s reload
  fi
else
  mv "$RUN/nginx.conf.new" "$RUN/nginx.conf"
  nginx -c "$RUN/nginx.conf"
fi
rm -f "$RUN/nginx.conf.new"
wait_ready "http://127.0.0.1:$LB_PORT" 30
say "nginx at http://127.0.0.1:$LB_PORT/graphql, balancing ${GATEWAY_PORTS[*]}"
