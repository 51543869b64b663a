#!/usr/bin/env bash
# A separate three-node Docker Swarm (1 manager, 2 workers) on this machine, for the multi-node end-to-end suite
# (test/multinode/). Each node is its own dockerd in its own network namespace, never the host's dockerd:
#   sy-mn-hub   a namespace holding only the bridge sy-mn-br (10.231.0.1/24) the nodes' veths hang off;
#   sy-mn-m     manager  10.231.0.10  hostname sy-mn-m   socket $DIR/m/docker.sock
#   sy-mn-w1    worker   10.231.0.11  hostname sy-mn-w1  socket $DIR/w1/docker.sock
#   sy-mn-w2    worker   10.231.0.12  hostname sy-mn-w2  socket $DIR/w2/docker.sock  (node label stackyard.test.disk=ssd)
# The host network namespace gets no interface, route or rule: the agent under test talks to the manager through
# its unix socket only. dockerd is started with `nsenter --net=… unshare --uts` (`ip netns exec` would also
# remount /sys and hide the cgroup mounts dockerd needs), each with its own data root, exec root, containerd,
# pidfile and an empty daemon.json; `--bridge none --iptables=false` keeps it off the host's firewall.
#
#   multinode-swarm.sh check            exit 0 when namespaces and a nested dockerd can be used, else 3 + reason
#   multinode-swarm.sh up [IMAGE...]    build it (after a `down` of any leftover); images copied from the host's
#                                       dockerd to every node with `docker save | docker load`
#   multinode-swarm.sh down             remove everything: containers, daemons, mounts, namespaces, veths, $DIR
#   multinode-swarm.sh stop-daemon N    SIGKILL node N's dockerd (and its containerd): a worker lost
#   multinode-swarm.sh start-daemon N   start node N's dockerd again on the same data root
#   multinode-swarm.sh leftovers        print what of the harness still exists (nothing when torn down)
#
# STACKYARD_MULTINODE_DIR (default /tmp/sy-mn, kept short: unix socket paths are limited to 108 bytes).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="${STACKYARD_MULTINODE_DIR:-/tmp/sy-mn}"
PREFIX="sy-mn"
HUB="$PREFIX-hub"
BRIDGE="$PREFIX-br"
SUBNET_PREFIX="10.231.0"
NODES=(m w1 w2)
declare -A ADDR=([m]="$SUBNET_PREFIX.10" [w1]="$SUBNET_PREFIX.11" [w2]="$SUBNET_PREFIX.12")
# Overlay networks of this swarm only; far from the host swarm's default 10.0.0.0/8 pool use.
ADDR_POOL="10.232.0.0/16"
DAEMON_START_TIMEOUT=30
WORKER_LABEL="stackyard.test.disk=ssd"

mlog() { printf '[multinode] %s\n' "$*" >&2; }
sock() { printf '%s/%s/docker.sock' "$DIR" "$1"; }
dk() { local node="$1"; shift; docker -H "unix://$(sock "$node")" "$@"; }
netns_exists() { [ -e "/var/run/netns/$1" ]; }

check() {
  [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, a second dockerd)"; return 3; }
  for cmd in ip nsenter unshare dockerd docker; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd is not installed"; return 3; }
  done
  local probe="$PREFIX-probe"
  ip netns del "$probe" 2>/dev/null || true
  if ! err="$(ip netns add "$probe" 2>&1)"; then
    echo "network namespaces are not permitted here: $err"
    return 3
  fi
  if ! err="$(nsenter --net="/var/run/netns/$probe" unshare --uts true 2>&1)"; then
    ip netns del "$probe" 2>/dev/null || true
    echo "nsenter/unshare into a new namespace is not permitted here: $err"
    return 3
  fi
  if ! err="$(ip netns exec "$probe" ip link add "$PREFIX-pb" type bridge 2>&1)"; then
    ip netns del "$probe" 2>/dev/null || true
    echo "creating a bridge in a network namespace is not permitted here: $err"
    return 3
  fi
  ip netns del "$probe"
  if ip -4 route show | grep -q "^$SUBNET_PREFIX\."; then
    echo "the test subnet $SUBNET_PREFIX.0/24 is already routed on this host"
    return 3
  fi
  docker info >/dev/null 2>&1 || { echo "the host's dockerd is not reachable (the test images are copied from it)"; return 3; }
}

