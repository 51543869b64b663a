#!/bin/sh
# Entrypoint of the control-plane image. Secrets reach the container as files (a compose volume, Docker or
# Swarm secrets under /run/secrets) rather than values in `docker inspect`: for each variable below, NAME_FILE
# names a file whose content becomes NAME. services/_shared/config.ts then validates everything as usual.
# Only this fixed list is read, so an unrelated *_FILE variable (NATS_IDENTITY_FILE) never ends up in the env.
set -eu

for name in AUTH_JWT_KEYS CONTROLPLANE_MASTER_KEY STACKYARD_BOOTSTRAP_TOKEN DATABASE_URL; do
  file="$(printenv "${name}_FILE" || true)"
  [ -n "$file" ] || continue
  if [ -n "$(printenv "$name" || true)" ]; then
    echo "[stackyard] both $name and ${name}_FILE are set; set only one" >&2
    exit 2
  fi
  if [ ! -r "$file" ]; then
    echo "[stackyard] ${name}_FILE: cannot read $file" >&2
    exit 2
  fi
  # $(...) drops the trailing newline the file may end with.
  value="$(cat "$file")"
  export "$name=$value"
  unset "${name}_FILE"
done

exec "$@"
