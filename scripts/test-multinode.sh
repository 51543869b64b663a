#!/usr/bin/env bash
# `make test-multinode`: the multi-node end-to-end suite (test/multinode/multinode.e2e.ts) on a separate 3-node
# Swarm built in network namespaces by scripts/multinode-swarm.sh (never joined to the host's dockerd), with the
# real control plane and the real agent. Not part of `make test`.
#   - skipped, with the reason, where namespaces or a second dockerd are not permitted (exit 0);
#   - bounded by STACKYARD_MULTINODE_TEST_TIMEOUT seconds (default 480): the suite is stopped after that;
#   - the Swarm is torn down on every exit (success, failure, timeout, Ctrl-C), and the run fails if anything of
#     it (namespace, daemon, veth, mount, data directory) is left.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT="${STACKYARD_MULTINODE_TEST_TIMEOUT:-480}"
HARNESS="$ROOT/scripts/multinode-swarm.sh"

if ! reason="$(bash "$HARNESS" check)"; then
  log "multi-node suite skipped: $reason"
  exit 0
fi

bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if ! bash "$HARNESS" down; then
    log "the multi-node Swarm was not torn down completely: $(bash "$HARNESS" leftovers)"
    rc=1
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "multi-node suite (bounded by ${TIMEOUT}s)"
start=$(date +%s)
# --foreground keeps Ctrl-C reaching mocha; -k: a suite that ignores the TERM is killed 20 s later.
set +e
timeout --foreground -k 20 "$TIMEOUT" npx mocha --no-config --node-option import=tsx --timeout 20000 --exit \
  test/multinode/multinode.e2e.ts
rc=$?
set -e
[ "$rc" = 124 ] && log "multi-node suite stopped: it ran longer than ${TIMEOUT}s"
log "multi-node suite done in $(($(date +%s) - start))s (exit $rc)"
exit "$rc"
