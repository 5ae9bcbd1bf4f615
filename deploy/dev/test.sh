#!/usr/bin/env bash
# The whole test suite against the real dev stack. Starts what is missing, stops
# what it started, and exits with the tests' own status.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"

"$DEV/tools.sh"
"$DEV/postgres.sh" up

broker_was_running=no
[ -f "$PLINTH_STATE_DIR/tansu.pid" ] && kill -0 "$(cat "$PLINTH_STATE_DIR/tansu.pid")" 2>/dev/null \
  && broker_was_running=yes
"$DEV/broker.sh" up
if [ "$broker_was_running" = no ]; then
  trap '"$DEV/broker.sh" down' EXIT
fi
PLINTH_TANSU_BIN=$("$DEV/broker.sh" bin)
export PLINTH_TANSU_BIN

status=0
cargo nextest run --workspace --no-fail-fast || status=$?
cargo test --workspace --doc --quiet || status=$?
exit $status
