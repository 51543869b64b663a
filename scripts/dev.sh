#!/usr/bin/env bash
# `make dev`: dependencies, migrations, then every service in one process (Ctrl-C stops it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"
npm run --silent migrate
log "building the web UI (served by the gateway)"
npm run --silent web:build >/dev/null
port="${HTTP_PORT:-8080}"
node --import tsx scripts/first-run.ts "http://127.0.0.1:$port"
log "starting all services; API on http://127.0.0.1:$port (health: /healthz, readiness: /readyz, spec: /openapi.yaml)"
exec node --import tsx services/main.ts
