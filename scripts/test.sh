#!/usr/bin/env bash
# `make test`: bootstrap every dependency, then typecheck, lint and run every suite against the real parts.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/deps.sh"
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"
log "typecheck"
npm run --silent typecheck
log "lint"
npm run --silent lint
log "tests"
npm test --silent
