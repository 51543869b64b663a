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

# The suite's own temporary files (the agent's state dir) go here, removed with the Swarm whatever the exit.
work="$(mktemp -d /tmp/stackyard-multinode.XXXXXX)"
export TMPDIR="$work"

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  rm -rf "$work"
  if ! bash "$HARNESS" down; then
    log "the multi-node Swarm was not torn down completely: $(bash "$HARNESS" leftovers)"
    rc=1
  fi
  exit "$rc"
}
trap teardown EXIT

log "multi-node suite (bounded by ${TIMEOUT}s)"
start=$(date +%s)
# timeout makes the suite its own process group and, on expiry or on a signal it is sent, signals the whole group:
# mocha and the agent it spawned stop together (-k: KILL 20 s after a TERM that was ignored). Ctrl-C or a TERM
# to this script is handed on the same way, then the EXIT trap tears the Swarm down.
set +e
timeout -k 20 "$TIMEOUT" npx mocha --no-config --node-option import=tsx --timeout 20000 --exit \
  test/multinode/multinode.e2e.ts &
suite=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$suite" 2>/dev/null' INT TERM
wait "$suite"
rc=$?
# A trapped signal ends the first wait early: wait for the suite itself to be gone.
while kill -0 "$suite" 2>/dev/null; do wait "$suite"; done
set -e
[ "$interrupted" = 1 ] && rc=130
[ "$rc" = 124 ] && log "multi-node suite stopped: it ran longer than ${TIMEOUT}s"
log "multi-node suite done in $(($(date +%s) - start))s (exit $rc)"
exit "$rc"
