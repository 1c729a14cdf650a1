#!/usr/bin/env bash
# Ensures PostgreSQL and Redis for `make run` and `make test`.
#
#   scripts/stack.sh up     -> writes .run/stack.env (DATABASE_URL, REDIS_URL) and lists in
#                              $STACK_STARTED_FILE the servers it started (so only those stop)
#   scripts/stack.sh down pg redis   -> stops the named local servers
#
# Order of preference: DATABASE_URL / REDIS_URL from the environment; else the services of
# docker-compose.dev.yml when a Docker engine answers; else throwaway servers on loopback
# under .run/, installing Debian's postgresql and redis-server with apt-get when run as root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$ROOT/.run"
PG_PORT=${MAILPULSE_PG_PORT:-54329}
REDIS_PORT=${MAILPULSE_REDIS_PORT:-63799}
LOCAL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/mailpulse"
COMPOSE_DATABASE_URL="postgres://mailpulse:mailpulse@127.0.0.1:$PG_PORT/mailpulse"
LOCAL_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

say() { echo "stack: $*" >&2; }
die() { echo "stack: ERROR: $*" >&2; exit 1; }
started() { [ -n "${STACK_STARTED_FILE:-}" ] && echo "$1" >>"$STACK_STARTED_FILE"; return 0; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root && command -v apt-get >/dev/null ||
    die "$* is not installed. Install it (Debian: apt-get install $*), or set DATABASE_URL and REDIS_URL to servers you run, or start a Docker engine for docker-compose.dev.yml."
  say "installing $* with apt-get"
  if [ ! -f "$RUN/.apt-updated" ]; then apt-get update -qq >&2 && mkdir -p "$RUN" && touch "$RUN/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

docker_ok() { command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run its tools as `postgres`, with a data folder it can reach.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_home() {
  local home="$RUN/pg"
  if is_root && ! runuser -u postgres -- test -x "$RUN" 2>/dev/null; then
    # The checkout is not reachable by `postgres` (e.g. under /root): keep the data beside.
    local alt
    alt="/var/tmp/mailpulse-$(echo "$ROOT" | md5sum | cut -c1-8)/pg"
    mkdir -p "$alt" && chown -R postgres:postgres "$(dirname "$alt")"
    ln -sfn "$alt" "$home"
  fi
  mkdir -p "$home/"
  if is_root; then chown postgres:postgres "$home/"; fi
  # The real path: `postgres` may not be able to follow the link through the checkout.
  readlink -f "$home"
}

start_local_pg() {
  local bin home
  bin=$(pg_bin)
  [ -n "$bin" ] || { apt_install postgresql; bin=$(pg_bin); }
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    say "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
  else
    home=$(pg_home)
    if [ ! -f "$home/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$home/data" -U postgres -A trust -E UTF8 >"$home/initdb.log" 2>&1 ||
        die "initdb failed; see $home/initdb.log"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT ($home)"
    as_pg "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $home -c max_connections=200" start >&2 ||
      die "PostgreSQL did not start; see $home/server.log"
    started pg
  fi
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'mailpulse'" | grep -q 1 ||
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mailpulse
}

start_local_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    say "Redis already answers on 127.0.0.1:$REDIS_PORT"
    return
  fi
  mkdir -p "$RUN/redis"
  say "starting Redis on 127.0.0.1:$REDIS_PORT ($RUN/redis)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/redis" --appendonly yes \
    --save '' --daemonize yes --pidfile "$RUN/redis/redis.pid" --logfile "$RUN/redis/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "Redis did not start; see $RUN/redis/redis.log"
  started redis
}

up() {
  mkdir -p "$RUN"
  local database_url=${DATABASE_URL:-} redis_url=${REDIS_URL:-}
  if [ -z "$database_url" ] || [ -z "$redis_url" ]; then
    if docker_ok; then
      say "starting docker-compose.dev.yml"
      docker compose -f "$ROOT/docker-compose.dev.yml" up -d --wait >&2
      database_url=${database_url:-$COMPOSE_DATABASE_URL}
      redis_url=${redis_url:-$LOCAL_REDIS_URL}
    fi
  fi
  [ -n "$database_url" ] || { start_local_pg; database_url=$LOCAL_DATABASE_URL; }
  [ -n "$redis_url" ] || { start_local_redis; redis_url=$LOCAL_REDIS_URL; }
  printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$database_url" "$redis_url" >"$RUN/stack.env"
}

down() {
  for server in "$@"; do
    case "$server" in
      pg) say "stopping PostgreSQL"; as_pg "$(pg_bin)/pg_ctl" -D "$(readlink -f "$RUN/pg")/data" -m fast -w stop >&2 || true ;;
      redis) say "stopping Redis"; redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true ;;
    esac
  done
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  *) die "usage: $0 up | down [pg] [redis]" ;;
esac
