#!/usr/bin/env bash
# The benchmarks against the dev stack (see docs/PERFORMANCE.md): the event path,
# the tenant registry's registration throughput and onboarding saga latency, the
# audit log's append rate and the offline verification of a million entries, the
# pack service's validation, configuration fetch and classification, and the
# gateway against nginx.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"
"$DEV/postgres.sh" up
# In-memory storage: Tansu's SQLite store keeps every record header as a row of its
# own and serves headered messages at about 140 msg/s, which would measure the dev
# broker rather than Plinth (docs/PERFORMANCE.md). Tansu does not answer a waiting
# fetch when new records arrive, so the consumer polls every 10 ms, as a consumer of
# Apache Kafka, which does, would not need to.
export PLINTH_BROKER_STORAGE=${PLINTH_BROKER_STORAGE:-memory://tansu/}
export PLINTH_BENCH_FETCH_WAIT_MS=${PLINTH_BENCH_FETCH_WAIT_MS:-10}
start_private_broker bench-broker "${PLINTH_BENCH_KAFKA_PORT:-19094}"
cargo bench -p plinth-bus --bench event_path
cargo bench -p tenant-registry --bench lifecycle
cargo bench -p audit --bench append
cargo bench -p audit --bench verify_offline
cargo bench -p pack-service --bench packs
# The gateway against nginx (wrk), with its own broker and identity provider.
"$ROOT/load-tests/gateway/run.sh"
