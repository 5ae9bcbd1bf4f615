#!/usr/bin/env bash
# The whole test suite against the real dev stack. Starts what is missing, stops
# what it started, and exits with the tests' own status.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"

"$DEV/tools.sh"
"$DEV/postgres.sh" up

# A broker of the test run's own, on its own port and with empty storage: Tansu
# slows down as its SQLite store grows, and a run should not depend on what earlier
# runs left behind.
export PLINTH_KAFKA_PORT=${PLINTH_TEST_KAFKA_PORT:-19093}
export PLINTH_KAFKA_BROKERS=127.0.0.1:$PLINTH_KAFKA_PORT
export PLINTH_TEST_KAFKA=$PLINTH_KAFKA_BROKERS
export PLINTH_BROKER_DIR=$PLINTH_STATE_DIR/test-broker
"$DEV/broker.sh" down
rm -rf "$PLINTH_BROKER_DIR"
trap '"$DEV/broker.sh" down; rm -rf "$PLINTH_BROKER_DIR"' EXIT
"$DEV/broker.sh" up
PLINTH_TANSU_BIN=$("$DEV/broker.sh" bin)
export PLINTH_TANSU_BIN

status=0
cargo nextest run --workspace --no-fail-fast || status=$?
cargo test --workspace --doc --quiet || status=$?
exit $status
