#!/usr/bin/env bash
# Runs the agent from this checkout on Node 22 (installed into .tools/ when the system Node is another version):
#   bash scripts/agent.sh register --url <control plane URL> --token <registration token>
#   bash scripts/agent.sh run
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_node_modules
cd "$ROOT"
exec node --import tsx agent/src/main.ts "$@"
