#!/usr/bin/env bash
# The event-path benchmark against the dev stack (see docs/PERFORMANCE.md).
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"
"$DEV/postgres.sh" up
# A broker of its own with empty storage, so every run measures the same thing.
export PLINTH_KAFKA_PORT=${PLINTH_BENCH_KAFKA_PORT:-19094}
export PLINTH_KAFKA_BROKERS=127.0.0.1:$PLINTH_KAFKA_PORT
export PLINTH_TEST_KAFKA=$PLINTH_KAFKA_BROKERS
export PLINTH_BROKER_DIR=$PLINTH_STATE_DIR/bench-broker
"$DEV/broker.sh" down
rm -rf "$PLINTH_BROKER_DIR"
trap '"$DEV/broker.sh" down; rm -rf "$PLINTH_BROKER_DIR"' EXIT
"$DEV/broker.sh" up
cargo bench -p plinth-bus --bench event_path
