#!/usr/bin/env bash
# `make test`: bootstrap every dependency, then typecheck, lint and run every suite against the real parts:
# unit and integration suites (Postgres, NATS, dockerd), the end-to-end deploy suite on the real Swarm,
# the web component tests and the browser suite in Debian's Chromium.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/deps.sh"
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"
# Each phase says when it starts, so a slow CI shows where its minutes went.
phase() { log "$* (at ${SECONDS}s)"; }
phase "typecheck"
npm run --silent typecheck
phase "lint"
npm run --silent lint
phase "OpenAPI lint (Redocly, redocly.yaml)"
npm run --silent lint:openapi
log "OpenAPI types (server and web client) are up to date"
npm run --silent gen:openapi-types >/dev/null
git diff --exit-code -- openapi/openapi.gen.ts || { log "openapi/openapi.gen.ts is stale: run npm run gen:openapi-types"; exit 1; }
phase "web build"
npm run --silent web:build >/dev/null
failed=0
results="$(mktemp)"
phase "service, agent and end-to-end suites"
npm test --silent 2>&1 | tee -a "$results" || failed=1
phase "web component tests"
npm run --silent test:web 2>&1 | tee -a "$results" || failed=1
phase "browser suite (Chromium)"
npm run --silent test:web-e2e 2>&1 | tee -a "$results" || failed=1
# One closing line for all suites (mocha prints one per run).
passed_total=$(sed 's/\x1b\[[0-9;]*m//g' "$results" | awk '/^ +[0-9]+ passing/ {n += $1} END {print n + 0}')
failed_total=$(sed 's/\x1b\[[0-9;]*m//g' "$results" | awk '/^ +[0-9]+ failing/ {n += $1} END {print n + 0}')
rm -f "$results"
echo "${passed_total} passed, ${failed_total} failed (in ${SECONDS}s)"
exit "$failed"
