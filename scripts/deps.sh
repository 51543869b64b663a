#!/usr/bin/env bash
# Makes every dependency of the dev loop and the test suites available; safe to run any number of times.
#   Node 22 + npm packages, Postgres (reused, or installed and started), our own nats-server in operator mode,
#   a Docker engine in Swarm mode, and Chromium for the browser tests.
# Writes .state/env.sh, which the Makefile and scripts source to find everything.
# Flags: --no-docker, --no-chromium (no test tools: Chromium, Prometheus; for a quicker dev start).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want_docker=1
want_chromium=1
for arg in "$@"; do
  case "$arg" in
    --no-docker) want_docker=0 ;;
    --no-chromium) want_chromium=0 ;;
    *) log "unknown flag: $arg"; exit 2 ;;
  esac
done

mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

ensure_node
ensure_node_modules

# --- Postgres -------------------------------------------------------------------------------------------
ensure_postgres
node --import tsx "$ROOT/scripts/create-databases.ts" "$DEV_DATABASE_URL" "$TEST_DATABASE_URL"

# --- NATS (our own server, operator/JWT mode) --------------------------------------------------------------
command -v nats-server >/dev/null 2>&1 || { log "installing nats-server (apt)"; apt_install nats-server; }
node --import tsx "$ROOT/scripts/nats.ts" start

# --- Docker engine in Swarm mode -----------------------------------------------------------------------------
ensure_docker() {
  command -v dockerd >/dev/null 2>&1 || { log "installing the Docker engine (apt docker.io)"; apt_install docker.io; }
  command -v busybox >/dev/null 2>&1 || apt_install busybox-static
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd in the background (log: $STATE_DIR/dockerd.log)"
    # `setsid -f` forks dockerd into its own session and returns: a `… &` here would leave a bash subshell
    # waiting for it in the caller's process group (make dev's Ctrl-C group), outliving `make dev`.
    as_root setsid -f dockerd >"$STATE_DIR/dockerd.log" 2>&1 </dev/null
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see $STATE_DIR/dockerd.log"; exit 1; }
  fi
  if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
    log "initialising a single-node swarm"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
}
[ "$want_docker" = 1 ] && ensure_docker

# --- Test tools: Chromium for the browser tests, Prometheus + promtool for the metrics suite ------------------
if [ "$want_chromium" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (apt)"
  apt_install chromium
fi
if [ "$want_chromium" = 1 ] && ! command -v promtool >/dev/null 2>&1; then
  log "installing prometheus (apt; only its binaries are used, by the metrics suite)"
  apt_install prometheus
fi

# pebble (Let's Encrypt's test ACME server, with pebble-challtestsrv) and openssl: the ingress certificates suite.
if [ "$want_chromium" = 1 ] && { ! command -v pebble >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; }; then
  log "installing pebble and openssl (apt; the ingress certificates suite)"
  apt_install pebble openssl
fi

# --- what the other scripts read ----------------------------------------------------------------------------
umask 077
# Local signing key for access tokens, made once and kept with the rest of the local state.
[ -s "$STATE_DIR/jwt-signing.key" ] || head -c 48 /dev/urandom | base64 -w0 >"$STATE_DIR/jwt-signing.key"
# Local master key for environment secrets (AES-256-GCM); losing it makes stored secrets unreadable.
[ -s "$STATE_DIR/master.key" ] || head -c 32 /dev/urandom | base64 -w0 >"$STATE_DIR/master.key"
cat >"$STATE_DIR/env.sh" <<ENV
# Written by scripts/deps.sh; sourced by make targets. Safe to delete: it is rewritten on the next run.
export STACKYARD_STATE_DIR="$STATE_DIR"
export DATABASE_URL="$DEV_DATABASE_URL"
export TEST_DATABASE_URL="$TEST_DATABASE_URL"
export AUTH_JWT_KEYS="local1:$(cat "$STATE_DIR/jwt-signing.key")"
export CONTROLPLANE_MASTER_KEY="local1:$(cat "$STATE_DIR/master.key")"
$(node --import tsx "$ROOT/scripts/nats.ts" env)
ENV
log "dependencies ready (env in $STATE_DIR/env.sh)"
