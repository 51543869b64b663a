#!/usr/bin/env bash
# Builds the local images the Docker integration and end-to-end tests deploy, without any registry (`docker pull`
# is not available in the test environments): a rootfs made of Debian's statically linked busybox, imported with
# `docker import`. Idempotent: an image that already exists is left as is unless --force is given.
#   stackyard/busybox:test   busybox applets on PATH (sh, sleep, httpd, env, cat, echo, ...), CMD ["/bin/sh"]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE="stackyard/busybox:test"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) log "unknown flag: $arg"; exit 2 ;;
  esac
done

command -v docker >/dev/null 2>&1 || { log "docker CLI not found"; exit 1; }

previous="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
if [ "$force" = 0 ] && [ -n "$previous" ]; then
  exit 0
fi

BUSYBOX=/bin/busybox
# The dynamically linked busybox of other packages would need a libc inside the image: insist on the static one.
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  log "installing busybox-static (apt)"
  apt_install busybox-static
fi
[ -x "$BUSYBOX" ] || { log "$BUSYBOX missing after installing busybox-static"; exit 1; }

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT

mkdir -p "$rootfs"/{bin,etc,tmp,root,home,var/www,proc,sys,dev,run}
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
# One symlink per applet this busybox build provides, so every command of the tests resolves on PATH.
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
printf 'stackyard test image\n' >"$rootfs/var/www/index.html"

log "importing $IMAGE"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/bin' \
    --change 'WORKDIR /' \
    --change 'LABEL com.stackyard.test-image=true' \
    - "$IMAGE" >/dev/null
current="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
# A rebuild leaves the previous image untagged; drop it unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
log "built $IMAGE"
