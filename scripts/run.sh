#!/usr/bin/env bash
# Runs a command with Node 22 on PATH and the environment written by scripts/deps.sh (running it first if needed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
[ -f "$STATE_DIR/env.sh" ] || bash "$ROOT/scripts/deps.sh"
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"
exec "$@"
