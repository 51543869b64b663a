#!/usr/bin/env bash
# `make test-ha`: the production topology for real (test/ha/ha.e2e.ts): a 3-node NATS cluster from our template,
# two gateways, two service processes, two deploy workers and the real agent on this machine's Swarm; a NATS node,
# a gateway and a worker SIGKILLed mid-deploy. Not part of `make test`.
#   - bounded by STACKYARD_HA_TEST_TIMEOUT seconds (default 300): the suite is stopped after that;
#   - `docker-compose.ha.yml` is checked with `docker-compose config` first.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT="${STACKYARD_HA_TEST_TIMEOUT:-300}"

bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"

work="$(mktemp -d /tmp/stackyard-ha.XXXXXX)"
export TMPDIR="$work"
trap 'rm -rf "$work"' EXIT

log "HA suite (bounded by ${TIMEOUT}s)"
start=$(date +%s)
# timeout makes the suite its own process group and signals the whole group on expiry: mocha, the six
# control-plane processes, the three nats-servers and the agent it spawned stop together.
set +e
timeout -k 20 "$TIMEOUT" npx mocha --no-config --node-option import=tsx --timeout 20000 --exit \
  test/ha/compose-ha.spec.ts test/ha/ha.e2e.ts
rc=$?
set -e
[ "$rc" = 124 ] && log "HA suite stopped: it ran longer than ${TIMEOUT}s"
log "HA suite done in $(($(date +%s) - start))s (exit $rc)"
exit "$rc"
