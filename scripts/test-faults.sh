#!/usr/bin/env bash
# `make test-faults`: the fault suite (test/faults/faults.e2e.ts): the control plane as real processes, our
# nats-server, a Postgres cluster of its own and the real agent on this machine's Swarm; each of them SIGKILLed,
# restarted or paused mid-deploy. Not part of `make test`.
#   - bounded by STACKYARD_FAULTS_TEST_TIMEOUT seconds (default 600): the suite is stopped after that;
#   - the machine's shared Postgres is never restarted: the suite runs initdb/pg_ctl as the postgres user;
#   - from a fresh clone: deps.sh brings Node, npm packages, nats-server and a Swarm-mode Docker engine, and the
#     Postgres server binaries are installed here when missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT="${STACKYARD_FAULTS_TEST_TIMEOUT:-600}"

bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# The suite's own Postgres needs the server binaries (initdb, pg_ctl) and the postgres user, which deps.sh leaves
# out when it reuses a Postgres it did not install (DATABASE_URL, or a server already on 5432).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
  log "installing the Postgres server binaries for the suite's own cluster (apt postgresql)"
  apt_install postgresql
fi
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"
cd "$ROOT"

work="$(mktemp -d /tmp/stackyard-faults.XXXXXX)"
export TMPDIR="$work"
trap 'rm -rf "$work"' EXIT

log "fault suite (bounded by ${TIMEOUT}s)"
start=$(date +%s)
# timeout makes the suite its own process group and signals the whole group on expiry: mocha, the control-plane
# processes, the nats-server and the agent it spawned stop together (the throwaway Postgres is the postgres
# user's daemon: the suite's after hook stops it).
set +e
timeout -k 20 "$TIMEOUT" npx mocha --no-config --node-option import=tsx --timeout 20000 --exit test/faults/faults.e2e.ts
rc=$?
set -e
[ "$rc" = 124 ] && log "fault suite stopped: it ran longer than ${TIMEOUT}s"
log "fault suite done in $(($(date +%s) - start))s (exit $rc)"
exit "$rc"
