#!/usr/bin/env bash
# `make test-compose`: runs docker-compose.dev.yml for real and checks it through the HTTP API
# (test/compose/compose-up.run.ts). Needs Docker only: no image registry is used.
#   1. the stand-in base images (scripts/build-base-images.sh: Debian rootfs, cached in .cache/standin) unless
#      STACKYARD_COMPOSE_TEST_OFFICIAL_IMAGES=1 (then the official images must be pullable or present);
#   2. the test image the deployed stack runs (scripts/build-test-image.sh), later loaded into both swarm nodes;
#   3. a snapshot of the working tree (tracked and untracked, not ignored files), so the three services that
#      build the control-plane image build the same sources, whatever is edited meanwhile;
#   4. the suite: `up --build -d` under its own project name (stackyard-compose-test) on free ports, first-run
#      password, cluster `local` online with 2 nodes, a stack deployed over both nodes, `down -v` leaving nothing;
#      then the `docker run` install command a new cluster shows, run as shown with the agent image just built
#      (test/compose/docker-run-agent.run.ts).
# The project is taken down (`down -v`) on every exit, and the whole run is bounded by STACKYARD_COMPOSE_TEST_TIMEOUT
# seconds (default 1800).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROJECT="${STACKYARD_COMPOSE_TEST_PROJECT:-stackyard-compose-test}"
TIMEOUT="${STACKYARD_COMPOSE_TEST_TIMEOUT:-1800}"

command -v docker >/dev/null 2>&1 || { log "error: the docker CLI is not installed (apt-get install docker.io)"; exit 1; }
docker info >/dev/null 2>&1 || { log "error: cannot reach the Docker daemon (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-})"; exit 1; }

# Compose v2 (the docker plugin) when installed, else Debian's docker-compose 1.29 (installed when missing).
if docker compose version >/dev/null 2>&1; then
  compose_cmd="docker compose"
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    log "installing docker-compose (apt)"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends docker-compose >/dev/null
  fi
  compose_cmd="docker-compose"
fi
log "compose: $($compose_cmd version --short 2>/dev/null || $compose_cmd version | head -1)"

# Postgres and the env (TEST_DATABASE_URL & co.): docker-run-agent.run.ts runs a control plane of its own.
bash "$ROOT/scripts/deps.sh" --no-chromium
ensure_node
# shellcheck disable=SC1091
source "$STATE_DIR/env.sh"

work="$(mktemp -d)"
snapshot="$work/tree"
env_file="$work/images.env"
files="docker-compose.dev.yml"

# The images the run rebuilds: their previous versions are dropped afterwards (unless a container uses them).
BUILT_IMAGES="stackyard/controlplane:dev stackyard/agent:dev"
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
declare -A previous_id
for image in $BUILT_IMAGES; do previous_id[$image]="$(image_id "$image")"; done

down() {
  # The suite takes the project down itself; this is the backstop for a crash or the timeout.
  if [ -f "$snapshot/docker-compose.dev.yml" ]; then
    local args=()
    for f in $files; do args+=(-f "$f"); done
    (cd "$snapshot" && $compose_cmd -p "$PROJECT" "${args[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1) || true
  fi
  for image in $BUILT_IMAGES; do
    local before="${previous_id[$image]}"
    if [ -n "$before" ] && [ "$before" != "$(image_id "$image")" ]; then
      docker image rm "$before" >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$work"
}
trap down EXIT

if [ "${STACKYARD_COMPOSE_TEST_OFFICIAL_IMAGES:-0}" = 1 ]; then
  : >"$env_file"
  dind_image=docker:27-dind
else
  bash "$ROOT/scripts/build-base-images.sh" --env-file "$env_file" >/dev/null
  dind_image="$(sed -n 's/^STACKYARD_DIND_IMAGE=//p' "$env_file")"
fi
bash "$ROOT/scripts/build-test-image.sh"

# Privileged containers are what the swarm nodes need; a daemon that cannot grant every capability refuses them
# ("unable to apply caps"): then run them with docker/compose.unprivileged-dind.yml.
if docker run --rm --privileged --entrypoint true "$dind_image" >/dev/null 2>&1; then
  log "swarm nodes: privileged containers"
elif docker run --rm --cap-add ALL --cap-drop SYS_RESOURCE --entrypoint true "$dind_image" >/dev/null 2>&1; then
  log "swarm nodes: this Docker refuses privileged containers; using docker/compose.unprivileged-dind.yml"
  files="$files docker/compose.unprivileged-dind.yml"
else
  log "error: this Docker starts neither privileged containers nor ones with every capability but CAP_SYS_RESOURCE: no Docker-in-Docker here"
  exit 1
fi

mkdir -p "$snapshot"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
  tar -C "$snapshot" -xf -
[ -f "$snapshot/docker-compose.dev.yml" ] || { log "error: could not snapshot the working tree into $snapshot"; exit 1; }

cd "$ROOT"
STACKYARD_COMPOSE_TEST_PROJECT="$PROJECT" \
  STACKYARD_COMPOSE_TEST_DIR="$snapshot" \
  STACKYARD_COMPOSE_TEST_FILES="$files" \
  STACKYARD_COMPOSE_TEST_ENV_FILE="$env_file" \
  STACKYARD_COMPOSE_CMD="$compose_cmd" \
  timeout --kill-after=30 "$TIMEOUT" npx mocha --config test/compose/.mocharc.run.json