start_daemon() {
  local node="$1" d="$DIR/$1"
  mkdir -p "$d/data" "$d/exec"
  [ -f "$d/daemon.json" ] || echo '{}' >"$d/daemon.json"
  rm -f "$(sock "$node")"
  # setsid: the daemon outlives this script and gets no SIGINT of the terminal; `down` stops it by pidfile.
  # No default route in a node's namespace, so anything off the test subnet (a registry, DNS) fails at once
  # instead of timing out; DOCKER_SERVICE_PREFER_OFFLINE_IMAGE makes a Swarm task use the local image without
  # trying a pull first (there is no registry: images come from `docker save | docker load`).
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="/var/run/netns/$PREFIX-$node" unshare --uts -- \
    sh -c 'hostname "$0" && exec "$@"' "$PREFIX-$node" \
    dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
    -H "unix://$(sock "$node")" --pidfile "$d/docker.pid" \
    --bridge none --iptables=false --ip-forward=false --ip-masq=false --userland-proxy=false \
    --storage-driver overlay2 --log-level warn \
    </dev/null >>"$d/dockerd.log" 2>&1 &
  local waited=0
  until dk "$node" version >/dev/null 2>&1; do
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -gt $((DAEMON_START_TIMEOUT * 2)) ]; then
      mlog "dockerd of $node did not answer on $(sock "$node") within ${DAEMON_START_TIMEOUT}s; its log:"
      tail -20 "$d/dockerd.log" >&2
      return 1
    fi
  done
}

# SIGKILL of dockerd and of the containerd it supervises (found by the pidfile containerd writes under exec root).
kill_daemon() {
  local node="$1" d="$DIR/$1" pid
  for pidfile in "$d/docker.pid" "$d/exec/containerd/containerd.pid"; do
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$d/docker.pid"
}

stop_daemon_gracefully() {
  local node="$1" d="$DIR/$1" pid
  pid="$(cat "$d/docker.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Containers first: a dockerd stopping without live-restore stops them too, but rm -f also removes them.
    local ids
    ids="$(timeout 20 docker -H "unix://$(sock "$node")" ps -aq 2>/dev/null || true)"
    [ -n "$ids" ] && timeout 60 docker -H "unix://$(sock "$node")" rm -f $ids >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  kill_daemon "$node"
}

# Every process still in one of our namespaces (daemon, containerd, shims), by id.
kill_namespace_processes() {
  local ns="$1" pids
  netns_exists "$ns" || return 0
  pids="$(ip netns pids "$ns" 2>/dev/null || true)"
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
  for _ in $(seq 1 20); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.25; done
}

our_mounts() {
  # Mount points under $DIR, deepest first (field 5 of mountinfo; octal escapes left as they are).
  awk -v dir="$DIR/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | awk '{ print length, $0 }' |
    sort -rn | cut -d' ' -f2-
}

down() {
  for node in "${NODES[@]}"; do
    [ -d "$DIR/$node" ] && stop_daemon_gracefully "$node"
    kill_namespace_processes "$PREFIX-$node"
  done
  local mounts
  for _ in 1 2 3; do
    mounts="$(our_mounts)"
    [ -z "$mounts" ] && break
    while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done <<<"$mounts"
  done
  for ns in "${NODES[@]/#/$PREFIX-}" "$HUB"; do
    netns_exists "$ns" && ip netns del "$ns" 2>/dev/null || true
  done
  # A veth whose namespace is gone goes with it; an end left in the host namespace by a crashed `up` does not.
  for node in "${NODES[@]}"; do
    ip link show "$PREFIX-$node" >/dev/null 2>&1 && ip link del "$PREFIX-$node" 2>/dev/null || true
    ip link show "$PREFIX-${node}h" >/dev/null 2>&1 && ip link del "$PREFIX-${node}h" 2>/dev/null || true
  done
  rm -rf "$DIR"
  local left
  left="$(leftovers)"
  if [ -n "$left" ]; then
    mlog "teardown left: $left"
    return 1
  fi
}

