#!/bin/sh
# Runs inside the docker:dind containers of docker-compose.dev.yml: starts dockerd, then makes the engine the
# swarm manager (`manager`) or joins it as a worker (`worker`), and keeps dockerd in the foreground.
#   manager: `docker swarm init` once (its /var/lib/docker volume keeps the swarm), then publishes the worker
#            join token and its address in the join volume on every start (a rotated token is picked up).
#   worker:  joins with that token; if it belongs to an older swarm (the manager's volume was reset), it leaves
#            the old one first. The token's CA digest tells the swarms apart.
# The manager also listens on a unix socket in a volume shared with the agent container (group
# $STACKYARD_DOCKER_GID), so no Docker API is ever exposed on TCP. Healthchecks: `swarm-node.sh health <role>`.
set -eu

JOIN_DIR=/swarm-join
AGENT_SOCKET_DIR=/run/stackyard-dind
JOINED_TOKEN_FILE=/var/lib/docker/stackyard-joined-token

log() { echo "[swarm-node] $*" >&2; }

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }
# SWMTKN-1-<CA digest>-<secret>: the digest identifies the swarm.
ca_digest() { echo "$1" | cut -d- -f3; }

health() {
  [ "$(swarm_state)" = active ] || exit 1
  if [ "$1" = manager ]; then
    [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || exit 1
    [ -s "$JOIN_DIR/worker-token" ] && [ -S "$AGENT_SOCKET_DIR/docker.sock" ] || exit 1
  fi
  exit 0
}

publish_join_info() {
  docker swarm join-token -q worker >"$JOIN_DIR/worker-token.tmp"
  docker info --format '{{.Swarm.NodeAddr}}' >"$JOIN_DIR/manager-addr.tmp"
  mv "$JOIN_DIR/worker-token.tmp" "$JOIN_DIR/worker-token"
  mv "$JOIN_DIR/manager-addr.tmp" "$JOIN_DIR/manager-addr"
}

setup_manager() {
  if [ "$(swarm_state)" != active ]; then
    log "initialising the swarm (advertise ${SWARM_ADVERTISE_ADDR})"
    docker swarm init --advertise-addr "$SWARM_ADVERTISE_ADDR" --listen-addr "0.0.0.0:2377" >/dev/null
  fi
  publish_join_info
  log "manager ready"
}

setup_worker() {
  token="$(cat "$JOIN_DIR/worker-token")"
  addr="$(cat "$JOIN_DIR/manager-addr")"
  state="$(swarm_state)"
  joined="$(cat "$JOINED_TOKEN_FILE" 2>/dev/null || true)"
  if [ "$state" != inactive ] && [ "$(ca_digest "$joined")" != "$(ca_digest "$token")" ]; then
    log "this node belongs to another swarm; leaving it"
    docker swarm leave --force >/dev/null || true
    state=inactive
  fi
  if [ "$state" = inactive ]; then
    log "joining the swarm at $addr:2377"
    docker swarm join --token "$token" --advertise-addr "$SWARM_ADVERTISE_ADDR" "$addr:2377" >/dev/null
    printf '%s\n' "$token" >"$JOINED_TOKEN_FILE"
  fi
  log "worker ready"
}

role="${1:-}"
case "$role" in
  health) health "${2:-}" ;;
  manager | worker) ;;
  *) log "usage: swarm-node.sh manager|worker|health <role>"; exit 2 ;;
esac
: "${SWARM_ADVERTISE_ADDR:?SWARM_ADVERTISE_ADDR is required (this node's fixed address on the swarm network)}"

# Not privileged (docker/compose.unprivileged-dind.yml): Docker mounts /sys, /proc/sys and this container's cgroups
# read-only, and the nested dockerd must create cgroups for its containers and set sysctls. With CAP_SYS_ADMIN and
# no AppArmor they can be remounted read-write, which is how a privileged container has them.
writable_sys() {
  awk '($2 == "/sys" && $3 == "sysfs") || $2 == "/proc/sys" || $3 == "cgroup" || $3 == "cgroup2" { print $2, $4 }' \
    /proc/self/mounts |
    while read -r mountpoint options; do
      case ",$options," in
        *,ro,*) ;;
        *) continue ;;
      esac
      if [ "$mountpoint" = /sys ]; then
        mount -o remount,rw /sys
      else
        mount -o remount,bind,rw "$mountpoint"
      fi || { log "cannot make $mountpoint writable: run the node privileged, or see docker/compose.unprivileged-dind.yml"; exit 1; }
    done
}
writable_sys

hosts="--host=unix:///var/run/docker.sock"
if [ "$role" = manager ]; then
  mkdir -p "$AGENT_SOCKET_DIR"
  hosts="$hosts --host=unix://$AGENT_SOCKET_DIR/docker.sock --group=${STACKYARD_DOCKER_GID:?}"
fi
# The image's entrypoint sets up cgroups and mounts for nested dockerd; an explicit `dockerd` command keeps it
# from adding its default TCP listener.
# shellcheck disable=SC2086
dockerd-entrypoint.sh dockerd $hosts &
dockerd_pid=$!
trap 'kill -TERM "$dockerd_pid" 2>/dev/null' TERM INT

tries=0
until docker info >/dev/null 2>&1; do
  kill -0 "$dockerd_pid" 2>/dev/null || { log "dockerd exited"; wait "$dockerd_pid"; exit 1; }
  tries=$((tries + 1))
  [ "$tries" -lt 120 ] || { log "dockerd did not answer within 120 s"; exit 1; }
  sleep 1
done

"setup_$role"

# `wait` returns early (status > 128) when the trap fires: wait again for dockerd to finish its shutdown, so
# the container stops cleanly and exits with dockerd's status.
set +e
wait "$dockerd_pid"
status=$?
if [ "$status" -gt 128 ] && kill -0 "$dockerd_pid" 2>/dev/null; then
  wait "$dockerd_pid"
  status=$?
fi
exit "$status"
