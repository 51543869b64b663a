#!/usr/bin/env bash
# CI smoke of the README's first command, as a new user runs it: `make dev` with the system's Node (whatever its
# version) first on PATH, on a database of its own. Waits for /readyz, logs in with the first-run password that
# `make dev` printed, fetches the UI and the spec, then stops it with SIGINT (Ctrl-C) and checks that it exits
# cleanly and leaves no process of its own behind. Exits non-zero, naming the step, when any of that fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
port="${HTTP_PORT:-8080}"
metrics="${METRICS_LISTEN:-127.0.0.1:9464}"
base="http://127.0.0.1:$port"
ready_timeout="${SMOKE_READY_TIMEOUT_SECONDS:-1200}"
db="stackyard_smoke_$$"
out="$(mktemp -d)"
logfile="$out/make-dev.log"
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates

# The system's Node first, as on a fresh machine: make dev must bring its own Node 22 whatever this is.
export PATH="/usr/local/bin:/usr/bin:/bin:$PATH"
log "smoke: system node is $(command -v node >/dev/null 2>&1 && node --version || echo 'not installed')"

pgid=""
finish() {
  local rc=$?
  if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
  if [ "$rc" != 0 ]; then
    log "smoke: FAILED; the last lines of make dev:"
    tail -n 40 "$logfile" >&2 || true
  fi
  # The database was ours alone; env.sh named it, and every script rewrites env.sh before reading it.
  (ensure_node && node --import tsx scripts/drop-databases.ts "$PG_DEFAULT_BASE/$db") >/dev/null 2>&1 ||
    log "smoke: could not drop database $db"
  rm -f "$STATE_DIR/env.sh"
  rm -rf "$out"
  exit "$rc"
}
trap finish EXIT
fail() { log "smoke: $*"; exit 1; }

started=$(date +%s)
DATABASE_URL="$PG_DEFAULT_BASE/$db" HTTP_PORT="$port" METRICS_LISTEN="$metrics" setsid make dev >"$logfile" 2>&1 </dev/null &
pgid=$!

until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; do
  if ! kill -0 "$pgid" 2>/dev/null; then
    wait "$pgid" && rc=0 || rc=$?
    fail "make dev exited (status $rc) before /readyz answered 200"
  fi
  [ $(($(date +%s) - started)) -lt "$ready_timeout" ] || fail "/readyz did not answer 200 within ${ready_timeout}s"
  sleep 2
done
log "smoke: /readyz 200 after $(($(date +%s) - started))s"
grep -q "using .*node (v$NODE_MAJOR\." "$logfile" || fail "make dev did not run the services on Node $NODE_MAJOR"

[ "$(grep -c '^ *password: ' "$logfile")" = 1 ] || fail "make dev did not print the first-run password exactly once"
email="$(sed -n 's/^ *email: *//p' "$logfile" | head -1)"
password="$(sed -n 's/^ *password: *//p' "$logfile" | head -1)"
login="$(curl -s -w '\n%{http_code}' -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}")"
[ "$(tail -n1 <<<"$login")" = 200 ] || fail "login with the printed password answered $(tail -n1 <<<"$login")"
grep -q '"accessToken"' <<<"$login" || fail "login answered 200 without an accessToken"
log "smoke: logged in as $email with the printed password"

curl -sf "$base/" -o "$out/index.html" || fail "GET / failed"
grep -qi '<div id="root"' "$out/index.html" || fail "GET / is not the web UI"
curl -sf "$base/openapi.yaml" -o "$out/openapi.yaml" || fail "GET /openapi.yaml failed"
head -1 "$out/openapi.yaml" | grep -q '^openapi: ' || fail "GET /openapi.yaml is not the OpenAPI document"
log "smoke: the UI and /openapi.yaml are served"
curl -sf "http://$metrics/metrics" -o "$out/metrics.txt" || fail "GET http://$metrics/metrics failed"
grep -q '^stackyard_http_request_duration_seconds_count{method="POST",route="/v1/auth/login",status="200"} 1$' \
  "$out/metrics.txt" || fail "/metrics does not count the login request"
log "smoke: /metrics counts the login"

# Ctrl-C reaches the whole foreground process group; do the same.
kill -INT -- "-$pgid"
for _ in $(seq 1 30); do kill -0 "$pgid" 2>/dev/null || break; sleep 1; done
kill -0 "$pgid" 2>/dev/null && fail "make dev still runs 30s after SIGINT"
wait "$pgid" && rc=0 || rc=$?
# make re-raises the interrupt (130) once its recipe has ended; anything else is a crash.
[ "$rc" = 0 ] || [ "$rc" = 130 ] || fail "make dev exited with status $rc after SIGINT"
if grep -qE '"level":"(error|fatal)"' "$logfile"; then
  fail "make dev logged an error: $(grep -m1 -E '"level":"(error|fatal)"' "$logfile" | cut -c1-300)"
fi
left="$(pgrep -g "$pgid" -a || true)"
[ -z "$left" ] || fail "processes of make dev still run after it exited: $left"
port_holder "$port" >/dev/null && fail "port $port is still open after make dev exited"
pgid=""
log "smoke: make dev stopped cleanly on SIGINT (status $rc), nothing left running; total $(($(date +%s) - started))s"
