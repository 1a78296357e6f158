#!/usr/bin/env bash
# Runs a throwaway local PostgreSQL cluster for pa's tests and for trying pa with DATABASE_URL, from
# Debian's `postgresql` package (installed when missing). `up` reuses a running cluster and prints
# its URL on stdout (logs go to stderr), so `export DATABASE_URL=$(bash scripts/postgres.sh up)`
# works; `down` stops it and leaves no postgres process of this cluster.
#
#   bash scripts/postgres.sh up|down|status|url|logs
#
# PG_PORT (default 55432, not 5432, so it never meets a system server) picks the port. The cluster
# listens on 127.0.0.1 only, trusts every local connection (no password) and has a database `pa`.
# Its data lives in .cache/postgres/<port>, or in /tmp/pa-postgres-<port> when the user that runs
# the server cannot reach the checkout. PostgreSQL refuses to run as root, so as root the server
# runs as Debian's `postgres` user.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/system-packages.sh
source "$root/scripts/lib/system-packages.sh"

port=${PG_PORT:-55432}
url="postgres://postgres@127.0.0.1:$port/pa"

log() { echo "[postgres] $*" >&2; }

# Debian installs the server under /usr/lib/postgresql/<version>/bin, outside PATH; the newest wins.
# (A pg_ctl elsewhere on PATH may belong to another build, so it is not used.)
find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && printf '%s' "$dir"
}

ensure_server() {
  bin=$(find_bin) && return 0
  ensure_packages postgresql
  bin=$(find_bin) || {
    log "the postgresql package is installed but no initdb was found under /usr/lib/postgresql"
    return 1
  }
}

# as_server CMD...: runs CMD as the user the server runs as (root cannot).
as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The data directory. As root it must be reachable by `postgres`, which needs every parent of the
# checkout to be searchable; when one is not, the cluster goes under /tmp instead.
choose_state() {
  state="$root/.cache/postgres/$port"
  [ "$(id -u)" -eq 0 ] || return 0
  id postgres >/dev/null 2>&1 || {
    log "running as root needs the 'postgres' user (Debian's postgresql package creates it)"
    return 1
  }
  if [ ! -d "$state" ]; then
    mkdir -p "$root/.cache/postgres"
    if runuser -u postgres -- test -x "$root/.cache/postgres"; then
      mkdir -p "$state"
      chown postgres:postgres "$state"
      chmod 700 "$state"
    fi
  fi
  if [ ! -d "$state" ] || ! runuser -u postgres -- test -w "$state"; then
    log "user postgres cannot reach $root/.cache/postgres (a parent directory is not searchable);"
    log "keeping this cluster in /tmp/pa-postgres-$port instead"
    state="/tmp/pa-postgres-$port"
    mkdir -p "$state"
    chown postgres:postgres "$state"
    chmod 700 "$state"
  fi
}

data_dir() { printf '%s/data' "$state"; }
logfile() { printf '%s/postgres.log' "$state"; }

# The state directory of an existing cluster (the checkout's first); with none, the checkout's.
locate_state() {
  state="$root/.cache/postgres/$port"
  [ -f "$state/data/PG_VERSION" ] && return 0
  [ -f "/tmp/pa-postgres-$port/data/PG_VERSION" ] && state="/tmp/pa-postgres-$port"
  return 0
}

is_running() {
  as_server "$bin/pg_ctl" -D "$(data_dir)" status >/dev/null 2>&1
}

answers() {
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

ensure_cluster() {
  [ -f "$(data_dir)/PG_VERSION" ] && return 0
  log "creating a cluster in $(data_dir)"
  as_server "$bin/initdb" -D "$(data_dir)" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$state/initdb.log" 2>&1 || {
    cat "$state/initdb.log" >&2
    return 1
  }
  # Loaded after postgresql.conf, so these win over initdb's defaults.
  cat >"$(data_dir)/postgresql.auto.conf" <<CONF
# Written by scripts/postgres.sh: a throwaway cluster for tests and local runs.
listen_addresses = '127.0.0.1'
port = $port
# No Unix socket: its default directory may not be writable, and clients use TCP anyway.
unix_socket_directories = ''
# Several pa instances and test pools connect at once.
max_connections = 200
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
# Speed over durability: this cluster holds only test data that can be recreated, so an OS crash
# losing it is fine. Never use these settings for data that matters.
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 512MB
# Quiet logs; they go to postgres.log next to the data directory.
log_min_messages = warning
log_checkpoints = off
CONF
  chown "$(stat -c %U "$(data_dir)")" "$(data_dir)/postgresql.auto.conf"
}

ensure_database() {
  local exists
  exists=$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAqc \
    "SELECT 1 FROM pg_database WHERE datname = 'pa'")
  [ "$exists" = "1" ] && return 0
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE pa" >/dev/null 2>&1 || {
    # Two `up`s at once: the other one created it.
    exists=$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAqc \
      "SELECT 1 FROM pg_database WHERE datname = 'pa'")
    [ "$exists" = "1" ]
  }
}

up() {
  ensure_server
  locate_state
  [ -f "$(data_dir)/PG_VERSION" ] || choose_state
  if is_running && answers; then
    ensure_database
    log "already running on 127.0.0.1:$port ($(data_dir))"
    echo "$url"
    return 0
  fi
  if ! is_running && answers; then
    log "a server not started by this script already answers on 127.0.0.1:$port; using it"
    ensure_database
    echo "$url"
    return 0
  fi
  ensure_cluster
  log "starting PostgreSQL $(basename "$(dirname "$bin")") on 127.0.0.1:$port"
  # pg_ctl detaches the server into its own session, so it outlives this script and is not hit by
  # a terminal's Ctrl-C meant for another program.
  if ! as_server "$bin/pg_ctl" -D "$(data_dir)" -l "$(logfile)" -w -t 60 -s start >&2; then
    log "the server did not start; last lines of $(logfile):"
    tail -n 30 "$(logfile)" >&2 || true
    return 1
  fi
  ensure_database
  log "ready ($(data_dir))"
  echo "$url"
}

down() {
  ensure_server
  locate_state
  if ! is_running; then
    log "not running"
    return 0
  fi
  log "stopping"
  if ! as_server "$bin/pg_ctl" -D "$(data_dir)" -m fast -w -t 30 -s stop >&2; then
    log "no clean stop within 30 s; stopping immediately"
    as_server "$bin/pg_ctl" -D "$(data_dir)" -m immediate -w -t 30 -s stop >&2 || true
  fi
  log "stopped"
}

status() {
  ensure_server
  locate_state
  if is_running && answers; then
    log "running on 127.0.0.1:$port ($(data_dir))"
    echo "$url"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  url) echo "$url" ;;
  logs)
    ensure_server
    locate_state
    tail -n "${2:-100}" "$(logfile)"
    ;;
  *)
    echo "usage: bash scripts/postgres.sh up|down|status|url|logs" >&2
    exit 2
    ;;
esac
