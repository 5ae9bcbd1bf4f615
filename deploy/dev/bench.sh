#!/usr/bin/env bash
# The benchmarks against the dev stack (see docs/PERFORMANCE.md): the event path,
# the tenant registry's registration throughput and onboarding saga latency, the
# audit log's append rate and the offline verification of a million entries, the
# pack service's validation, configuration fetch and classification, the module
# catalog's import, provider setup's selection and key release, policy decisions
# (in process against Cedar, and over HTTP), the runs' gate decisions, a run of
# five steps through the reference runtime, and the gateway against nginx.
set -euo pipefail
DEV=$(cd "$(dirname "$0")" && pwd)
source "$DEV/env.sh"
cd "$ROOT"
"$DEV/tools.sh"
"$DEV/postgres.sh" up
# The benchmarks' own broker (Apache Kafka unless PLINTH_BROKER says otherwise),
# with fresh storage; consumers keep librdkafka's default fetch wait.
start_private_broker bench-broker "${PLINTH_BENCH_KAFKA_PORT:-19094}"
cargo bench -p plinth-bus --bench event_path
cargo bench -p tenant-registry --bench lifecycle
cargo bench -p audit --bench append
cargo bench -p audit --bench verify_offline
cargo bench -p pack-service --bench packs
cargo bench -p module-catalog --bench catalog
cargo bench -p provider-setup --bench providers
cargo bench -p plinth-policy --features cedar-bench --bench decide
cargo bench -p policy --bench decisions
cargo bench -p policy --bench gates
# A 5-step L0 run through the reference runtime, the whole stack behind the gateway.
cargo bench -p gateway --bench runs
# The gateway against nginx (wrk), with its own broker and identity provider.
"$ROOT/load-tests/gateway/run.sh"