leftovers() {
  local out=()
  for ns in "${NODES[@]/#/$PREFIX-}" "$HUB"; do netns_exists "$ns" && out+=("netns $ns"); done
  for node in "${NODES[@]}"; do
    ip link show "$PREFIX-$node" >/dev/null 2>&1 && out+=("link $PREFIX-$node")
    ip link show "$PREFIX-${node}h" >/dev/null 2>&1 && out+=("link $PREFIX-${node}h")
  done
  [ -n "$(our_mounts)" ] && out+=("mounts under $DIR")
  [ -e "$DIR" ] && out+=("directory $DIR")
  local pid
  for pid in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$pid/cmdline" | grep -qF -- "$DIR/"; then out+=("process ${pid#/proc/}"); fi
  done
  printf '%s\n' "${out[@]}" | sed '/^$/d' | paste -sd, -
}

network_up() {
  ip netns add "$HUB"
  ip -n "$HUB" link set lo up
  ip -n "$HUB" link add "$BRIDGE" type bridge
  ip -n "$HUB" addr add "$SUBNET_PREFIX.1/24" dev "$BRIDGE"
  ip -n "$HUB" link set "$BRIDGE" up
  for node in "${NODES[@]}"; do
    local ns="$PREFIX-$node"
    ip netns add "$ns"
    ip link add "$PREFIX-$node" type veth peer name "$PREFIX-${node}h"
    ip link set "$PREFIX-$node" netns "$ns"
    ip link set "$PREFIX-${node}h" netns "$HUB"
    ip -n "$HUB" link set "$PREFIX-${node}h" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$PREFIX-$node" name eth0
    ip -n "$ns" addr add "${ADDR[$node]}/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

up() {
  local images=("$@")
  if [ -n "$(leftovers)" ]; then
    mlog "removing the leftovers of an earlier run: $(leftovers)"
    down
  fi
  mkdir -p "$DIR"
  network_up
  for node in "${NODES[@]}"; do start_daemon "$node"; done
  dk m swarm init --advertise-addr "${ADDR[m]}" --listen-addr "${ADDR[m]}:2377" \
    --default-addr-pool "$ADDR_POOL" >/dev/null
  local token
  token="$(dk m swarm join-token -q worker)"
  for node in w1 w2; do
    dk "$node" swarm join --token "$token" --advertise-addr "${ADDR[$node]}" --listen-addr "${ADDR[$node]}:2377" \
      "${ADDR[m]}:2377" >/dev/null
  done
  for _ in $(seq 1 60); do
    [ "$(dk m node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] && break
    sleep 0.5
  done
  [ "$(dk m node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] || { mlog "not every node is Ready"; dk m node ls >&2; return 1; }
  dk m node update --label-add "$WORKER_LABEL" "$PREFIX-w2" >/dev/null
  for image in "${images[@]}"; do
    for node in "${NODES[@]}"; do docker save "$image" | dk "$node" load >/dev/null; done
  done
  mlog "swarm up: $(dk m node ls --format '{{.Hostname}}({{.ManagerStatus}}{{.Status}})' | paste -sd' ' -)"
}

case "${1:-}" in
  check) shift; check ;;
  up) shift; up "$@" ;;
  down) down ;;
  stop-daemon) kill_daemon "$2" ;;
  start-daemon) start_daemon "$2" ;;
  leftovers) leftovers ;;
  *) echo "usage: $0 check|up [IMAGE...]|down|stop-daemon NODE|start-daemon NODE|leftovers" >&2; exit 2 ;;
esac
