#!/bin/sh
# Stand-in of docker:dind's dockerd-entrypoint.sh, for docker/dind/swarm-node.sh and docker-compose.dev.yml:
#   dockerd-entrypoint.sh [dockerd] [flags...]   flags alone mean dockerd; without any --host flag dockerd listens
#                                                on the unix socket and on tcp://0.0.0.0:2375, like the official
#                                                image with DOCKER_TLS_CERTDIR="".
#   dockerd-entrypoint.sh <other command>        runs it as is.
# TLS certificate generation (a non-empty DOCKER_TLS_CERTDIR) is not part of the stand-in: it refuses it.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dockerd "$@"
fi

if [ "$1" = dockerd ]; then
  if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
    echo "[dockerd-entrypoint] this stand-in has no TLS set-up: run it with DOCKER_TLS_CERTDIR=\"\"" >&2
    exit 1
  fi
  has_host=0
  for arg in "$@"; do
    case "$arg" in
      -H | -H* | --host | --host=*) has_host=1 ;;
    esac
  done
  if [ "$has_host" = 0 ]; then
    shift
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
  fi
  # A nested dockerd needs /sys/kernel/security, a private /tmp and (cgroup v2) delegated controllers.
  set -- dind "$@"
fi

exec "$@"
