#!/usr/bin/env bash
# The event-path benchmark against the dev stack (see docs/PERFORMANCE.md).
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"
"$DEV/postgres.sh" up
start_private_broker bench-broker "${PLINTH_BENCH_KAFKA_PORT:-19094}"
cargo bench -p plinth-bus --bench event_path
