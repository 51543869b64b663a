#!/usr/bin/env bash
# Builds the stand-in for the official nginx image that the ingress tests run as a cluster's proxy, without any
# registry (`docker pull` is not available in the test environments): Debian's `nginx` package (downloaded with
# apt, unpacked with dpkg-deb), the shared libraries it links against (from this Debian machine), and Debian's
# statically linked busybox for /bin/sh (the healthcheck's shell), imported with `docker import`.
# Idempotent: an image that already exists is left as is unless --force is given.
#   stackyard/nginx:test   /usr/sbin/nginx on PATH, CMD ["nginx", "-g", "daemon off;"] like the official image
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE="stackyard/nginx:test"
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
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  log "installing busybox-static (apt)"
  apt_install busybox-static
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev,run,var/log/nginx,var/lib/nginx/{body,proxy,fastcgi,uwsgi,scgi}}
chmod 1777 "$rootfs/tmp"

log "downloading Debian's nginx package (apt)"
(cd "$work" && apt-get download nginx 2>/dev/null >/dev/null)
deb="$(ls "$work"/nginx_*.deb)"
dpkg-deb -x "$deb" "$rootfs"

# The libraries nginx links against, copied from this machine (the same Debian release as the package).
for lib in $(ldd "$rootfs/usr/sbin/nginx" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
  [ -f "$lib" ] || continue
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# glibc loads the passwd/group lookups it needs for `nobody` (the workers' user) from libnss_files.
for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /usr/lib/x86_64-linux-gnu/libnss_files.so.2; do
  if [ -f "$lib" ]; then
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  fi
done

cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh test cat ls kill sleep tr; do ln -s busybox "$rootfs/bin/$applet"; done
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
mkdir -p "$rootfs/etc/nginx"
printf 'events {}\nhttp { server { listen 80; return 200 "stand-in nginx\\n"; } }\n' >"$rootfs/etc/nginx/nginx.conf"

log "importing $IMAGE"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'CMD ["nginx", "-g", "daemon off;"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/bin' \
    --change 'LABEL com.stackyard.test-image=true' \
    - "$IMAGE" >/dev/null
current="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
log "built $IMAGE"
