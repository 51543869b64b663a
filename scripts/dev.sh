#!/usr/bin/env bash
# `make dev`: dependencies, migrations, then every service in one process (Ctrl-C stops it).
# Every node here is the Node 22 that ensure_node put first on PATH; nothing goes through `npm run`, whose
# node_modules/.bin would otherwise decide which node runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
port="${HTTP_PORT:-8080}"
# Before anything slow: a taken port would only fail after the install, migrations and UI build.
if holder="$(port_holder "$port")"; then
  log "port $port is already in use${holder:+ by $holder}: stop it, or run HTTP_PORT=<port> make dev"
  exit 1
fi
# Prometheus metrics of the process (docs/operations.md); METRICS_LISTEN=off turns them off.
export METRICS_LISTEN="${METRICS_LISTEN-127.0.0.1:9464}"
if [ -n "$METRICS_LISTEN" ] && [ "$METRICS_LISTEN" != off ] && holder="$(port_holder "${METRICS_LISTEN##*:}")"; then
  log "metrics port ${METRICS_LISTEN##*:} is already in use${holder:+ by $holder}: stop it, or run METRICS_LISTEN=<host:port|off> make dev"
  exit 1
fi
bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"
log "using $(command -v node) ($(node --version))"
node --import tsx scripts/migrate.ts
log "building the web UI (served by the gateway)"
node node_modules/vite/bin/vite.js build --config web/vite.config.ts --logLevel error
node --import tsx scripts/first-run.ts "http://127.0.0.1:$port"
log "starting all services; API on http://127.0.0.1:$port (health: /healthz, readiness: /readyz, spec: /openapi.yaml)${METRICS_LISTEN:+; metrics: $METRICS_LISTEN}"
HTTP_PORT="$port" exec node --import tsx services/main.ts
