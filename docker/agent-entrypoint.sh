#!/bin/sh
# Entrypoint of the agent container in docker-compose.dev.yml: register once with the one-time token the
# bootstrap container left in the hand-off volume, then run. The hand-off names the cluster the agent must
# belong to; a state directory registered to another cluster (the database was reset) registers again.
# Outside compose, run the image's `stackyard-agent register` and `stackyard-agent run` yourself.
set -eu

fail() {
  echo "[stackyard-agent] $*" >&2
  exit 1
}

handoff="${STACKYARD_AGENT_HANDOFF_DIR:?STACKYARD_AGENT_HANDOFF_DIR is required}"
state_file="${STACKYARD_AGENT_STATE_DIR:-/var/lib/stackyard-agent}/state.json"

want="$(cat "$handoff/cluster-id" 2>/dev/null || true)"
[ -n "$want" ] || fail "no cluster id in $handoff: the bootstrap container has not completed"

have=""
if [ -f "$state_file" ]; then
  have="$(node -e 'process.stdout.write(String(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).clusterId ?? ""))' "$state_file")"
fi

if [ "$have" != "$want" ]; then
  token_file="$handoff/registration-token"
  [ -s "$token_file" ] || fail "cluster $want needs a registration but no token was handed off; issue one with: docker compose -f docker-compose.dev.yml run --rm bootstrap node --import tsx scripts/compose-bootstrap.ts --new-agent-token"
  force=""
  [ -z "$have" ] || force="--force"
  # The token travels in the environment, never on the command line (visible in ps).
  STACKYARD_AGENT_TOKEN="$(cat "$token_file")" stackyard-agent register $force
fi

exec stackyard-agent run
