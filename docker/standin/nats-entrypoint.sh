#!/bin/sh
# Stand-in of the nats image's docker-entrypoint.sh: flags alone are handed to nats-server, anything else runs.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- nats-server "$@"
fi
exec "$@"
