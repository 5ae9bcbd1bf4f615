#!/usr/bin/env bash
# The whole test suite against the real dev stack, after the format and lint
# checks. Starts what is missing, stops what it started, and exits with the
# checks' and tests' status.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"

"$DEV/tools.sh"
"$DEV/postgres.sh" up

# The suite's own broker (Apache Kafka unless PLINTH_BROKER says otherwise), with
# fresh storage; the test of a broker restart starts one more of its own.
start_private_broker test-broker "${PLINTH_TEST_KAFKA_PORT:-19093}"

status=0
# The code's form first: formatted, and no clippy warning in any target (the
# workspace's lints in Cargo.toml, clippy.toml).
cargo fmt --all -- --check || status=$?
cargo clippy --workspace --all-targets --quiet -- -D warnings || status=$?
# The console: its API types generated from schemas/openapi/, type-checked, its
# unit tests; then built, for the gateway to serve in the browser tests.
(cd console && npm run --silent check && npm run --silent build) || status=$?
# The alert rules, and their unit tests (deploy/observability/alerts.test.yml).
promtool check rules deploy/observability/alerts.yml || status=$?
promtool test rules deploy/observability/alerts.test.yml || status=$?
cargo nextest run --workspace --no-fail-fast || status=$?
cargo test --workspace --doc --quiet || status=$?
exit $status
