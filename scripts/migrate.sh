#!/usr/bin/env bash
# `make migrate`: applies pending migrations to DATABASE_URL (default: the local `stackyard` database).
# Needs only Node 22, the npm packages and Postgres: never our NATS, which another checkout may be running.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_node_modules
ensure_postgres
cd "$ROOT"
node --import tsx scripts/create-databases.ts "$DEV_DATABASE_URL"
DATABASE_URL="$DEV_DATABASE_URL" exec node --import tsx scripts/migrate.ts "$@"
