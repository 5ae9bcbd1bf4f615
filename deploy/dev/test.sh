#!/usr/bin/env bash
# The whole test suite against the real dev stack. Starts what is missing, stops
# what it started, and exits with the tests' own status.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"

"$DEV/tools.sh"
"$DEV/postgres.sh" up

# The suite's broker keeps its data in memory: Tansu's SQLite storage slows as a
# run piles up topics (the ten-thousand-event test took 78 s on a fresh SQLite
# broker, over 240 s after the rest of the suite, 32 s in memory). The test of a
# broker restart runs a SQLite broker of its own.
export PLINTH_BROKER_STORAGE=${PLINTH_BROKER_STORAGE:-memory://tansu/}
start_private_broker test-broker "${PLINTH_TEST_KAFKA_PORT:-19093}"

status=0
cargo nextest run --workspace --no-fail-fast || status=$?
cargo test --workspace --doc --quiet || status=$?
exit $status
