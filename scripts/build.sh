#!/usr/bin/env bash
# The one build, run by CI, `make` and every Dockerfile: install the locked npm dependencies, type-check the
# TypeScript, and build the web UI into web/dist when the web app exists.
#   --install-only   stop after the dependencies (the Dockerfiles cache this step in its own layer)
#   --no-web         skip the web build (the agent image does not ship the UI)
#   --agent-bundle   also bundle the agent into dist/stackyard-agent.mjs (scripts/build-agent.mjs: what the agent
#                    image runs, without node_modules or the TypeScript loader)
# `npm ci` is skipped when node_modules already holds exactly the locked tree (npm's own record of what it
# installed, node_modules/.package-lock.json, matches package-lock.json), so a second run, or the Dockerfile's
# build stage after its dependency layer, does not reinstall everything; a fresh checkout always gets `npm ci`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_only=0
want_web=1
want_agent_bundle=0
for arg in "$@"; do
  case "$arg" in
    --install-only) install_only=1 ;;
    --no-web) want_web=0 ;;
    --agent-bundle) want_agent_bundle=1 ;;
    *) log "unknown flag: $arg"; exit 2 ;;
  esac
done

ensure_node
cd "$ROOT"

# Exit 0 when node_modules matches package-lock.json exactly. Lock entries that are absent from node_modules
# must be optional (npm skips the packages of other platforms).
node_modules_current() {
  [ -f node_modules/.package-lock.json ] || return 1
  node -e '
    const fs = require("node:fs");
    const locked = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages ?? {};
    const installed = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages ?? {};
    for (const [path, entry] of Object.entries(locked)) {
      if (path === "") continue;
      if (!(path in installed)) {
        if (entry.optional) continue;
        process.exit(1);
      }
      if (JSON.stringify(entry) !== JSON.stringify(installed[path])) process.exit(1);
    }
    for (const path of Object.keys(installed)) if (!(path in locked)) process.exit(1);
  '
}

if node_modules_current; then
  log "build: node_modules matches package-lock.json"
else
  log "build: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
[ "$install_only" = 1 ] && exit 0

log "build: typecheck"
npm run --silent typecheck

if [ "$want_web" = 1 ] && [ -f web/vite.config.ts ]; then
  log "build: web UI (vite) into web/dist"
  npm run --silent web:build -- --logLevel warn
fi
if [ "$want_agent_bundle" = 1 ]; then
  log "build: agent bundle (esbuild) into dist/stackyard-agent.mjs"
  node scripts/build-agent.mjs dist/stackyard-agent.mjs
fi
log "build: done"
