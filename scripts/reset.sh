#!/usr/bin/env bash
# `make reset`: stops our nats-server, drops the dev and test databases and deletes .state/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
cd "$ROOT"
if [ -f "$STATE_DIR/env.sh" ]; then
  # shellcheck disable=SC1091
  source "$STATE_DIR/env.sh"
  node --import tsx scripts/nats.ts stop || true
  node --import tsx scripts/drop-databases.ts "$DATABASE_URL" "$TEST_DATABASE_URL" || true
fi
rm -rf "$STATE_DIR"
log "local state removed; the next make dev/test starts from scratch"
