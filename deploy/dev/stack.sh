#!/usr/bin/env bash
# The local platform: PostgreSQL, the broker, and every service that exists.
#   stack.sh up | down | clean | status
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"

services() {
  local dir
  for dir in "$ROOT"/services/*/; do
    [ -d "$dir" ] && basename "$dir"
  done
  return 0
}

status() {
  echo
  echo "Plinth dev stack"
  echo "  PostgreSQL  $PLINTH_PG_HOST:$PLINTH_PG_PORT  owner role $PLINTH_PG_OWNER, app role $PLINTH_PG_APP"
  for svc in $PLINTH_SERVICES; do echo "              database plinth_$svc"; done
  echo "  Kafka       $PLINTH_KAFKA_BROKERS  (Tansu, data in $PLINTH_STATE_DIR/broker/)"
  local found; found=$(services)
  if [ -z "$found" ]; then
    echo "  Services    none built yet"
  else
    for svc in $found; do echo "  Service     $svc"; done
  fi
  echo
  echo "Stop everything with: make down"
}

case "${1:-up}" in
  up)
    "$DEV/tools.sh"
    "$DEV/postgres.sh" up
    "$DEV/broker.sh" up
    status
    ;;
  down)
    "$DEV/broker.sh" down
    "$DEV/postgres.sh" down
    ;;
  clean)
    "$DEV/broker.sh" down
    "$DEV/postgres.sh" down
    rm -rf "$PLINTH_STATE_DIR"
    log "removed $PLINTH_STATE_DIR"
    ;;
  status) status ;;
  *) echo "usage: $0 up|down|clean|status" >&2; exit 2 ;;
esac
